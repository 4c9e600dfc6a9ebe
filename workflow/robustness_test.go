package workflow

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// TestUnwrappedBusyErrorIsATimeout: a lock error that reaches the top
// without passing through storeErr (a rows.Err() at the end of a scan, say)
// still exits 6, not 1.
func TestUnwrappedBusyErrorIsATimeout(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	holder, err := sql.Open("sqlite", svc.Store.Info().Location+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	other, err := sql.Open("sqlite", svc.Store.Info().Location+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, raw := other.BeginTx(ctx, nil)
	if raw == nil {
		t.Fatal("a second writer got the lock")
	}
	if got := ErrorCode(raw); got != ETIMEOUT {
		t.Fatalf("ErrorCode(%v) = %s, want %s", raw, got, ETIMEOUT)
	}
}

// TestGuardedUpdateMustChangeOneRow: a guarded change that matches nothing
// (the row left the state the rule read) stops the transaction instead of
// passing as done.
func TestGuardedUpdateMustChangeOneRow(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	err := svc.write(ctx, func(tx *Tx) error {
		return tx.endLease(ctx, &Lease{ID: 42, Resource: "storage"}, LeaseReleased, "gone", "tester", tx.now)
	})
	if ErrorCode(err) != ECONFLICT || !strings.Contains(ErrorMessage(err), "storage") {
		t.Fatalf("ending a lease that is not active: %v", err)
	}
}

// TestCorruptStoredJSONIsReported: a JSON column edited into garbage is an
// error naming it, not an empty list; a council lookup that fails that way
// is not reported as "no such signal".
func TestCorruptStoredJSONIsReported(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	spec := ItemSpec{Title: "t", Kind: "chore", Domain: "builder", Priority: "low", Objective: "o", Files: []string{"a.txt"}}
	it, err := svc.AddItem(ctx, spec, "builder")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `UPDATE items SET files = 'not json' WHERE id = ?`, it.ID); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Show(ctx, it.ID)
	if ErrorCode(err) != EINTERNAL || !strings.Contains(ErrorMessage(err), "stored item files") {
		t.Fatalf("reading a corrupt item: %v", err)
	}
	sig, err := svc.SendSignal(ctx, SignalSpec{Kind: KindMissive, From: "builder", FromDomain: "builder", To: "scribe", Topic: "t", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `DROP TRIGGER IF EXISTS signals_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `UPDATE signals SET refs = '{' WHERE id = ?`, sig.ID); err != nil {
		t.Fatal(err)
	}
	err = svc.read(ctx, func(tx *Tx) error {
		_, err := tx.lookupCouncil(ctx, sig.ID)
		return err
	})
	if ErrorCode(err) != EINTERNAL {
		t.Fatalf("a corrupt signal looked up as a council call: %v", err)
	}
}

// TestRefusedClaimNeverWaitsForTheWriteLock: a claim that will lose finds
// out in a read transaction. With another process holding the write lock
// (and a zero wait for it), the claim of a held resource is refused as held
// (exit 3), not timed out queueing for the lock ahead of the holder.
func TestRefusedClaimNeverWaitsForTheWriteLock(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	if _, err := svc.Claim(ctx, ClaimRequest{Resource: "storage", Actor: Actor{Owner: "ann", Domain: "builder"}}); err != nil {
		t.Fatal(err)
	}
	holder, err := sql.Open("sqlite", svc.Store.Info().Location+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Claim(ctx, ClaimRequest{Resource: "storage", Actor: Actor{Owner: "bob", Domain: "builder"}})
	if ErrorCode(err) != ECONFLICT || !strings.Contains(ErrorMessage(err), "held by ann") {
		t.Fatalf("claim of a held resource while the write lock is taken: %v", err)
	}
	// The same claim on a free resource needs the lock, and says so.
	_, err = svc.Claim(ctx, ClaimRequest{Resource: "deployment", Actor: Actor{Owner: "bob", Domain: "builder"}})
	if ErrorCode(err) != ETIMEOUT {
		t.Fatalf("claim of a free resource while the write lock is taken: %v", err)
	}
}
