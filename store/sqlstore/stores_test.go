package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/postgres"
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
	var suffix [8]byte
	rand.Read(suffix[:])
	id := "sqlstore" + hex.EncodeToString(suffix[:])
	st, err := postgres.Create(context.Background(), postgres.Config{URL: url, Repository: id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := st.DB().Exec("DROP SCHEMA " + postgres.Schema(id) + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		st.Close()
	})
	return st
}
