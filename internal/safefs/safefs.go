// Package safefs is the one way Oxygen reads and writes files in a
// repository. Every access goes through an os.Root opened on one of the
// directories a command may touch (the worktree, the main worktree's root
// for signal exports, and the machine-local state directory), so no path,
// ".." or symlink can lead a read or a write out of it: a symlink that
// points outside is refused, and the refusal names it.
//
// It is its own package because two layers touch repository files and must
// follow the same rule: workflow (signal exports, capsule working copies,
// reports, shadow restores, fingerprints) and capsules (embedded files, the
// capsule template, the blob store), and capsules cannot import workflow.
package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Root is an open directory that no access may leave. Names are
// slash-separated and relative to it.
type Root struct {
	root *os.Root
	dir  string
}

// Open opens dir as a root. Opening costs one system call, so callers open
// a root per operation or per walk rather than keeping it.
func Open(dir string) (*Root, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Root{root: r, dir: dir}, nil
}

// Close releases the directory.
func (r *Root) Close() error { return r.root.Close() }

// Dir is the directory the root was opened on.
func (r *Root) Dir() string { return r.dir }

// EscapeError is an access refused because it would leave the root.
type EscapeError struct {
	Dir    string // the root
	Path   string // the name asked for
	Link   string // the symlink that leads out, relative to Dir; "" if none
	Target string // where Link points
}

func (e *EscapeError) Error() string {
	link := filepath.Join(e.Dir, filepath.FromSlash(e.Link))
	switch {
	case e.Absolute():
		return fmt.Sprintf("%s is a symlink to the absolute path %s; only relative symlinks that stay inside %s are followed", link, e.Target, e.Dir)
	case e.Link != "":
		return fmt.Sprintf("%s is a symlink to %s, outside %s", link, e.Target, e.Dir)
	}
	return fmt.Sprintf("%s leads outside %s", e.Path, e.Dir)
}

// Absolute reports whether the refused symlink is absolute: os.Root never
// follows those, even when they point inside.
func (e *EscapeError) Absolute() bool { return e.Link != "" && path.IsAbs(filepath.ToSlash(e.Target)) }

// IsEscape reports whether err is an access refused for leaving its root.
func IsEscape(err error) bool {
	var e *EscapeError
	return errors.As(err, &e)
}

// escaped reports whether err is os.Root's refusal to leave the root. The
// os package does not export that error, only its text.
func escaped(err error) bool {
	for err != nil {
		if err.Error() == "path escapes from parent" {
			return true
		}
		err = errors.Unwrap(err)
	}
	return false
}

// explain turns os.Root's refusal into an EscapeError naming the symlink
// that leads out, found by walking name's components. Other errors pass.
func (r *Root) explain(name string, err error) error {
	if !escaped(err) {
		return err
	}
	e := &EscapeError{Dir: r.dir, Path: name}
	prefix := ""
	for _, part := range strings.Split(path.Clean(filepath.ToSlash(name)), "/") {
		prefix = path.Join(prefix, part)
		fi, lerr := r.root.Lstat(prefix)
		if lerr != nil {
			break
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		if _, serr := r.root.Stat(prefix); escaped(serr) {
			e.Link = prefix
			e.Target, _ = r.root.Readlink(prefix)
			break
		}
	}
	return e
}

// Open opens name for reading.
func (r *Root) Open(name string) (*os.File, error) {
	f, err := r.root.Open(name)
	return f, r.explain(name, err)
}

// ErrNotRegular is an open refused because the name is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens name for reading if it is a regular file, and describes
// it. O_NONBLOCK keeps a FIFO put in its place from hanging the command.
func (r *Root) OpenRegular(name string) (*os.File, fs.FileInfo, error) {
	f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: name, Err: ErrNotRegular}
	}
	if err != nil {
		f.Close()
		return nil, fi, err
	}
	return f, fi, nil
}

// OpenFile opens name with flag and perm.
func (r *Root) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := r.root.OpenFile(name, flag, perm)
	return f, r.explain(name, err)
}

