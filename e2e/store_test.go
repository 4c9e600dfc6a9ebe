package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/oxygen-tools/oxygen/store/postgres"
	"github.com/oxygen-tools/oxygen/workflow"
)

// The suite runs twice when OXYGEN_TEST_POSTGRES_URL names a server: once on
// the embedded SQLite store, then again with every tool pointed at a
// database created for the run (OXYGEN_STORE_URL). Each `orchestrate init`
// writes a fresh repository id, so every test and script gets a schema of
// its own in that database, and the database is dropped when the run ends.

// postgresEnv names the server of the PostgreSQL pass.
const postgresEnv = "OXYGEN_TEST_POSTGRES_URL"

// serverURL is the database of the PostgreSQL pass, "" during the SQLite
// pass; the tools get it as OXYGEN_STORE_URL.
var serverURL string

// onServer reports whether this is the PostgreSQL pass.
func onServer() bool { return serverURL != "" }

// sqliteOnly skips a test in the PostgreSQL pass: it reads or edits the
// SQLite file itself, which a server store does not have.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if onServer() {
		t.Skip("SQLite store only: " + why)
	}
}

// serverOnly skips a test that needs a server store outside the PostgreSQL
// pass, with the one line that says how to run it.
func serverOnly(t testing.TB) {
	t.Helper()
	if os.Getenv(postgresEnv) == "" {
		t.Skip(postgresEnv + " not set: the server store tests need a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	if !onServer() {
		t.Skip("server store test: runs in the PostgreSQL pass")
	}
}

// createRunDatabase creates an empty database for this run on the server
// base names and returns its URL. It also defines json_extract, which the
// tests' SQL shares with SQLite, in the database's public schema (the
// tools never put public on their search_path, so they cannot see it).
func createRunDatabase(base string) (string, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("%s: %v", postgresEnv, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := "oxygen_e2e_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %v", name, err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("%s: %v", postgresEnv, err)
	}
	u.Path = "/" + name
	run, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return "", err
	}
	defer run.Close(ctx)
	// json, not jsonb: an object or array comes back as the stored text,
	// compact as SQLite's json_extract returns it.
	_, err = run.Exec(ctx, `CREATE FUNCTION public.json_extract(doc text, path text) RETURNS text LANGUAGE sql IMMUTABLE AS
		$$ SELECT json_extract_path_text(doc::json, VARIADIC string_to_array(substr(path, 3), '.')) $$`)
	return u.String(), err
}

// dropRunDatabase drops the run's database, ending any session a killed
// process left behind.
func dropRunDatabase(base, runURL string) error {
	ctx := context.Background()
	u, err := url.Parse(runURL)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+strings.TrimPrefix(u.Path, "/")+" WITH (FORCE)")
	return err
}

// openStore opens the store of the repository around dir as the tools
// would find it: its SQLite file, or in the PostgreSQL pass its schema
// (with public after it, for json_extract).
func openStore(dir string) (*sql.DB, error) {
	if !onServer() {
		return sql.Open("sqlite", sqlitePath(dir)+"?_pragma=busy_timeout(5000)")
	}
	return openSchema(serverURL, repositoryID(dir))
}

// openSchema opens a repository's schema on a server.
func openSchema(server, id string) (*sql.DB, error) {
	if id == "" {
		return nil, fmt.Errorf("no store.repository_id in oxygen.yaml")
	}
	pc, err := pgx.ParseConfig(server)
	if err != nil {
		return nil, err
	}
	pc.RuntimeParams["search_path"] = "oxygen_" + id + ", public"
	return stdlib.OpenDB(*pc), nil
}

// sqlitePath is the SQLite file the tools find from dir.
func sqlitePath(dir string) string {
	l, err := workflow.Discover(dir)
	if err != nil {
		return dir + "/.substrate/state/oxygen.db"
	}
	return l.DBPath()
}

