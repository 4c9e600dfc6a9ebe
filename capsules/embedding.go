package capsules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/oxygen-tools/oxygen/internal/pathspec"
	"github.com/oxygen-tools/oxygen/internal/safefs"
)

// File states in a capsule.
const (
	Embedded  = "embedded"   // whole file embedded
	Truncated = "truncated"  // first max_file_bytes embedded, with a marker
	Withheld  = "withheld"   // a secret, or outside the repository
	Binary    = "binary"     // listed, never embedded
	Missing   = "missing"    // linked but absent: noted, not an error
	OverLimit = "over_limit" // past capsules.max_files
)

// Policy is the guardian's embedding policy.
type Policy struct {
	MaxFiles     int
	MaxFileBytes int
	// SecretPaths are the repository's policy.secret_paths, compiled with
	// pathspec.CompileSecretSet; CredentialPaths apply on top of them.
	SecretPaths pathspec.Set
}

// File is one linked file as the capsule presents it.
type File struct {
	Path   string `json:"path"`
	Status string `json:"status"`
	// Size and SHA256 describe the whole file on disk, even when only part
	// of it is embedded; capsule verify compares them to detect drift.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Note   string `json:"note"`
	// Text is what is embedded, always ending in a newline; Fence is a
	// backtick run longer than any inside Text.
	Text  string `json:"-"`
	Fence string `json:"-"`
}

// Embedded reports whether any of the file's bytes are in the capsule.
func (f File) Embedded() bool { return f.Status == Embedded || f.Status == Truncated }

// Truncated reports whether the file was cut.
func (f File) Truncated() bool { return f.Status == Truncated }

// Collect applies the policy to the item's files, in order. Each file costs
// at most MaxFileBytes (and scanMargin) of memory whatever its size: the rest is only hashed,
// streaming, which takes time, so callers collect outside the write lock.
func Collect(root string, files []string, p Policy) []File {
	r, openErr := safefs.Open(root)
	if openErr == nil {
		defer r.Close()
	}
	out := make([]File, 0, len(files))
	for i, rel := range files {
		switch {
		case i >= p.MaxFiles:
			out = append(out, File{Path: rel, Status: OverLimit,
				Note: fmt.Sprintf("not embedded: over the drift guard (at most %d files)", p.MaxFiles)})
		case openErr != nil:
			out = append(out, File{Path: rel, Status: Withheld, Note: "withheld: " + openErr.Error()})
		default:
			out = append(out, collectOne(r, rel, p))
		}
	}
	return out
}

func collectOne(r *safefs.Root, rel string, p Policy) File {
	f, head := Inspect(r, rel, p)
	if !f.Embedded() {
		return f
	}
	f.Text = string(head)
	if !strings.HasSuffix(f.Text, "\n") {
		f.Text += "\n"
		if f.Status == Embedded {
			f.Note = "no newline at end of file"
		}
	}
	f.Fence = fenceFor(f.Text)
	return f
}

