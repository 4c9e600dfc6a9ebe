package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/oxygen-tools/oxygen/store"
)

// TestMigrationLandingBelowTheHighestIsApplied: branches land migrations
// out of number order. A store already at the highest number must still get
// a lower-numbered migration it lacks: user_version holds the count too.
func TestMigrationLandingBelowTheHighestIsApplied(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "oxygen.db")
	s, err := Create(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := embeddedSchema()
	if err != nil {
		t.Fatal(err)
	}
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
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'pending_exports'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("pending_exports after reopening: %d tables, %v", n, err)
	}
	if v, err := s.userVersion(ctx); err != nil || v != latest.stamp() {
		t.Fatalf("user_version = %d, want %d (%v)", v, latest.stamp(), err)
	}
	// A store with more migrations than the binary knows is refused as
	// invalid (exit 2: upgrade the binary), not as an internal fault.
	if _, err := s.DB().ExecContext(ctx, `PRAGMA user_version = `+strconv.FormatInt(latest.stamp()+1, 10)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(ctx, path)
	var se *store.Error
	if !errors.As(err, &se) || se.Code != store.CodeInvalid {
		t.Fatalf("a newer store opened: %v", err)
	}
}
