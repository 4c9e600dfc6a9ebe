package storetest

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/oxygen-tools/oxygen/workflow"
)

// race runs fn(i) for i in [0, n) at once, each with its own Service on
// r (its own connection, as separate processes have), released together,
// and returns each one's error.
func race(t *testing.T, r *Repo, n int, fn func(svc *workflow.Service, i int) error) []error {
	t.Helper()
	svcs := make([]*workflow.Service, n)
	for i := range svcs {
		svcs[i] = r.Open(t)
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range svcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(svcs[i], i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// codes counts the error codes, "" for successes.
func codes(errs []error) map[string]int {
	out := map[string]int{}
	for _, err := range errs {
		out[workflow.ErrorCode(err)]++
	}
	return out
}

// runRaces checks that the rules hold when they are raced: every check
// and its write share one write transaction, so the one-writer contract
// alone must make them correct.
func runRaces(t *testing.T, open Opener) {
	t.Run("SixteenClaimsOneWinner", func(t *testing.T) {
		r := open(t)
		errs := race(t, r, 16, func(svc *workflow.Service, i int) error {
			_, err := claim(svc, "deployment", actor(fmt.Sprintf("agent%02d", i), "builder"))
			return err
		})
		if c := codes(errs); c[""] != 1 || c[workflow.ECONFLICT] != 15 {
			t.Fatalf("16 claims on one resource: %v (errors %v), want 1 grant and 15 conflicts", c, errs)
		}
		svc := r.Open(t)
		if n := scalar[int64](t, svc, `SELECT count(*) FROM leases`); n != 1 {
			t.Fatalf("%d leases after the race, want 1", n)
		}
	})

	t.Run("TenAssignsOneDomain", func(t *testing.T) {
		r := open(t)
		svc := r.Open(t)
		var ids []string
		for i := 0; i < 10; i++ {
			ids = append(ids, addItem(t, svc, "builder", "raced").ID)
		}
		errs := race(t, r, 10, func(s *workflow.Service, i int) error {
			_, err := s.Assign(ctx, workflow.AssignRequest{ID: ids[i], Owner: fmt.Sprintf("agent%02d", i), Domain: "builder"})
			return err
		})
		if c := codes(errs); c[""] != 2 || c[workflow.EDENIED] != 8 {
			t.Fatalf("10 assigns under a cap of 2: %v (errors %v)", c, errs)
		}
		if n := scalar[int64](t, svc, `SELECT count(*) FROM items WHERE domain = 'builder' AND status = 'in_progress'`); n != 2 {
			t.Fatalf("%d builder items in progress, want the cap, 2", n)
		}
	})

	t.Run("TwentyAddsSequentialIDs", func(t *testing.T) {
		r := open(t)
		errs := race(t, r, 20, func(s *workflow.Service, i int) error {
			_, err := s.AddItem(ctx, workflow.ItemSpec{Title: fmt.Sprintf("raced %d", i), Kind: "chore", Domain: "scribe", Priority: "low", Objective: "o"}, "scribe")
			return err
		})
		if c := codes(errs); c[""] != 20 {
			t.Fatalf("20 adds: %v (errors %v)", c, errs)
		}
		items := got(r.Open(t).List(ctx, workflow.ItemFilter{})).must(t, "list")
		var ids []string
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		sort.Strings(ids)
		for i, id := range ids {
			if want := fmt.Sprintf("WORK-%03d", i+1); id != want {
				t.Fatalf("ids %v: position %d is %s, want %s (no gaps, no duplicates)", ids, i, id, want)
			}
		}
		if len(ids) != 20 {
			t.Fatalf("%d items after 20 adds", len(ids))
		}
		chainIntact(t, r.Open(t), 21)
	})

	t.Run("TwentySignalsChainIntact", func(t *testing.T) {
		r := open(t)
		errs := race(t, r, 20, func(s *workflow.Service, i int) error {
			_, err := s.SendSignal(ctx, workflow.SignalSpec{Kind: "missive", From: "scribe", FromDomain: "scribe", To: "builder", Body: fmt.Sprintf("note %d", i)})
			return err
		})
		if c := codes(errs); c[""] != 20 {
			t.Fatalf("20 signals: %v (errors %v)", c, errs)
		}
		svc := r.Open(t)
		if n := scalar[int64](t, svc, `SELECT count(DISTINCT id) FROM signals`); n != 20 {
			t.Fatalf("%d distinct signal ids, want 20", n)
		}
		chainIntact(t, svc, 21)
	})

	t.Run("TwentyAuditChecksChainIntact", func(t *testing.T) {
		r := open(t)
		svc := r.Open(t)
		addItem(t, svc, "scribe", "audited")
		errs := race(t, r, 20, func(s *workflow.Service, i int) error {
			check, err := s.VerifyAudit(ctx, fmt.Sprintf("auditor%02d", i), "conformance", i%2 == 0)
			if err == nil && !check.OK {
				err = fmt.Errorf("chain broken: %v", check.Failures())
			}
			return err
		})
		if c := codes(errs); c[""] != 20 {
			t.Fatalf("20 audit checks: %v (errors %v)", c, errs)
		}
		chainIntact(t, svc, 2)
	})

	t.Run("DistinctResourcesAllGranted", func(t *testing.T) {
		r := open(t)
		// Two resources per domain at most: the change budget is not the
		// point here.
		claims := []struct{ resource, domain string }{
			{"schema", "scribe"}, {"coordination", "scribe"}, {"storage", "builder"}, {"index", "builder"},
			{"execution", "watcher"}, {"identity", "guardian"}, {"policy", "guardian"},
		}
		tokens := make([]int64, len(claims))
		errs := race(t, r, len(claims), func(s *workflow.Service, i int) error {
			res, err := claim(s, claims[i].resource, actor(fmt.Sprintf("agent%d", i), claims[i].domain))
			if err == nil {
				tokens[i] = res.Lease.Token
			}
			return err
		})
		if c := codes(errs); c[""] != len(claims) {
			t.Fatalf("claims on distinct resources: %v (errors %v)", c, errs)
		}
		// In the order they were granted (the audit chain's), tokens
		// strictly increase.
		events := got(r.Open(t).AuditLog(ctx, workflow.AuditFilter{Action: "lease.grant"})).must(t, "audit")
		if len(events) != len(claims) {
			t.Fatalf("%d grants audited, want %d", len(events), len(claims))
		}
		byResource := map[string]int64{}
		for i, c := range claims {
			byResource["resource:"+c.resource] = tokens[i]
		}
		var last int64
		for _, e := range events {
			tok := byResource[e.Subject]
			if tok <= last {
				t.Fatalf("grant of %s (seq %d) has token %d after %d", e.Subject, e.Seq, tok, last)
			}
			last = tok
		}
	})
}

// chainIntact checks the audit log after concurrent appends: at least
// events rows, seqs distinct and without gaps, and the chain verifying.
func chainIntact(t *testing.T, svc *workflow.Service, events int64) {
	t.Helper()
	total := scalar[int64](t, svc, `SELECT count(*) FROM audit_log`)
	distinct := scalar[int64](t, svc, `SELECT count(DISTINCT seq) FROM audit_log`)
	span := scalar[int64](t, svc, `SELECT max(seq) - min(seq) + 1 FROM audit_log`)
	if total != distinct || total != span || total < events {
		t.Fatalf("audit log: %d events, %d distinct seqs spanning %d; want at least %d, distinct, no gaps", total, distinct, span, events)
	}
	check := got(svc.VerifyAudit(ctx, "tester", "conformance", true)).must(t, "verify")
	if !check.OK {
		t.Fatalf("chain broken after concurrent appends: %v", check.Failures())
	}
}
