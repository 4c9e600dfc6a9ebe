package capsules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/oxygen-tools/oxygen/internal/pathspec"
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
	IsSecret     func(rel string) bool
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

// Collect applies the policy to the item's files, in order.
func Collect(root string, files []string, p Policy) []File {
	out := make([]File, 0, len(files))
	for i, rel := range files {
		if i >= p.MaxFiles {
			out = append(out, File{Path: rel, Status: OverLimit,
				Note: fmt.Sprintf("not embedded: over the drift guard (at most %d files)", p.MaxFiles)})
			continue
		}
		out = append(out, collectOne(root, rel, p))
	}
	return out
}

func collectOne(root, rel string, p Policy) File {
	f := File{Path: rel}
	withhold := func(why string) File {
		f.Status, f.Note, f.Text, f.Fence = Withheld, "withheld: "+why, "", ""
		return f
	}
	clean, err := pathspec.CleanRel(rel)
	if err != nil {
		return withhold(err.Error())
	}
	if p.IsSecret != nil && p.IsSecret(clean) {
		return withhold("matches policy.secret_paths")
	}
	real, err := pathspec.Resolve(root, clean)
	if err != nil {
		if errors.Is(err, pathspec.ErrOutsideRoot) {
			return withhold("resolves outside the repository root")
		}
		return withhold(err.Error())
	}
	// A symlink inside the repository may still point at a secret.
	if realRoot, err := filepath.EvalSymlinks(root); err == nil {
		if relReal, err := filepath.Rel(realRoot, real); err == nil && p.IsSecret != nil && p.IsSecret(filepath.ToSlash(relReal)) {
			return withhold("resolves to a path matching policy.secret_paths")
		}
	}
	info, err := os.Stat(real)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.Status, f.Note = Missing, "missing: the file does not exist (not an error)"
		return f
	case err != nil:
		return withhold(err.Error())
	case info.IsDir():
		return withhold("is a directory, not a file")
	case !info.Mode().IsRegular():
		return withhold("is not a regular file")
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return withhold(err.Error())
	}
	sum := sha256.Sum256(data)
	f.Size, f.SHA256 = int64(len(data)), hex.EncodeToString(sum[:])
	if hasPrivateKey(data) {
		return withhold("holds a private key block")
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		f.Status = Binary
		f.Note = fmt.Sprintf("binary: %d bytes, sha256 %s (not embedded)", f.Size, f.SHA256)
		return f
	}
	text := data
	f.Status = Embedded
	if len(text) > p.MaxFileBytes {
		cut := p.MaxFileBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
		f.Status = Truncated
		f.Note = fmt.Sprintf("truncated: the first %d of %d bytes are shown; sha256 of the whole file %s", cut, f.Size, f.SHA256)
	}
	f.Text = string(text)
	if !strings.HasSuffix(f.Text, "\n") {
		f.Text += "\n"
		if f.Status == Embedded {
			f.Note = "no newline at end of file"
		}
	}
	f.Fence = fenceFor(f.Text)
	return f
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

// hasPrivateKey spots PEM and OpenSSH private key blocks.
func hasPrivateKey(data []byte) bool {
	for i := bytes.Index(data, []byte("-----BEGIN ")); i >= 0; {
		line := data[i:]
		if end := bytes.IndexByte(line, '\n'); end >= 0 {
			line = line[:end]
		}
		if bytes.Contains(line, []byte("PRIVATE KEY")) {
			return true
		}
		next := bytes.Index(data[i+1:], []byte("-----BEGIN "))
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}
