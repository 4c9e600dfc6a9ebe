package workflow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/oxygen-tools/oxygen/internal/safefs"
)

// ErrNotRepository is returned outside an initialised repository.
var ErrNotRepository = Errorf(EINVALID, "not an oxygen repository (run orchestrate init)")

// gitignore keeps machine-local state out of commits: the database, the
// blob store that only the database refers to, and the capsules and reports
// generated from them.
const gitignore = "# Written by orchestrate init: machine-local state stays out of git.\nstate/\nstore/\ncapsules/\nreports/\n"

// InitResult lists what Init created; empty means it changed nothing.
type InitResult struct {
	Root    string   `json:"root"`
	Store   string   `json:"store"`
	Created []string `json:"created"`
	// AddedRepositoryID is the store.repository_id init added to an
	// existing oxygen.yaml that had none (a repository initialised before
	// ids existed); it is to be committed.
	AddedRepositoryID string `json:"added_repository_id,omitempty"`
}

// Init sets up the repository that dir belongs to: the config with the
// protocol's defaults, the .gitignore, and the store. Inside a repository
// that already has a store (from a subdirectory, a linked worktree, or a
// clone sharing OXYGEN_STORE) it changes nothing and says where the store
// is: a second store would silently split the team's leases. Only an
// explicit dir (--root) makes a separate oxygen root below another one.
func Init(ctx context.Context, dir string, explicit bool, clock Clock) (*InitResult, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, Errorf(EINTERNAL, "resolve %s: %v", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, Errorf(EINVALID, "%s is not a directory", abs)
	}
	target := abs
	if l, err := Discover(abs); err == nil && !explicit {
		target = l.Worktree
		if _, err := os.Stat(filepath.Join(l.Worktree, ConfigFile)); err != nil {
			target = l.Root
		}
	}
	// A binary without the server driver hands init over before writing
	// anything, so the one that runs it reports every file it creates.
	if os.Getenv(StoreURLEnv) != "" || configuredStoreURL(target) != "" {
		if _, err := serverDriver(); err != nil {
			return nil, err
		}
	}
	res := &InitResult{Root: target, Created: []string{}}
	root, err := safefs.Open(target)
	if err != nil {
		return nil, Errorf(EINVALID, "%s: %v", target, err)
	}
	defer root.Close()
	if err := root.MkdirAll(SubstrateDir, 0o755); err != nil {
		return nil, Errorf(EINVALID, "create %s: %v", SubstrateDir, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ConfigFile, defaultConfigYAML}, {SubstrateDir + "/.gitignore", []byte(gitignore)}} {
		created, err := createFile(root, f.name, f.data)
		if err != nil {
			return nil, err
		}
		if created {
			res.Created = append(res.Created, f.name)
		}
	}
	added, err := ensureRepositoryID(root)
	if err != nil {
		return nil, err
	}
	if len(res.Created) == 0 || res.Created[0] != ConfigFile {
		res.AddedRepositoryID = added
	}
	l, err := Discover(target)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(l.Root)
	if err != nil {
		return nil, err
	}
	l.UseStore(os.Getenv("OXYGEN_STORE"), cfg.Store.Path)
	if _, err := l.MigrateLegacy(); err != nil {
		return nil, err
	}
	store, unlock, err := createStore(ctx, l, cfg)
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer store.Close()
	res.Store = store.Info().Location
	svc := NewService(l, cfg, store, clock)
	var fresh bool
	err = svc.write(ctx, func(tx *Tx) error {
		// Many inits may race on a new store: the first to hold the write
		// lock records it, the others find its event and do nothing.
		_, recorded, err := tx.st.AuditFirst(ctx)
		if err != nil {
			return storeErr("read audit log", err)
		}
		if fresh = !recorded; !fresh {
			return nil
		}
		// Fencing must survive losing the store: a new store's first token
		// is above any token an earlier store of this repository could
		// have issued, since no store issues more than one token per
		// microsecond of its life. Nothing kept beside the store is
		// trusted for this; `git clean` or a new machine may take it too.
		seed := tx.now.UnixMicro()
		if err := tx.st.TokenSeedAtLeast(ctx, seed); err != nil {
			return storeErr("seed lease tokens", err)
		}
		return tx.audit(ctx, SystemActor.Owner, "store.init", "store", map[string]any{"schema_version": store.Info().Schema, "first_token": seed + 1})
	})
	if err != nil {
		return nil, err
	}
	if fresh {
		res.Created = append(res.Created, shownPath(target, res.Store))
	}
	return res, nil
}

// shownPath is p relative to root when it lies below it, else absolute.
func shownPath(root, p string) string {
	if rel, err := filepath.Rel(root, p); err == nil && within(root, p) {
		return filepath.ToSlash(rel)
	}
	return p
}

// createFile writes data to name in root unless it exists.
func createFile(root *safefs.Root, name string, data []byte) (bool, error) {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if safefs.IsEscape(err) {
		return false, Errorf(EINVALID, "refusing to create %s: %v (remove the symlink)", name, err)
	}
	if err != nil {
		return false, Errorf(EINTERNAL, "create %s: %v", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, Errorf(EINTERNAL, "write %s: %v", name, err)
	}
	if err := f.Close(); err != nil {
		return false, Errorf(EINTERNAL, "write %s: %v", name, err)
	}
	return true, nil
}

// Describe is a short human summary of an InitResult.
func (r *InitResult) Describe() string {
	if len(r.Created) == 0 && r.AddedRepositoryID != "" {
		return fmt.Sprintf("already initialised at %s (store %s); added store.repository_id %s to %s: commit it so every clone shares it", r.Root, r.Store, r.AddedRepositoryID, ConfigFile)
	}
	if len(r.Created) == 0 {
		return fmt.Sprintf("already initialised at %s (store %s); nothing changed", r.Root, r.Store)
	}
	return fmt.Sprintf("initialised %s", r.Root)
}
