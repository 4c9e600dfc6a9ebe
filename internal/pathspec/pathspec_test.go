package pathspec

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// matchCase is one pattern, one path and whether the first matches the
// second.
type matchCase struct {
	pattern string
	path    string
	want    bool
}

func checkMatches(t *testing.T, compile func(string) (Pattern, error), cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		p, err := compile(c.pattern)
		if err != nil {
			t.Fatalf("compile %q: %v", c.pattern, err)
		}
		if got := p.Match(c.path); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}

func TestGitignoreStyleMatching(t *testing.T) {
	checkMatches(t, Compile, []matchCase{
		// No slash: any depth.
		{"*.pem", "server.pem", true},
		{"*.pem", "certs/deep/server.pem", true},
		{"*.pem", "server.pem.txt", false},
		{".env", "app/.env", true},
		{".env.*", "config/.env.prod", true},
		{"id_rsa*", "home/me/.ssh/id_rsa.pub", true},
		// Leading or inner slash: anchored at the root.
		{"/README.md", "README.md", true},
		{"/README.md", "docs/README.md", false},
		{"docs/oxygen-protocol.md", "docs/oxygen-protocol.md", true},
		{"docs/oxygen-protocol.md", "x/docs/oxygen-protocol.md", false},
		// Trailing slash: a directory and everything under it.
		{"store/blobs/", "store/blobs/ab/cd", true},
		{"store/blobs/", "store/blobs", false},
		{"store/blobs/", "store/blobsmith/x", false},
		// A pattern naming a directory covers its contents.
		{"deploy", "deploy/install.sh", true},
		{"scripts/install*", "scripts/install-linux.sh", true},
		{"scripts/install*", "scripts/x/install.sh", false},
		// ** crosses directories.
		{"**/secrets/**", "app/secrets/db.yaml", true},
		{"**/secrets/**", "secrets/db.yaml", true},
		{".git/**", ".git/config", true},
		{"tools/**/schema.yaml", "tools/a/b/schema.yaml", true},
		{"tools/**/schema.yaml", "tools/schema.yaml", true},
		// Resource patterns are anchored and case-sensitive, unlike secret ones.
		{".git/**", "vendor/lib/.git/config", false},
		{"*.key", "server.KEY", false},
	})
}

// TestMatchDir: a pattern covers a directory as a whole when it matches the
// directory or one of its parents, whatever files it holds.
func TestMatchDir(t *testing.T) {
	cases := []struct {
		pattern string
		dir     string
		want    bool
	}{
		{"deploy/", "deploy", true},
		{"deploy/", "deploy/lib", true},
		{"deploy", "deploy", true},
		{"store/blobs/", "store", false}, // only part of store/ is covered
		{"*.go", "cmd", false},           // files below may match, the directory is not covered
		{"scripts/install*", "scripts/installers", true},
		{"tools/plan-registry/schema.yaml", "tools/plan-registry", false},
	}
	for _, c := range cases {
		p, err := Compile(c.pattern)
		if err != nil {
			t.Fatalf("Compile(%q): %v", c.pattern, err)
		}
		if got := p.MatchDir(c.dir); got != c.want {
			t.Errorf("%q covers directory %q = %v, want %v", c.pattern, c.dir, got, c.want)
		}
	}
}

func TestBadPatterns(t *testing.T) {
	for _, p := range []string{"", "   ", "!keep.txt", "/", "a/../b", "./x", "[unclosed"} {
		if _, err := Compile(p); err == nil {
			t.Errorf("Compile(%q) accepted a bad pattern", p)
		}
	}
}

