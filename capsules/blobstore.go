package capsules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// BlobDir is where blobs live, relative to the repository root.
const BlobDir = ".substrate/store/blobs/sha256"

// BlobStore is a content-addressed, write-once store: a blob's name is the
// sha256 of its bytes, it is written atomically, made read-only, and never
// overwritten or deleted.
type BlobStore struct {
	Dir string // .../blobs/sha256
}

// NewBlobStore returns the blob store of the repository at root.
func NewBlobStore(root string) *BlobStore {
	return &BlobStore{Dir: filepath.Join(root, filepath.FromSlash(BlobDir))}
}

// Hash is the sha256 of data in hex, the blob's name.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ValidHash reports whether h looks like a blob name.
func ValidHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

// Path is where the blob named h lives: <dir>/<2 hex>/<62 hex>.
func (b *BlobStore) Path(h string) string {
	return filepath.Join(b.Dir, h[:2], h[2:])
}

// RelPath is Path relative to the repository root, slash-separated.
func RelPath(h string) string {
	return BlobDir + "/" + h[:2] + "/" + h[2:]
}

// Put stores data and returns its hash. Storing bytes that are already
// there is a no-op. The blob is written to a temporary file, fsynced, made
// read-only and then hard-linked into place: link fails rather than replace
// an existing name, so no blob is ever overwritten, even by a racing writer.
func (b *BlobStore) Put(data []byte) (string, error) {
	h := Hash(data)
	final := b.Path(h)
	if _, err := os.Stat(final); err == nil {
		return h, nil
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("blob store: %w", err)
	}
	if err := tmp.Chmod(0o444); err != nil {
		tmp.Close()
		return "", fmt.Errorf("blob store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("blob store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	if err := os.Link(tmp.Name(), final); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("blob store: %w", err)
	}
	syncDir(dir)
	return h, nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Get reads a blob and checks that its bytes still hash to its name.
func (b *BlobStore) Get(h string) ([]byte, error) {
	if !ValidHash(h) {
		return nil, fmt.Errorf("%q is not a sha256 blob name", h)
	}
	data, err := os.ReadFile(b.Path(h))
	if err != nil {
		return nil, err
	}
	if got := Hash(data); got != h {
		return nil, &CorruptError{Hash: h, Got: got}
	}
	return data, nil
}

// Has reports whether the blob exists.
func (b *BlobStore) Has(h string) bool {
	_, err := os.Stat(b.Path(h))
	return err == nil
}

// CorruptError is a blob whose bytes no longer match its name.
type CorruptError struct {
	Hash string
	Got  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("blob %s is corrupted: its content hashes to %s", e.Hash, e.Got)
}

// Problem is one blob that failed verification.
type Problem struct {
	Path    string `json:"path"` // root-relative
	Problem string `json:"problem"`
}

// VerifyResult is what Verify found.
type VerifyResult struct {
	Blobs    int       `json:"blobs"`
	Problems []Problem `json:"problems"`
}

// Verify re-hashes every blob, streaming, and reports each whose bytes do
// not match its name or that sits at a malformed path.
func (b *BlobStore) Verify() (VerifyResult, error) {
	res := VerifyResult{Problems: []Problem{}}
	err := filepath.WalkDir(b.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == b.Dir {
				return fs.SkipDir
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		rel, _ := filepath.Rel(b.Dir, path)
		rel = filepath.ToSlash(rel)
		shown := BlobDir + "/" + rel
		res.Blobs++
		name := strings.ReplaceAll(rel, "/", "")
		if !ValidHash(name) || len(strings.Split(rel, "/")[0]) != 2 {
			res.Problems = append(res.Problems, Problem{Path: shown, Problem: "not a blob name"})
			return nil
		}
		got, err := hashFile(path)
		if err != nil {
			res.Problems = append(res.Problems, Problem{Path: shown, Problem: err.Error()})
		} else if got != name {
			res.Problems = append(res.Problems, Problem{Path: shown, Problem: "content hashes to " + got})
		}
		return nil
	})
	sort.Slice(res.Problems, func(i, j int) bool { return res.Problems[i].Path < res.Problems[j].Path })
	return res, err
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
