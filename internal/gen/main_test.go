package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/oxygen-tools/oxygen/workflow"
)

// TestGeneratedStoreVerifies builds a small store and checks what the
// benchmarks rely on: every generated row is accounted for by the audit
// log, so `orchestrate audit verify --full` passes, and the shape is the
// one asked for.
func TestGeneratedStoreVerifies(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	// A small batch size makes the schedule cross transactions.
	o := options{dir: dir, items: 100, leases: 400, signals: 4, reports: 4, batch: 97}
	if err := generate(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		t.Fatalf("not a git repository: %v", err)
	}
	l, err := workflow.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := workflow.OpenService(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Store.Close()
	res, err := svc.VerifyAudit(ctx, "tester", "gen test", true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Disagreeing != 0 {
		t.Fatalf("verify --full failed: %v", res.Failures())
	}
	if got := res.Replayed; got.Items != 100 || got.Leases != 400 || got.Signals != 4 {
		t.Fatalf("replayed %+v, want 100 items, 400 leases and 4 signals", got)
	}
	inProgress, err := svc.List(ctx, workflow.ItemFilter{Status: string(workflow.StatusInProgress)})
	if err != nil {
		t.Fatal(err)
	}
	if len(inProgress) != len(svc.Config.Domains) {
		t.Fatalf("%d items in progress, want one per domain (%d)", len(inProgress), len(svc.Config.Domains))
	}
	// Report files go to the state directory, in .git for a plain repository.
	reports, err := filepath.Glob(filepath.Join(l.Root, ".git", "oxygen", "reports", "audit-*.json"))
	if err != nil || len(reports) != 4 {
		t.Fatalf("report files %v (%v), want 4", reports, err)
	}
}
