// Package storetest is the one conformance suite every store must pass:
// the same cases, run against the embedded SQLite store and the PostgreSQL
// server store, so that a rule cannot hold on a laptop and fail on the
// team's server (or the reverse). It drives the public workflow.Service
// API, which stays stable while the SQL behind it moves into named store
// operations, and uses raw SQL (sqlstore.DBOf) only to check rows and to
// tamper behind the rules' back.
//
// A driver's test runs it with an Opener for its kind:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, storetest.SQLite()) }
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to drop a test repository's schema
	"github.com/oxygen-tools/oxygen/store/postgres"
	"github.com/oxygen-tools/oxygen/store/postgres/pgtest"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
	"github.com/oxygen-tools/oxygen/workflow"
)

// Opener creates a fresh, initialised repository on one kind of store; it
// removes whatever it created when the test ends.
type Opener func(t *testing.T) *Repo

// Repo is one repository under test. Each Open is an independent Service
// with its own connection, as a separate process would have: races are run
// between them.
type Repo struct {
	Root string
	Kind string // "sqlite" or "postgres"
}

// Open opens a new Service on the repository, closed when t ends. Its
// clock is the machine's: a server store reads the server's instead, and
// the cases must hold either way.
func (r *Repo) Open(t *testing.T) *workflow.Service {
	t.Helper()
	l, err := workflow.Discover(r.Root)
	if err != nil {
		t.Fatalf("discover %s: %v", r.Root, err)
	}
	svc, err := workflow.OpenService(context.Background(), l, workflow.SystemClock)
	if err != nil {
		t.Fatalf("open service on %s: %v", r.Root, err)
	}
	t.Cleanup(func() { svc.Store.Close() })
	if got := svc.Store.Info().Kind; got != r.Kind {
		t.Fatalf("opened a %s store, want %s", got, r.Kind)
	}
	return svc
}

// initRepo runs workflow.Init on a new temporary directory, as
// `orchestrate init` does.
func initRepo(t *testing.T, kind string) *Repo {
	t.Helper()
	root := t.TempDir()
	if _, err := workflow.Init(context.Background(), root, true, workflow.SystemClock); err != nil {
		t.Fatalf("init %s: %v", root, err)
	}
	return &Repo{Root: root, Kind: kind}
}

// SQLite opens repositories on the embedded store, whatever the
// environment says about a server store.
func SQLite() Opener {
	return func(t *testing.T) *Repo {
		t.Setenv(workflow.StoreURLEnv, "")
		t.Setenv("OXYGEN_STORE", "")
		return initRepo(t, "sqlite")
	}
}

// Postgres opens repositories on the server at url, each in the schema
// init names after its new repository id; the schema is dropped when the
// test ends, after every Service on it has closed.
func Postgres(url string) Opener {
	return func(t *testing.T) *Repo {
		t.Setenv(workflow.StoreURLEnv, url)
		t.Setenv("OXYGEN_STORE", "")
		r := initRepo(t, "postgres")
		cfg, err := workflow.LoadConfig(r.Root)
		if err != nil {
			t.Fatalf("load config: %v", err)
		}
		schema := postgres.Schema(cfg.Store.RepositoryID)
		t.Cleanup(func() { pgtest.DropSchema(t, url, schema) })
		return r
	}
}

// Run runs every case against repositories from open.
func Run(t *testing.T, open Opener) {
	t.Run("Rules", func(t *testing.T) { runRules(t, open) })
	t.Run("Refusals", func(t *testing.T) { runRefusals(t, open) })
	t.Run("Races", func(t *testing.T) { runRaces(t, open) })
	t.Run("Contract", func(t *testing.T) { runContract(t, open) })
}

// db is the handle under a service's store, for checks and tampering.
func db(t *testing.T, svc *workflow.Service) *sql.DB {
	t.Helper()
	h := sqlstore.DBOf(svc.Store)
	if h == nil {
		t.Fatalf("the %s store has no database/sql handle", svc.Store.Info().Kind)
	}
	return h
}

// rebind writes ? placeholders for the store's database.
func rebind(svc *workflow.Service, q string) string {
	if svc.Store.Info().Kind == "postgres" {
		return sqlstore.Rebind(q)
	}
	return q
}

