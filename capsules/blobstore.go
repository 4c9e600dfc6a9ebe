package capsules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/oxygen-tools/oxygen/internal/safefs"
)

// BlobDir is where blobs live, as a logical path: the state directory's
// store/blobs/sha256.
const BlobDir = ".substrate/store/blobs/sha256"

// Blobs is a content-addressed, write-once store of file contents: a
// blob's name is the sha256 of its bytes, and once written it never
// changes and is never deleted. The embedded store keeps blobs as files
// (BlobStore); a server store keeps them in the database, so a shadow
// edit's baseline or a capsule recorded on one machine can be restored and
// verified on any other.
type Blobs interface {
	// Put stores data and returns its name; storing it again is a no-op.
	Put(data []byte) (string, error)
	// PutStream stores what src holds, hashing it as it is read.
	PutStream(src io.ReadSeeker) (string, error)
	// Get returns the blob named h, checked against its name
	// (*CorruptError when it no longer matches).
	Get(h string) ([]byte, error)
	// Has reports whether the blob exists.
	Has(h string) bool
	// Size is the blob's length in bytes.
	Size(h string) (int64, error)
	// Verify re-hashes every blob and reports each that does not match.
	Verify() (VerifyResult, error)
}

// BlobStore is a content-addressed, write-once store: a blob's name is the
// sha256 of its bytes, it is written atomically, made read-only, and never
// overwritten or deleted. Every access is confined to Home.
type BlobStore struct {
	Home string // the directory no access may leave
	Dir  string // the blobs, relative to Home, slash-separated
}

// NewBlobStore returns the blob store of a repository whose state lives in
// root/.substrate.
func NewBlobStore(root string) *BlobStore {
	return &BlobStore{Home: root, Dir: BlobDir}
}

// Hash is the sha256 of data in hex, the blob's name.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ValidHash reports whether h looks like a blob name.
// It allocates nothing: a fingerprint's stat cache checks one per file.
func ValidHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Path is where the blob named h lives: <dir>/<2 hex>/<62 hex>.
func (b *BlobStore) Path(h string) string {
	return filepath.Join(b.Home, filepath.FromSlash(b.name(h)))
}

func (b *BlobStore) name(h string) string { return path.Join(b.Dir, h[:2], h[2:]) }

// RelPath is Path relative to the repository root, slash-separated.
func RelPath(h string) string {
	return BlobDir + "/" + h[:2] + "/" + h[2:]
}

// Put stores data and returns its hash. Storing bytes that are already
// there is a no-op.
func (b *BlobStore) Put(data []byte) (string, error) {
	r, err := b.open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := Hash(data)
	if _, err := r.Lstat(b.name(h)); err == nil {
		return h, nil
	}
	return b.write(r, bytes.NewReader(data))
}

// PutStream stores what src holds, reading it twice (to hash, then to copy)
// so that a large file costs no memory; bytes already stored are not copied.
func (b *BlobStore) PutStream(src io.ReadSeeker) (string, error) {
	r, err := b.open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, src); err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	if _, err := r.Lstat(b.name(hex.EncodeToString(sum.Sum(nil)))); err == nil {
		return hex.EncodeToString(sum.Sum(nil)), nil
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	return b.write(r, src)
}

// write copies src to a temporary file, fsyncs it, makes it read-only and
// hard-links it into place under the hash of what was copied: link fails
// rather than replace an existing name, so no blob is ever overwritten,
// even by a racing writer.
func (b *BlobStore) write(r *safefs.Root, src io.Reader) (string, error) {
	if err := r.MkdirAll(b.Dir, 0o755); err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	var tmp string
	var f *os.File
	for {
		tmp = path.Join(b.Dir, ".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
		var err error
		f, err = r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("blob store: %w", err)
		}
	}
	defer r.Remove(tmp)
	sum := sha256.New()
	_, err := io.Copy(io.MultiWriter(f, sum), src)
	if err == nil {
		err = f.Chmod(0o444)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	h := hex.EncodeToString(sum.Sum(nil))
	final := b.name(h)
	if err := r.MkdirAll(path.Dir(final), 0o755); err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	if err := r.Link(tmp, final); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("blob store: %w", err)
	}
	r.SyncDir(path.Dir(final))
	return h, nil
}

func (b *BlobStore) open() (*safefs.Root, error) {
	r, err := safefs.Open(b.Home)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return r, nil
}

// openBlob checks that h can name a blob and opens the store.
func (b *BlobStore) openBlob(h string) (*safefs.Root, error) {
	if !ValidHash(h) {
		return nil, fmt.Errorf("%q is not a sha256 blob name", h)
	}
	return b.open()
}

// Get reads a blob and checks that its bytes still hash to its name.
func (b *BlobStore) Get(h string) ([]byte, error) {
	r, err := b.openBlob(h)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.Open(b.name(h))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
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
	_, err := b.Size(h)
	return err == nil
}

// Size is the length of the blob named h.
func (b *BlobStore) Size(h string) (int64, error) {
	r, err := b.openBlob(h)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	fi, err := r.Lstat(b.name(h))
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
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
	r, err := b.open()
	if err != nil {
		return res, err
	}
	defer r.Close()
	err = b.walk(r, func(name, rel string) {
		shown := BlobDir + "/" + rel
		res.Blobs++
		blob, ok := blobAt(rel)
		if !ok {
			res.Problems = append(res.Problems, Problem{Path: shown, Problem: "not a blob name"})
			return
		}
		got, err := HashFile(r, name)
		if err != nil {
			res.Problems = append(res.Problems, Problem{Path: shown, Problem: err.Error()})
		} else if got != blob {
			res.Problems = append(res.Problems, Problem{Path: shown, Problem: "content hashes to " + got})
		}
	})
	sort.Slice(res.Problems, func(i, j int) bool { return res.Problems[i].Path < res.Problems[j].Path })
	return res, err
}

// walk calls fn with the path of every file in the blob directory and the
// path below it, skipping the temporary files of writes in progress; a
// store that has no blob directory yet has none.
func (b *BlobStore) walk(r *safefs.Root, fn func(name, rel string)) error {
	return fs.WalkDir(r.FS(), b.Dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && name == b.Dir {
				return fs.SkipDir
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		fn(name, strings.TrimPrefix(name, b.Dir+"/"))
		return nil
	})
}

// blobAt is the blob a path below the blob directory names (xx/yyyy…),
// false when it is not a blob's path.
func blobAt(rel string) (string, bool) {
	h := strings.ReplaceAll(rel, "/", "")
	return h, ValidHash(h) && len(strings.Split(rel, "/")[0]) == 2
}
