package workflow

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/postgres/pgtest"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// rangedLogSize spans three of readRanges' ranges, the first starting at
// seq 1.
const rangedLogSize = 2*minRangeSize + 100

// rangedLog is a SQLite store whose log is rangedLogSize events long, with
// the append-only triggers dropped so a test can break it.
func rangedLog(t *testing.T) *Service {
	t.Helper()
	svc := MustOpen(t)
	appendJobRuns(t, svc, rangedLogSize)
	for _, trigger := range []string{"audit_log_no_update", "audit_log_no_delete"} {
		if _, err := sqlstore.DBOf(svc.Store).ExecContext(context.Background(), `DROP TRIGGER `+trigger); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

// appendJobRuns appends job.run events, as the daemon writes them, until
// the log's head is at seq size.
func appendJobRuns(tb testing.TB, svc *Service, size int64) {
	tb.Helper()
	ctx := context.Background()
	err := svc.write(ctx, func(tx *Tx) error {
		head, ok, err := tx.st.AuditHead(ctx)
		if err != nil {
			return err
		}
		prev, at := head.Hash, head.At
		if !ok {
			prev, at = genesisHash, tx.now
		}
		payload, _ := json.Marshal(map[string]any{"outcome": "ok", "run": 1})
		for seq := head.Seq + 1; seq <= size; seq++ {
			hash, err := chainHash(prev, seq, ms(at), "daemon", "job.run", "job:expire-leases", string(payload))
			if err != nil {
				return err
			}
			if err := tx.st.AuditAppend(ctx, store.AuditEvent{Seq: seq, At: at, Actor: "daemon", Action: "job.run", Subject: "job:expire-leases",
				Payload: string(payload), PrevHash: prev, Hash: hash}); err != nil {
				return err
			}
			prev = hash
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// chainBothWays checks the chain read in order on one transaction and read
// as ranges on several, and fails unless both find the same.
func chainBothWays(t *testing.T, svc *Service) ChainCheck {
	t.Helper()
	ctx := context.Background()
	var inOrder, ranged ChainCheck
	err := svc.read(ctx, func(tx *Tx) error {
		var err error
		if inOrder, err = tx.verifyChain(ctx, nil, nil, false, func(*chainEvent) {}); err != nil {
			return err
		}
		ranged, err = tx.verifyChain(ctx, nil, svc.chainReaders(), false, func(*chainEvent) {})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if inOrder.OK != ranged.OK || inOrder.BrokenSeq != ranged.BrokenSeq || inOrder.Problem != ranged.Problem ||
		inOrder.Events != ranged.Events || inOrder.Rehashed != ranged.Rehashed || inOrder.Head != ranged.Head || inOrder.Store != ranged.Store {
		t.Fatalf("in order: %+v\nas ranges: %+v", inOrder, ranged)
	}
	return ranged
}

func TestFullCheckAsRangesMatchesInOrder(t *testing.T) {
	svc := rangedLog(t)
	res := chainBothWays(t, svc)
	if !res.OK || res.Events != rangedLogSize || res.Rehashed != res.Events {
		t.Fatalf("%+v; want an intact chain of %d events, all re-hashed", res, rangedLogSize)
	}
}

// A break where one range ends and the next begins is caught by the link
// check as anywhere else, and reported the same as a check in one pass.
func TestFullCheckCatchesBreakAtRangeBoundary(t *testing.T) {
	const second = minRangeSize + 1 // the first seq of the second range
	for _, tc := range []struct {
		name, edit string
		seq        int64
		problem    string
	}{
		{"prev_hash edited at a range's first event", `UPDATE audit_log SET prev_hash = hash WHERE seq = ?`, second,
			"prev_hash does not match the previous event's hash"},
		{"a range's first event deleted", `DELETE FROM audit_log WHERE seq = ?`, second,
			"events are missing before this one (expected seq " + itoa(second) + ")"},
		{"a range's last event deleted", `DELETE FROM audit_log WHERE seq = ?`, second - 1,
			"events are missing before this one (expected seq " + itoa(second-1) + ")"},
		{"a range's first event's content edited", `UPDATE audit_log SET actor = 'mallory' WHERE seq = ?`, second,
			"the event's content does not match its hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			svc := rangedLog(t)
			if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, tc.edit, tc.seq); err != nil {
				t.Fatal(err)
			}
			res := chainBothWays(t, svc)
			if res.OK || res.BrokenSeq != tc.seq || res.Problem != tc.problem {
				t.Fatalf("%+v; want broken at seq %d: %s", res, tc.seq, tc.problem)
			}
			full, err := svc.VerifyAudit(ctx, "tester", "test", true)
			if err != nil || full.OK || full.BrokenSeq != tc.seq || full.Problem != tc.problem {
				t.Fatalf("audit verify --full: %+v, %v; want broken at seq %d: %s", full, err, tc.seq, tc.problem)
			}
		})
	}
}

// The ranges' statement and the extra transaction run on PostgreSQL too: a
// log of rangedLogSize events in a fresh repository (nothing but the
// events), intact, then with a range's first prev_hash edited.
func TestFullCheckAsRangesOnPostgres(t *testing.T) {
	url := os.Getenv("OXYGEN_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("OXYGEN_TEST_POSTGRES_URL not set: skipping the full check as ranges on PostgreSQL")
	}
	ctx := context.Background()
	pg := pgtest.Create(t, url, "chainread")
	base := MustOpen(t)
	svc := NewService(base.Layout, base.Config, pg, base.Clock)
	appendJobRuns(t, svc, rangedLogSize)
	if res := chainBothWays(t, svc); !res.OK || res.Events != rangedLogSize {
		t.Fatalf("%+v; want an intact chain of %d events", res, rangedLogSize)
	}
	const second = minRangeSize + 1
	if _, err := pg.DB().ExecContext(ctx, `DROP TRIGGER audit_log_no_update ON audit_log`); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.DB().ExecContext(ctx, `UPDATE audit_log SET prev_hash = hash WHERE seq = $1`, second); err != nil {
		t.Fatal(err)
	}
	if res := chainBothWays(t, svc); res.OK || res.BrokenSeq != second || res.Problem != "prev_hash does not match the previous event's hash" {
		t.Fatalf("%+v; want broken at seq %d", res, second)
	}
}
