package workflow

import (
	"context"
	"testing"
)

// TestMigrationLandingBelowTheHighestIsApplied: branches land migrations
// out of number order. A store already at the highest number must still get
// a lower-numbered migration it lacks: user_version holds the count too.
func TestMigrationLandingBelowTheHighestIsApplied(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	latest, err := embeddedSchema()
	if err != nil {
		t.Fatal(err)
	}
	db := svc.Store.DB()
	// The store as a binary without 00009 would have left it, stamped the
	// old way (the highest number alone).
	for _, q := range []string{
		`ALTER TABLE reports DROP COLUMN json_blob`,
		`ALTER TABLE reports DROP COLUMN md_blob`,
		`DROP INDEX signals_file`,
		`DROP TABLE pending_exports`,
		`DELETE FROM goose_db_version WHERE version_id = 9`,
		`PRAGMA user_version = 15`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	path := svc.Store.Path()
	svc.Store.Close()
	store, err := openStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var n int
	if err := store.DB().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'pending_exports'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("pending_exports after reopening: %d tables, %v", n, err)
	}
	if v, err := store.userVersion(ctx); err != nil || v != latest.stamp() {
		t.Fatalf("user_version = %d, want %d (%v)", v, latest.stamp(), err)
	}
	// A store with more migrations than the binary knows is refused.
	if _, err := store.DB().ExecContext(ctx, `PRAGMA user_version = `+itoa(latest.stamp()+1)); err != nil {
		t.Fatal(err)
	}
	store.Close()
	if _, err := openStore(ctx, path); err == nil || ErrorCode(err) != EINTERNAL {
		t.Fatalf("a newer store opened: %v", err)
	}
}
