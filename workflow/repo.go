package workflow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotRepository is returned outside an initialised repository.
var ErrNotRepository = Errorf(EINVALID, "not an oxygen repository (run orchestrate init)")

// FindRoot walks up from dir to the nearest directory holding .substrate/.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", Errorf(EINTERNAL, "resolve %s: %v", dir, err)
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, SubstrateDir)); err == nil && fi.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotRepository
		}
		dir = parent
	}
}

// CheckRoot accepts an explicit root only if it is initialised.
func CheckRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", Errorf(EINTERNAL, "resolve %s: %v", dir, err)
	}
	if fi, err := os.Stat(filepath.Join(abs, SubstrateDir)); err != nil || !fi.IsDir() {
		return "", Errorf(EINVALID, "%s: not an oxygen repository (run orchestrate init)", abs)
	}
	return abs, nil
}

// gitignore keeps machine-local state out of commits: the database, the
// blob store that only the database refers to, and the capsules and reports
// generated from them.
const gitignore = "# Written by orchestrate init: machine-local state stays out of git.\nstate/\nstore/\ncapsules/\nreports/\n"

// InitResult lists what Init created; empty means it changed nothing.
type InitResult struct {
	Root    string   `json:"root"`
	Created []string `json:"created"`
}

// Init sets up root: the config with the protocol's defaults, the
// .gitignore, and the store. Whatever already exists is left alone.
func Init(ctx context.Context, root string, clock Clock) (*InitResult, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, Errorf(EINTERNAL, "resolve %s: %v", root, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, Errorf(EINVALID, "%s is not a directory", abs)
	}
	res := &InitResult{Root: abs, Created: []string{}}
	if err := os.MkdirAll(filepath.Join(abs, SubstrateDir), 0o755); err != nil {
		return nil, Errorf(EINTERNAL, "create %s: %v", SubstrateDir, err)
	}
	created, err := createFile(filepath.Join(abs, ConfigFile), defaultConfigYAML)
	if err != nil {
		return nil, err
	}
	if created {
		res.Created = append(res.Created, ConfigFile)
	}
	cfg, err := LoadConfig(abs)
	if err != nil {
		return nil, err
	}
	created, err = createFile(filepath.Join(abs, SubstrateDir, ".gitignore"), []byte(gitignore))
	if err != nil {
		return nil, err
	}
	if created {
		res.Created = append(res.Created, SubstrateDir+"/.gitignore")
	}
	_, statErr := os.Stat(filepath.Join(abs, DBFile))
	store, err := OpenStore(ctx, abs)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if errors.Is(statErr, os.ErrNotExist) {
		svc := NewService(abs, cfg, store, clock)
		err := svc.write(ctx, func(tx *Tx) error {
			v, _ := LatestSchemaVersion()
			return tx.audit(ctx, SystemActor.Owner, "store.init", "store", map[string]any{"schema_version": v})
		})
		if err != nil {
			return nil, err
		}
		res.Created = append(res.Created, DBFile)
	}
	return res, nil
}

// createFile writes data to path unless it exists.
func createFile(path string, data []byte) (bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, Errorf(EINTERNAL, "create %s: %v", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, Errorf(EINTERNAL, "write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		return false, Errorf(EINTERNAL, "write %s: %v", path, err)
	}
	return true, nil
}

// Describe is a short human summary of an InitResult.
func (r *InitResult) Describe() string {
	if len(r.Created) == 0 {
		return fmt.Sprintf("%s is already an oxygen repository; nothing changed", r.Root)
	}
	return fmt.Sprintf("initialised %s", r.Root)
}
