package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// tree makes dir/root and dir/outside, and returns both.
func tree(t *testing.T) (root, outside string) {
	t.Helper()
	dir := t.TempDir()
	root, outside = filepath.Join(dir, "root"), filepath.Join(dir, "outside")
	for _, d := range []string{filepath.Join(root, "in"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "in", "file"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

func open(t *testing.T, dir string) *Root {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestEscapesAreRefusedAndNamed(t *testing.T) {
	root, outside := tree(t)
	os.Symlink("../outside", filepath.Join(root, "out"))
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "abs"))
	os.Symlink("in", filepath.Join(root, "alias"))
	r := open(t, root)

	for _, name := range []string{"out/secret", "../outside/secret", "in/../../outside/secret"} {
		if _, err := r.Open(name); !IsEscape(err) {
			t.Errorf("Open(%s): %v, want an escape", name, err)
		}
	}
	_, err := r.Open("out/secret")
	var esc *EscapeError
	if !errors.As(err, &esc) || esc.Link != "out" || esc.Target != "../outside" {
		t.Fatalf("escape %+v: want the symlink out -> ../outside named", err)
	}
	if want := filepath.Join(root, "out") + " is a symlink to ../outside, outside " + root; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if _, err := r.Open("abs"); !errors.As(err, &esc) || !esc.Absolute() || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("absolute symlink: %v", err)
	}
	// A symlink that stays inside is followed.
	if f, err := r.Open("alias/file"); err != nil {
		t.Errorf("alias/file: %v", err)
	} else {
		f.Close()
	}
	// Writes through an escaping directory are refused; nothing lands outside.
	if err := r.WriteAtomic("out/new", []byte("x"), 0o644, "t"); !IsEscape(err) {
		t.Errorf("WriteAtomic through out/: %v", err)
	}
	if err := r.CheckDir("out"); !IsEscape(err) {
		t.Errorf("CheckDir(out): %v", err)
	}
	if err := r.CheckDir("not/yet"); err != nil {
		t.Errorf("CheckDir of a directory to be made: %v", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Errorf("outside holds %d entries, want only the secret", len(entries))
	}
}

func TestWriteAtomicLeavesNoTemporaryFile(t *testing.T) {
	root, _ := tree(t)
	r := open(t, root)
	if err := r.WriteAtomic("a/b/c.json", []byte("one"), 0o644, "oxygen-1"); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteAtomic("a/b/c.json", []byte("two"), 0o644, "oxygen-1"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(root, "a/b/c.json")); string(data) != "two" {
		t.Errorf("content %q", data)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "a/b"))
	if len(entries) != 1 {
		t.Errorf("%d entries, want only c.json", len(entries))
	}
	if got := TempName("a/b/c.json", "oxygen-1"); got != "a/b/.c.json.oxygen-1.tmp" {
		t.Errorf("TempName = %s", got)
	}
}

func TestLinksCountsHardLinks(t *testing.T) {
	root, outside := tree(t)
	if err := os.Link(filepath.Join(outside, "secret"), filepath.Join(root, "innocent")); err != nil {
		t.Skip("no hard links here:", err)
	}
	r := open(t, root)
	for name, want := range map[string]uint64{"innocent": 2, "in/file": 1} {
		f, err := r.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		f.Close()
		if got := Links(fi); got != want {
			t.Errorf("Links(%s) = %d, want %d", name, got, want)
		}
	}
	if _, err := r.ReadFile("in/file", 3); err == nil {
		t.Error("ReadFile over the limit succeeded")
	}
	if _, err := r.ReadFile("missing", 3); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
}

// A FIFO where a file was expected is refused at once: opening it for
// reading would otherwise wait for a writer forever (capsule drift, the
// audit's fingerprints).
func TestOpenRegularRefusesAFIFOWithoutBlocking(t *testing.T) {
	root, _ := tree(t)
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	r := open(t, root)
	if _, _, err := r.OpenRegular("pipe"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("OpenRegular(pipe): %v, want ErrNotRegular", err)
	}
	f, fi, err := r.OpenRegular("in/file")
	if err != nil || fi.Size() != int64(len("inside")) {
		t.Fatalf("OpenRegular(in/file): %v", err)
	}
	f.Close()
}
