package workflow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

func TestOnCycle(t *testing.T) {
	graph := map[string][]string{
		"A": {"B"}, "B": {"C"}, "C": {"A", "D"}, // A -> B -> C -> A, and on to D
		"D": {"E"}, "E": {"F"}, "F": {"E"}, // E <-> F
		"G": {"A"}, // depends on a cycle, is on none
		"H": {"H"},
	}
	got := onCycle(graph)
	want := map[string]bool{"A": true, "B": true, "C": true, "E": true, "F": true, "H": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("onCycle = %v, want %v", got, want)
	}
	if c := cycleThrough(graph, "C"); !reflect.DeepEqual(c, []string{"C", "A", "B", "C"}) {
		t.Errorf("cycleThrough(C) = %v", c)
	}
	if c := cycleThrough(graph, "G"); c != nil {
		t.Errorf("cycleThrough(G) = %v, want none", c)
	}
}

// writeChainPlan writes a plan of n items, each depending on the one
// before; first lists extra dependencies of the first item.
func writeChainPlan(t *testing.T, n int, first ...string) string {
	var b strings.Builder
	b.WriteString("items:\n")
	for i := range n {
		deps := first
		if i > 0 {
			deps = []string{fmt.Sprintf("C%05d", i-1)}
		}
		fmt.Fprintf(&b, "  - {id: C%05d, title: item %d, kind: chore, domain: builder, priority: low, objective: o, depends_on: [%s]}\n", i, i, strings.Join(deps, ", "))
	}
	file := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// A large plan imports in one transaction, its dependency graph checked in
// one pass: a chain as deep as the plan is long needs no deep recursion to
// accept, and a cycle closed through its whole length is named from the
// first item of the file on it.
func TestImportLargeChain(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 30k items")
	}
	const n = 30_000
	ctx := context.Background()
	svc := MustOpen(t)
	res, err := svc.ImportPlan(ctx, writeChainPlan(t, n), "tester")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != n {
		t.Fatalf("created %d items, want %d", len(res.Created), n)
	}
	ready, err := svc.List(ctx, ItemFilter{})
	if err != nil || len(ready) != n || !reflect.DeepEqual(ready[n-1].DependsOn, []string{fmt.Sprintf("C%05d", n-2)}) {
		t.Fatalf("list after import: %d items, %v", len(ready), err)
	}

	_, err = svc.ImportPlan(ctx, writeChainPlan(t, n, fmt.Sprintf("C%05d", n-1)), "tester")
	msg := fmt.Sprint(err)
	if ErrorCode(err) != EINVALID || !strings.Contains(msg, ": items[0] (C00000): depends_on: would form a cycle: C00000 -> C29999 -> C29998 -> ") ||
		!strings.HasSuffix(msg, " -> C00001 -> C00000") || strings.Contains(msg, "\n") {
		t.Fatalf("import closing a cycle: %.300s", msg)
	}
	if deps, err := svc.Show(ctx, "C00000"); err != nil || len(deps.DependsOn) != 0 {
		t.Fatalf("the refused import changed C00000: %v, %v", deps, err)
	}
}

// TestNextItemIDIsOnePastTheHighest: an id given by hand raises the number
// the next generated id takes, and a generated id skips one taken by hand.
func TestNextItemIDIsOnePastTheHighest(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	spec := func(id string) ItemSpec {
		return ItemSpec{ID: id, Title: "t", Kind: "chore", Domain: "builder", Priority: "low", Objective: "o"}
	}
	for _, c := range []struct{ given, want string }{
		{"", "WORK-001"},
		{"WORK-003", "WORK-003"},
		{"", "WORK-004"},
		{"WORK-010", "WORK-010"},
		{"", "WORK-011"},
	} {
		it, err := svc.AddItem(ctx, spec(c.given), "tester")
		if err != nil || it.ID != c.want {
			t.Fatalf("add %q: got %v, %v; want %s", c.given, it, err, c.want)
		}
	}
}

