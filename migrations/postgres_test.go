package migrations_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"github.com/oxygen-tools/oxygen/migrations"
)

// The PostgreSQL set must stay the SQLite set's twin: the Go code shares its
// SQL between the two stores, so a missing column, index or trigger would
// only show up as a store that behaves differently. These tests read the
// SQLite set's end schema from SQLite itself and hold PostgreSQL to it.

// openPostgres returns a handle on a fresh schema, dropped when the test
// ends, with the PostgreSQL set applied.
func openPostgres(t *testing.T) (*sql.DB, string) {
	t.Helper()
	url := os.Getenv("OXYGEN_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("OXYGEN_TEST_POSTGRES_URL not set: skipping the PostgreSQL migration tests")
	}
	ctx := context.Background()
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatal(err)
	}
	schema := "oxygen_migrations_" + hex.EncodeToString(suffix[:])

	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})

	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() }) // runs before the drop above
	migrate(t, db, goose.DialectPostgres, migrations.Postgres)
	return db, schema
}

// openSQLite returns an in-memory SQLite database with the SQLite set
// applied and foreign keys on, as the store opens it.
func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // every connection to :memory: is a database of its own
	t.Cleanup(func() { db.Close() })
	migrate(t, db, goose.DialectSQLite3, migrations.SQLite)
	return db
}

func migrate(t *testing.T, db *sql.DB, dialect goose.Dialect, set fs.FS) {
	t.Helper()
	provider, err := goose.NewProvider(dialect, db, set, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatalf("load %s migrations: %v", dialect, err)
	}
	if _, err := provider.Up(context.Background()); err != nil {
		t.Fatalf("apply %s migrations: %v", dialect, err)
	}
}

func TestPostgresMigrationsApplyOnce(t *testing.T) {
	db, _ := openPostgres(t)
	ctx := context.Background()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if len(results) != 0 {
		t.Errorf("second Up applied %d migrations, want none", len(results))
	}
	version, err := provider.GetDBVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sources := provider.ListSources()
	if latest := sources[len(sources)-1].Version; version != latest {
		t.Errorf("schema version %d, want %d", version, latest)
	}
}

