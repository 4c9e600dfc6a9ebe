// Package postgres is the server store: one PostgreSQL database shared by a
// team's machines, each repository in a schema of its own.
//
// Isolation: a repository's schema is named after the id `orchestrate init`
// writes into the committed oxygen.yaml (store.repository_id), so every
// clone of it finds the same schema and unrelated repositories pointed at
// the same server never see each other's rows, without anyone choosing a
// name.
//
// The one-writer contract of store.Store is kept with a transaction-scoped
// advisory lock, keyed by the schema, taken as a write transaction's first
// statement and released by its commit or rollback (also when the client
// dies: the server ends the session). Writers then run one at a time, each
// at READ COMMITTED seeing everything committed before it, exactly as
// SQLite's BEGIN IMMEDIATE behaves; the alternative, SERIALIZABLE with
// retries, would re-run a claim's whole rule check on every conflict and
// make a lost race cost several round trips instead of one wait.
//
// Time comes from the server: clock_timestamp() read once the lock is held,
// so machines whose clocks disagree still agree on when a lease expires.
package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/oxygen-tools/oxygen/migrations"
	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// MinServerVersion is the oldest PostgreSQL the schema is written for (13:
// the oldest release its SQL and PL/pgSQL have been run on is 15, and
// nothing it uses is newer than 13).
const MinServerVersion = 130000

// Config names a repository's store on a server.
type Config struct {
	// URL is the server, postgres://user@host:port/database?…; a password
	// may come from it, PGPASSWORD or a passfile (~/.pgpass).
	URL string
	// Repository is the repository's id (store.repository_id).
	Repository string
}

// Store is the PostgreSQL store of one repository.
type Store struct {
	*sqlstore.Store
	drv        *driver
	host       string
	schema     string
	connConfig *pgx.ConnConfig
	// created reports that this open made the schema (Import drops it
	// again if the copy into it fails).
	created bool
}

// Schema is the schema that holds a repository's rows.
func Schema(repository string) string { return "oxygen_" + repository }

func init() { store.RegisterServer(server{}) }

// server is this driver as the rules reach it: registered, so that only
// the binaries that import this package carry it (see store.Server).
type server struct{}

func (server) Open(ctx context.Context, url, repository string) (store.Store, error) {
	return asStore(Open(ctx, Config{URL: url, Repository: repository}))
}

func (server) OpenReadOnly(ctx context.Context, url, repository string) (store.Store, error) {
	return asStore(OpenReadOnly(ctx, Config{URL: url, Repository: repository}))
}