// Stat describes name, following symlinks that stay inside.
func (r *Root) Stat(name string) (fs.FileInfo, error) {
	fi, err := r.root.Stat(name)
	return fi, r.explain(name, err)
}

// Lstat describes name without following a final symlink.
func (r *Root) Lstat(name string) (fs.FileInfo, error) {
	fi, err := r.root.Lstat(name)
	return fi, r.explain(name, err)
}

// Readlink returns the target of the symlink name.
func (r *Root) Readlink(name string) (string, error) {
	t, err := r.root.Readlink(name)
	return t, r.explain(name, err)
}

// MkdirAll creates name and its missing parents.
func (r *Root) MkdirAll(name string, perm fs.FileMode) error {
	return r.explain(name, r.root.MkdirAll(name, perm))
}

// Remove removes the file or empty directory name.
func (r *Root) Remove(name string) error {
	return r.explain(name, r.root.Remove(name))
}

// Rename moves oldname to newname, replacing it.
func (r *Root) Rename(oldname, newname string) error {
	err := r.root.Rename(oldname, newname)
	if escaped(err) && r.Escapes(oldname) {
		return r.explain(oldname, err)
	}
	return r.explain(newname, err)
}

// Escapes reports whether name, or the directory it would be created in,
// leads outside the root.
func (r *Root) Escapes(name string) bool {
	_, err := r.root.Lstat(name)
	return escaped(err)
}

// Link makes newname a hard link to oldname; it fails if newname exists.
func (r *Root) Link(oldname, newname string) error {
	return r.explain(newname, r.root.Link(oldname, newname))
}

// Symlink makes newname a symlink to target. The link is only written, never
// followed, so its target is not checked here.
func (r *Root) Symlink(target, newname string) error {
	return r.explain(newname, r.root.Symlink(target, newname))
}

// FS is the root as an fs.FS, for fs.WalkDir and fs.ReadDir: a walk lists
// symlinks as entries and never descends through them.
func (r *Root) FS() fs.FS { return r.root.FS() }

// CheckDir refuses a directory that leads outside the root. A directory that
// does not exist yet is fine if its existing parents stay inside.
func (r *Root) CheckDir(name string) error {
	_, err := r.root.Stat(name)
	if escaped(err) {
		return r.explain(name, err)
	}
	return nil
}

// Links is the number of hard links fi has, 1 if unknown. A file with more
// than one may be another file's content under an innocent name.
func Links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// TempName is where WriteAtomic stages name: a hidden file next to it,
// marked with tag so that whoever finds it left behind knows whose it is.
func TempName(name, tag string) string {
	dir, base := path.Split(filepath.ToSlash(name))
	return dir + "." + base + "." + tag + ".tmp"
}

// WriteAtomic replaces name with data: it writes TempName(name, tag), syncs
// it, renames it into place and syncs the directory, so name is either its
// old self or complete, never partial, and a crash leaves at most the
// temporary file.
func (r *Root) WriteAtomic(name string, data []byte, perm fs.FileMode, tag string) error {
	return r.replace(name, data, perm, tag, true)
}

// Replace is WriteAtomic without the syncs, for derived data such as a
// cache: after a crash the file is its old self, complete, or missing or
// empty, and whoever reads it must cope with the last two.
func (r *Root) Replace(name string, data []byte, perm fs.FileMode, tag string) error {
	return r.replace(name, data, perm, tag, false)
}

func (r *Root) replace(name string, data []byte, perm fs.FileMode, tag string, durable bool) error {
	dir := path.Dir(filepath.ToSlash(name))
	if err := r.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := TempName(name, tag)
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(perm)
	}
	if werr == nil && durable {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = r.Rename(tmp, name)
	}
	if werr != nil {
		r.root.Remove(tmp)
		return werr
	}
	if durable {
		r.SyncDir(dir)
	}
	return nil
}

// SyncDir makes new entries of dir durable; failing to is not an error.
func (r *Root) SyncDir(dir string) {
	if d, err := r.root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// ReadFile reads name whole, refusing one longer than limit bytes.
func (r *Root) ReadFile(name string, limit int64) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return data, nil
}
