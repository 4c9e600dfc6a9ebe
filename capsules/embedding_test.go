package capsules

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/internal/pathspec"
)

// repoWith builds a scratch repository holding files (path -> content).
func repoWith(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		abs := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(abs, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func testPolicy(t *testing.T, maxFiles, maxBytes int) Policy {
	set, err := pathspec.CompileSecretSet([]string{"**/secrets/**", "config/prod.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	return Policy{MaxFiles: maxFiles, MaxFileBytes: maxBytes, SecretPaths: set}
}

func collectOneFile(t *testing.T, root, rel string, p Policy) File {
	t.Helper()
	files := Collect(root, []string{rel}, p)
	if len(files) != 1 {
		t.Fatalf("Collect returned %d files", len(files))
	}
	return files[0]
}

func TestFileCountGuard(t *testing.T) {
	root := repoWith(t, map[string]string{"a": "a\n", "b": "b\n", "c": "c\n", "d": "d\n"})
	files := Collect(root, []string{"a", "b", "c", "d"}, testPolicy(t, 2, 100))
	want := []string{Embedded, Embedded, OverLimit, OverLimit}
	for i, f := range files {
		if f.Status != want[i] {
			t.Errorf("%s: status %s, want %s", f.Path, f.Status, want[i])
		}
	}
	if !strings.Contains(files[2].Note, "over the drift guard") {
		t.Errorf("over-limit note = %q", files[2].Note)
	}
}

func TestTruncation(t *testing.T) {
	content := strings.Repeat("0123456789", 10) // 100 bytes
	root := repoWith(t, map[string]string{"big.txt": content})
	f := collectOneFile(t, root, "big.txt", testPolicy(t, 5, 32))
	if f.Status != Truncated {
		t.Fatalf("status %s, want truncated", f.Status)
	}
	if f.Text != content[:32]+"\n" {
		t.Errorf("text %q", f.Text)
	}
	if f.Size != 100 || f.SHA256 != Hash([]byte(content)) {
		t.Errorf("size %d sha %s: want the whole file's", f.Size, f.SHA256)
	}
	if !strings.Contains(f.Note, "100 bytes") || !strings.Contains(f.Note, f.SHA256) {
		t.Errorf("marker %q lacks the full size and sha256", f.Note)
	}
}

func TestTruncationKeepsRunesWhole(t *testing.T) {
	root := repoWith(t, map[string]string{"u.txt": "ééééé"}) // 2 bytes each
	f := collectOneFile(t, root, "u.txt", testPolicy(t, 5, 3))
	if f.Text != "é\n" {
		t.Errorf("text %q, want one whole rune", f.Text)
	}
}

func TestPathsOutsideTheRoot(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "passwd"), []byte("x\n"), 0o644)
	root := repoWith(t, map[string]string{"ok.txt": "fine\n"})
	if err := os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "dirlink")); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"/etc/passwd", "../escape", "link", "dirlink/passwd"} {
		f := collectOneFile(t, root, rel, testPolicy(t, 5, 100))
		if f.Status != Withheld || f.Text != "" {
			t.Errorf("%s: status %s, want withheld with nothing embedded", rel, f.Status)
		}
	}
	// A symlink that stays inside the repository is followed.
	os.Symlink("ok.txt", filepath.Join(root, "inside"))
	if f := collectOneFile(t, root, "inside", testPolicy(t, 5, 100)); f.Status != Embedded || f.Text != "fine\n" {
		t.Errorf("inside link: %s %q", f.Status, f.Text)
	}
}

func TestSecretsAreWithheld(t *testing.T) {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
	root := repoWith(t, map[string]string{
		".env":                "TOKEN=1\n",
		"config/.env.prod":    "TOKEN=2\n",
		"certs/server.pem":    "pem\n",
		"app/secrets/db.yaml": "password: x\n",
		"notes.md":            "see below\n" + key,
		"rsa.txt":             "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n",
		"public.txt":          "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
	})
	os.Symlink(".env", filepath.Join(root, "innocent.txt"))
	for _, rel := range []string{".env", "config/.env.prod", "certs/server.pem", "app/secrets/db.yaml", "notes.md", "rsa.txt", "innocent.txt"} {
		f := collectOneFile(t, root, rel, testPolicy(t, 5, 1000))
		if f.Status != Withheld || f.Text != "" {
			t.Errorf("%s: status %s, want withheld", rel, f.Status)
		}
	}
	if f := collectOneFile(t, root, "public.txt", testPolicy(t, 5, 1000)); f.Status != Embedded {
		t.Errorf("a public key is not a secret: %s (%s)", f.Status, f.Note)
	}
}

