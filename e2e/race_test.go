package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// startTogether runs n processes as close to simultaneously as the machine
// allows: all are created first, then started from goroutines released at
// once.
func startTogether(r *repo, n int, argv func(i int) (string, []string)) []result {
	return startTogetherOn([]*repo{r}, n, argv)
}

// startTogetherOn is startTogether with the i-th process run in
// repos[i%len(repos)]: several clones racing on one store.
func startTogetherOn(repos []*repo, n int, argv func(i int) (string, []string)) []result {
	results := make([]result, n)
	var ready, wg sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(n)
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer wg.Done()
			name, args := argv(i)
			ready.Done()
			<-gate
			results[i] = repos[i%len(repos)].run(name, args...)
		}(i)
	}
	ready.Wait()
	close(gate)
	wg.Wait()
	return results
}

func TestClaimRace32Processes(t *testing.T) {
	r := newRepo(t)
	results := startTogether(r, 32, func(i int) (string, []string) {
		return "oxygen", []string{"claim", "schema", "--owner", fmt.Sprintf("agent-%02d", i), "--domain", "scribe", "--json"}
	})
	wantOneClaimWinner(t, r, results)
}

func TestAssignRace10Processes(t *testing.T) {
	r := newRepo(t)
	for i := 0; i < 10; i++ {
		r.mustRun("orchestrate", "add", fmt.Sprintf("RACE-%02d", i), "--title", "race item", "--kind", "chore",
			"--domain", "builder", "--priority", "medium", "--objective", "be assigned")
	}
	results := startTogether(r, 10, func(i int) (string, []string) {
		return "orchestrate", []string{"assign", fmt.Sprintf("RACE-%02d", i), "--owner", "builder"}
	})
	wantAttentionCap(t, r, results)
}

// wantAttentionCap checks a race of ten assigns in one domain: exactly the
// attention budget (2) assigned, the other eight refused with exit 4 and a
// line naming the budget and the council call that lifts it, and two items
// in progress in r's store.
func wantAttentionCap(t *testing.T, r *repo, results []result) {
	t.Helper()
	ok, refused := 0, 0
	for i, res := range results {
		switch res.code {
		case 0:
			ok++
		case 4:
			refused++
			if !strings.Contains(res.stderr, "attention budget") || !strings.Contains(res.stderr, "orchestrate council call --item") {
				t.Errorf("process %d: refusal does not explain the budget: %s", i, res.stderr)
			}
		default:
			t.Errorf("process %d: exit %d: %s", i, res.code, res.stderr)
		}
	}
	if ok != 2 || refused != 8 {
		t.Fatalf("%d assigned and %d refused, want 2 and 8", ok, refused)
	}
	if got := r.query(`SELECT count(*) FROM items WHERE status = 'in_progress'`); got != "2\n" {
		t.Fatalf("in_progress = %q, want 2", got)
	}
}

// TestInitRace starts 30 inits on a fresh clone, where the store does not
// exist yet: one creates, migrates and records it (exactly one store.init
// event), the others wait for it and change nothing. A claim afterwards
// finds the store.
func TestInitRace(t *testing.T) {
	r := newRepo(t)
	if err := removeAll(r.dir + "/.substrate/state"); err != nil {
		t.Fatal(err)
	}
	results := startTogether(r, 30, func(i int) (string, []string) {
		return "orchestrate", []string{"init"}
	})
	for i, res := range results {
		if res.code != 0 {
			t.Errorf("process %d: exit %d: %s", i, res.code, res.stderr)
		}
	}
	if got := r.query(`SELECT count(*) FROM audit_log WHERE action = 'store.init'`); got != "1\n" {
		t.Fatalf("store.init events = %q, want exactly 1", got)
	}
	if got := r.query(`SELECT count(*) FROM goose_db_version WHERE version_id > 0`); got == "0\n" {
		t.Fatalf("no migrations recorded")
	}
	r.mustRun("oxygen", "claim", "storage", "--owner", "builder")
}

// wantOneClaimWinner checks a race of claims on schema: exactly one
// granted, every other refused as held (exit 3, naming the holder), none
// seeing a lock error, and one lease row and one grant event in r's store.
func wantOneClaimWinner(t *testing.T, r *repo, results []result) {
	t.Helper()
	winners := 0
	for i, res := range results {
		if strings.Contains(res.stderr, "locked") || strings.Contains(res.stderr, "busy") {
			t.Errorf("process %d saw a lock error: %s", i, res.stderr)
		}
		switch res.code {
		case 0:
			winners++
		case 3:
			if !strings.Contains(res.stderr, "schema is held by agent-") {
				t.Errorf("process %d: conflict without naming the holder: %s", i, res.stderr)
			}
		default:
			t.Errorf("process %d: exit %d: %s", i, res.code, res.stderr)
		}
	}
	if winners != 1 {
		t.Fatalf("%d winners, want exactly 1", winners)
	}
	if got := r.query(`SELECT count(*) FROM leases`); got != "1\n" {
		t.Fatalf("leases rows = %q, want 1", got)
	}
	if got := r.query(`SELECT count(*) FROM audit_log WHERE action = 'lease.grant'`); got != "1\n" {
		t.Fatalf("grant events = %q, want 1", got)
	}
}