func TestOverlap(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"deploy/", "deploy/", true},
		{"deploy/", "deploy/install.sh", true},
		{"*.service", "ops/systemd/x.service", true},
		{"ops/daemons/", "ops/cron/", false},
		{"tools/plan-registry/schema.yaml", "tools/plan-registry/plans/", false},
		{"**/secrets/**", "app/secrets/", true},
	}
	for _, c := range cases {
		if got := Overlap(mustCompile(t, c.a), mustCompile(t, c.b)); got != c.want {
			t.Errorf("Overlap(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestCleanRel(t *testing.T) {
	good := map[string]string{"a/b": "a/b", "./a//b/": "a/b", "a/../b": "b", "a\\b": "a\\b"}
	for in, want := range good {
		if got, err := CleanRel(in); err != nil || got != want {
			t.Errorf("CleanRel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "/etc/passwd", "..", "../x", "a/../../x", ".", "a\nb"} {
		if got, err := CleanRel(in); err == nil {
			t.Errorf("CleanRel(%q) = %q, want an error", in, got)
		}
	}
}

func TestResolveRefusesSymlinkEscapes(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, "in.txt"), []byte("x"), 0o644)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "out-link"))
	os.Symlink(outside, filepath.Join(root, "out-dir"))
	os.Symlink("in.txt", filepath.Join(root, "in-link"))
	os.Symlink(filepath.Join(outside, "missing"), filepath.Join(root, "dangling-out"))
	for _, rel := range []string{"out-link", "out-dir/secret", "out-dir/new-file", "dangling-out"} {
		if _, err := Resolve(root, rel); err == nil {
			t.Errorf("Resolve(%q) followed a link out of the root", rel)
		}
	}
	for _, rel := range []string{"in.txt", "in-link", "missing/file.txt"} {
		if _, err := Resolve(root, rel); err != nil {
			t.Errorf("Resolve(%q): %v", rel, err)
		}
	}
}

func mustCompile(t *testing.T, src string) Pattern {
	t.Helper()
	p, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Secret patterns withhold more: any case, any depth (issue 9).
func TestSecretMatching(t *testing.T) {
	checkMatches(t, CompileSecret, []matchCase{
		{".git/**", ".git/config", true},
		{".git/**", "vendor/lib/.git/config", true},
		{".git/**", "VENDOR/Lib/.GIT/CONFIG", true},
		{".git/**", "docs/git/config", false},
		{".env*", ".ENV", true},
		{".env*", "app/.Env.Production", true},
		{".env*", "app/env.txt", false},
		{"*.key", "server.KEY", true},
		{"*.key", "deploy/tls/Server.Key", true},
		{"*.key", "keys.md", false},
		{".aws/credentials", "home/me/.aws/credentials", true},
		{".aws/credentials", ".AWS/Credentials", true},
		{"/.netrc", "sub/.netrc", true},
		{"secrets/", "a/SECRETS/x", true},
	})
	set, err := CompileSecretSet([]string{"*.pem", "*.key"})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := set.First("a/B.KEY"); !ok || p.Source != "*.key" {
		t.Errorf("First = %q %v, want *.key", p.Source, ok)
	}
}

// TestBasesHoldEveryMatch: a fingerprint walks only the bases, so every
// path a pattern matches must lie at or below one of them.
func TestBasesHoldEveryMatch(t *testing.T) {
	set, err := CompileSet([]string{"/backups/", "store/blobs/", "tools/index/migrations/", "scripts/rebuild-index*", "docs/a.md", "docs/a.md/x", "/docs-b/", "src/*/gen/"})
	if err != nil {
		t.Fatal(err)
	}
	got := set.Bases()
	want := []string{"backups", "docs-b", "docs/a.md", "scripts", "src", "store/blobs", "tools/index/migrations"}
	if !slices.Equal(got, want) {
		t.Fatalf("Bases() = %q, want %q", got, want)
	}
	for _, p := range []string{"backups/x/y.sh", "store/blobs/ab", "scripts/rebuild-index.sh", "docs/a.md", "docs/a.md/x", "src/a/gen/b.go", "docs-b/c"} {
		if !set.Match(p) {
			t.Fatalf("%s does not match", p)
		}
		if !slices.ContainsFunc(got, func(b string) bool { return p == b || strings.HasPrefix(p, b+"/") }) {
			t.Fatalf("%s matches but lies below no base of %q", p, got)
		}
	}
	anywhere, _ := CompileSet([]string{"/deploy/", "*.sql"})
	if b := anywhere.Bases(); !slices.Equal(b, []string{""}) {
		t.Fatalf("an unanchored pattern's bases = %q, want the whole tree", b)
	}
}
