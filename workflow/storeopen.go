package workflow

import (
	"context"
	"path/filepath"

	"crypto/rand"
	"encoding/hex"
	"os"

	"github.com/oxygen-tools/oxygen/internal/flock"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlite"
)

// StoreURLEnv selects a server store for this process, over store.url.
const StoreURLEnv = "OXYGEN_STORE_URL"

// storeURL is the server store a repository uses, "" for the embedded one.
// The environment wins, so one machine can point at another server (or a
// test database) without editing the committed policy.
func storeURL(cfg *Config) string {
	if v := os.Getenv(StoreURLEnv); v != "" {
		return v
	}
	return cfg.Store.URL
}

// newRepositoryID is 64 random bits in hex: no one has to pick a name, and
// two repositories on one server never collide.
func newRepositoryID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// configuredStoreURL is the store.url of the config in root, if it has
// one that loads.
func configuredStoreURL(root string) string {
	cfg, err := LoadConfig(root)
	if err != nil {
		return ""
	}
	return cfg.Store.URL
}

// ServerHandoff, when set, runs the command again in a binary that
// carries a server driver, and returns only if it could not. oxygen and
// orchestrate leave the PostgreSQL driver out, because every process
// would pay its start-up; internal/cli sets this to replace the process
// with their -pg sibling, so a repository on a server store works with
// either binary.
var ServerHandoff func() error

// serverStore checks that a repository on a server store can be told
// apart (it needs the id init writes), and finds the driver: this
// binary's own, or, through ServerHandoff, a sibling's.
func serverStore(u string, cfg *Config) (store.Server, error) {
	if !store.IsServerURL(u) {
		return nil, Errorf(EINVALID, "%s: %s is not a postgres:// URL", StoreURLEnv, store.RedactURL(u))
	}
	if cfg.Store.RepositoryID == "" {
		return nil, Errorf(EINVALID, "oxygen.yaml has no store.repository_id, which a server store needs to tell this repository apart: run orchestrate init (it adds only the id), then commit oxygen.yaml")
	}
	return serverDriver()
}

// serverDriver is the server driver this binary carries or, failing that,
// hands the command to a binary that does.
func serverDriver() (store.Server, error) {
	if s := store.RegisteredServer(); s != nil {
		return s, nil
	}
	if ServerHandoff != nil {
		if err := ServerHandoff(); err != nil {
			return nil, err
		}
	}
	return nil, Errorf(EINVALID, "this binary carries no PostgreSQL driver, which a server store needs")
}

// OpenStore opens the store of a layout and brings its schema up to date.
// It never creates one: a command that finds no store, an empty one or one
// that is not a database exits 2 naming where it looked (for SQLite,
// Layout.CheckStore), so a lost store is noticed instead of silently
// replaced by an empty one whose fencing tokens start again. The common
// case costs one stat, one header read and one PRAGMA read (SQLite), or a
// connection and one query (PostgreSQL).
func OpenStore(ctx context.Context, l *Layout, cfg *Config) (store.Store, error) {
	if u := storeURL(cfg); u != "" {
		srv, err := serverStore(u, cfg)
		if err != nil {
			return nil, err
		}
		st, err := srv.Open(ctx, u, cfg.Store.RepositoryID)
		if err != nil {
			return nil, storeErr("open store", err)
		}
		if err := localState(l); err != nil {
			st.Close()
			return nil, err
		}
		return st, nil
	}
	if err := l.CheckStore(cfg.Signals.Dir); err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, l.DBPath())
	if err != nil {
		return nil, storeErr("open store", err)
	}
	return st, nil
}

// OpenStoreReadOnly opens a layout's existing store for reading only (the
// drivers say how that holds). A missing store fails as it does for
// OpenStore, and a schema that differs from this binary's is an error
// rather than something to migrate.
func OpenStoreReadOnly(ctx context.Context, l *Layout, cfg *Config) (store.Store, error) {
	if u := storeURL(cfg); u != "" {
		srv, err := serverStore(u, cfg)
		if err != nil {
			return nil, err
		}
		st, err := srv.OpenReadOnly(ctx, u, cfg.Store.RepositoryID)
		if err != nil {
			return nil, storeErr("open store", err)
		}
		return st, nil
	}
	if err := l.CheckStore(cfg.Signals.Dir); err != nil {
		return nil, err
	}
	st, err := sqlite.OpenReadOnly(ctx, l.DBPath())
	if err != nil {
		return nil, storeErr("open store", err)
	}
	return st, nil
}

// createStore opens the layout's store, creating it if need be; only Init
// calls it. Inits racing on a new SQLite store take turns under a file lock
// (held until unlock): the first creates it, and the others must not
// mistake its still-empty file for a broken store. On a server, the
// schema's creation and the write lock do that.
func createStore(ctx context.Context, l *Layout, cfg *Config) (store.Store, func() error, error) {
	if u := storeURL(cfg); u != "" {
		srv, err := serverStore(u, cfg)
		if err != nil {
			return nil, nil, err
		}
		st, err := srv.Create(ctx, u, cfg.Store.RepositoryID)
		if err != nil {
			return nil, nil, storeErr("create store", err)
		}
		if err := localState(l); err != nil {
			st.Close()
			return nil, nil, err
		}
		return st, func() error { return nil }, nil
	}
	if err := os.MkdirAll(filepath.Dir(l.DBPath()), 0o755); err != nil {
		return nil, nil, Errorf(EINTERNAL, "create state directory: %v", err)
	}
	release, err := flock.Lock(l.DBPath() + ".init.lock")
	if err != nil {
		return nil, nil, Errorf(EINTERNAL, "%v", err)
	}
	if fi, err := os.Stat(l.DBPath()); err == nil && fi.Size() > 0 {
		if err := l.CheckStore(cfg.Signals.Dir); err != nil {
			release()
			return nil, nil, err
		}
	}
	lite, err := sqlite.Create(ctx, l.DBPath())
	if err != nil {
		release()
		return nil, nil, storeErr("create store", err)
	}
	return lite, release, nil
}

// localState makes the machine-local directory that capsules and reports
// are written to where the command runs. With a SQLite store it holds the
// database and exists from init on; with a server store a fresh clone (or
// another machine) has none until its first command.
func localState(l *Layout) error {
	if err := os.MkdirAll(l.Home, 0o755); err != nil {
		return Errorf(EINTERNAL, "create %s: %v", l.Home, err)
	}
	return nil
}
