package workflow

import (
	"os"
	"path/filepath"

	"github.com/oxygen-tools/oxygen/internal/pathspec"
)

// cleanUserPath turns a path typed on the command line, relative to the
// working directory or absolute, into a clean root-relative path.
func cleanUserPath(root, p string) (string, error) {
	if p == "" {
		return "", Errorf(EINVALID, "empty path")
	}
	abs := p
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return "", Errorf(EINTERNAL, "working directory: %v", err)
		}
		abs = filepath.Join(wd, p)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return "", Errorf(EINVALID, "path %q is outside the repository %s", p, root)
	}
	clean, err := pathspec.CleanRel(rel)
	if err != nil {
		return "", Errorf(EINVALID, "path %q is outside the repository %s", p, root)
	}
	return clean, nil
}
