package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/postgres/pgtest"
	"github.com/oxygen-tools/oxygen/store/sqlite"
)

// testStores are a fresh SQLite store and, when OXYGEN_TEST_POSTGRES_URL is
// set, a fresh repository on the PostgreSQL server, dropped afterwards: the
// operations' SQL must behave the same on both.
func testStores(t *testing.T) map[string]store.Store {
	t.Helper()
	lite, err := sqlite.Create(context.Background(), filepath.Join(t.TempDir(), "store", "oxygen.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	out := map[string]store.Store{"sqlite": lite}
	if pg := testPostgres(t); pg != nil {
		out["postgres"] = pg
	}
	return out
}

// testPostgres is a fresh repository on the test server, nil without one.
func testPostgres(t *testing.T) store.Store {
	t.Helper()
	url := os.Getenv("OXYGEN_TEST_POSTGRES_URL")
	if url == "" {
		t.Log("OXYGEN_TEST_POSTGRES_URL not set: testing SQLite only")
		return nil
	}
	return pgtest.Create(t, url, "sqlstore")
}
