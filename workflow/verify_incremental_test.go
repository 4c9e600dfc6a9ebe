package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// incrementalFixture is a log verified twice with work in between, so that
// the second check's head (the checkpoint) comes after the first check's
// own audit.verify event, an event the replay does not read.
func incrementalFixture(t *testing.T) (svc *Service, checkpoint ChainHead, verifySeq int64) {
	t.Helper()
	ctx := context.Background()
	svc = MustOpen(t)
	replayWorkload(t, svc, 2)
	first, err := svc.VerifyAudit(ctx, "tester", "test", false)
	if err != nil || !first.OK || !first.Full || first.Rehashed != first.Events {
		t.Fatalf("first check, with no checkpoint: %+v, %v; want a full re-hash", first, err)
	}
	verifySeq = first.Head.Seq + 1
	replayWorkload(t, svc, 1)
	second, err := svc.VerifyAudit(ctx, "tester", "test", false)
	if err != nil || !second.OK || second.Full || second.Checkpoint == nil || second.Checkpoint.Seq != first.Head.Seq ||
		second.Rehashed != second.Head.Seq-first.Head.Seq {
		t.Fatalf("second check: %+v, %v; want the events after seq %d re-hashed", second, err, first.Head.Seq)
	}
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `DROP TRIGGER audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	return svc, second.Head, verifySeq
}

// An event before the checkpoint whose content is edited while its stored
// hash is kept still links to its neighbours: the incremental check does
// not re-hash it and passes, which is its documented limit. audit verify
// --full and the audit-full job re-hash it and name it.
func TestIncrementalVerifyMissesEditBeforeCheckpointFullCatchesIt(t *testing.T) {
	ctx := context.Background()
	svc, checkpoint, edited := incrementalFixture(t)
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `UPDATE audit_log SET payload = json_set(payload, '$.events', 1) WHERE seq = ? AND action = 'audit.verify'`, edited); err != nil {
		t.Fatal(err)
	}
	inc, err := svc.VerifyAudit(ctx, "tester", "test", false)
	if err != nil || !inc.OK || inc.Checkpoint == nil || inc.Checkpoint.Seq != checkpoint.Seq {
		t.Fatalf("incremental check: %+v, %v; want it to pass from seq %d (it does not re-hash seq %d)", inc, err, checkpoint.Seq, edited)
	}
	full, err := svc.VerifyAudit(ctx, "tester", "test", true)
	if err != nil || full.OK || full.BrokenSeq != edited || full.Problem != "the event's content does not match its hash" {
		t.Fatalf("full check: %+v, %v; want broken at seq %d", full, err, edited)
	}
	run, err := svc.RunJob(ctx, JobAuditFull, "manual", svc.JobFuncs()[JobAuditFull])
	want := "audit chain broken at seq " + itoa(edited) + ": the event's content does not match its hash"
	if err == nil || run.Outcome != "error" || !strings.Contains(run.Summary, want) {
		t.Fatalf("audit-full job: %+v, %v; want outcome error with %q", run, err, want)
	}
}

// An edited event re-hashed along with every event after it up to, not
// including, the checkpoint leaves the checkpoint's row intact, but its
// prev_hash no longer names the event before it: the incremental check sees
// the broken link without re-hashing anything before the checkpoint.
func TestIncrementalVerifyCatchesRechainUpToCheckpoint(t *testing.T) {
	ctx := context.Background()
	svc, checkpoint, edited := incrementalFixture(t)
	db := sqlstore.DBOf(svc.Store)
	if _, err := db.ExecContext(ctx, `UPDATE audit_log SET payload = json_set(payload, '$.events', 1) WHERE seq = ?`, edited); err != nil {
		t.Fatal(err)
	}
	var prev string
	if err := db.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, edited-1).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	for seq := edited; seq < checkpoint.Seq; seq++ {
		var at int64
		var actor, action, subject, payload string
		if err := db.QueryRowContext(ctx, `SELECT at, actor, action, subject, payload FROM audit_log WHERE seq = ?`, seq).Scan(&at, &actor, &action, &subject, &payload); err != nil {
			t.Fatal(err)
		}
		hash, err := chainHash(prev, seq, at, actor, action, subject, payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?`, prev, hash, seq); err != nil {
			t.Fatal(err)
		}
		prev = hash
	}
	for _, full := range []bool{false, true} {
		res, err := svc.VerifyAudit(ctx, "tester", "test", full)
		if err != nil || res.OK || res.BrokenSeq != checkpoint.Seq || res.Problem != "prev_hash does not match the previous event's hash" {
			t.Fatalf("full=%v: %+v, %v; want broken at the checkpoint, seq %d", full, res, err, checkpoint.Seq)
		}
	}
}

// BenchmarkVerifyIncremental measures a full and an incremental check of a
// log of 10k and 100k events whose last ten were appended after the
// checkpoint. The first 10k come from replayWorkload; the rest are
// job.run-style events the replay passes over, appended in one transaction
// so that building the log stays quick. rehash-events/s is the full chain
// re-hash alone (read, hash, compare), without the replay.
func BenchmarkVerifyIncremental(b *testing.B) {
	for _, size := range []int{10_000, 100_000} {
		b.Run(itoa(int64(size)), func(b *testing.B) {
			ctx := context.Background()
			svc := MustOpen(b)
			if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `PRAGMA synchronous=OFF`); err != nil {
				b.Fatal(err)
			}
			replayWorkload(b, svc, 1000)
			err := svc.write(ctx, func(tx *Tx) error {
				mark, _, err := tx.st.AuditHead(ctx)
				if err != nil {
					return err
				}
				head := mark.Seq
				for seq := head; seq < int64(size)-10; seq++ {
					if err := tx.audit(ctx, "daemon", "job.run", "job:expire-leases", map[string]any{"outcome": "ok", "summary": "expired 0 lease(s)"}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := svc.VerifyAudit(ctx, "bench", "bench", true); err != nil {
				b.Fatal(err)
			}
			replayWorkload(b, svc, 1)
			b.ResetTimer()
			var full, inc, rehash time.Duration
			var events int64
			for i := 0; i < b.N; i++ {
				start := time.Now()
				err := svc.read(ctx, func(tx *Tx) error {
					res, err := tx.verifyChain(ctx, nil, svc.chainReaders(), false, func(*chainEvent) {})
					events = res.Events
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				rehash += time.Since(start)
				for _, f := range []bool{true, false} {
					start = time.Now()
					res, err := svc.verifyAuditLog(ctx, f, true)
					if err != nil || !res.OK || res.Full != f {
						b.Fatalf("%v %q", err, res.Failures())
					}
					if f {
						full += time.Since(start)
					} else {
						inc += time.Since(start)
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(full.Microseconds())/n/1000, "ms/full")
			b.ReportMetric(float64(inc.Microseconds())/n/1000, "ms/incremental")
			b.ReportMetric(float64(events)*n/rehash.Seconds(), "rehash-events/s")
		})
	}
}
