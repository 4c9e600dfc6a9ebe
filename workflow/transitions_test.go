package workflow

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/oxygen-tools/oxygen/store/postgres/pgtest"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// specEdges is the state machine as issue 2 lists it, written out by hand so
// that a change to the code's map alone shows up here.
var specEdges = map[[2]Status]bool{
	{StatusOpen, StatusInProgress}:    true,
	{StatusInProgress, StatusOpen}:    true,
	{StatusInProgress, StatusBlocked}: true,
	{StatusInProgress, StatusDone}:    true,
	{StatusInProgress, StatusDeadEnd}: true,
	{StatusBlocked, StatusInProgress}: true,
	{StatusBlocked, StatusDeadEnd}:    true,
	{StatusOpen, StatusDeadEnd}:       true,
	{StatusDone, StatusOpen}:          true,
	{StatusDeadEnd, StatusOpen}:       true,
}

func inMap(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// TestTransitionsAgree checks that the descriptions of the state machine
// agree on every (from, to) pair of the five statuses: the spec, the Go
// transitions map (through CheckTransition, the one validator), and the
// CHECK constraint on item_transitions and the items_status_machine trigger
// of both schemas, SQLite's and (when OXYGEN_TEST_POSTGRES_URL is set)
// PostgreSQL's. The last are probed with raw SQL that bypasses the Go code
// entirely.
func TestTransitionsAgree(t *testing.T) {
	if len(Statuses) != 5 {
		t.Fatalf("Statuses = %v, want the five of the spec", Statuses)
	}
	for from := range transitions {
		if !ValidStatus(string(from)) {
			t.Errorf("transitions has unknown status %q", from)
		}
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			allowed := specEdges[[2]Status{from, to}]
			name := fmt.Sprintf("%s->%s", from, to)
			if got := inMap(from, to); got != allowed {
				t.Errorf("%s: transitions map says %v, spec says %v", name, got, allowed)
			}
			if err := CheckTransition("T", from, to); (err == nil) != allowed {
				t.Errorf("%s: CheckTransition = %v, spec allows = %v", name, err, allowed)
			} else if err != nil && ExitCode(err) != 3 {
				t.Errorf("%s: CheckTransition refuses with exit %d, want 3", name, ExitCode(err))
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		probeStateMachine(t, sqlstore.DBOf(MustOpen(t).Store), func(q string) string { return q })
	})
	t.Run("postgres", func(t *testing.T) {
		probeStateMachine(t, openPostgresSchema(t), sqlstore.Rebind)
	})
}

// probeStateMachine holds a schema's trigger and CHECK to the spec. Each
// probe is its own statement outside any transaction, since a refused
// statement aborts a PostgreSQL transaction.
func probeStateMachine(t *testing.T, db *sql.DB, rebind func(string) string) {
	ctx := context.Background()
	for _, from := range Statuses {
		for _, to := range Statuses {
			allowed := specEdges[[2]Status{from, to}]
			name := fmt.Sprintf("%s->%s", from, to)

			// An item in status from, inserted directly (the trigger only
			// watches updates). It has an owner so that the owner CHECK on
			// in_progress/blocked never gets in the way.
			id := fmt.Sprintf("T-%s-%s", from, to)
			if _, err := db.ExecContext(ctx, rebind(`INSERT INTO items (id, title, kind, domain, priority, status, owner, objective, created_at, updated_at)
				VALUES (?, 'probe', 'chore', 'builder', 'low', ?, 'tester', 'o', 1, 1)`), id, string(from)); err != nil {
				t.Fatalf("%s: insert probe item: %v", name, err)
			}

			// The items_status_machine trigger. It ignores updates that keep
			// the status (they are not transitions), so for from == to the
			// UPDATE is a no-op that succeeds although the edge is not allowed.
			_, err := db.ExecContext(ctx, rebind(`UPDATE items SET status = ? WHERE id = ?`), string(to), id)
			wantUpdate := allowed || from == to
			if (err == nil) != wantUpdate {
				t.Errorf("%s: raw UPDATE of items.status: err = %v, want success = %v", name, err, wantUpdate)
			}
			var status string
			if err := db.QueryRowContext(ctx, rebind(`SELECT status FROM items WHERE id = ?`), id).Scan(&status); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]Status{true: to, false: from}[wantUpdate]; Status(status) != want {
				t.Errorf("%s: after the UPDATE the item is %s, want %s", name, status, want)
			}

			// The CHECK constraint on the history table.
			_, err = db.ExecContext(ctx, rebind(`INSERT INTO item_transitions (item_id, from_status, to_status, actor, at) VALUES (?, ?, ?, 'tester', 1)`),
				id, string(from), string(to))
			if (err == nil) != allowed {
				t.Errorf("%s: raw INSERT into item_transitions: err = %v, want success = %v", name, err, allowed)
			}
		}
	}
}

// openPostgresSchema returns a handle on a fresh repository's schema on
// the test server, opened by the real driver (so migrated), dropped when
// the test ends; it skips the test when OXYGEN_TEST_POSTGRES_URL is not set.
func openPostgresSchema(t *testing.T) *sql.DB {
	t.Helper()
	url := os.Getenv("OXYGEN_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("OXYGEN_TEST_POSTGRES_URL not set: skipping the PostgreSQL schema probe")
	}
	return pgtest.Create(t, url, "workflow").DB()
}
