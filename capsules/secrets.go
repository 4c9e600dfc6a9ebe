package capsules

import (
	"bytes"
	"fmt"
	"regexp"
	"sync"

	"github.com/oxygen-tools/oxygen/internal/pathspec"
)

// What a capsule never embeds, by name and by content.
//
// Both lists are written here by hand. A maintained rule set used as a
// library would be better kept up to date (gitleaks' rules are the usual
// choice), but every such library pulls in dependencies this project does
// not allow, and copying a rule set of hundreds of patterns would trade
// false negatives for false positives on ordinary source files, which are
// exactly what capsules embed. The rules below are the credentials an agent
// is most likely to meet in a repository, each shaped tightly enough that
// ordinary code and prose do not match. Withholding too much is the safe
// error: the capsule lists a withheld file and says why, and nothing stops
// an agent from reading it where it is allowed to.

// CredentialPaths are withheld whatever policy.secret_paths says: a
// repository's config may add to them, never remove them, so a config
// written before a pattern was added here is covered too. They match with
// pathspec.CompileSecret: at any depth and in any case.
var CredentialPaths = []string{
	// Environment files: .env, .env.local, .env.production, .envrc.
	".env*",
	// Private keys, certificates with keys, key stores, password databases.
	"*.pem", "*.key", "*.p12", "*.pfx", "*.ppk", "*.jks", "*.keystore", "*.kdbx",
	// OpenSSH keys under their default names. A key saved under another name
	// (id_work) is still withheld by its content, like any private key block;
	// "id_*" would also withhold source files such as id_map.go.
	"id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
	// Credential files of common tools.
	".netrc", "_netrc", ".npmrc", ".pypirc", ".pgpass", ".git-credentials", ".htpasswd",
	".aws/credentials", ".docker/config.json", ".kube/config", ".ssh/**", ".gnupg/**",
	// Terraform state holds every secret of the infrastructure in clear.
	"*.tfstate", "*.tfstate.*",
	// Repository internals: remotes with tokens in their URLs, hooks, objects.
	".git/**",
}

// credentialSet compiles CredentialPaths on first use: only commands that
// embed files pay for it.
var credentialSet = sync.OnceValue(func() pathspec.Set {
	set, err := pathspec.CompileSecretSet(CredentialPaths)
	if err != nil {
		panic(err) // a fixed list, covered by tests
	}
	return set
})

// SecretPattern returns the pattern that makes rel a secret: one of
// CredentialPaths, or one of extra (the repository's policy.secret_paths,
// compiled with pathspec.CompileSecretSet).
func SecretPattern(rel string, extra pathspec.Set) (string, bool) {
	if p, ok := credentialSet().First(rel); ok {
		return p.Source, true
	}
	if p, ok := extra.First(rel); ok {
		return p.Source, true
	}
	return "", false
}

// tokenRule recognises one kind of credential in a file's content. Every
// match contains one of the keywords, in any ASCII case when generic is set.
// The pattern runs only on the stretch of line around each keyword found:
// Go's regexp has no DFA, and running a pattern without a literal prefix
// over a whole file costs milliseconds (BenchmarkFindSecret). A generic
// rule is reported only when no specific one matches anywhere in the file,
// so that `token: ghp_...` is named a GitHub token.
type tokenRule struct {
	what     string
	keywords []string
	generic  bool
	pattern  string
}

