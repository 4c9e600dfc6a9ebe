package workflow

import (
	"context"
	"database/sql"
	"os"
	"runtime"
	"testing"

	"github.com/oxygen-tools/oxygen/store/postgres"
	"github.com/oxygen-tools/oxygen/store/postgres/pgtest"
)

// The verification inside a copy's transaction reads the log in order on
// that one transaction: a log long enough for readRanges' several readers
// (each a transaction of its own) was read by all of them at once on the
// copy's single connection, and failed with pgx's "conn busy". And the
// copy's tables are analyzed.
func TestMigrateStoreVerifiesALogOfSeveralRanges(t *testing.T) {
	url := os.Getenv("OXYGEN_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("OXYGEN_TEST_POSTGRES_URL not set: skipping store migrate of a long log")
	}
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	ctx := context.Background()
	svc := MustOpen(t)
	appendJobRuns(t, svc, rangedLogSize)
	schema := postgres.Schema(svc.Config.Store.RepositoryID)
	t.Cleanup(func() { pgtest.DropSchema(t, url, schema) })
	res, err := MigrateStore(ctx, svc.Layout, url, svc.Clock)
	if err != nil {
		t.Fatalf("migrate a log of %d events: %v", rangedLogSize, err)
	}
	if res.Head.Seq != rangedLogSize || res.Schema != schema {
		t.Fatalf("%+v; want head seq %d in schema %s", res, rangedLogSize, schema)
	}
	// The copy comes with the planner's statistics (an ANALYZE of every
	// table): never analyzed, a table's reltuples is -1, and the planner
	// guesses.
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var reltuples float64
	if err := db.QueryRow(`SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)`, schema+".audit_log").Scan(&reltuples); err != nil {
		t.Fatal(err)
	}
	if reltuples != rangedLogSize {
		t.Fatalf("the copy's audit_log has reltuples %v, want %d: its tables were not analyzed", reltuples, rangedLogSize)
	}
}
