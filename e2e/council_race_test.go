package e2e

import (
	"strings"
	"testing"
)

// TestCouncilSingleUseRace: one approved council_call lets one move exceed
// the attention budget once. Eight processes try to use it at the same
// moment; exactly one succeeds, the approval is consumed once, and the
// losers are refused (3: B3 is already in progress, or 4: already used)
// without leaving anything behind.
func TestCouncilSingleUseRace(t *testing.T) {
	r := newRepo(t)
	for _, id := range []string{"B1", "B2", "B3"} {
		r.mustRun("orchestrate", "add", id, "--title", "race "+id, "--kind", "chore", "--domain", "builder",
			"--priority", "high", "--objective", "o")
	}
	r.mustRun("orchestrate", "assign", "B1", "--owner", "builder")
	r.mustRun("orchestrate", "assign", "B2", "--owner", "builder")
	// Signals 1 and 2 are the assignment missives; the call is 3.
	call := r.mustRun("orchestrate", "council", "call", "--item", "B3", "--from", "builder", "--reason", "race", "--json")
	if !strings.Contains(call.stdout, `"id": 3,`) {
		t.Fatalf("council call: %s", call.stdout)
	}
	r.mustRun("orchestrate", "council", "approve", "3", "--by", "watcher")

	results := startTogether(r, 8, func(i int) (string, []string) {
		return "orchestrate", []string{"assign", "B3", "--owner", "builder", "--council", "3"}
	})
	ok := 0
	for i, res := range results {
		switch res.code {
		case 0:
			ok++
		case 3, 4:
			if strings.Count(res.stderr, "\n") != 1 {
				t.Errorf("process %d: refusal is not one line: %q", i, res.stderr)
			}
		default:
			t.Errorf("process %d: exit %d: %s", i, res.code, res.stderr)
		}
	}
	if ok != 1 {
		t.Fatalf("%d processes used the council_call, want exactly 1", ok)
	}
	checks := map[string]string{
		`SELECT count(*) FROM council_approvals WHERE consumed_at IS NOT NULL`:                    "1\n",
		`SELECT count(*) FROM audit_log WHERE action = 'council.consume'`:                         "1\n",
		`SELECT count(*) FROM item_transitions WHERE item_id = 'B3'`:                              "1\n",
		`SELECT count(*) FROM signals WHERE item_id = 'B3' AND topic = 'assignment'`:              "1\n",
		`SELECT count(*) FROM items WHERE domain = 'builder' AND status = 'in_progress'`:          "3\n",
		`SELECT consumed_action FROM council_approvals WHERE signal_id = 3`:                       "assign\n",
		`SELECT count(*) FROM item_transitions WHERE item_id = 'B3' AND council_id = 3`:           "1\n",
		`SELECT count(*) FROM audit_log WHERE action = 'item.transition' AND subject = 'item:B3'`: "1\n",
	}
	for q, want := range checks {
		if got := r.query(q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
	if v := r.run("orchestrate", "audit", "verify"); v.code != 0 {
		t.Fatalf("audit verify after the race: exit %d: %s", v.code, v.stderr)
	}
}
