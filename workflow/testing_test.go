package workflow

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// testNow is the instant MustOpen's clock is fixed at: the seed capsule's
// "Generated" time.
var testNow = time.Date(2026, 1, 30, 4, 46, 11, 0, time.UTC)

// FixedClock returns a Clock that always reads t. Tests inject it into a
// Service (svc.Clock = FixedClock(...)) to move time by hand.
func FixedClock(t time.Time) Clock {
	t = t.UTC().Truncate(time.Millisecond)
	return func() time.Time { return t }
}

// MustOpen initialises a repository in a temporary directory with
// workflow.Init, as `orchestrate init` does, and returns a Service over it
// whose clock is fixed at testNow. Replace svc.Clock to inject another time.
// The store is closed when the test ends.
func MustOpen(tb testing.TB) *Service {
	tb.Helper()
	ctx := context.Background()
	root := tb.TempDir()
	clock := FixedClock(testNow)
	if _, err := Init(ctx, root, true, clock); err != nil {
		tb.Fatalf("init %s: %v", root, err)
	}
	cfg, err := LoadConfig(root)
	if err != nil {
		tb.Fatalf("load config: %v", err)
	}
	l, err := Discover(root)
	if err != nil {
		tb.Fatalf("discover: %v", err)
	}
	store, err := OpenStore(ctx, l, cfg)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	return NewService(l, cfg, store, clock)
}

// TestMustOpenUsesInjectedClock checks the helper itself: writes take their
// time from the injected clock, and replacing it moves time.
func TestMustOpenUsesInjectedClock(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	spec := ItemSpec{Title: "clocked", Kind: "chore", Domain: "builder", Priority: "low", Objective: "o"}
	it, err := svc.AddItem(ctx, spec, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if it.ID != "WORK-001" || !it.CreatedAt.Equal(testNow) {
		t.Fatalf("got %s created %s, want WORK-001 created %s", it.ID, it.CreatedAt, testNow)
	}
	later := testNow.Add(90 * time.Minute)
	svc.Clock = FixedClock(later)
	it, err = svc.AddItem(ctx, spec, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if it.ID != "WORK-002" || !it.CreatedAt.Equal(later) {
		t.Fatalf("got %s created %s, want WORK-002 created %s", it.ID, it.CreatedAt, later)
	}
	// The audit events carry the injected times too: store.init and the
	// first add at testNow, the second add later.
	rows, err := sqlstore.DBOf(svc.Store).QueryContext(ctx, `SELECT at FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int64
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		got = append(got, at)
	}
	want := []int64{testNow.UnixMilli(), testNow.UnixMilli(), later.UnixMilli()}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit times %v, want %v", got, want)
	}
}