// TestItemCountsFollowEveryMove: the per-(domain, status) counts the
// triggers keep equal a count of the items after adds, moves and a change
// of domain by re-import.
func TestItemCountsFollowEveryMove(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	for _, d := range []string{"builder", "builder", "scribe"} {
		if _, err := svc.AddItem(ctx, ItemSpec{Title: "t", Kind: "chore", Domain: d, Priority: "low", Objective: "o"}, "tester"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Assign(ctx, AssignRequest{ID: "WORK-001", Owner: "ann", Domain: "builder"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Block(ctx, MoveRequest{ID: "WORK-001", By: "ann", Reason: "waits"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Assign(ctx, AssignRequest{ID: "WORK-002", Owner: "ann", Domain: "builder"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Unassign(ctx, MoveRequest{ID: "WORK-002", By: "ann"}); err != nil {
		t.Fatal(err)
	}
	db := sqlstore.DBOf(svc.Store)
	count := func(query string) map[string]int {
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var d, s string
			var n int
			if err := rows.Scan(&d, &s, &n); err != nil {
				t.Fatal(err)
			}
			out[d+"/"+s] = n
		}
		return out
	}
	want := count(`SELECT domain, status, count(*) FROM items GROUP BY domain, status`)
	got := count(`SELECT domain, status, n FROM item_counts WHERE n > 0`)
	if !reflect.DeepEqual(got, want) || want["builder/blocked"] != 1 || want["builder/open"] != 1 {
		t.Fatalf("item_counts = %v, items say %v", got, want)
	}
	byStatus := map[Status]int{}
	err := svc.read(ctx, func(tx *Tx) error {
		var err error
		byStatus, err = tx.st.ItemCountsByStatus(ctx)
		return err
	})
	if err != nil || byStatus[StatusOpen] != 2 || byStatus[StatusBlocked] != 1 || byStatus[StatusInProgress] != 0 {
		t.Fatalf("ItemCountsByStatus = %v, %v", byStatus, err)
	}
}

// TestUnmetDependenciesFollowEveryMove: the count of unmet dependencies
// the triggers keep on each item (what ready reads) equals a count over
// the dependencies after adds with dependencies, a dependency done, and
// reopened again.
func TestUnmetDependenciesFollowEveryMove(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	add := func(deps ...string) {
		t.Helper()
		if _, err := svc.AddItem(ctx, ItemSpec{Title: "t", Kind: "chore", Domain: "builder", Priority: "low", Objective: "o", DependsOn: deps}, "tester"); err != nil {
			t.Fatal(err)
		}
	}
	add()                       // WORK-001
	add()                       // WORK-002
	add("WORK-001", "WORK-002") // WORK-003
	db := sqlstore.DBOf(svc.Store)
	check := func(when string) {
		t.Helper()
		var bad int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM items WHERE unmet <> (SELECT count(*) FROM item_deps d JOIN items dep ON dep.id = d.depends_on WHERE d.item_id = items.id AND dep.status <> 'done')`).Scan(&bad)
		if err != nil || bad != 0 {
			t.Fatalf("%s: %d items with a wrong unmet count (%v)", when, bad, err)
		}
	}
	check("after adding")
	if _, err := svc.Assign(ctx, AssignRequest{ID: "WORK-001", Owner: "ann", Domain: "builder"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Done(ctx, DoneRequest{MoveRequest: MoveRequest{ID: "WORK-001", By: "ann"}}); err != nil {
		t.Fatal(err)
	}
	check("after a dependency is done")
	var unmet int
	if err := db.QueryRowContext(ctx, `SELECT unmet FROM items WHERE id = 'WORK-003'`).Scan(&unmet); err != nil || unmet != 1 {
		t.Fatalf("WORK-003 unmet = %d, %v; want 1", unmet, err)
	}
	if _, err := svc.Reopen(ctx, MoveRequest{ID: "WORK-001", By: "ann", Reason: "not quite"}); err != nil {
		t.Fatal(err)
	}
	check("after the dependency is reopened")
}
