package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestControlCharactersInFreeTextAreRefused: every command that takes free
// text refuses control characters (issue 9) with exit 2 and one inert line
// naming the field, and changes nothing. Bodies may hold tabs and newlines.
func TestControlCharactersInFreeTextAreRefused(t *testing.T) {
	r := newRepo(t)
	r.mustRun("orchestrate", "add", "B1", "--title", "b1", "--kind", "chore", "--domain", "builder", "--priority", "high", "--objective", "o")
	r.mustRun("orchestrate", "add", "B2", "--title", "b2", "--kind", "chore", "--domain", "builder", "--priority", "high", "--objective", "o")
	r.mustRun("orchestrate", "add", "S1", "--title", "s1", "--kind", "chore", "--domain", "scribe", "--priority", "high", "--objective", "o")
	r.mustRun("orchestrate", "assign", "B1", "--owner", "builder")
	r.mustRun("orchestrate", "council", "call", "--item", "S1", "--from", "scribe", "--reason", "r")
	r.mustRun("oxygen", "claim", "storage", "--owner", "alice", "--domain", "builder")
	plan := "items:\n  - {id: P1, title: \"evil \\e[2J\", kind: chore, domain: builder, priority: low, objective: o}\n"
	if err := os.WriteFile(filepath.Join(r.dir, "plan.yaml"), []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}

	const (
		esc      = "title \x1b[31mred"
		osc      = "x\x1b]0;owned\x07"
		bel      = "ring \x07"
		c1       = "csi \u009b2J"
		rlo      = "txt.exe\u202egpj"
		cr       = "fine\rforged"
		newline  = "two\nlines"
		tabbed   = "a\tb"
		eraseDoc = "\x1b[2J"
	)
	add := func(flag, value string) []string {
		args := []string{"add", "X1", "--title", "t", "--kind", "chore", "--domain", "builder", "--priority", "low", "--objective", "o"}
		for i := range args {
			if args[i] == flag {
				args[i+1] = value
				return args
			}
		}
		return append(args, flag, value)
	}
	cases := []struct {
		tool  string
		args  []string
		field string // what the one error line must name
	}{
		{"orchestrate", add("--title", esc), "--title: holds U+001B (ESC) at byte 6"},
		{"orchestrate", add("--title", newline), "--title: must be one line"},
		{"orchestrate", add("--title", tabbed), "--title: holds U+0009 (tab)"},
		{"orchestrate", add("--title", rlo), "--title: holds U+202E (right-to-left override)"},
		{"orchestrate", add("--objective", bel), "--objective: holds U+0007 (BEL)"},
		{"orchestrate", add("--objective", cr), "--objective: holds U+000D (carriage return)"},
		{"orchestrate", add("--in-scope", c1), "--in-scope: holds U+009B (CSI)"},
		{"orchestrate", add("--out-of-scope", esc), "--out-of-scope: holds U+001B"},
		{"orchestrate", add("--invariant", esc), "--invariant: holds U+001B"},
		{"orchestrate", add("--command", "true "+eraseDoc), "--command: holds U+001B"},
		{"orchestrate", add("--file", "a"+eraseDoc), "--file: path"},
		{"orchestrate", []string{"import", "plan.yaml"}, "items[0] (P1): title: holds U+001B (ESC)"},
		{"orchestrate", []string{"assign", "B2", "--owner", "builder", "--reason", esc}, "--reason: holds U+001B"},
		{"orchestrate", []string{"unassign", "B1", "--reason", bel}, "--reason: holds U+0007 (BEL)"},
		{"orchestrate", []string{"block", "B1", "--reason", osc}, "--reason: holds U+001B"},
		{"orchestrate", []string{"unblock", "B1", "--reason", esc}, "--reason: holds U+001B"},
		{"orchestrate", []string{"reopen", "B2", "--reason", esc}, "--reason: holds U+001B"},
		{"orchestrate", []string{"dead-end", "B1", "--reason", newline}, "--reason: must be one line"},
		{"orchestrate", []string{"done", "B1", "--skip-verify", "--reason", c1}, "--reason: holds U+009B (CSI)"},
		{"orchestrate", []string{"council", "call", "--item", "B2", "--from", "builder", "--reason", osc}, "--reason: holds U+001B"},
		{"orchestrate", []string{"council", "approve", "2", "--by", "watcher", "--note", bel}, "--note: holds U+0007"},
		{"orchestrate", []string{"signal", "send", "--kind", "missive", "--from", "builder", "--body", esc}, "--body: holds U+001B"},
		{"orchestrate", []string{"signal", "send", "--kind", "missive", "--from", "builder", "--body", cr}, "--body: holds U+000D (carriage return)"},
		{"orchestrate", []string{"signal", "send", "--kind", "missive", "--from", "builder", "--topic", "t" + eraseDoc}, "--topic"},
		{"orchestrate", []string{"signal", "send", "--kind", "missive", "--from", "builder", "--ref", "x" + eraseDoc}, "--ref: path"},
		{"orchestrate", []string{"import", "no\x1b[2Jsuch.yaml"}, `no\x1b[2Jsuch.yaml`},
		{"oxygen", []string{"claim", "index", "--owner", "builder", "--reason", rlo}, "--reason: holds U+202E"},
		{"oxygen", []string{"run", "index", "--owner", "builder", "--reason", esc, "--", "true"}, "--reason: holds U+001B"},
		{"oxygen", []string{"release", "storage", "--owner", "bob", "--domain", "builder", "--force", "--reason", osc}, "--reason: holds U+001B"},
		{"oxygen", []string{"shadow", "accept", "1", "--owner", "builder", "--reason", esc}, "--reason: holds U+001B"},
	}

	before := r.snapshot() + r.fileNames()
	for _, c := range cases {
		res := r.run(c.tool, c.args...)
		label := c.tool + " " + strings.Join(c.args, " ")
		if res.code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s%s", label, res.code, res.stdout, res.stderr)
			continue
		}
		if !strings.HasPrefix(res.stderr, c.tool+": invalid: ") || strings.Count(res.stderr, "\n") != 1 || res.stdout != "" {
			t.Errorf("%q: want one error line and no output, got stdout %q stderr %q", label, res.stdout, res.stderr)
		}
		if !strings.Contains(res.stderr, c.field) {
			t.Errorf("%q: stderr %q does not name %q", label, res.stderr, c.field)
		}
		if i := strings.IndexFunc(strings.TrimSuffix(res.stderr, "\n"), func(r rune) bool {
			return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x202e || r == 0xfffd
		}); i >= 0 {
			t.Errorf("%q: the error line prints a raw control character at byte %d: %q", label, i, res.stderr)
		}
	}
	if after := r.snapshot() + r.fileNames(); after != before {
		t.Errorf("a refused command changed the store or the exported files")
	}

	// A body keeps its tabs and newlines.
	r.mustRun("orchestrate", "signal", "send", "--kind", "missive", "--from", "builder", "--body", "step 1:\tcheck\nstep 2:\tship")
	r.mustRun("orchestrate", "add", "X2", "--title", "t", "--kind", "chore", "--domain", "builder", "--priority", "low", "--objective", "first\n\tthen")
	if got := r.query(`SELECT body FROM signals ORDER BY id DESC LIMIT 1`); got != "step 1:\tcheck\nstep 2:\tship\n" {
		t.Errorf("body stored as %q", got)
	}
	if got := r.query(`SELECT objective FROM items WHERE id = 'X2'`); got != "first\n\tthen\n" {
		t.Errorf("objective stored as %q", got)
	}
}

// fileNames lists every file under the repository, so that a refused command
// is seen to have written no capsule, blob or report either.
func (r *repo) fileNames() string {
	var names []string
	filepath.WalkDir(r.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	return strings.Join(names, "\n")
}