// exec runs a raw statement, with ? placeholders, behind the rules' back.
func exec(svc *workflow.Service, q string, args ...any) error {
	_, err := sqlstore.DBOf(svc.Store).ExecContext(context.Background(), rebind(svc, q), args...)
	return err
}

// scalar reads one value with a raw query.
func scalar[T any](t *testing.T, svc *workflow.Service, q string, args ...any) T {
	t.Helper()
	var v T
	if err := db(t, svc).QueryRowContext(context.Background(), rebind(svc, q), args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// tables lists the repository's tables from the database's own catalogue,
// so that a table added by a later migration is covered without anyone
// remembering to list it.
func tables(t *testing.T, svc *workflow.Service) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if svc.Store.Info().Kind == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := db(t, svc).QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatalf("list tables: %v", err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d tables (%v): the catalogue query misses the repository's schema", len(out), out)
	}
	return out
}

// snapshot is every row of every table, each row printed as one line,
// lines sorted: two snapshots are equal exactly when the store holds the
// same rows.
type snapshot map[string][]string

func dump(t *testing.T, svc *workflow.Service) snapshot {
	t.Helper()
	ctx := context.Background()
	out := snapshot{}
	for _, table := range tables(t, svc) {
		rows, err := db(t, svc).QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		lines := []string{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			var b strings.Builder
			for i, v := range vals {
				if b2, ok := v.([]byte); ok {
					v = string(b2)
				}
				fmt.Fprintf(&b, "%s=%v|", cols[i], v)
			}
			lines = append(lines, b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		rows.Close()
		sort.Strings(lines)
		out[table] = lines
	}
	return out
}

// diff describes how after differs from before, "" when it does not.
//
// One addition is not a change: a new row in blobs (PostgreSQL's blob
// store). A claim fingerprints the resource and stores the manifest
// before its write transaction, outside it, as the file store does; the
// blob is content-addressed and immutable, so one that no row names is
// harmless, and a refused claim may leave one (the file store leaves a
// file). Any other difference in blobs still counts.
func (before snapshot) diff(after snapshot) string {
	var b strings.Builder
	for table, rows := range after {
		if _, ok := before[table]; !ok {
			fmt.Fprintf(&b, "table %s appeared\n", table)
		}
		was := map[string]int{}
		for _, r := range before[table] {
			was[r]++
		}
		for _, r := range rows {
			if was[r] > 0 {
				was[r]--
				continue
			}
			if table == "blobs" {
				continue
			}
			fmt.Fprintf(&b, "%s: + %s\n", table, r)
		}
		for r, n := range was {
			for ; n > 0; n-- {
				fmt.Fprintf(&b, "%s: - %s\n", table, r)
			}
		}
	}
	for table := range before {
		if _, ok := after[table]; !ok {
			fmt.Fprintf(&b, "table %s disappeared\n", table)
		}
	}
	return b.String()
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := workflow.ErrorCode(err); got != code {
		t.Fatalf("%s: got %q (%v), want %s", what, got, err, code)
	}
}

// result is a call's value and error, to be checked with must:
// got(svc.AddItem(...)).must(t, "add").
type result[T any] struct {
	v   T
	err error
}

func got[T any](v T, err error) result[T] { return result[T]{v, err} }

// must fails the test on an error and returns the value.
func (r result[T]) must(t *testing.T, what string) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v", what, r.err)
	}
	return r.v
}

var ctx = context.Background()

// actor builds an actor of a domain.
func actor(owner, domain string) workflow.Actor { return workflow.Actor{Owner: owner, Domain: domain} }

// addItem adds an item of domain with the next id.
func addItem(t *testing.T, svc *workflow.Service, domain, title string) *workflow.Item {
	t.Helper()
	return got(svc.AddItem(ctx, workflow.ItemSpec{Title: title, Kind: "chore", Domain: domain, Priority: "medium", Objective: "conformance"}, domain)).must(t, "add "+title)
}

func claim(svc *workflow.Service, resource string, a workflow.Actor) (*workflow.ClaimResult, error) {
	return svc.Claim(ctx, workflow.ClaimRequest{Resource: resource, Actor: a, Reason: "conformance"})
}
