// Package sqlite is the embedded store: one SQLite database file per
// repository, the default that needs no server.
//
// It keeps store.Store's one-writer contract with BEGIN IMMEDIATE: a write
// transaction takes the database's write lock before its first statement,
// so writers queue on busy_timeout instead of failing halfway through a
// read-then-write. Durability is not negotiable: WAL with synchronous=FULL,
// so a granted lease or an audit entry survives power loss. Time is the
// machine's clock, read once the lock is held.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/flock"
	"github.com/oxygen-tools/oxygen/migrations"
	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// BusyTimeout bounds how long a writer queues behind others. It is generous
// because a queue of many processes each committing with fsync takes time.
const BusyTimeout = 30 * time.Second

// Store is the SQLite store of one repository.
type Store struct {
	*sqlstore.Store
	path string
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Open opens the database at path and brings its schema up to date. It
// never creates one: the caller has checked the file is there (a missing
// store must be noticed, not silently replaced by an empty one whose
// fencing tokens start again). The common case costs one PRAGMA read.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path)
}

// Create opens the database at path, creating the file and its directory
// if need be; only `orchestrate init` calls it.
func Create(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, store.Errorf(store.CodeInternal, "create state directory: %v", err)
	}
	return open(ctx, path)
}

func open(ctx context.Context, path string) (*Store, error) {
	dsn := path + "?_pragma=busy_timeout(" + strconv.Itoa(int(BusyTimeout/time.Millisecond)) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=journal_size_limit(0)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, store.Errorf(store.CodeInternal, "open store: %v", err)
	}
	// One connection: a CLI process runs one transaction at a time, and a
	// single connection keeps "now" and the write lock easy to reason about.
	db.SetMaxOpenConns(1)
	s := &Store{path: path}
	s.Store = sqlstore.New(db, driver{s}, store.Info{Kind: "sqlite", Location: path})
	if err := s.persistWAL(ctx); err != nil {
		db.Close()
		return nil, err
	}
	latest, behind, err := s.schemaState(ctx)
	if err == nil && behind {
		err = s.migrate(ctx, latest)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	s.SetSchema(latest.max)
	return s, nil
}

// OpenReadOnly opens an existing database for reading only. Two locks make
// that hold whatever code runs on the handle: SQLite opens the file with
// mode=ro (no write, no journal, no checkpoint into the database file), and
// query_only refuses every statement that would write. A schema that
// differs from this binary's is an error rather than something to migrate.
//
// Unlike Open it allows a few connections, because a server answers
// requests concurrently; each request is one read transaction on one of them.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	// A file: URI, so that SQLite itself applies mode=ro; the characters a URI
	// gives meaning to are escaped in the path.
	dsn := "file:" + uriPath.Replace(path) + "?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(" +
		strconv.Itoa(int(BusyTimeout/time.Millisecond)) + ")"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, store.Errorf(store.CodeInternal, "open store: %v", err)
	}
	db.SetMaxOpenConns(4)
	s := &Store{path: path}
	s.Store = sqlstore.New(db, driver{s}, store.Info{Kind: "sqlite", Location: path})
	latest, behind, err := s.schemaState(ctx)
	if err == nil && behind {
		err = store.Errorf(store.CodeConflict, "store %s lacks migrations this binary has; a read-only open never migrates: run any orchestrate command (orchestrate list) once, then retry", path)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	s.SetSchema(latest.max)
	return s, nil
}

var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// driver is what SQLite adds to the shared operations.
type driver struct{ s *Store }

// BeginWrite queues for the write lock (writelock.go), then starts BEGIN
// IMMEDIATE (the _txlock DSN option): the write lock is held from the first
// statement on.
func (d driver) BeginWrite(ctx context.Context, db *sql.DB) (*sql.Tx, func(), error) {
	unlock, err := d.s.writeLock(ctx)
	if err != nil {
		return nil, nil, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return tx, unlock, nil
}

// BeginRead starts a deferred transaction; its first read takes the snapshot.
func (driver) BeginRead(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

// Now reads the machine clock. For a write the lock is already held
// (BEGIN IMMEDIATE); a read's snapshot is taken by its first query, which
// the caller runs right after.
func (driver) Now(_ context.Context, _ *sql.Tx, clock store.Clock) (time.Time, error) {
	return clock(), nil
}

func (driver) Numbered() bool { return false }

// WakeWaiters does nothing: SQLite has no way to signal other processes,
// so its waiters poll (the store is on one machine, and a poll is a read
// of a local file).
func (driver) WakeWaiters(context.Context, *sql.Tx, string) error { return nil }

func (driver) Classify(op string, err error) error { return Classify(op, err) }

// Classify maps an SQLite error: a lock that outlived busy_timeout is a
// timeout, not an internal fault. An error that already carries a code is
// returned as it is.
func Classify(op string, err error) error {
	var e *store.Error
	if errors.As(err, &e) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return store.Errorf(store.CodeTimeout, "%s: the store stayed locked for %s: %v", op, BusyTimeout, err)
		}
	}
	return store.Errorf(store.CodeInternal, "%s: %v", op, err)
}

