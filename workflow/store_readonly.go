package workflow

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// OpenServiceReadOnly is OpenService for processes that must never change
// the repository (the dashboard, shell completion): the same policy and the
// same store, opened read-only. Where OpenService would move a store left at
// its old place into the git common directory, this reads it where it is.
func OpenServiceReadOnly(ctx context.Context, l *Layout, clock Clock) (*Service, error) {
	cfg, err := LoadConfig(l.Root)
	if err != nil {
		return nil, err
	}
	l.UseStore(os.Getenv("OXYGEN_STORE"), cfg.Store.Path)
	if !l.Found() && l.Explicit == "" && l.legacyHome != "" {
		if _, err := os.Stat(filepath.Join(l.legacyHome, "state", "oxygen.db")); err == nil {
			l.Home = l.legacyHome
		}
	}
	store, err := OpenStoreReadOnly(ctx, l, cfg.Signals.Dir)
	if err != nil {
		return nil, err
	}
	return NewService(l, cfg, store, clock), nil
}

// OpenStoreReadOnly opens a layout's existing store for reading only. Two
// locks make that hold whatever code runs on the handle: SQLite opens the
// file with mode=ro (no write, no journal, no checkpoint into the database
// file), and query_only refuses every statement that would write. A
// missing store fails as it does for OpenStore, and a schema that differs
// from this binary's is an error rather than something to migrate.
//
// Unlike OpenStore it allows a few connections, because a server answers
// requests concurrently; each request is one read transaction on one of them.
func OpenStoreReadOnly(ctx context.Context, l *Layout, signalsDir string) (*Store, error) {
	if err := l.CheckStore(signalsDir); err != nil {
		return nil, err
	}
	path := l.DBPath()
	// A file: URI, so that SQLite itself applies mode=ro; the characters a URI
	// gives meaning to are escaped in the path.
	dsn := "file:" + uriPath.Replace(path) + "?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(" +
		strconv.Itoa(int(busyTimeout/time.Millisecond)) + ")"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, Errorf(EINTERNAL, "open store: %v", err)
	}
	db.SetMaxOpenConns(4)
	s := &Store{db: db, path: path}
	_, behind, err := s.schemaState(ctx)
	if err == nil && behind {
		err = Errorf(ECONFLICT, "store %s lacks migrations this binary has; a read-only open never migrates: run any orchestrate command (orchestrate list) once, then retry", path)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
