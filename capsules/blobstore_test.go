package capsules

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestBlobStoreIsContentAddressedAndWriteOnce(t *testing.T) {
	root := t.TempDir()
	b := NewBlobStore(root)
	h, err := b.Put([]byte("hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h != Hash([]byte("hello\n")) {
		t.Fatalf("name %s is not the sha256 of the content", h)
	}
	path := filepath.Join(root, ".substrate/store/blobs/sha256", h[:2], h[2:])
	if b.Path(h) != path {
		t.Fatalf("path %s, want %s", b.Path(h), path)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm()&0o222 != 0 {
		t.Errorf("blob is writable: %v", info.Mode())
	}
	// Storing the same bytes again changes nothing.
	before := info.ModTime()
	if h2, err := b.Put([]byte("hello\n")); err != nil || h2 != h {
		t.Fatalf("second put: %s %v", h2, err)
	}
	if info, _ := os.Stat(path); !info.ModTime().Equal(before) {
		t.Errorf("blob rewritten")
	}
	if data, err := b.Get(h); err != nil || string(data) != "hello\n" {
		t.Fatalf("get: %q %v", data, err)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d entries in the blob directory, want 1", len(entries))
	}
}

func TestBlobStoreVerifyFindsCorruption(t *testing.T) {
	root := t.TempDir()
	b := NewBlobStore(root)
	good, _ := b.Put([]byte("good"))
	bad, _ := b.Put([]byte("bad"))
	os.Chmod(b.Path(bad), 0o644)
	if err := os.WriteFile(b.Path(bad), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := b.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if res.Blobs != 2 || len(res.Problems) != 1 || res.Problems[0].Path != RelPath(bad) {
		t.Fatalf("verify = %+v, want one problem at %s", res, RelPath(bad))
	}
	var corrupt *CorruptError
	if _, err := b.Get(bad); !errors.As(err, &corrupt) {
		t.Errorf("Get of a corrupted blob: %v", err)
	}
	if _, err := b.Get(good); err != nil {
		t.Errorf("Get of a good blob: %v", err)
	}
}

func TestVerifyOfAnEmptyStore(t *testing.T) {
	res, err := NewBlobStore(t.TempDir()).Verify()
	if err != nil || res.Blobs != 0 || len(res.Problems) != 0 {
		t.Fatalf("empty store: %+v %v", res, err)
	}
}
