// Package pgtest gives tests a throwaway PostgreSQL store: a schema of its
// own on the server OXYGEN_TEST_POSTGRES_URL names, dropped when the test
// ends. It is a package of its own so that the tests of store/sqlstore,
// store/storetest and workflow share one way to make and clean up such a
// store, without linking package testing into the binaries.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"

	"github.com/oxygen-tools/oxygen/store/postgres"
)

// URLEnv names the server the tests use; without it they run on SQLite
// only or skip.
const URLEnv = "OXYGEN_TEST_POSTGRES_URL"

// URL is the test server's URL, "" when none is set.
func URL() string { return os.Getenv(URLEnv) }

// Create makes a store for a new repository whose id starts with prefix,
// on the server at url, and drops its schema when the test ends.
func Create(t testing.TB, url, prefix string) *postgres.Store {
	t.Helper()
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Create(context.Background(), postgres.Config{URL: url, Repository: prefix + hex.EncodeToString(suffix[:])})
	if err != nil {
		t.Fatal(err)
	}
	schema := st.SchemaName()
	t.Cleanup(func() {
		st.Close()
		DropSchema(t, url, schema)
	})
	return st
}

// DropSchema drops a repository's schema, if it exists, on its own
// connection (after the stores on it have closed).
func DropSchema(t testing.TB, url, schema string) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer db.Close()
	if _, err := db.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}
