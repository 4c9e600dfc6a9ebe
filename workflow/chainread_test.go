package workflow

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// rangedLog is a store whose log spans three of readRanges' ranges (the
// first starts at seq 1), with the append-only triggers dropped so a test
// can break it.
func rangedLog(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	svc := MustOpen(t)
	const size = 2*minRangeSize + 100
	err := svc.write(ctx, func(tx *Tx) error {
		head, _, err := tx.st.AuditHead(ctx)
		if err != nil {
			return err
		}
		prev, at := head.Hash, head.At
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
		t.Fatal(err)
	}
	for _, trigger := range []string{"audit_log_no_update", "audit_log_no_delete"} {
		if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `DROP TRIGGER `+trigger); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

// chainBothWays checks the chain read in order on one transaction and read
// as ranges on several, and fails unless both find the same.
func chainBothWays(t *testing.T, svc *Service) ChainCheck {
	t.Helper()
	ctx := context.Background()
	var inOrder, ranged ChainCheck
	err := svc.read(ctx, func(tx *Tx) error {
		var err error
		if inOrder, err = tx.verifyChain(ctx, nil, nil, func(*chainEvent) {}); err != nil {
			return err
		}
		ranged, err = tx.verifyChain(ctx, nil, svc.chainReaders(), func(*chainEvent) {})
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
	if !res.OK || res.Events != 2*minRangeSize+100 || res.Rehashed != res.Events {
		t.Fatalf("%+v; want an intact chain of %d events, all re-hashed", res, 2*minRangeSize+100)
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