// tokenRules are the shapes of well-known tokens, each anchored on the
// issuer's fixed prefix and length so that random identifiers do not match.
var tokenRules = []tokenRule{
	{"an AWS access key id", []string{"AKIA", "ASIA", "ABIA", "ACCA"}, false, `\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b`},
	{"a GitHub token", []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}, false, `\bgh[pousr]_[A-Za-z0-9]{36,251}\b`},
	{"a GitHub fine-grained token", []string{"github_pat_"}, false, `\bgithub_pat_[A-Za-z0-9_]{60,}`},
	{"a GitLab token", []string{"glpat-"}, false, `\bglpat-[A-Za-z0-9_-]{20,}`},
	{"a Slack token", []string{"xox"}, false, `\bxox[abeoprs]-[A-Za-z0-9-]{10,}`},
	{"a Slack webhook URL", []string{"hooks.slack.com/"}, false, `hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}`},
	{"a Stripe secret key", []string{"k_live_", "k_test_", "k_prod_"}, false, `\b[rs]k_(?:live|test|prod)_[A-Za-z0-9]{16,}`},
	{"a Google API key", []string{"AIza"}, false, `\bAIza[A-Za-z0-9_-]{35}`},
	{"a Google OAuth client secret", []string{"GOCSPX-"}, false, `\bGOCSPX-[A-Za-z0-9_-]{28}`},
	{"an OpenAI API key", []string{"T3BlbkFJ"}, false, `\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}`},
	{"an Anthropic API key", []string{"sk-ant-"}, false, `\bsk-ant-[a-z]+[0-9]*-[A-Za-z0-9_-]{80,}`},
	{"an npm token", []string{"npm_"}, false, `\bnpm_[A-Za-z0-9]{36}\b`},
	{"a PyPI token", []string{"pypi-AgE"}, false, `\bpypi-AgE[A-Za-z0-9_-]{50,}`},
	{"a JSON Web Token", []string{"eyJ"}, false, `\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`},
	{"a PuTTY private key", []string{"PuTTY-User-Key-File-"}, false, `PuTTY-User-Key-File-[0-9]+:`},
	// A password or secret written into a file: a key naming one, then a
	// literal of at least 12 characters holding both letters and digits
	// (literalLooksSecret). Quoted, it may hold most characters; bare, it
	// may not hold a dot, so that code such as `token = self.make_token2`
	// does not match. References (${VAR}, {{ .x }}, <password>) never do.
	{"a password or secret assignment", []string{"pass", "secret", "key", "token"}, true,
		`\b[A-Za-z0-9_.-]*(?i:password|passwd|secret|api[_-]?key|access[_-]?key|private[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token)[A-Za-z0-9_.-]*["']?[ \t]*(?::=|=|:)[ \t]*(?:"([^\s"'$<>{}()%\\]{12,})"|'([^\s"'$<>{}()%\\]{12,})'|([A-Za-z0-9+/=_~!@#^&*-]{12,})(?:[\s,;]|$))`},
}

// compiledRules compiles tokenRules on first use.
var compiledRules = sync.OnceValue(func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(tokenRules))
	for i, r := range tokenRules {
		out[i] = regexp.MustCompile("(?m)" + r.pattern)
	}
	return out
})

// scanMargin is how far past max_file_bytes a file is scanned: more than
// the longest line window findSecret searches around a keyword.
const scanMargin = 16 << 10

// findSecret says what credential data holds, and where, or "" when it
// holds none it recognises: a private key block or one of tokenRules.
// Documentation placeholders (a match containing EXAMPLE, as in AWS's
// AKIAIOSFODNN7EXAMPLE) are not reported.
//
// The keywords are found in one pass over data, skipping every position
// whose first two bytes begin no keyword: one bytes.Index pass per keyword
// cost a millisecond on 64 KiB of source.
func findSecret(data []byte) string {
	if at, ok := privateKeyBlock(data); ok {
		return fmt.Sprintf("holds a private key block (line %d)", lineOf(data, at))
	}
	idx := keywordIndex()
	searched := make([]int, len(tokenRules)) // data before this was already searched, per rule
	generic := ""
	for at := 0; at+1 < len(data); at++ {
		if !idx.starts.has(data[at], data[at+1]) {
			continue
		}
		for _, k := range idx.byFirst[data[at]] {
			rule := tokenRules[k.rule]
			if at < searched[k.rule] || !hasKeyword(data[at:], k.text, rule.generic) {
				continue
			}
			if rule.generic && (generic != "" || !assignedAfter(data, at)) {
				continue
			}
			start, end := window(data, at)
			searched[k.rule] = end
			found := matchIn(data, start, end, compiledRules()[k.rule])
			switch {
			case found < 0:
			case rule.generic:
				generic = fmt.Sprintf("holds what looks like %s (line %d)", rule.what, lineOf(data, found))
			default:
				return fmt.Sprintf("holds what looks like %s (line %d)", rule.what, lineOf(data, found))
			}
		}
	}
	return generic
}

