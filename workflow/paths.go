package workflow

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/oxygen-tools/oxygen/internal/pathspec"
)

// cleanUserPath turns a path typed on the command line, relative to the
// working directory or absolute, into a clean root-relative path. Symlinks
// inside the root are followed, so that a path through a link names what it
// reaches (dlink/install.sh is deploy/install.sh when dlink points at
// deploy/): that is what a write through it changes. A path that leads out
// of the root is refused. dir reports a directory.
func cleanUserPath(root, p string) (rel string, dir bool, err error) {
	if p == "" {
		return "", false, Errorf(EINVALID, "empty path")
	}
	abs := p
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return "", false, Errorf(EINTERNAL, "working directory: %v", err)
		}
		abs = filepath.Join(wd, p)
	}
	outside := Errorf(EINVALID, "path %q is outside the repository %s", p, root)
	rel, err = filepath.Rel(root, abs)
	if err != nil {
		return "", false, outside
	}
	clean, err := pathspec.CleanRel(rel)
	if err != nil {
		return "", false, outside
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", false, Errorf(EINTERNAL, "resolve %s: %v", root, err)
	}
	real, err := pathspec.Resolve(root, clean)
	if errors.Is(err, pathspec.ErrOutsideRoot) {
		return "", false, Errorf(EINVALID, "path %q leads out of the repository %s through a symlink", p, root)
	}
	if err != nil {
		return "", false, Errorf(EINVALID, "path %q: %v", p, err)
	}
	if rel, err = filepath.Rel(realRoot, real); err != nil {
		return "", false, outside
	}
	if clean, err = pathspec.CleanRel(rel); err != nil {
		return "", false, Errorf(EINVALID, "path %q leads to the repository root, not a file or directory in it", p)
	}
	fi, err := os.Stat(real)
	return clean, err == nil && fi.IsDir(), nil
}

// filesBelow lists the files under the root-relative directory dir, in
// lexical order, leaving out git's and Oxygen's own bookkeeping. Symlinks
// are listed, not followed.
func (s *Service) filesBelow(dir string) ([]string, error) {
	var files []string
	skip := s.skipDirs()
	err := filepath.WalkDir(filepath.Join(s.Worktree, filepath.FromSlash(dir)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(s.Worktree, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir() && skip[rel]:
			return filepath.SkipDir
		case !d.IsDir():
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, Errorf(EINVALID, "list %s: %v", dir, unwrapPathError(err))
	}
	return files, nil
}