func (server) Create(ctx context.Context, url, repository string) (store.ServerStore, error) {
	s, err := Create(ctx, Config{URL: url, Repository: repository})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// asStore keeps a failed open from becoming a non-nil interface holding a
// nil *Store.
func asStore(s *Store, err error) (store.Store, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Open opens a repository's existing store and brings its schema up to
// date. It never creates one: a repository with no schema on the server is
// an error naming the server and the command that creates it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	return open(ctx, cfg, false, false)
}

// Create opens a repository's store, creating its schema if need be; only
// `orchestrate init` and `orchestrate store migrate` call it.
func Create(ctx context.Context, cfg Config) (*Store, error) {
	return open(ctx, cfg, true, false)
}

// OpenReadOnly opens an existing store whose every transaction is read
// only (the server refuses writes in it); it never migrates.
func OpenReadOnly(ctx context.Context, cfg Config) (*Store, error) {
	return open(ctx, cfg, false, true)
}

func open(ctx context.Context, cfg Config, create, readOnly bool) (*Store, error) {
	if !store.ValidRepositoryID(cfg.Repository) {
		return nil, store.Errorf(store.CodeInvalid, "store.repository_id %q in oxygen.yaml is not a repository id (8 to 40 lower-case letters and digits): run orchestrate init to add one", cfg.Repository)
	}
	pc, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return nil, store.Errorf(store.CodeInvalid, "store URL %s: %v", store.RedactURL(cfg.URL), redactErr(err, cfg.URL))
	}
	schema := Schema(cfg.Repository)
	host := fmt.Sprintf("%s:%d", pc.Host, pc.Port)
	pc.RuntimeParams["search_path"] = schema
	pc.RuntimeParams["application_name"] = "oxygen"
	// Statements are prepared once per connection by default; a CLI
	// process runs each statement about once, so describe-and-run costs a
	// round trip for nothing.
	pc.DefaultQueryExecMode = pgx.QueryExecModeExec
	if pc.ConnectTimeout == 0 {
		pc.ConnectTimeout = 10 * time.Second
	}
	db := stdlib.OpenDB(*pc)
	// Two connections: the rules' transaction, and the blob store's short
	// writes and reads, which may happen while that transaction is open.
	db.SetMaxOpenConns(2)
	drv := &driver{host: host, lockKey: LockKey(schema), channel: wakeChannel(schema), readOnly: readOnly}
	s := &Store{
		Store:      sqlstore.New(db, drv, store.Info{Kind: "postgres", Location: store.RedactURL(cfg.URL) + " (repository " + cfg.Repository + ")"}),
		drv:        drv,
		host:       host,
		schema:     schema,
		connConfig: pc,
	}
	if err := s.prepare(ctx, create, readOnly); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// prepare checks the server and the schema: a server too old, a store
// missing (unless creating) or newer than this binary are refused; an
// older one is migrated (never on a read-only open).
func (s *Store) prepare(ctx context.Context, create, readOnly bool) error {
	drv := s.drv
	var version int
	var exists bool
	err := s.DB().QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int, to_regclass('goose_db_version') IS NOT NULL`).Scan(&version, &exists)
	if err != nil {
		return drv.Classify("connect", err)
	}
	if version < MinServerVersion {
		return store.Errorf(store.CodeInvalid, "the store server %s runs PostgreSQL %d.%d; oxygen needs %d or newer", s.host, version/10000, version%10000, MinServerVersion/10000)
	}
	latest, _, err := migrations.Describe(migrations.Postgres)
	if err != nil {
		return err
	}
	have := int64(0)
	if exists {
		if err := s.DB().QueryRowContext(ctx, `SELECT COALESCE(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&have); err != nil {
			return drv.Classify("read the schema version", err)
		}
	}
	switch {
	case !exists && !create:
		return store.Errorf(store.CodeInvalid, "no store for this repository on %s (schema %s): run orchestrate init, or orchestrate store migrate --to URL to copy an existing one", s.host, s.schema)
	case have > latest:
		return store.Errorf(store.CodeInvalid, "the store on %s has schema version %d, newer than this binary's %d: upgrade oxygen", s.host, have, latest)
	case have == latest:
		s.SetSchema(have)
		return nil
	case readOnly:
		return store.Errorf(store.CodeConflict, "the store on %s lacks migrations this binary has; a read-only open never migrates: run any orchestrate command (orchestrate list) once, then retry", s.host)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	s.created = !exists
	s.SetSchema(latest)
	return nil
}

// migrate creates the schema if need be and applies pending migrations.
// A session advisory lock keyed by the schema makes processes that find an
// old schema at once take turns; the later ones find nothing to do.
func (s *Store) migrate(ctx context.Context) error {
	drv := s.drv
	if _, err := s.DB().ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
		return drv.Classify("create schema "+s.schema, err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(LockKey("migrate:" + s.schema)))
	if err != nil {
		return store.Errorf(store.CodeInternal, "migration lock: %v", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, s.DB(), migrations.Postgres,
		goose.WithAllowOutofOrder(true), goose.WithSessionLocker(locker))
	if err != nil {
		return store.Errorf(store.CodeInternal, "load migrations: %v", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return drv.Classify("migrate the store", err)
	}
	return nil
}

// Host is the server, host:port, for messages.
func (s *Store) Host() string { return s.host }

// SchemaName is the schema holding this repository's rows.
func (s *Store) SchemaName() string { return s.schema }

// LockKey is the advisory lock id for a name (a schema): the first 8 bytes
// of its SHA-256, so repositories on one server never share a lock.
// Exported for tests that hold a repository's write lock from outside.
func LockKey(name string) int64 {
	sum := sha256.Sum256([]byte("oxygen:" + name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// driver is what PostgreSQL adds to the shared operations.
type driver struct {
	host     string
	lockKey  int64
	channel  string // LISTEN/NOTIFY channel that wakes waiters
	readOnly bool
}

// BeginWrite starts a READ COMMITTED transaction and takes the
// repository's write lock before anything else runs in it.
func (d *driver) BeginWrite(ctx context.Context, db *sql.DB) (*sql.Tx, func(), error) {
	if d.readOnly {
		return nil, nil, store.Errorf(store.CodeInternal, "write on a read-only store")
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, d.lockKey); err != nil {
		tx.Rollback()
		return nil, nil, err
	}
	return tx, func() {}, nil
}

// BeginRead starts a REPEATABLE READ, READ ONLY transaction: one snapshot
// for all its statements, and the server refuses any write in it.
func (d *driver) BeginRead(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
}

// Now reads the server's clock (not the transaction's start, which
// now() would give: the lock may have been waited for). The machine's
// clock is never read.
func (d *driver) Now(ctx context.Context, tx *sql.Tx, _ store.Clock) (time.Time, error) {
	if t, ok := testNow(); ok {
		return t, nil
	}
	var t time.Time
	if err := tx.QueryRowContext(ctx, `SELECT clock_timestamp()`).Scan(&t); err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func (d *driver) Numbered() bool { return true }

// Classify maps a PostgreSQL error to a coded one that names the server
// and never the password: a server that cannot be reached or went away is
// a timeout (try again; nothing was committed), refused credentials or a
// missing database are invalid setup, a lock or statement timeout is a
// timeout.
func (d *driver) Classify(op string, err error) error {
	var se *store.Error
	if errors.As(err, &se) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "28P01" || pe.Code == "28000":
			return store.Errorf(store.CodeInvalid, "%s: the store server %s refused the credentials (%s)", op, d.host, pe.Message)
		case pe.Code == "3D000":
			return store.Errorf(store.CodeInvalid, "%s: the store server %s has no such database (%s)", op, d.host, pe.Message)
		case pe.Code == "55P03" || pe.Code == "57014" || pe.Code == "40P01":
			return store.Errorf(store.CodeTimeout, "%s: the store on %s stayed locked: %s", op, d.host, pe.Message)
		case strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P"):
			return store.Errorf(store.CodeTimeout, "%s: lost the store server %s (%s); nothing was committed, try again", op, d.host, pe.Message)
		}
		return store.Errorf(store.CodeInternal, "%s: %s (SQLSTATE %s)", op, pe.Message, pe.Code)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection refused") {
		return store.Errorf(store.CodeTimeout, "%s: cannot reach the store server %s: %s", op, d.host, shortCause(err))
	}
	return store.Errorf(store.CodeInternal, "%s: %v", op, err)
}

// shortCause is the last part of a driver error chain: "connection
// refused", "i/o timeout", without the connection string pgx prefixes.
func shortCause(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// redactErr keeps a parse error from echoing the URL, password and all.
func redactErr(err error, raw string) string {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil {
		if p, has := u.User.Password(); has && p != "" {
			msg = strings.ReplaceAll(msg, p, "***")
		}
	}
	return strings.ReplaceAll(msg, raw, store.RedactURL(raw))
}