// assignedAfter reports whether the name around the keyword at is followed
// by an assignment (= := or :), the shape the generic rule looks for. Most
// lines that merely mention a secret or a key are skipped without running
// its pattern, which is the costly part of a scan.
func assignedAfter(data []byte, at int) bool {
	i := at
	for i < len(data) && (isNameByte(data[i])) {
		i++
	}
	if i < len(data) && (data[i] == '"' || data[i] == '\'') {
		i++
	}
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	return i < len(data) && (data[i] == '=' || data[i] == ':')
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// ruleKeyword is one keyword of tokenRules[rule].
type ruleKeyword struct {
	text string
	rule int
}

// keywords indexes every keyword by its first byte, and the pairs of bytes
// keywords start with; a generic rule's keywords in every case.
type keywords struct {
	byFirst [256][]ruleKeyword
	starts  bigrams
}

// bigrams is a set of two-byte sequences.
type bigrams [1 << 16 / 64]uint64

func (b *bigrams) add(c0, c1 byte) { b[int(c0)<<2|int(c1)>>6] |= 1 << (c1 & 63) }

func (b *bigrams) has(c0, c1 byte) bool { return b[int(c0)<<2|int(c1)>>6]&(1<<(c1&63)) != 0 }

var keywordIndex = sync.OnceValue(func() *keywords {
	idx := &keywords{}
	for i, r := range tokenRules {
		for _, k := range r.keywords {
			cases := func(c byte) []byte { return []byte{c} }
			if r.generic {
				cases = func(c byte) []byte { return []byte{lowerByte(c), upperByte(c)} }
			}
			for _, c0 := range cases(k[0]) {
				idx.byFirst[c0] = append(idx.byFirst[c0], ruleKeyword{text: k, rule: i})
				for _, c1 := range cases(k[1]) {
					idx.starts.add(c0, c1)
				}
			}
		}
	}
	return idx
})

// hasKeyword reports whether text starts with keyword, in any ASCII case
// when fold is set (keyword is then lower case).
func hasKeyword(text []byte, keyword string, fold bool) bool {
	if len(text) < len(keyword) {
		return false
	}
	if !fold {
		return string(text[:len(keyword)]) == keyword
	}
	for i := 0; i < len(keyword); i++ {
		if lowerByte(text[i]) != keyword[i] {
			return false
		}
	}
	return true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upperByte(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// window is the stretch of at's line that a match around the keyword at can
// span: some way back for a key's name, further ahead for a long token.
func window(data []byte, at int) (start, end int) {
	start, end = max(0, at-256), min(len(data), at+8192)
	if nl := bytes.LastIndexByte(data[start:at], '\n'); nl >= 0 {
		start += nl + 1
	}
	if nl := bytes.IndexByte(data[at:end], '\n'); nl >= 0 {
		end = at + nl
	}
	return start, end
}

// matchIn returns where in data the first real match of re in
// data[start:end] begins, or -1.
func matchIn(data []byte, start, end int, re *regexp.Regexp) int {
	for _, m := range re.FindAllSubmatchIndex(data[start:end], -1) {
		match := data[start+m[0] : start+m[1]]
		if bytes.Contains(bytes.ToUpper(match), []byte("EXAMPLE")) {
			continue
		}
		if len(m) > 2 && !literalLooksSecret(data[start:end], m[2:]) {
			continue
		}
		return start + m[0]
	}
	return -1
}

// literalLooksSecret checks the assigned value of the generic rule (the one
// submatch group that took part): it must hold a letter and a digit, which
// words, identifiers and placeholders such as your-password-here do not.
func literalLooksSecret(data []byte, groups []int) bool {
	for g := 0; g+1 < len(groups); g += 2 {
		if groups[g] < 0 {
			continue
		}
		value := data[groups[g]:groups[g+1]]
		return bytes.ContainsAny(value, "0123456789") &&
			bytes.IndexFunc(value, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) >= 0
	}
	return false
}

func lineOf(data []byte, at int) int { return bytes.Count(data[:at], []byte("\n")) + 1 }

// privateKeyBlock finds a PEM or OpenSSH private key block ("-----BEGIN ...
// PRIVATE KEY-----", including PGP's PRIVATE KEY BLOCK) and returns where
// it starts.
func privateKeyBlock(data []byte) (int, bool) {
	for i := bytes.Index(data, []byte("-----BEGIN ")); i >= 0; {
		line := data[i:]
		if end := bytes.IndexByte(line, '\n'); end >= 0 {
			line = line[:end]
		}
		if bytes.Contains(line, []byte("PRIVATE KEY")) {
			return i, true
		}
		next := bytes.Index(data[i+1:], []byte("-----BEGIN "))
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return 0, false
}
