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
	set, err := pathspec.CompileSet([]string{".env", ".env.*", "*.pem", "*.key", "id_rsa*", "**/secrets/**", ".git/**"})
	if err != nil {
		t.Fatal(err)
	}
	return Policy{MaxFiles: maxFiles, MaxFileBytes: maxBytes, IsSecret: set.Match}
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
	set, _ := pathspec.CompileSet([]string{".env"})
	p := Policy{MaxFiles: 5, MaxFileBytes: 65536, IsSecret: set.Match}
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
