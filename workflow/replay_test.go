package workflow

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// A lease.release written before releases carried their reason is evidence
// for everything about the lease but its end reason: the replay leaves that
// column unchecked instead of calling every old release a disagreement.
func TestReplayChecksOnlyWhatTheLogRecords(t *testing.T) {
	grant := &chainEvent{seq: 2, at: 1000, actor: "ada", action: "lease.grant", subject: "resource:storage",
		payload: `{"owner":"ada","domain":"builder","token":1,"item":"","reason":"","ttl_ms":60000,"expires_at":"1970-01-01T00:01:01Z"}`}
	oldRelease := &chainEvent{seq: 3, at: 2000, actor: "ada", action: "lease.release", subject: "resource:storage",
		payload: `{"owner":"ada","token":1,"held_ms":1000}`}
	table := map[string]map[string]string{"1": {"resource": "storage", "owner": "ada", "domain": "builder", "item_id": "", "reason": "",
		"created_at": "1000", "expires_at": "61000", "state": "released", "ended_at": "2000", "end_reason": "whatever it said", "ended_by": "ada"}}

	r := newReplay()
	r.apply(grant)
	r.apply(oldRelease)
	if got := r.leases.diff(table); len(got) != 0 || len(r.contradictions) != 0 {
		t.Fatalf("an old release without a reason: %q %q, want no disagreement", got, r.contradictions)
	}
	// The same release recording its reason is checked against the row.
	r = newReplay()
	r.apply(grant)
	r.apply(&chainEvent{seq: 3, at: 2000, actor: "ada", action: "lease.release", subject: "resource:storage",
		payload: `{"owner":"ada","token":1,"held_ms":1000,"reason":"released"}`})
	got := r.leases.diff(table)
	want := `lease token 1: end_reason is "whatever it said" in leases, but the audit log (seq 3) says "released"`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %q, want [%q]", got, want)
	}
}

// Events that do not fit the state before them are reported, and a release
// of a token the log never granted is one.
func TestReplayReportsContradictions(t *testing.T) {
	r := newReplay()
	r.apply(&chainEvent{seq: 7, at: 1, actor: "ada", action: "lease.release", subject: "resource:storage", payload: `{"token":4}`})
	r.apply(&chainEvent{seq: 8, at: 1, actor: "ada", action: "item.transition", subject: "item:X", payload: `{"from":"open","to":"in_progress","owner":"ada"}`})
	r.apply(&chainEvent{seq: 9, at: 1, actor: "ada", action: "signal.send", subject: "signal:1", payload: `not json`})
	want := []string{
		"seq 7 (lease.release resource:storage): lease token 4 was never granted",
		"seq 8 (item.transition item:X): item X was never created",
		"seq 9 (signal.send signal:1): its payload cannot be read: invalid character 'o' in literal null (expecting 'u')",
	}
	if fmt.Sprint(r.contradictions) != fmt.Sprint(want) {
		t.Fatalf("contradictions:\n%s\nwant:\n%s", strings.Join(r.contradictions, "\n"), strings.Join(want, "\n"))
	}
}

// The replay agrees with the tables after ordinary use, through the same
// service calls the CLIs make.
func TestReplayAgreesAfterOrdinaryUse(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	replayWorkload(t, svc, 3)
	res, err := svc.verifyAuditLog(ctx, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || len(res.Failures()) != 0 {
		t.Fatalf("verify after ordinary use: %q", res.Failures())
	}
	want := ReplayCounts{Items: 3, Transitions: 6, Leases: 6, Signals: 6, Capsules: 3}
	if res.Replayed != want {
		t.Fatalf("replayed %+v, want %+v", res.Replayed, want)
	}
}

// replayWorkload makes rounds of: add an item, assign it (a transition, a
// missive and a capsule), complete it, claim and release a lease twice, send
// a signal.
func replayWorkload(tb testing.TB, svc *Service, rounds int) {
	tb.Helper()
	ctx := context.Background()
	actor := Actor{Owner: "builder", Domain: "builder"}
	for i := 0; i < rounds; i++ {
		it, err := svc.AddItem(ctx, ItemSpec{Title: "work", Kind: "chore", Domain: "builder", Priority: "low", Objective: "o"}, "builder")
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := svc.Assign(ctx, AssignRequest{ID: it.ID, Owner: "builder"}); err != nil {
			tb.Fatal(err)
		}
		if _, err := svc.Done(ctx, DoneRequest{MoveRequest: MoveRequest{ID: it.ID, By: "builder", Reason: "no commands"}, SkipVerify: true}); err != nil {
			tb.Fatal(err)
		}
		for range 2 {
			if _, err := svc.Claim(ctx, ClaimRequest{Resource: "storage", Actor: actor}); err != nil {
				tb.Fatal(err)
			}
			if _, err := svc.Release(ctx, ReleaseRequest{Resource: "storage", Actor: actor}); err != nil {
				tb.Fatal(err)
			}
		}
		if _, err := svc.SendSignal(ctx, SignalSpec{Kind: KindMissive, From: "builder", FromDomain: "builder", To: "scribe", Body: "hello"}); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkVerifyAudit measures the full verification of a log of 10,000
// events (1,000 rounds of replayWorkload, ten events each) next to the
// re-hash alone, which is what verification cost before the replay. Each
// iteration runs both, one after the other, so that a busy host slows both
// alike: the ratio is the figure to read.
func BenchmarkVerifyAudit(b *testing.B) {
	ctx := context.Background()
	svc := MustOpen(b)
	// Building the log is not what is measured: skip the fsyncs.
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `PRAGMA synchronous=OFF`); err != nil {
		b.Fatal(err)
	}
	replayWorkload(b, svc, 1000)
	b.ResetTimer()
	var rehash, full time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		err := svc.read(ctx, func(tx *Tx) error {
			_, err := tx.verifyChain(ctx, nil, svc.chainReaders(), false, func(*chainEvent) {})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		rehash += time.Since(start)
		start = time.Now()
		res, err := svc.verifyAuditLog(ctx, true, true)
		if err != nil || !res.OK {
			b.Fatalf("%v %q", err, res.Failures())
		}
		full += time.Since(start)
	}
	b.ReportMetric(float64(rehash.Microseconds())/float64(b.N)/1000, "ms/rehash")
	b.ReportMetric(float64(full.Microseconds())/float64(b.N)/1000, "ms/full")
	b.ReportMetric(float64(full)/float64(rehash), "full/rehash")
}
