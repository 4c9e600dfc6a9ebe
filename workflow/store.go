package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oxygen-tools/oxygen/migrations"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Store is the SQLite database under .substrate/state.
//
// Durability is not negotiable: WAL with synchronous=FULL, so a granted lease
// or an audit entry survives power loss. Every write transaction starts with
// BEGIN IMMEDIATE (the _txlock DSN option), which takes the write lock up
// front: concurrent writers queue on busy_timeout instead of failing with
// SQLITE_BUSY halfway through a read-then-write.
type Store struct {
	db   *sql.DB
	path string
}

// busyTimeout bounds how long a writer queues behind others. It is generous
// because a queue of many processes each committing with fsync takes time.
const busyTimeout = 30 * time.Second

// OpenStore opens the store of a layout and brings its schema up to date.
// It never creates one: a command that finds no store, an empty one or one
// that is not a database exits 2 naming the path (Layout.CheckStore), so a
// lost store is noticed instead of silently replaced by an empty one whose
// fencing tokens start again. The common case costs one stat, one header
// read and one PRAGMA read.
func OpenStore(ctx context.Context, l *Layout, signalsDir string) (*Store, error) {
	if err := l.CheckStore(signalsDir); err != nil {
		return nil, err
	}
	return openStore(ctx, l.DBPath())
}

// createStore opens the store at path, creating the file and its directory
// if need be; only Init calls it.
func createStore(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, Errorf(EINTERNAL, "create state directory: %v", err)
	}
	return openStore(ctx, path)
}

func openStore(ctx context.Context, path string) (*Store, error) {
	dsn := path + "?_pragma=busy_timeout(" + strconv.Itoa(int(busyTimeout/time.Millisecond)) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=journal_size_limit(0)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, Errorf(EINTERNAL, "open store: %v", err)
	}
	// One connection: a CLI process runs one transaction at a time, and a
	// single connection keeps "now" and the write lock easy to reason about.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path}
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
	return s, nil
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
		return schema{}, false, Errorf(EINTERNAL, "store %s has schema version %d (%d migrations), newer than this binary's %d (%d): upgrade oxygen", s.path, have.max, have.count, latest.max, latest.count)
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
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return storeErr("open store", err)
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
		return storeErr("open store", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// DB exposes the handle for tests that need to tamper with the store.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) userVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, storeErr("read schema version", err)
	}
	return v, nil
}

// LatestSchemaVersion is the highest migration number embedded in the binary.
func LatestSchemaVersion() (int64, error) {
	v, err := embeddedSchema()
	return v.max, err
}

// embeddedSchema describes the migrations embedded in the binary.
func embeddedSchema() (schema, error) {
	entries, err := fs.ReadDir(migrations.SQLite, ".")
	if err != nil {
		return schema{}, err
	}
	var v schema
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			continue
		}
		v.count++
		v.max = max(v.max, n)
	}
	return v, nil
}

// migrate applies pending migrations under an exclusive file lock, so that of
// many processes finding an old schema at once, one migrates and the others
// wait and then find nothing to do. PRAGMA user_version mirrors goose's
// version afterwards so the next open can skip all of this.
func (s *Store) migrate(ctx context.Context, latest schema) error {
	locker := &fileLocker{path: s.path + ".migrate.lock"}
	if err := locker.Lock(ctx, s.db); err != nil {
		return err
	}
	defer locker.Unlock(ctx, s.db)
	if v, err := s.userVersion(ctx); err != nil || v == latest.stamp() {
		return err
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return storeErr("enable WAL", err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, s.db, migrations.SQLite, goose.WithAllowOutofOrder(true))
	if err != nil {
		return Errorf(EINTERNAL, "load migrations: %v", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return Errorf(EINTERNAL, "migrate store: %v", err)
	}
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", latest.stamp())); err != nil {
		return storeErr("record schema version", err)
	}
	return nil
}

// fileLocker serialises migrations across processes with flock(2). It
// satisfies goose's lock.Locker so it can also be handed to a Provider.
type fileLocker struct {
	path string
	f    *os.File
}

func (l *fileLocker) Lock(ctx context.Context, _ *sql.DB) error {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return Errorf(EINTERNAL, "open migration lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return Errorf(EINTERNAL, "take migration lock: %v", err)
	}
	l.f = f
	return nil
}

func (l *fileLocker) Unlock(context.Context, *sql.DB) error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close() // closing releases the flock
	l.f = nil
	return err
}

