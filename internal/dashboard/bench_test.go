package dashboard_test

import (
	"context"
	"fmt"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/internal/dashboard"
	"github.com/oxygen-tools/oxygen/workflow"
)

// bigStore is a repository with benchItems items, benchLeases lease rows,
// benchSignals signals and benchAudit audit events spread over benchDays, written straight into the store in one transaction
// (the service would take minutes to make them one command at a time).
const (
	benchItems   = 10_000
	benchLeases  = 100_000
	benchSignals = 20_000
	benchAudit   = 200_000
	benchDays    = 90
)

func bigStore(b *testing.B) (svc *workflow.Service, lastToken int64) {
	b.Helper()
	ctx := context.Background()
	root := b.TempDir()
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	if _, err := workflow.Init(ctx, root, true, clock); err != nil {
		b.Fatal(err)
	}
	l, err := workflow.Discover(root)
	if err != nil {
		b.Fatal(err)
	}
	w, err := workflow.OpenService(ctx, l, clock)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Store.Close()
	cfg, store := w.Config, w.Store
	tx, err := sqlstore.DBOf(store).BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	exec := func(q string, args ...any) {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	domains := cfg.DomainNames()
	start := now.Add(-benchDays * 24 * time.Hour)
	span := now.Sub(start)
	for i := 0; i < benchItems; i++ {
		id := fmt.Sprintf("WORK-%05d", i+1)
		domain := domains[i%len(domains)]
		status, owner := "done", "agent"
		switch {
		case i >= benchItems-2*len(domains):
			status = "in_progress"
		case i%10 == 0:
			status, owner = "open", ""
		case i%17 == 0:
			status = "blocked"
		case i%23 == 0:
			status = "dead_end"
		}
		at := start.Add(span * time.Duration(i) / benchItems).UnixMilli()
		exec(`INSERT INTO items (id, title, kind, domain, priority, status, owner, objective, created_at, updated_at) VALUES (?, ?, 'chore', ?, 'medium', ?, ?, 'o', ?, ?)`,
			id, "item number "+id, domain, status, owner, at, at)
		if status == "in_progress" {
			exec(`INSERT INTO item_transitions (item_id, from_status, to_status, actor, at) VALUES (?, 'open', 'in_progress', 'agent', ?)`, id, at)
		}
		if i > 0 && i%5 == 0 {
			exec(`INSERT INTO item_deps (item_id, depends_on, pos) VALUES (?, ?, 0)`, id, fmt.Sprintf("WORK-%05d", i))
		}
	}
	// Fencing tokens continue from the store's seed.
	var seed int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'lease_token'`).Scan(&seed); err != nil {
		b.Fatal(err)
	}
	resources := cfg.Resources
	for i := 0; i < benchLeases; i++ {
		r := resources[i%len(resources)]
		created := start.Add(span * time.Duration(i) / benchLeases)
		state, ended := "released", created.Add(10*time.Minute)
		if i%7 == 0 {
			state, ended = "expired", created.Add(30*time.Minute)
		}
		if i >= benchLeases-len(resources) {
			exec(`INSERT INTO leases (resource, owner, domain, token, created_at, expires_at, state) VALUES (?, 'agent', ?, ?, ?, ?, 'active')`,
				r.ID, r.Domain, seed+int64(i)+1, created.UnixMilli(), now.Add(time.Hour).UnixMilli())
			continue
		}
		exec(`INSERT INTO leases (resource, owner, domain, token, created_at, expires_at, ended_at, end_reason, ended_by, state) VALUES (?, 'agent', ?, ?, ?, ?, ?, 'done', 'agent', ?)`,
			r.ID, r.Domain, seed+int64(i)+1, created.UnixMilli(), created.Add(30*time.Minute).UnixMilli(), ended.UnixMilli(), state)
	}
	exec(`UPDATE counters SET value = ? WHERE name = 'lease_token'`, seed+benchLeases)
	for i := 0; i < benchSignals; i++ {
		at := start.Add(span * time.Duration(i) / benchSignals).UnixMilli()
		exec(`INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, body, created_at, file) VALUES ('missive', 'general', 'agent', ?, ?, 'a missive', ?, 'x.json')`,
			domains[i%len(domains)], domains[(i+1)%len(domains)], at)
	}
	// Audit events, the biggest table, unhashed: nothing here verifies them.
	for i := 0; i < benchAudit; i++ {
		at := start.Add(span * time.Duration(i) / benchAudit).UnixMilli()
		exec(`INSERT INTO audit_log (at, actor, action, subject, payload, prev_hash, hash) VALUES (?, 'agent', 'lease.grant', 'resource:storage', '{}', '', '')`, at)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := sqlstore.DBOf(store).ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	ro, err := workflow.OpenServiceReadOnly(ctx, l, clock)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ro.Store.Close() })
	return ro, seed + benchLeases
}

// BenchmarkDashboardPage is the server time of one request for the whole
// page, and for the live panels alone, over a store with 10k items and
// 100k lease rows: one read transaction plus rendering.
func BenchmarkDashboardPage(b *testing.B) {
	svc, last := bigStore(b)
	srv, err := dashboard.New(svc, dashboard.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for name, path := range map[string]string{"page": "/", "panels": "/panels", "item": "/item/WORK-09999", "lease": fmt.Sprintf("/lease/%d", last-1)} {
		b.Run(name, func(b *testing.B) {
			var size int
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				req.RemoteAddr, req.Host = "127.0.0.1:1", "127.0.0.1:7070"
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}

// BenchmarkOverview is what `orchestrate status` reads, on the same store.
func BenchmarkOverview(b *testing.B) {
	svc, _ := bigStore(b)
	for b.Loop() {
		if _, err := svc.Overview(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