// schemaState compares the store's schema stamp with this binary's
// migrations: behind when the store lacks some of them, an error when the
// store is newer than the binary.
func (s *Store) schemaState(ctx context.Context) (latest schema, behind bool, err error) {
	stamp, err := s.userVersion(ctx)
	if err != nil {
		return schema{}, false, err
	}
	if latest, err = embeddedSchema(); err != nil {
		return schema{}, false, err
	}
	if have := schemaFromStamp(stamp); have.newerThan(latest) {
		return schema{}, false, store.Errorf(store.CodeInvalid, "store %s has schema version %d (%d migrations), newer than this binary's %d (%d): upgrade oxygen", s.path, have.max, have.count, latest.max, latest.count)
	}
	return latest, stamp != latest.stamp(), nil
}

// schema identifies a set of migrations by its highest number and its
// size. PRAGMA user_version holds max*1000+count, so a migration added
// below the highest (branches landing in another order) still changes the
// stamp and is applied, where the highest number alone would hide it.
type schema struct{ max, count int64 }

func (v schema) stamp() int64 { return v.max*1000 + v.count }

// schemaFromStamp reads user_version; stores made before the stamp held
// the highest number alone, which reads as count 0 and so migrates.
func schemaFromStamp(stamp int64) schema {
	if stamp < 1000 {
		return schema{max: stamp}
	}
	return schema{max: stamp / 1000, count: stamp % 1000}
}

func (v schema) newerThan(o schema) bool {
	return v.max > o.max || (v.max == o.max && v.count > o.count)
}

// persistWAL keeps the -wal and -shm files when the last connection closes.
// By default SQLite deletes both and the next process creates them again:
// four file-system metadata operations on every command, for nothing.
func (s *Store) persistWAL(ctx context.Context) error {
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		return Classify("open store", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		fc, ok := dc.(sqlite.FileControl)
		if !ok {
			return nil
		}
		_, err := fc.FileControlPersistWAL("main", 1)
		return err
	})
	if err != nil {
		return Classify("open store", err)
	}
	return nil
}

func (s *Store) userVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.DB().QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, Classify("read schema version", err)
	}
	return v, nil
}

// embeddedSchema describes the migrations embedded in the binary.
func embeddedSchema() (schema, error) {
	highest, count, err := migrations.Describe(migrations.SQLite)
	return schema{max: highest, count: count}, err
}

// migrate applies pending migrations under an exclusive file lock, so that of
// many processes finding an old schema at once, one migrates and the others
// wait and then find nothing to do. PRAGMA user_version mirrors goose's
// version afterwards so the next open can skip all of this.
func (s *Store) migrate(ctx context.Context, latest schema) error {
	unlock, err := flock.Lock(s.path + ".migrate.lock")
	if err != nil {
		return store.Errorf(store.CodeInternal, "%v", err)
	}
	defer unlock()
	if v, err := s.userVersion(ctx); err != nil || v == latest.stamp() {
		return err
	}
	var mode string
	if err := s.DB().QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return Classify("enable WAL", err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, s.DB(), migrations.SQLite, goose.WithAllowOutofOrder(true))
	if err != nil {
		return store.Errorf(store.CodeInternal, "load migrations: %v", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return store.Errorf(store.CodeInternal, "migrate store: %v", err)
	}
	if _, err := s.DB().ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", latest.stamp())); err != nil {
		return Classify("record schema version", err)
	}
	return nil
}

// LatestSchemaVersion is the highest migration number embedded in the binary.
func LatestSchemaVersion() (int64, error) {
	v, err := embeddedSchema()
	return v.max, err
}