// Tx is one transaction with the instant it runs at.
type Tx struct {
	tx  *sql.Tx
	now time.Time
	// behind is how far the clock read behind the newest audit event (see
	// readClock); health reports it.
	behind time.Duration
	// exports are the files this transaction's rows need, written once it
	// commits (Service.write).
	exports []export
	// staleBriefs are the capsules in use that the leases this transaction
	// ended may have made stale, checked once it commits (briefs.go).
	staleBriefs []staleBrief
	// scans are the fingerprints taken before the transaction of resources
	// whose leases it may grant or end (Service.writeScanned).
	scans *leaseScans
}

// texts reads the one text column a query selects, in its order; what
// names the rows in a store error. No rows is an empty list.
func (tx *Tx) texts(ctx context.Context, what, query string, args ...any) ([]string, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, storeErr("read "+what, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Now is the transaction's single reading of the clock, taken once the
// transaction holds its lock or snapshot (see readClock).
func (tx *Tx) Now() time.Time { return tx.now }

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := tx.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, storeErr("write", err)
	}
	return res, nil
}

// execOne runs a guarded UPDATE that must change exactly one row: zero
// means the row left the state the guard expects (another writer, or an
// edit behind oxygen's back), and the transaction must not go on as if the
// change were made.
func (tx *Tx) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := tx.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return storeErr("write", err)
	}
	if n != 1 {
		return Errorf(ECONFLICT, "%s: the row was not in the state expected (%d rows changed); try again", what, n)
	}
	return nil
}

func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := tx.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, storeErr("read", err)
	}
	return rows, nil
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, query, args...)
}

// write runs fn in one BEGIN IMMEDIATE transaction and commits when fn
// returns nil. Anything else rolls back, so a refused command changes nothing.
// The clock is read once the write lock is held: a command that queued behind
// other writers must not grant a lease, or record an event, at the instant it
// started waiting.
func (s *Store) write(ctx context.Context, clock Clock, fn func(*Tx) error) (err error) {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return storeErr("begin", err)
	}
	tx := &Tx{tx: sqlTx}
	defer func() {
		if err != nil {
			sqlTx.Rollback()
		}
	}()
	if err = tx.readClock(ctx, clock); err != nil {
		return err
	}
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return storeErr("commit", err)
	}
	return nil
}

// read runs fn in a deferred (read-only) transaction: a consistent snapshot
// that never blocks writers. Its time is read once the snapshot is taken, by
// the same rule as a write's.
func (s *Store) read(ctx context.Context, clock Clock, fn func(*Tx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return storeErr("begin", err)
	}
	defer sqlTx.Rollback()
	tx := &Tx{tx: sqlTx}
	if err := tx.readClock(ctx, clock); err != nil {
		return err
	}
	return fn(tx)
}

// readClock sets the transaction's one reading of the clock, never earlier
// than the newest audit event. Events are then in time order as well as in
// sequence order, which audit verify checks. A clock that stepped back (an
// NTP step, a clock set right after running ahead) makes the store's time
// stand still at the last event's until it catches up, instead of refusing
// every write meanwhile: leases last longer than asked by at most the step,
// never shorter, so no lease is granted twice, and holders can still renew
// and release. The query is also the transaction's first read, which is
// what takes a read snapshot.
func (tx *Tx) readClock(ctx context.Context, clock Clock) error {
	var last int64
	err := tx.queryRow(ctx, `SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return storeErr("read audit head", err)
	}
	tx.now = clock()
	if ms(tx.now) < last {
		tx.behind = fromMS(last).Sub(tx.now)
		tx.now = fromMS(last).Time
	}
	return nil
}

// storeErr wraps a database error. A lock that outlived busy_timeout is a
// timeout, not an internal fault.
func storeErr(op string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return Errorf(ETIMEOUT, "%s: the store stayed locked for %s: %v", op, busyTimeout, err)
		}
	}
	return Errorf(EINTERNAL, "%s: %v", op, err)
}

// filter builds the WHERE clause of a list query from optional conditions.
type filter struct {
	conds []string
	args  []any
}

// when adds cond with its arguments if on is true.
func (f *filter) when(on bool, cond string, args ...any) {
	if on {
		f.conds = append(f.conds, cond)
		f.args = append(f.args, args...)
	}
}

func (f *filter) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.conds, " AND ")
}
