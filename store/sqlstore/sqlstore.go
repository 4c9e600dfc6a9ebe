// Package sqlstore implements the store's named operations once, in SQL
// that SQLite and PostgreSQL both run, over database/sql. A driver
// (store/sqlite, store/postgres) supplies what differs: how a write takes
// the repository's lock, where time comes from, placeholders and error
// mapping. Keeping one implementation means a rule cannot behave one way
// on a laptop and another on the team's server.
package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

// Driver is what a database adds to the shared operations.
type Driver interface {
	// BeginWrite starts a transaction that holds the repository's write
	// lock: the one-writer contract of store.Store. done runs once the
	// transaction has committed or rolled back.
	BeginWrite(ctx context.Context, db *sql.DB) (tx *sql.Tx, done func(), err error)
	// BeginRead starts a read-only transaction over one snapshot.
	BeginRead(ctx context.Context, db *sql.DB) (*sql.Tx, error)
	// Now reads the transaction's time; it runs right after Begin*.
	// clock is the machine's, for a database without a clock of its own.
	Now(ctx context.Context, tx *sql.Tx, clock store.Clock) (time.Time, error)
	// Numbered reports whether placeholders are $1, $2, … rather than ?.
	Numbered() bool
	// Classify turns a database error into a *store.Error with its code.
	Classify(op string, err error) error
	// WakeWaiters tells processes waiting for resource, once tx commits,
	// that it may have changed hands; a database whose waiters poll does
	// nothing.
	WakeWaiters(ctx context.Context, tx *sql.Tx, resource string) error
}

// Store is a store.Store over a database/sql handle.
type Store struct {
	db   *sql.DB
	drv  Driver
	info store.Info
}

// New wraps an open, migrated database.
func New(db *sql.DB, drv Driver, info store.Info) *Store {
	return &Store{db: db, drv: drv, info: info}
}

// DB is the handle, for drivers' own maintenance and for tests that tamper.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) Info() store.Info { return s.info }

// SetSchema records the schema version the driver found or migrated to.
func (s *Store) SetSchema(v int64) { s.info.Schema = v }

func (s *Store) Close() error { return s.db.Close() }

// Write implements store.Store.
func (s *Store) Write(ctx context.Context, clock store.Clock, fn func(store.Tx) error) (err error) {
	sqlTx, done, err := s.drv.BeginWrite(ctx, s.db)
	if err != nil {
		return s.drv.Classify("begin", err)
	}
	defer done()
	defer func() {
		if err != nil {
			sqlTx.Rollback()
		}
	}()
	tx, err := s.tx(ctx, sqlTx, clock)
	if err != nil {
		return err
	}
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return s.drv.Classify("commit", err)
	}
	return nil
}

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, clock store.Clock, fn func(store.Tx) error) error {
	sqlTx, err := s.drv.BeginRead(ctx, s.db)
	if err != nil {
		return s.drv.Classify("begin", err)
	}
	defer sqlTx.Rollback()
	tx, err := s.tx(ctx, sqlTx, clock)
	if err != nil {
		return err
	}
	return fn(tx)
}

func (s *Store) tx(ctx context.Context, sqlTx *sql.Tx, clock store.Clock) (*Tx, error) {
	now, err := s.drv.Now(ctx, sqlTx, clock)
	if err != nil {
		return nil, s.drv.Classify("read the clock", err)
	}
	return &Tx{tx: sqlTx, drv: s.drv, now: now}, nil
}

// Tx is a store.Tx over one database/sql transaction.
type Tx struct {
	tx  *sql.Tx
	drv Driver
	now time.Time
}

func (tx *Tx) Now() time.Time { return tx.now }

// SQLOf is the raw handle of a transaction of this package's stores, for
// the store layer's own maintenance (copying a store) and for tests; the
// rules never see it.
func SQLOf(tx store.Tx) store.SQL { return tx.(*Tx) }

// WakeWaiters implements store.Tx.
func (tx *Tx) WakeWaiters(ctx context.Context, resource string) error {
	if err := tx.drv.WakeWaiters(ctx, tx.tx, resource); err != nil {
		return tx.fail("wake waiters on "+resource, err)
	}
	return nil
}

// ExecContext runs a statement written with ? placeholders.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.rebind(query), args...)
}

// QueryContext runs a query written with ? placeholders.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, tx.rebind(query), args...)
}

// QueryRowContext runs a one-row query written with ? placeholders.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.rebind(query), args...)
}

func (tx *Tx) rebind(query string) string {
	if !tx.drv.Numbered() {
		return query
	}
	return Rebind(query)
}

// Rebind rewrites ? placeholders as $1, $2, … and ?N as $N, leaving any ?
// inside a quoted string alone.
func Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	quoted := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			b.WriteByte('$')
			if i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9' {
				continue // ?N names its argument: $N
			}
			n++
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// SetMaxConns implements store.Pooled.
func (s *Store) SetMaxConns(n int) { s.db.SetMaxOpenConns(n) }

// MaxConns implements store.Pooled.
func (s *Store) MaxConns() int { return s.db.Stats().MaxOpenConnections }

// DBOf is the database/sql handle under a store, for tests that tamper
// with rows behind the rules' back; nil for a store of another kind.
func DBOf(s store.Store) *sql.DB {
	if h, ok := s.(interface{ DB() *sql.DB }); ok {
		return h.DB()
	}
	return nil
}