// repositoryID is the store.repository_id of the repository around dir.
func repositoryID(dir string) string {
	l, err := workflow.Discover(dir)
	if err != nil {
		return ""
	}
	cfg, err := workflow.LoadConfig(l.Root)
	if err != nil {
		return ""
	}
	return cfg.Store.RepositoryID
}

// dropTrigger is SQLite's DROP TRIGGER name, which PostgreSQL spells with
// the table: tamper scripts use the SQLite form on both stores.
var dropTrigger = regexp.MustCompile(`(?i)^\s*DROP TRIGGER (\w+)\s*;?\s*$`)

// storeExec runs one statement on the store around dir; ? placeholders are
// numbered for PostgreSQL.
func storeExec(dir, q string, args ...any) error {
	db, err := openStore(dir)
	if err != nil {
		return err
	}
	defer db.Close()
	if onServer() {
		if m := dropTrigger.FindStringSubmatch(q); m != nil {
			var table string
			if err := db.QueryRow(`SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = $1 AND c.relnamespace = current_schema()::regnamespace`, m[1]).Scan(&table); err != nil {
				return fmt.Errorf("trigger %s: %v", m[1], err)
			}
			q = "DROP TRIGGER " + m[1] + " ON " + table
		}
		q = numberPlaceholders(q)
	}
	_, err = db.Exec(q, args...)
	return err
}

func numberPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// queryRows prints a query's rows on the store around dir, tab-separated.
func queryRows(dir, q string) (string, error) {
	db, err := openStore(dir)
	if err != nil {
		return "", err
	}
	defer db.Close()
	return queryRowsDB(db, q)
}

// dumpStore renders every row of the store around dir deterministically,
// so a test can prove a command changed nothing. A server store's blobs
// table is left out, as SQLite's blob files are: blobs are content-addressed
// and may be stored before a command is refused (fingerprint manifests).
func dumpStore(dir string) (string, error) {
	db, err := openStore(dir)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if !onServer() {
		return dumpSQLite(db)
	}
	rows, err := db.Query(`SELECT table_name, (SELECT count(*) FROM information_schema.columns c WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name)
		FROM information_schema.tables t WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'blobs' ORDER BY table_name`)
	if err != nil {
		return "", err
	}
	type table struct {
		name string
		cols int
	}
	var tables []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.name, &t.cols); err != nil {
			rows.Close()
			return "", err
		}
		tables = append(tables, t)
	}
	rows.Close()
	var b strings.Builder
	for _, t := range tables {
		order := make([]string, t.cols)
		for i := range order {
			order[i] = strconv.Itoa(i + 1)
		}
		out, err := queryRowsDB(db, `SELECT * FROM "`+t.name+`" ORDER BY `+strings.Join(order, ", "))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "== %s\n%s", t.name, out)
	}
	return b.String(), nil
}

// beginWriter opens a transaction holding the store's one-writer lock, as a
// tool's write transaction does: BEGIN IMMEDIATE on SQLite; on PostgreSQL
// the transaction-scoped advisory lock keyed by the schema.
func beginWriter(dir string) (*sql.DB, *sql.Tx, error) {
	if !onServer() {
		db, err := sql.Open("sqlite", sqlitePath(dir)+"?_pragma=busy_timeout(5000)&_txlock=immediate")
		if err != nil {
			return nil, nil, err
		}
		tx, err := db.Begin()
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return db, tx, nil
	}
	db, err := openStore(dir)
	if err != nil {
		return nil, nil, err
	}
	tx, err := db.Begin()
	if err == nil {
		_, err = tx.Exec(`SELECT pg_advisory_xact_lock($1)`, postgres.LockKey(postgres.Schema(repositoryID(dir))))
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, tx, nil
}

// bind numbers a statement's ? placeholders in the PostgreSQL pass.
func bind(q string) string {
	if onServer() {
		return numberPlaceholders(q)
	}
	return q
}