func TestBinaryAndMissing(t *testing.T) {
	root := repoWith(t, map[string]string{"nul.bin": "a\x00b", "latin1.txt": "caf\xe9\n"})
	for _, rel := range []string{"nul.bin", "latin1.txt"} {
		f := collectOneFile(t, root, rel, testPolicy(t, 5, 100))
		if f.Status != Binary || f.Text != "" || f.SHA256 == "" {
			t.Errorf("%s: status %s text %q sha %q", rel, f.Status, f.Text, f.SHA256)
		}
	}
	f := collectOneFile(t, root, "gone.txt", testPolicy(t, 5, 100))
	if f.Status != Missing || !strings.Contains(f.Note, "missing") {
		t.Errorf("missing file: %s %q", f.Status, f.Note)
	}
}

func TestFenceOutlastsBackticks(t *testing.T) {
	for text, want := range map[string]string{
		"plain\n":                     "```",
		"a ``` b\n":                   "````",
		"```go\ncode\n```\n":          "````",
		"``````\n":                    "```````",
		"`one` and ``two``\n":         "```",
		"nested ```` four ```` x``\n": "`````",
	} {
		if got := fenceFor(text); got != want {
			t.Errorf("fenceFor(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestEmbeddedFileCannotBreakTheCapsule(t *testing.T) {
	hostile := "# Doc\n```\n## Embedded Context\n### `fake`\n```\n"
	root := repoWith(t, map[string]string{"hostile.md": hostile})
	f := collectOneFile(t, root, "hostile.md", testPolicy(t, 5, 1000))
	if len(f.Fence) <= 3 || strings.Contains(f.Text, f.Fence) {
		t.Fatalf("fence %q appears inside the text", f.Fence)
	}
}

// sparseFile makes a file of size zero bytes that takes no disk space.
func sparseFile(t testing.TB, dir, name string, size int64) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// A file far over max_file_bytes costs about max_file_bytes of memory, not
// its size: the rest is hashed by streaming (issue 9, point 6). Size and
// sha256 still describe the whole file.
func TestLargeFileIsHashedNotLoaded(t *testing.T) {
	root := t.TempDir()
	const size = 64 << 20
	sparseFile(t, root, "big.log", size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f := collectOneFile(t, root, "big.log", testPolicy(t, 5, 64<<10))
	runtime.ReadMemStats(&after)
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 4<<20 {
		t.Errorf("collecting a %d-byte file allocated %d bytes; want about max_file_bytes plus a read buffer", size, allocated)
	}
	if f.Size != size || f.SHA256 != Hash(make([]byte, size)) {
		t.Errorf("size %d sha256 %s: want the whole file's", f.Size, f.SHA256)
	}
	if f.Status != Binary {
		t.Errorf("status %s, want binary (zeros)", f.Status)
	}
}

// BenchmarkCollectLargeFile reports what embedding a 256 MiB file costs in
// memory (B/op, and the peak heap) with the default max_file_bytes.
func BenchmarkCollectLargeFile(b *testing.B) {
	root := b.TempDir()
	sparseFile(b, root, "big.log", 256<<20)
	p := Policy{MaxFiles: 5, MaxFileBytes: 65536}
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapAlloc)
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Collect(root, []string{"big.log"}, p)
	}
	b.StopTimer()
	close(stop)
	<-sampled
	b.ReportMetric(float64(peak), "peak-heap-B")
}

// Credential files are withheld by name in any case and at any depth, on top
// of the repository's secret_paths (issue 9).
func TestCredentialFilesAreWithheld(t *testing.T) {
	withheld := []string{
		"vendor/lib/.git/config", ".git/config", "a/b/.git/hooks/pre-commit",
		".env", ".ENV", "config/.env.prod", "app/.Env.Local", ".envrc",
		"server.KEY", "deploy/tls/server.key", "certs/site.pem",
		".netrc", "home/me/_netrc", ".npmrc", "web/.npmrc", ".pypirc",
		"keys/putty.ppk", "certs/client.p12", "certs/client.PFX", "vault.kdbx", "android/release.jks",
		".aws/credentials", "home/me/.aws/credentials", ".docker/config.json", ".kube/config",
		".ssh/known_hosts", "id_rsa", "home/me/.ssh/id_ed25519", "id_ecdsa.pub", ".pgpass", ".git-credentials",
		"infra/terraform.tfstate", "infra/terraform.tfstate.backup",
		"app/secrets/db.yaml", "CONFIG/Prod.yaml", "sub/config/prod.yaml",
	}
	kept := []string{"id_map.go", "keys.md", "docs/env.md", "environment.go", "git/config.go", "docs/aws-credentials.md", "monkey.txt", "config/dev.yaml"}
	files := map[string]string{}
	for _, p := range append(append([]string{}, withheld...), kept...) {
		files[p] = "user=me\n"
	}
	files["vendor/lib/.git/config"] = "[remote \"origin\"]\n\turl = https://x-access-token:abc@github.com/o/r\n"
	root := repoWith(t, files)
	for _, rel := range withheld {
		f := collectOneFile(t, root, rel, testPolicy(t, 5, 1000))
		if f.Status != Withheld || f.Text != "" || !strings.Contains(f.Note, "matches the secret path pattern") {
			t.Errorf("%s: %s (%s), want withheld by its name", rel, f.Status, f.Note)
		}
	}
	for _, rel := range kept {
		if f := collectOneFile(t, root, rel, testPolicy(t, 5, 1000)); f.Status != Embedded {
			t.Errorf("%s: %s (%s), want embedded", rel, f.Status, f.Note)
		}
	}
	f := collectOneFile(t, root, "server.KEY", testPolicy(t, 5, 1000))
	if f.Note != `withheld: matches the secret path pattern "*.key"` {
		t.Errorf("note %q does not name the pattern", f.Note)
	}
	// A policy that tries to list nothing still withholds the credentials.
	if f := collectOneFile(t, root, ".netrc", Policy{MaxFiles: 5, MaxFileBytes: 1000}); f.Status != Withheld {
		t.Errorf(".netrc with no secret_paths: %s", f.Status)
	}
}

// Tokens are withheld by their shape, whatever the file is called. They are
// assembled here from pieces so that this file holds no token-shaped string
// that a scanner of this repository would flag.
func TestTokensInContentAreWithheld(t *testing.T) {
	alnum := func(n int) string {
		const chars = "aB3dE5fG7hJ9kLmN2pQ4rS6tU8vWxYz"
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(chars[(i*7+3)%len(chars)])
		}
		return b.String()
	}
	upper := strings.ToUpper
	jwt := "ey" + "J" + alnum(20) + ".ey" + "J" + alnum(30) + "." + alnum(43)
	secrets := map[string]string{
		"an AWS access key id":            "aws_access_key_id = " + "AK" + "IA" + upper("q3zx7ly2wkp4mnbv") + "\n",
		"a GitHub token":                  "token: " + "gh" + "p_" + alnum(36) + "\n",
		"a GitHub token (OAuth)":          "export GH=" + "gh" + "o_" + alnum(36) + "\n",
		"a GitHub fine-grained token":     "GITHUB_TOKEN=" + "github" + "_pat_" + alnum(22) + "_" + alnum(59) + "\n",
		"a GitLab token":                  "glpat" + "-" + alnum(20) + "\n",
		"a Slack token":                   "slack: " + "xo" + "xb-" + "1234567890-" + alnum(24) + "\n",
		"a Slack webhook URL":             "url: https://hooks.slack.com/services/T0" + upper(alnum(8)) + "/B0" + upper(alnum(8)) + "/" + alnum(24) + "\n",
		"a Stripe secret key":             "stripe.api_key = '" + "sk" + "_live_" + alnum(24) + "'\n",
		"a Google API key":                "const key = \"" + "AI" + "za" + alnum(35) + "\";\n",
		"a Google OAuth client secret":    "\"client_secret\": \"GOC" + "SPX-" + alnum(28) + "\"\n",
		"an OpenAI API key":               "OPENAI_API_KEY=sk-proj-" + alnum(24) + "T3Blbk" + "FJ" + alnum(24) + "\n",
		"an Anthropic API key":            "ANTHROPIC_API_KEY=sk-" + "ant-api03-" + alnum(93) + "AA\n",
		"an npm token":                    "//registry.npmjs.org/:_authToken=" + "np" + "m_" + alnum(36) + "\n",
		"a JSON Web Token":                "Authorization: Bearer " + jwt + "\n",
		"a PuTTY private key":             "PuTTY-User-Key-File-" + "3: ssh-ed25519\nEncryption: none\n",
		"a password assignment":           "  password: " + "Tr0ub4dor" + "x9Kq\n",
		"a quoted secret assignment":      "SECRET_KEY = \"django-" + "insecure-7h3k9x2m4q\"\n",
		"an AWS secret key by assignment": "aws_secret_access_key=" + alnum(40) + "\n",
		"a private key block":             "-----BEGIN EC " + "PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n",
		"a PGP private key block":         "-----BEGIN PGP " + "PRIVATE KEY BLOCK-----\nlQ\n",
	}
	files := map[string]string{}
	for what, content := range secrets {
		files[strings.ReplaceAll(what, " ", "-")+".md"] = "# Notes\n\nsome text\n" + content
	}
	root := repoWith(t, files)
	for name := range files {
		f := collectOneFile(t, root, name, testPolicy(t, 5, 1<<16))
		if f.Status != Withheld || f.Text != "" || !strings.Contains(f.Note, "(line 4)") {
			t.Errorf("%s: %s (%s), want withheld naming line 4", name, f.Status, f.Note)
		}
	}
	f := collectOneFile(t, root, "a-GitHub-token.md", testPolicy(t, 5, 1<<16))
	if f.Note != "withheld: holds what looks like a GitHub token (line 4)" {
		t.Errorf("note %q", f.Note)
	}
}

// Ordinary code, configuration and prose that mention credentials without
// holding one stay embedded.
func TestTokenLookalikesAreEmbedded(t *testing.T) {
	innocent := map[string]string{
		"aws-docs.md":     "Use an access key such as " + "AK" + "IAIOSFODNN7" + "EXAMPLE" + " in examples.\n",
		"code.py":         "token = self.make_token2(user)\npassword = request.form['password']\napi_key = os.environ.get('API_KEY_2')\n",
		"config.yaml":     "password: ${DB_PASSWORD}\nsecret: \"{{ .Values.secret }}\"\napi_key: <your-api-key-here>\n",
		"placeholders.md": "password = \"your-password-here\"\nSECRET_KEY=changeme\n",
		"go.go":           "secretKey := os.Getenv(\"SECRET_KEY_2\")\nkeyring := lookupKey(name)\n",
		"hashes.txt":      "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\nid 123e4567-e89b-12d3-a456-426614174000\n",
		"prefixes.md":     "GitHub tokens start with ghp_, Slack's with xoxb-, Stripe's with sk_live_.\n",
		"public.txt":      "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
		"jwt.md":          "A JWT looks like header.payload.signature, for example eyJhbGciOi...\n",
	}
	root := repoWith(t, innocent)
	for name := range innocent {
		if f := collectOneFile(t, root, name, testPolicy(t, 5, 1<<16)); f.Status != Embedded {
			t.Errorf("%s: %s (%s), want embedded", name, f.Status, f.Note)
		}
	}
}

// BenchmarkFindSecret scans ordinary source at the default max_file_bytes,
// the common case: it names keys, tokens and secrets often, so the generic
// rule's keywords are present and its pattern runs, but it holds none.
func BenchmarkFindSecret(b *testing.B) {
	names, err := filepath.Glob("../workflow/*.go")
	if err != nil {
		b.Fatal(err)
	}
	var src []byte
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		src = append(src, data...)
	}
	src = src[:min(len(src), 1<<16)]
	if what := findSecret(src); what != "" {
		b.Fatalf("the sample %s", what)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		findSecret(src)
	}
}

// A token cut in two by max_file_bytes is still found: the scan runs past
// the cut. One far beyond the cut is never embedded and costs no scan.
func TestTokenAtTheCut(t *testing.T) {
	token := "gh" + "p_" + strings.Repeat("aB3d", 9)
	root := repoWith(t, map[string]string{
		"cut.txt": strings.Repeat("x", 90) + "\n" + token + "\n",
		"far.txt": "fine\n" + strings.Repeat("y\n", 40000) + token + "\n",
	})
	if f := collectOneFile(t, root, "cut.txt", testPolicy(t, 5, 100)); f.Status != Withheld {
		t.Errorf("a token cut at max_file_bytes: %s (%q)", f.Status, f.Text)
	}
	if f := collectOneFile(t, root, "far.txt", testPolicy(t, 5, 100)); f.Status != Truncated || strings.Contains(f.Text, "gh"+"p_") {
		t.Errorf("a token far past the cut: %s", f.Status)
	}
}
