package workflow

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// OpenStoreReadOnly opens the existing store of the repository at root for
// reading only, for processes that must never change it (the dashboard, shell
// completion). Two locks make that hold whatever code runs on the handle:
// SQLite opens the file with mode=ro (no write, no journal, no migration, no
// checkpoint into the database file), and query_only refuses every statement
// that would write. A missing store, or one whose schema differs from this
// binary's, is an error rather than something to create or migrate.
//
// Unlike OpenStore it allows a few connections, because a server answers
// requests concurrently; each request is one read transaction on one of them.
func OpenStoreReadOnly(ctx context.Context, root string) (*Store, error) {
	path := filepath.Join(root, DBFile)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, Errorf(ENOTFOUND, "no store at %s: run orchestrate init first", path)
		}
		return nil, Errorf(EINTERNAL, "open store: %v", err)
	}
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
	version, err := s.userVersion(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	latest, err := LatestSchemaVersion()
	if err != nil {
		db.Close()
		return nil, err
	}
	switch {
	case version > latest:
		db.Close()
		return nil, Errorf(EINTERNAL, "store %s has schema version %d, newer than this binary's %d: upgrade oxygen", path, version, latest)
	case version < latest:
		db.Close()
		return nil, Errorf(ECONFLICT, "store %s has schema version %d, older than this binary's %d; a read-only open never migrates: run any orchestrate command (orchestrate list) once, then retry", path, version, latest)
	}
	return s, nil
}

var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