// Down must undo every migration, so that the set can be stepped back and
// applied again to the same end schema.
func TestPostgresMigrationsGoDownAndUpAgain(t *testing.T) {
	db, schema := openPostgres(t)
	ctx := context.Background()
	before := describePostgres(t, db, schema)
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.DownTo(ctx, 0); err != nil {
		t.Fatalf("down to 0: %v", err)
	}
	var left int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> 'goose_db_version'`, schema).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d tables left after migrating down to 0", left)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if after := describePostgres(t, db, schema); !after.equal(before) {
		t.Errorf("schema after down and up differs:\nbefore %v\nafter  %v", before, after)
	}
}

func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	pg, schema := openPostgres(t)
	lite := describeSQLite(t, openSQLite(t))
	got := describePostgres(t, pg, schema)

	// blobs is PostgreSQL's own (00022): the SQLite store keeps blobs as files.
	if _, ok := got.tables["blobs"]; !ok {
		t.Error("table blobs missing")
	}
	delete(got.tables, "blobs")
	for name := range lite.tables {
		if _, ok := got.tables[name]; !ok {
			t.Errorf("table %s missing", name)
		}
	}
	for name := range got.tables {
		if _, ok := lite.tables[name]; !ok {
			t.Errorf("table %s is not in the SQLite set", name)
		}
	}
	for name, want := range lite.tables {
		have, ok := got.tables[name]
		if !ok {
			continue
		}
		for _, diff := range want.diff(have) {
			t.Errorf("table %s: %s", name, diff)
		}
	}

	for name, want := range lite.indexes {
		if have, ok := got.indexes[name]; !ok {
			t.Errorf("index %s missing", name)
		} else if have != want {
			t.Errorf("index %s is %q, SQLite has %q", name, have, want)
		}
	}
	for name := range got.indexes {
		if _, ok := lite.indexes[name]; !ok {
			t.Errorf("index %s is not in the SQLite set", name)
		}
	}

	// PostgreSQL adds <table>_no_truncate (TRUNCATE skips row triggers) and
	// the blobs triggers; every SQLite trigger must be there on its table.
	for name, table := range lite.triggers {
		if have, ok := got.triggers[name]; !ok {
			t.Errorf("trigger %s on %s missing", name, table)
		} else if have != table {
			t.Errorf("trigger %s is on %s, SQLite has it on %s", name, have, table)
		}
	}
	for name, table := range got.triggers {
		if _, ok := lite.triggers[name]; ok {
			continue
		}
		if !strings.HasSuffix(name, "_no_truncate") && table != "blobs" {
			t.Errorf("trigger %s on %s is not in the SQLite set", name, table)
		}
	}
}

// schemaShape is what both databases can report about a schema, in
// comparable form.
type schemaShape struct {
	tables   map[string]tableShape
	indexes  map[string]string // explicit index name -> "table(cols)", with " unique" and " partial"
	triggers map[string]string // trigger name -> table
}

type tableShape struct {
	columns map[string]string // name -> "bigint|text [not null] [default X]"
	keys    []string          // primary key and unique constraints, as "(cols)"
	foreign []string          // "col -> table(col)"
	checks  int
}

func (a tableShape) diff(b tableShape) []string {
	var out []string
	for col, want := range a.columns {
		if have, ok := b.columns[col]; !ok {
			out = append(out, "column "+col+" missing")
		} else if have != want {
			out = append(out, fmt.Sprintf("column %s is %q, SQLite has %q", col, have, want))
		}
	}
	for col := range b.columns {
		if _, ok := a.columns[col]; !ok {
			out = append(out, "column "+col+" is not in the SQLite set")
		}
	}
	if !slices.Equal(a.keys, b.keys) {
		out = append(out, fmt.Sprintf("keys %v, SQLite has %v", b.keys, a.keys))
	}
	if !slices.Equal(a.foreign, b.foreign) {
		out = append(out, fmt.Sprintf("foreign keys %v, SQLite has %v", b.foreign, a.foreign))
	}
	if a.checks != b.checks {
		out = append(out, fmt.Sprintf("%d CHECK constraints, SQLite has %d", b.checks, a.checks))
	}
	return out
}

func (s schemaShape) equal(o schemaShape) bool {
	if len(s.tables) != len(o.tables) || len(s.indexes) != len(o.indexes) || len(s.triggers) != len(o.triggers) {
		return false
	}
	for name, t := range s.tables {
		if ot, ok := o.tables[name]; !ok || len(t.diff(ot)) > 0 {
			return false
		}
	}
	for name, ix := range s.indexes {
		if o.indexes[name] != ix {
			return false
		}
	}
	for name, tb := range s.triggers {
		if o.triggers[name] != tb {
			return false
		}
	}
	return true
}

func column(typ string, notNull bool, dflt sql.NullString) string {
	s := typ
	if notNull {
		s += " not null"
	}
	if dflt.Valid {
		s += " default " + dflt.String
	}
	return s
}

var checkKeyword = regexp.MustCompile(`\bCHECK\s*\(`)

func describeSQLite(t *testing.T, db *sql.DB) schemaShape {
	t.Helper()
	shape := schemaShape{tables: map[string]tableShape{}, indexes: map[string]string{}, triggers: map[string]string{}}
	type object struct{ kind, name, table, sql string }
	var objects []object
	queryRows(t, db, func(r *sql.Rows) error {
		var o object
		var text sql.NullString
		err := r.Scan(&o.kind, &o.name, &o.table, &text)
		o.sql = text.String
		objects = append(objects, o)
		return err
	}, `SELECT type, name, tbl_name, sql FROM sqlite_master
		WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> 'goose_db_version'`)

	for _, o := range objects {
		switch o.kind {
		case "table":
			table := tableShape{columns: map[string]string{}, checks: len(checkKeyword.FindAllString(o.sql, -1))}
			pk := map[int]string{}
			queryRows(t, db, func(r *sql.Rows) error {
				var cid, notNull, pkPos int
				var name, typ string
				var dflt sql.NullString
				if err := r.Scan(&cid, &name, &typ, &notNull, &dflt, &pkPos); err != nil {
					return err
				}
				switch typ {
				case "INTEGER", "BIGINT":
					typ = "bigint"
				case "TEXT":
					typ = "text"
				default:
					return fmt.Errorf("%s.%s: no PostgreSQL type for %q", o.name, name, typ)
				}
				if pkPos > 0 {
					pk[pkPos] = name
				}
				// A PRIMARY KEY column is NOT NULL in PostgreSQL whatever
				// SQLite's legacy rules allow.
				table.columns[name] = column(typ, notNull == 1 || pkPos > 0, dflt)
				return nil
			}, "SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", o.name)
			var pkCols []string
			for i := 1; i <= len(pk); i++ {
				pkCols = append(pkCols, pk[i])
			}
			table.keys = append(table.keys, "("+strings.Join(pkCols, ",")+")")
			var uniques []string
			queryRows(t, db, func(r *sql.Rows) error {
				var name string
				if err := r.Scan(&name); err != nil {
					return err
				}
				uniques = append(uniques, name)
				return nil
			}, "SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND origin = 'u'", o.name)
			for _, ix := range uniques {
				table.keys = append(table.keys, "("+strings.Join(sqliteIndexColumns(t, db, ix), ",")+")")
			}
			slices.Sort(table.keys)
			queryRows(t, db, func(r *sql.Rows) error {
				var from, to, target string
				if err := r.Scan(&from, &target, &to); err != nil {
					return err
				}
				table.foreign = append(table.foreign, from+" -> "+target+"("+to+")")
				return nil
			}, `SELECT "from", "table", "to" FROM pragma_foreign_key_list(?)`, o.name)
			slices.Sort(table.foreign)
			shape.tables[o.name] = table
		case "index":
			if o.sql == "" {
				continue // backs a PRIMARY KEY or UNIQUE constraint, compared as a key
			}
			desc := o.table + "(" + strings.Join(sqliteIndexColumns(t, db, o.name), ",") + ")"
			if strings.HasPrefix(o.sql, "CREATE UNIQUE") {
				desc += " unique"
			}
			if strings.Contains(o.sql, " WHERE ") {
				desc += " partial"
			}
			shape.indexes[o.name] = desc
		case "trigger":
			shape.triggers[o.name] = o.table
		}
	}
	return shape
}

func sqliteIndexColumns(t *testing.T, db *sql.DB, index string) []string {
	t.Helper()
	var cols []string
	queryRows(t, db, func(r *sql.Rows) error {
		var name string
		if err := r.Scan(&name); err != nil {
			return err
		}
		cols = append(cols, name)
		return nil
	}, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", index)
	return cols
}

// pgDefault strips the cast PostgreSQL adds to a literal default, so that
// '[]'::text compares equal to SQLite's '[]'.
var pgDefault = regexp.MustCompile(`::[a-z ]+$`)

func describePostgres(t *testing.T, db *sql.DB, schema string) schemaShape {
	t.Helper()
	shape := schemaShape{tables: map[string]tableShape{}, indexes: map[string]string{}, triggers: map[string]string{}}
	queryRows(t, db, func(r *sql.Rows) error {
		var table, name, typ, nullable string
		var collation, dflt sql.NullString
		if err := r.Scan(&table, &name, &typ, &nullable, &collation, &dflt); err != nil {
			return err
		}
		if typ == "text" && collation.String != "C" {
			// SQLite compares text byte by byte (BINARY); only "C" agrees.
			typ += " collate " + cmp.Or(collation.String, "default")
		}
		if dflt.Valid {
			dflt.String = pgDefault.ReplaceAllString(dflt.String, "")
		}
		tb, ok := shape.tables[table]
		if !ok {
			tb = tableShape{columns: map[string]string{}}
		}
		tb.columns[name] = column(typ, nullable == "NO", dflt)
		shape.tables[table] = tb
		return nil
	}, `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, c.collation_name, c.column_default
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE' AND c.table_name <> 'goose_db_version'`, schema)

	queryRows(t, db, func(r *sql.Rows) error {
		var table, kind, def string
		if err := r.Scan(&table, &kind, &def); err != nil {
			return err
		}
		tb := shape.tables[table]
		switch kind {
		case "p", "u":
			tb.keys = append(tb.keys, def)
		case "f":
			tb.foreign = append(tb.foreign, def)
		case "c":
			tb.checks++
		}
		shape.tables[table] = tb
		return nil
	}, `SELECT t.relname, c.contype,
			CASE c.contype
			WHEN 'f' THEN (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = c.conkey[1])
				|| ' -> ' || (SELECT rt.relname FROM pg_class rt WHERE rt.oid = c.confrelid)
				|| '(' || (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.confrelid AND a.attnum = c.confkey[1]) || ')'
			WHEN 'c' THEN ''
			ELSE '(' || (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
				FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) || ')'
			END
		FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = $1 AND t.relname <> 'goose_db_version' AND c.contype IN ('p', 'u', 'f', 'c')`, schema)
	for name, tb := range shape.tables {
		slices.Sort(tb.keys)
		slices.Sort(tb.foreign)
		shape.tables[name] = tb
	}

	queryRows(t, db, func(r *sql.Rows) error {
		var name, desc string
		if err := r.Scan(&name, &desc); err != nil {
			return err
		}
		shape.indexes[name] = desc
		return nil
	}, `SELECT ic.relname,
			t.relname || '(' || (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
				FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
				JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) || ')'
			|| CASE WHEN i.indisunique THEN ' unique' ELSE '' END
			|| CASE WHEN i.indpred IS NOT NULL THEN ' partial' ELSE '' END
		FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = $1 AND t.relname <> 'goose_db_version'
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`, schema)

	queryRows(t, db, func(r *sql.Rows) error {
		var name, table string
		if err := r.Scan(&name, &table); err != nil {
			return err
		}
		shape.triggers[name] = table
		return nil
	}, `SELECT tg.tgname, t.relname FROM pg_trigger tg
		JOIN pg_class t ON t.oid = tg.tgrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = $1 AND NOT tg.tgisinternal`, schema)
	return shape
}

func queryRows(t *testing.T, db *sql.DB, scan func(*sql.Rows) error, query string, args ...any) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// outcome is what a statement must do on both databases: succeed, trip a
// trigger (same message on both), or violate a constraint of a kind.
type outcome struct {
	trigger    string // the trigger's message
	constraint string // check, unique or foreign key
}

var (
	accepted   = outcome{}
	check      = outcome{constraint: "check"}
	unique     = outcome{constraint: "unique"}
	foreignKey = outcome{constraint: "foreign key"}
)

func refused(message string) outcome { return outcome{trigger: message} }

func (o outcome) String() string {
	switch {
	case o.trigger != "":
		return "refused with " + o.trigger
	case o.constraint != "":
		return o.constraint + " violation"
	}
	return "accepted"
}

// sqliteMatches reports whether err is o on SQLite.
func (o outcome) sqliteMatches(err error) bool {
	switch {
	case o.trigger != "":
		return err != nil && strings.Contains(err.Error(), o.trigger)
	case o.constraint != "":
		return err != nil && strings.Contains(err.Error(), strings.ToUpper(o.constraint)+" constraint failed")
	}
	return err == nil
}

// postgresMatches reports whether err is o on PostgreSQL.
func (o outcome) postgresMatches(err error) bool {
	if o == accepted {
		return err == nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	if o.trigger != "" {
		return pgErr.Code == "23000" && pgErr.Message == o.trigger
	}
	return pgErr.Code == map[string]string{"check": "23514", "unique": "23505", "foreign key": "23503"}[o.constraint]
}

// ruleCase is one statement, run in order on both databases: each case
// relies on the rows the accepted ones before it left.
type ruleCase struct {
	stmt   string
	want   outcome
	pgOnly bool // TRUNCATE and blobs exist only in PostgreSQL
}

const manifest = "'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'"

func item(id string) string {
	return `INSERT INTO items (id, title, kind, domain, priority, objective, created_at, updated_at)
		VALUES ('` + id + `', 't', 'chore', 'builder', 'low', 'o', 1, 1)`
}

// ruleCases exercise every SQLite trigger and the CHECKs, keys and
// partial unique index behind the store's rules.
var ruleCases = []ruleCase{
	// items and their state machine
	{item("W-1"), accepted, false},
	{item("W-2"), accepted, false},
	{item(strings.Repeat("x", 65)), check, false},
	{strings.Replace(item("W-3"), "'low'", "'urgent'", 1), check, false},
	{"UPDATE items SET status = 'done' WHERE id = 'W-1'", refused("illegal item status transition"), false},
	{"UPDATE items SET status = 'in_progress' WHERE id = 'W-1'", check, false}, // in progress with no owner
	{"UPDATE items SET status = 'in_progress', owner = 'ada' WHERE id = 'W-1'", accepted, false},
	{"UPDATE items SET status = 'in_progress', title = 'renamed' WHERE id = 'W-1'", accepted, false},
	{"UPDATE items SET status = 'dead_end' WHERE id = 'W-2'", accepted, false},
	{"UPDATE items SET status = 'in_progress', owner = 'ada' WHERE id = 'W-2'", refused("illegal item status transition"), false},
	{"INSERT INTO item_deps (item_id, depends_on, pos) VALUES ('W-1', 'W-1', 0)", check, false},
	{"INSERT INTO item_deps (item_id, depends_on, pos) VALUES ('W-1', 'W-9', 0)", foreignKey, false},
	{"INSERT INTO item_deps (item_id, depends_on, pos) VALUES ('W-1', 'W-2', 0)", accepted, false},

	// item history
	{"INSERT INTO item_transitions (item_id, from_status, to_status, actor, at) VALUES ('W-1', 'open', 'in_progress', 'ada', 2)", accepted, false},
	{"INSERT INTO item_transitions (item_id, from_status, to_status, actor, at) VALUES ('W-1', 'open', 'done', 'ada', 2)", check, false},
	{"INSERT INTO item_transitions (item_id, from_status, to_status, actor, at, verification) VALUES ('W-1', 'in_progress', 'done', 'ada', 3, 'maybe')", check, false},
	{"INSERT INTO item_transitions (item_id, from_status, to_status, actor, at, verification) VALUES ('W-1', 'in_progress', 'done', 'ada', 3, 'passed')", accepted, false},
	{"UPDATE item_transitions SET reason = 'rewritten'", refused("item history is append-only"), false},
	{"DELETE FROM item_transitions", refused("item history is append-only"), false},
	{"TRUNCATE item_transitions", refused("item history is append-only"), true},

	// signals
	{`INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, item_id, created_at, file)
		VALUES ('council_call', 'cap', 'ada', 'builder', 'council', 'W-1', 1, 'cap.json')`, accepted, false},
	{`INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, item_id, created_at, file, question)
		VALUES ('council_call', 'ask', 'ada', 'builder', 'council', 'W-1', 1, 'ask.json', 1)`, accepted, false},
	{`INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, created_at, file)
		VALUES ('missive', 'hello', 'ada', 'builder', 'tester', 1, 'hello.json')`, accepted, false},
	{`INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, created_at, file)
		VALUES ('council_call', 'loose', 'ada', 'builder', 'council', 1, 'loose.json')`, check, false},
	{`INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, created_at, file, question)
		VALUES ('missive', 'q', 'ada', 'builder', 'tester', 1, 'q.json', 1)`, check, false},
	{`INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, item_id, created_at, file, question)
		VALUES ('council_call', 'q', 'ada', 'builder', 'council', 'W-1', 1, 'q.json', 2)`, check, false},
	{`INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, created_at, file)
		VALUES ('rumour', 'q', 'ada', 'builder', 'tester', 1, 'q.json')`, check, false},
	{"UPDATE signals SET body = 'rewritten'", refused("signals are append-only"), false},
	{"DELETE FROM signals", refused("signals are append-only"), false},
	{"TRUNCATE signals CASCADE", refused("signals are append-only"), true},

	// council approvals: used once, never removed
	{`INSERT INTO council_approvals (signal_id, item_id, approved_by, approver_domain, approved_at)
		VALUES ((SELECT id FROM signals WHERE topic = 'cap'), 'W-1', 'bob', 'council', 3)`, accepted, false},
	{"UPDATE council_approvals SET consumed_at = 4, consumed_by = 'ada'", check, false}, // consumed for no action
	{"UPDATE council_approvals SET consumed_at = 4, consumed_by = 'ada', consumed_action = 'assign'", accepted, false},
	{"UPDATE council_approvals SET consumed_at = 5, consumed_by = 'eve', consumed_action = 'assign'", refused("council approval already consumed"), false},
	{"DELETE FROM council_approvals", refused("council approvals are append-only"), false},
	{"TRUNCATE council_approvals", refused("council approvals are append-only"), true},

	// council outcomes
	{`INSERT INTO council_outcomes (signal_id, outcome, by_owner, by_domain, at)
		VALUES ((SELECT id FROM signals WHERE topic = 'ask'), 'maybe', 'bob', 'council', 3)`, check, false},
	{`INSERT INTO council_outcomes (signal_id, outcome, by_owner, by_domain, at)
		VALUES ((SELECT id FROM signals WHERE topic = 'ask'), 'withdrawn', 'ada', 'builder', 3)`, accepted, false},
	{"UPDATE council_outcomes SET outcome = 'denied'", refused("a council outcome is final"), false},
	{"DELETE FROM council_outcomes", refused("council outcomes are append-only"), false},
	{"TRUNCATE council_outcomes", refused("council outcomes are append-only"), true},

	// acknowledgements
	{"INSERT INTO signal_acks (signal_id, owner, domain, acked_at) SELECT id, 'bob', 'tester', 5 FROM signals WHERE topic = 'hello'", accepted, false},
	{"INSERT INTO signal_acks (signal_id, owner, domain, acked_at) SELECT id, 'bob', 'tester', 6 FROM signals WHERE topic = 'hello'", unique, false},
	{"INSERT INTO signal_acks (signal_id, owner, domain, acked_at) SELECT id, 'bob', 'tester', 6 FROM signals WHERE topic = 'hello' ON CONFLICT DO NOTHING", accepted, false},
	{"UPDATE signal_acks SET acked_at = 7", refused("acknowledgements are append-only"), false},
	{"DELETE FROM signal_acks", refused("acknowledgements are append-only"), false},
	{"TRUNCATE signal_acks", refused("acknowledgements are append-only"), true},

	// the audit log, numbered by the code
	{"INSERT INTO audit_log (seq, at, actor, action, subject, payload, prev_hash, hash) VALUES (1, 1, 'ada', 'add', 'W-1', '{}', '', 'h1')", accepted, false},
	{"INSERT INTO audit_log (seq, at, actor, action, subject, payload, prev_hash, hash) VALUES (2, 2, 'ada', 'assign', 'W-1', '{}', 'h1', 'h2')", accepted, false},
	{"INSERT INTO audit_log (seq, at, actor, action, subject, payload, prev_hash, hash) VALUES (2, 3, 'eve', 'assign', 'W-1', '{}', 'h1', 'h2')", unique, false},
	{"INSERT INTO audit_log (seq, at, actor, action, subject, payload, prev_hash, hash) VALUES (3, 3, '', 'assign', 'W-1', '{}', 'h2', 'h3')", check, false},
	{"UPDATE audit_log SET actor = 'eve' WHERE seq = 2", refused("the audit log is append-only"), false},
	{"DELETE FROM audit_log WHERE seq = 2", refused("the audit log is append-only"), false},
	{"TRUNCATE audit_log", refused("the audit log is append-only"), true},

	// the fencing-token counter
	{"UPDATE counters SET value = value + 1 WHERE name = 'lease_token'", accepted, false},
	{"UPDATE counters SET value = value WHERE name = 'lease_token'", refused("counters never go down"), false},
	{"UPDATE counters SET value = 0 WHERE name = 'lease_token'", refused("counters never go down"), false},

	// leases: one active per resource, ended ones final, never deleted
	{`INSERT INTO leases (resource, owner, domain, token, item_id, created_at, expires_at)
		VALUES ('deploy', 'ada', 'builder', 1, 'W-1', 1, 10)`, accepted, false},
	{`INSERT INTO leases (resource, owner, domain, token, created_at, expires_at)
		VALUES ('deploy', 'bob', 'tester', 2, 2, 10)`, unique, false},
	{`INSERT INTO leases (resource, owner, domain, token, created_at, expires_at)
		VALUES ('docs', 'bob', 'tester', 1, 2, 10)`, unique, false},
	{`INSERT INTO leases (resource, owner, domain, token, created_at, expires_at)
		VALUES ('docs', 'bob', 'tester', 0, 2, 10)`, check, false},
	{`INSERT INTO leases (resource, owner, domain, token, created_at, expires_at)
		VALUES ('docs', 'bob', 'tester', 3, 10, 10)`, check, false},
	{`INSERT INTO leases (resource, owner, domain, token, created_at, expires_at, state)
		VALUES ('docs', 'bob', 'tester', 3, 2, 10, 'released')`, check, false},
	{"UPDATE leases SET expires_at = 20, hold_since = 1 WHERE token = 1", accepted, false},
	{"UPDATE leases SET owner = 'bob' WHERE token = 1", refused("a lease keeps its resource, holder, token and claim time"), false},
	{"UPDATE leases SET token = 9 WHERE token = 1", refused("a lease keeps its resource, holder, token and claim time"), false},
	{"UPDATE leases SET state = 'released', ended_at = 5 WHERE token = 1", check, false}, // ended without reason or actor
	{"UPDATE leases SET state = 'released', ended_at = 5, end_reason = 'done', ended_by = 'ada' WHERE token = 1", accepted, false},
	{`INSERT INTO leases (resource, owner, domain, token, created_at, expires_at)
		VALUES ('deploy', 'bob', 'tester', 2, 6, 16)`, accepted, false},
	{"UPDATE leases SET expires_at = 30 WHERE token = 1", refused("an ended lease cannot change"), false},
	{"DELETE FROM leases WHERE token = 2", refused("leases are never deleted"), false},
	{"TRUNCATE leases CASCADE", refused("leases are never deleted"), true},

	// attestations
	{"INSERT INTO lease_attestations (token, path, blob, attested_at) VALUES (1, 'deploy/a.sh', 'abc', 4)", accepted, false},
	{"INSERT INTO lease_attestations (token, path, blob, attested_at) VALUES (1, 'deploy/a.sh', 'abc', 5)", unique, false},
	{"INSERT INTO lease_attestations (token, path, blob, attested_at) VALUES (1, 'deploy/a.sh', 'abc', 5) ON CONFLICT DO NOTHING", accepted, false},
	{"INSERT INTO lease_attestations (token, path, blob, attested_at) VALUES (1, '', 'abc', 5)", check, false},
	{"INSERT INTO lease_attestations (token, path, blob, attested_at) VALUES (99, 'deploy/b.sh', 'abc', 5)", foreignKey, false},
	{"UPDATE lease_attestations SET blob = ''", refused("attestations are never changed"), false},
	{"DELETE FROM lease_attestations", refused("attestations are never deleted"), false},
	{"TRUNCATE lease_attestations", refused("attestations are never deleted"), true},

	// capsules and their files
	{`INSERT INTO capsules (item_id, generation, blob, content_key, path, template, template_sha256, generated_at)
		VALUES ('W-1', 1, ` + manifest + `, 'k', 'W-1.md', 'default', 's', 1)`, accepted, false},
	{`INSERT INTO capsules (item_id, generation, blob, content_key, path, template, template_sha256, generated_at)
		VALUES ('W-1', 1, ` + manifest + `, 'k', 'W-1.md', 'default', 's', 2)`, unique, false},
	{`INSERT INTO capsules (item_id, generation, blob, content_key, path, template, template_sha256, generated_at)
		VALUES ('W-1', 0, ` + manifest + `, 'k', 'W-1.md', 'default', 's', 2)`, check, false},
	{`INSERT INTO capsules (item_id, generation, blob, content_key, path, template, template_sha256, generated_at)
		VALUES ('W-1', 2, 'short', 'k', 'W-1.md', 'default', 's', 2)`, check, false},
	{"INSERT INTO capsule_files (capsule_id, pos, path, status) SELECT id, 0, 'a.go', 'embedded' FROM capsules", accepted, false},
	{"INSERT INTO capsule_files (capsule_id, pos, path, status) SELECT id, 1, 'b.go', 'lost' FROM capsules", check, false},
	{"UPDATE capsules SET path = 'elsewhere.md'", refused("capsule generations are history"), false},
	{"DELETE FROM capsules", refused("capsule generations are history"), false},
	{"TRUNCATE capsules CASCADE", refused("capsule generations are history"), true},
	{"UPDATE capsule_files SET status = 'missing'", refused("capsule generations are history"), false},
	{"DELETE FROM capsule_files", refused("capsule generations are history"), false},
	{"TRUNCATE capsule_files", refused("capsule generations are history"), true},
	{"INSERT INTO capsule_checks (capsule_id, drifted, source, at) SELECT id, 2, 'health', 3 FROM capsules", check, false},
	{"INSERT INTO capsule_checks (capsule_id, drifted, source, at) SELECT id, 1, 'health', 3 FROM capsules", accepted, false},
	{"INSERT INTO capsule_watches (resource, item_id, capsule_id) SELECT 'deploy', 'W-1', id FROM capsules", accepted, false},
	{"INSERT INTO capsule_watches (resource, item_id, capsule_id) SELECT 'deploy', 'W-1', id FROM capsules", unique, false},
	{"DELETE FROM capsule_watches WHERE item_id = 'W-1'", accepted, false},

	// integrity checks
	{"INSERT INTO verifications (kind, ok, source, at) VALUES ('audit_chain', 2, 'health', 1)", check, false},
	{"INSERT INTO verifications (kind, ok, source, at) VALUES ('gut_feeling', 1, 'health', 1)", check, false},
	{"INSERT INTO verifications (kind, ok, source, at, findings) VALUES ('blob_store', 0, 'health', 1, '[\"x\"]')", accepted, false},

	// the daemon, jobs and reports
	{"INSERT INTO daemon (id, pid, host, started_at, heartbeat_at) VALUES (2, 1, 'h', 1, 1)", check, false},
	{"INSERT INTO daemon (id, pid, host, started_at, heartbeat_at) VALUES (1, 1, 'h', 1, 1)", accepted, false},
	{`INSERT INTO daemon (id, pid, host, started_at, heartbeat_at) VALUES (1, 2, 'h', 2, 2)
		ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`, accepted, false},
	{"INSERT INTO job_runs (name, trigger, started_at, finished_at, outcome) VALUES ('audit', 'schedule', 1, 2, 'running')", check, false},
	{"INSERT INTO job_runs (name, trigger, started_at, outcome) VALUES ('audit', 'cron', 1, 'running')", check, false},
	{"INSERT INTO job_runs (name, trigger, started_at, outcome) VALUES ('audit', 'schedule', 1, 'running')", accepted, false},
	{"INSERT INTO reports (path, generated_at, head_seq, head_hash, findings) VALUES ('r.md', 1, 2, 'h2', 0)", accepted, false},
	{"INSERT INTO reports (path, generated_at, head_seq, head_hash, findings) VALUES ('r.md', 2, 2, 'h2', 0)", unique, false},

	// fingerprints, widened to lease boundaries, and shadow edits
	{"INSERT INTO fingerprints (resource, manifest, files, taken_at, reason, lease_id) SELECT 'deploy', " + manifest + ", 1, 1, 'claim', id FROM leases WHERE token = 2", accepted, false},
	{"INSERT INTO fingerprints (resource, manifest, files, taken_at, reason) VALUES ('deploy', " + manifest + ", 1, 1, 'hunch')", check, false},
	{"INSERT INTO fingerprints (resource, manifest, files, taken_at, reason) VALUES ('deploy', 'short', 1, 1, 'audit')", check, false},
	{"INSERT INTO fingerprints (resource, manifest, files, taken_at, reason, lease_id) VALUES ('deploy', " + manifest + ", 1, 1, 'audit', 999)", foreignKey, false},
	{"INSERT INTO shadow_edits (resource, paths, old_blob, new_blob, detected_at) VALUES ('deploy', '[]', " + manifest + ", " + manifest + ", 1)", accepted, false},
	{"INSERT INTO shadow_edits (resource, paths, old_blob, new_blob, detected_at, status) VALUES ('deploy', '[]', " + manifest + ", " + manifest + ", 1, 'restored')", check, false},
	{"UPDATE shadow_edits SET status = 'restored', resolved_at = 2, resolved_by = 'ada'", accepted, false},
	{"UPDATE shadow_edits SET status = 'accepted', reason = 'changed my mind'", refused("a resolved shadow edit cannot change"), false},
	{"DELETE FROM shadow_edits", refused("shadow edits are never deleted"), false},
	{"TRUNCATE shadow_edits", refused("shadow edits are never deleted"), true},

	// pending exports are rewritten in place
	{"INSERT INTO pending_exports (path, source, pid, host) VALUES ('r.md', 'b1', 1, 'h')", accepted, false},
	{`INSERT INTO pending_exports (path, source, pid, host) VALUES ('r.md', 'b2', 2, 'h')
		ON CONFLICT (path) DO UPDATE SET source = excluded.source, pid = excluded.pid, host = excluded.host`, accepted, false},

	// blobs, PostgreSQL's own
	{"INSERT INTO blobs (sha256, size, data, created_at) VALUES (" + manifest + ", 1, '\\x00', 1)", accepted, true},
	{"INSERT INTO blobs (sha256, size, data, created_at) VALUES ('short', 1, '\\x00', 1)", check, true},
	{"INSERT INTO blobs (sha256, size, data, created_at) VALUES (" + manifest + ", 1, '\\x00', 2)", unique, true},
	{"UPDATE blobs SET data = '\\x01'", refused("blobs are immutable"), true},
	{"DELETE FROM blobs", refused("blobs are immutable"), true},
	{"TRUNCATE blobs", refused("blobs are immutable"), true},
}

var raiseMessage = regexp.MustCompile(`RAISE\(ABORT, '([^']*)'\)`)

// TestPostgresEnforcesSQLiteRules runs every case on SQLite first, proving
// the expectation is SQLite's behaviour, then on PostgreSQL.
func TestPostgresEnforcesSQLiteRules(t *testing.T) {
	pg, _ := openPostgres(t)
	lite := openSQLite(t)
	ctx := context.Background()

	// A trigger added to the SQLite set needs a case here too.
	tested := map[string]bool{}
	for _, c := range ruleCases {
		tested[c.want.trigger] = true
	}
	queryRows(t, lite, func(r *sql.Rows) error {
		var name, body string
		if err := r.Scan(&name, &body); err != nil {
			return err
		}
		for _, m := range raiseMessage.FindAllStringSubmatch(body, -1) {
			if !tested[m[1]] {
				t.Errorf("trigger %s raises %q, which no case expects", name, m[1])
			}
		}
		return nil
	}, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")

	for _, c := range ruleCases {
		if !c.pgOnly {
			_, err := lite.ExecContext(ctx, c.stmt)
			if !c.want.sqliteMatches(err) {
				t.Errorf("SQLite: %s\nwant %v, got %v", c.stmt, c.want, err)
			}
		}
		_, err := pg.ExecContext(ctx, c.stmt)
		if !c.want.postgresMatches(err) {
			t.Errorf("PostgreSQL: %s\nwant %v, got %v", c.stmt, c.want, err)
		}
	}
}