// Inspect applies the policy to one file of r and returns what of it may be
// embedded: its first MaxFileBytes (cut at a character boundary) when the
// status is Embedded or Truncated, nothing otherwise. Size and SHA256
// describe the whole file, hashed by streaming.
//
// Withheld: a secret path, or a symlink resolving to one; anything outside
// the root (os.Root refuses it, even if a symlink is swapped mid-way); what
// is not a regular file; a file with more than one hard link, since a link
// can give another file's content (a key elsewhere on the disk) an innocent
// name inside the repository; and a file holding a private key or a
// token (findSecret, which reads scanMargin past the cut).
func Inspect(r *safefs.Root, rel string, p Policy) (File, []byte) {
	f := File{Path: rel}
	withhold := func(why string) (File, []byte) {
		f.Status, f.Note = Withheld, "withheld: "+why
		return f, nil
	}
	clean, err := pathspec.CleanRel(rel)
	if err != nil {
		return withhold(err.Error())
	}
	if pattern, ok := SecretPattern(clean, p.SecretPaths); ok {
		return withhold(fmt.Sprintf("matches the secret path pattern %q", pattern))
	}
	real, err := pathspec.Resolve(r.Dir(), clean)
	if err != nil {
		if errors.Is(err, pathspec.ErrOutsideRoot) {
			return withhold("resolves outside the repository root")
		}
		return withhold(err.Error())
	}
	// A symlink inside the repository may still point at a secret.
	realRel := clean
	if realRoot, err := filepath.EvalSymlinks(r.Dir()); err == nil {
		if rr, err := filepath.Rel(realRoot, real); err == nil {
			realRel = filepath.ToSlash(rr)
		}
	}
	if pattern, ok := SecretPattern(realRel, p.SecretPaths); ok && realRel != clean {
		return withhold(fmt.Sprintf("resolves to %s, which matches the secret path pattern %q", realRel, pattern))
	}
	file, info, err := r.OpenRegular(clean)
	var esc *safefs.EscapeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.Status, f.Note = Missing, "missing: the file does not exist (not an error)"
		return f, nil
	case errors.Is(err, safefs.ErrNotRegular) && info.IsDir():
		return withhold("is a directory, not a file")
	case errors.Is(err, safefs.ErrNotRegular):
		return withhold("is not a regular file")
	case errors.As(err, &esc) && !esc.Absolute():
		return withhold("resolves outside the repository root")
	case err != nil:
		return withhold(err.Error())
	}
	defer file.Close()
	if n := safefs.Links(info); n > 1 {
		return withhold(fmt.Sprintf("has %d hard links, so its content may belong to a file outside the repository", n))
	}
	// The secret check judged realRel; make sure that is what was opened.
	if realRel != clean {
		if at, err := r.Lstat(realRel); err != nil || !os.SameFile(info, at) {
			return withhold("changed while it was being read")
		}
	}
	// The head runs past the cut by scanMargin, so that a token or a key
	// line cut in two by max_file_bytes is still recognised whole.
	head, err := io.ReadAll(io.LimitReader(file, int64(p.MaxFileBytes)+scanMargin))
	if err != nil {
		return withhold(err.Error())
	}
	h := sha256.New()
	h.Write(head)
	rest, err := hashCopy(h, file)
	if err != nil {
		return withhold(err.Error())
	}
	f.Size, f.SHA256 = int64(len(head))+rest, hex.EncodeToString(h.Sum(nil))
	if what := findSecret(head); what != "" {
		return withhold(what)
	}
	text := head
	f.Status = Embedded
	if f.Size > int64(p.MaxFileBytes) {
		cut := p.MaxFileBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
		f.Status = Truncated
		f.Note = fmt.Sprintf("truncated: the first %d of %d bytes are shown; sha256 of the whole file %s", cut, f.Size, f.SHA256)
	}
	if bytes.IndexByte(text, 0) >= 0 || !utf8.Valid(text) {
		f.Status = Binary
		f.Note = fmt.Sprintf("binary: %d bytes, sha256 %s (not embedded)", f.Size, f.SHA256)
		return f, nil
	}
	return f, text
}

// HashFile is the sha256 of name in r, read by streaming.
func HashFile(r *safefs.Root, name string) (string, error) {
	f, _, err := r.OpenRegular(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return HashReader(f)
}

// HashReader is the sha256 of everything src holds, read by streaming.
func HashReader(src io.Reader) (string, error) {
	h := sha256.New()
	if _, err := hashCopy(h, src); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashCopy feeds src to h in 1 MiB reads rather than io.Copy's 32 KiB:
// hashing a sparse gigabyte took a quarter less time. The wrapper hides
// os.File's WriteTo, which would bring back the small buffer.
func hashCopy(h hash.Hash, src io.Reader) (int64, error) {
	return io.CopyBuffer(h, struct{ io.Reader }{src}, make([]byte, 1<<20))
}

// fenceFor returns a backtick fence longer than any backtick run in text, so
// embedded content can never close the block early.
func fenceFor(text string) string {
	longest, run := 0, 0
	for i := 0; i < len(text); i++ {
		if text[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}
