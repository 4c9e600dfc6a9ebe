package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// The items operations run the same SQL on both databases; these tests run
// each of them on SQLite and, when OXYGEN_TEST_POSTGRES_URL is set, on a
// fresh PostgreSQL schema, and expect the same rows from both.

var itemsT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func itemsClock() time.Time { return itemsT0 }

// errItemsRollback ends a test's transaction: nothing needs committing, and a
// refused statement has already aborted a PostgreSQL transaction.
var errItemsRollback = errors.New("rollback")

// each runs fn in one write transaction on every store.
func eachItemsStore(t *testing.T, fn func(t *testing.T, tx store.Tx)) {
	for name, st := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			err := st.Write(context.Background(), itemsClock, func(tx store.Tx) error {
				fn(t, tx)
				return errItemsRollback
			})
			if !errors.Is(err, errItemsRollback) {
				t.Fatal(err)
			}
		})
	}
}

func itemFields(domain string) store.ItemFields {
	return store.ItemFields{Title: "t", Kind: "chore", Domain: domain, Priority: "low", Objective: "o",
		InScope: `["a"]`, OutOfScope: "[]", Invariants: "[]", Files: `["f.go"]`, Commands: "[]"}
}

func itemsMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itemsRaw(t *testing.T, ctx context.Context, tx store.Tx, query string, args ...any) {
	t.Helper()
	if _, err := sqlstore.SQLOf(tx).ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestItemOps(t *testing.T) {
	eachItemsStore(t, func(t *testing.T, tx store.Tx) {
		ctx := context.Background()
		for i, id := range []string{"W-002", "W-010", "WX-050", "W-abc", "B-1"} {
			domain := "builder"
			if id == "B-1" {
				domain = "scribe"
			}
			itemsMust(t, tx.ItemInsert(ctx, id, itemFields(domain), itemsT0.Add(time.Duration(i)*time.Second)))
		}
		// A store from before the counter: its first read scans the ids.
		if n, err := tx.ItemNumberLast(ctx, "W"); err != nil || n != 10 {
			t.Errorf("ItemNumberLast(W) = %d, %v; want 10", n, err)
		}
		itemsMust(t, tx.ItemNumberRaise(ctx, "W", 12))
		itemsMust(t, tx.ItemNumberRaise(ctx, "W", 11)) // never lowers
		if n, err := tx.ItemNumberLast(ctx, "W"); err != nil || n != 12 {
			t.Errorf("ItemNumberLast(W) after raising = %d, %v; want 12", n, err)
		}
		if n, err := tx.ItemNumberLast(ctx, "Q"); err != nil || n != 0 {
			t.Errorf("ItemNumberLast(Q) with no such ids = %d, %v; want 0", n, err)
		}
		it, err := tx.ItemGet(ctx, "W-010")
		itemsMust(t, err)
		want := store.Item{ID: "W-010", ItemFields: itemFields("builder"), Status: store.ItemOpen, CreatedAt: itemsT0.Add(time.Second), UpdatedAt: itemsT0.Add(time.Second)}
		if !reflect.DeepEqual(it, want) {
			t.Errorf("ItemGet = %+v, want %+v", it, want)
		}
		if _, err := tx.ItemGet(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ItemGet(nope) = %v, want ErrNotFound", err)
		}
		if ok, err := tx.ItemExists(ctx, "B-1"); err != nil || !ok {
			t.Errorf("ItemExists(B-1) = %v, %v", ok, err)
		}
		if ok, err := tx.ItemExists(ctx, "B-2"); err != nil || ok {
			t.Errorf("ItemExists(B-2) = %v, %v", ok, err)
		}
		if ids, err := tx.ItemIDsFrom(ctx, "W-0", 2); err != nil || !reflect.DeepEqual(ids, []string{"W-002", "W-010"}) {
			t.Errorf("ItemIDsFrom = %v, %v", ids, err)
		}

		// Moves are guarded by the status the caller read.
		if ok, err := tx.ItemSetStatusIf(ctx, "W-002", store.ItemOpen, store.ItemInProgress, "ada", itemsT0.Add(time.Minute)); err != nil || !ok {
			t.Fatalf("ItemSetStatusIf = %v, %v", ok, err)
		}
		if ok, err := tx.ItemSetStatusIf(ctx, "W-002", store.ItemOpen, store.ItemInProgress, "ada", itemsT0.Add(time.Minute)); err != nil || ok {
			t.Errorf("second ItemSetStatusIf from open = %v, %v; want no change", ok, err)
		}
		must2 := func(ok bool, err error) {
			t.Helper()
			if err != nil || !ok {
				t.Fatalf("move: %v, %v", ok, err)
			}
		}
		must2(tx.ItemSetStatusIf(ctx, "W-010", store.ItemOpen, store.ItemInProgress, "cy", itemsT0.Add(time.Hour)))
		must2(tx.ItemSetStatusIf(ctx, "W-abc", store.ItemOpen, store.ItemInProgress, "cy", itemsT0.Add(time.Minute)))
		if ids, err := tx.ItemsInProgressForDomain(ctx, "builder"); err != nil || !reflect.DeepEqual(ids, []string{"W-002", "W-abc", "W-010"}) {
			t.Errorf("ItemsInProgressForDomain = %v, %v", ids, err)
		}

		// Filters, in creation order.
		list := func(f store.ItemFilter) []string {
			t.Helper()
			var ids []string
			itemsMust(t, tx.ItemsEach(ctx, f, store.ItemKey{}, func(it store.ItemWithDeps) (bool, error) {
				ids = append(ids, it.ID)
				return true, nil
			}))
			return ids
		}
		for _, c := range []struct {
			f    store.ItemFilter
			want []string
		}{
			{store.ItemFilter{}, []string{"W-002", "W-010", "WX-050", "W-abc", "B-1"}},
			{store.ItemFilter{Domain: "builder", Status: store.ItemInProgress}, []string{"W-002", "W-010", "W-abc"}},
			{store.ItemFilter{Owner: "cy"}, []string{"W-010", "W-abc"}},
			{store.ItemFilter{Domain: "scribe", Owner: "cy"}, nil},
		} {
			if got := list(c.f); !reflect.DeepEqual(got, c.want) {
				t.Errorf("ItemsEach(%+v) = %v, want %v", c.f, got, c.want)
			}
		}

		counts, err := tx.ItemCountsByStatus(ctx)
		itemsMust(t, err)
		if !reflect.DeepEqual(counts, map[store.ItemStatus]int{store.ItemOpen: 2, store.ItemInProgress: 3}) {
			t.Errorf("ItemCountsByStatus = %v", counts)
		}
		byDomain, err := tx.ItemCountsByDomainStatus(ctx)
		itemsMust(t, err)
		got := map[store.ItemCount]bool{}
		for _, c := range byDomain {
			got[c] = true
		}
		if len(got) != 3 || !got[store.ItemCount{Domain: "builder", Status: store.ItemInProgress, Count: 3}] ||
			!got[store.ItemCount{Domain: "builder", Status: store.ItemOpen, Count: 1}] || !got[store.ItemCount{Domain: "scribe", Status: store.ItemOpen, Count: 1}] {
			t.Errorf("ItemCountsByDomainStatus = %v", byDomain)
		}
		// Most recently changed first; W-002 and W-abc tie, highest id first.
		cell, err := tx.ItemsBoardCell(ctx, "builder", store.ItemInProgress, 2)
		itemsMust(t, err)
		if len(cell) != 2 || cell[0].ID != "W-010" || cell[1].ID != "W-abc" || cell[1].Owner != "cy" {
			t.Errorf("ItemsBoardCell = %+v", cell)
		}

		// Updating the fields keeps status and owner.
		f := itemFields("builder")
		f.Title = "new"
		itemsMust(t, tx.ItemUpdateFields(ctx, "W-002", f, itemsT0.Add(2*time.Hour)))
		if it, err := tx.ItemGet(ctx, "W-002"); err != nil || it.Title != "new" || it.Owner != "ada" || !it.UpdatedAt.Equal(itemsT0.Add(2*time.Hour)) {
			t.Errorf("after ItemUpdateFields: %+v, %v", it, err)
		}
	})
}

func TestItemDepsAndHistory(t *testing.T) {
	eachItemsStore(t, func(t *testing.T, tx store.Tx) {
		ctx := context.Background()
		for _, id := range []string{"A", "B", "C"} {
			itemsMust(t, tx.ItemInsert(ctx, id, itemFields(map[string]string{"A": "builder", "B": "scribe", "C": "guardian"}[id]), itemsT0))
		}
		itemsMust(t, tx.ItemDepsReplace(ctx, "A", []string{"C", "B"}))
		itemsMust(t, tx.ItemDepsReplace(ctx, "B", []string{"C"}))
		itemsMust(t, tx.ItemDepsReplace(ctx, "A", []string{"B", "C"}))
		if deps, err := tx.ItemDeps(ctx, "A"); err != nil || !reflect.DeepEqual(deps, []string{"B", "C"}) {
			t.Errorf("ItemDeps(A) = %v, %v", deps, err)
		}
		itemsMust(t, tx.ItemInsert(ctx, "D", itemFields("builder"), itemsT0))
		var many []string
		for i := range 1200 {
			id := fmt.Sprintf("X%04d", i)
			itemsMust(t, tx.ItemInsert(ctx, id, itemFields("builder"), itemsT0))
			many = append(many, id)
		}
		itemsMust(t, tx.ItemDepsAdd(ctx, "D", many))
		if deps, err := tx.ItemDeps(ctx, "D"); err != nil || !reflect.DeepEqual(deps, many) {
			t.Errorf("ItemDeps(D) after ItemDepsAdd of %d: %d, %v", len(many), len(deps), err)
		}
		itemsMust(t, tx.ItemDepsReplace(ctx, "D", nil))
		all, err := tx.ItemDepsAll(ctx)
		itemsMust(t, err)
		if want := []store.ItemDep{{Item: "A", DependsOn: "B"}, {Item: "A", DependsOn: "C"}, {Item: "B", DependsOn: "C"}}; !reflect.DeepEqual(all, want) {
			t.Errorf("ItemDepsAll = %+v", all)
		}
		if ok, err := tx.ItemSetStatusIf(ctx, "C", store.ItemOpen, store.ItemDeadEnd, "", itemsT0); err != nil || !ok {
			t.Fatal(ok, err)
		}
		with, err := tx.ItemDepsWithStatus(ctx, []string{"B", "A"})
		itemsMust(t, err)
		if want := []store.ItemDep{{Item: "A", DependsOn: "B", Status: store.ItemOpen}, {Item: "A", DependsOn: "C", Status: store.ItemDeadEnd}, {Item: "B", DependsOn: "C", Status: store.ItemDeadEnd}}; !reflect.DeepEqual(with, want) {
			t.Errorf("ItemDepsWithStatus = %+v", with)
		}
		if d, err := tx.ItemDependentDomains(ctx, "C"); err != nil || !reflect.DeepEqual(d, []string{"builder", "scribe"}) {
			t.Errorf("ItemDependentDomains(C) = %v, %v", d, err)
		}

		if _, ok, err := tx.ItemTransitionLatest(ctx, "A"); err != nil || ok {
			t.Errorf("ItemTransitionLatest before any move = %v, %v", ok, err)
		}
		itemsRaw(t, ctx, tx, `INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, item_id, created_at, file) VALUES ('council_call', 'x', 'ada', 'builder', 'all', 'A', 1, 's1')`)
		first := store.ItemTransition{Item: "A", From: store.ItemOpen, To: store.ItemInProgress, Actor: "ada", Reason: "go", Council: 1, At: itemsT0}
		second := store.ItemTransition{Item: "A", From: store.ItemInProgress, To: store.ItemDone, Actor: "ada", At: itemsT0.Add(time.Hour), Verification: "passed"}
		itemsMust(t, tx.ItemTransitionInsert(ctx, first))
		itemsMust(t, tx.ItemTransitionInsert(ctx, second))
		if h, err := tx.ItemTransitions(ctx, "A"); err != nil || !reflect.DeepEqual(h, []store.ItemTransition{first, second}) {
			t.Errorf("ItemTransitions = %+v, %v", h, err)
		}
		if last, ok, err := tx.ItemTransitionLatest(ctx, "A"); err != nil || !ok || last != second {
			t.Errorf("ItemTransitionLatest = %+v, %v, %v", last, ok, err)
		}
		// The history's CHECK refuses an edge the state machine lacks.
		if err := tx.ItemTransitionInsert(ctx, store.ItemTransition{Item: "A", From: store.ItemDone, To: store.ItemBlocked, Actor: "ada", At: itemsT0}); err == nil {
			t.Error("ItemTransitionInsert done -> blocked succeeded")
		}
	})
}

func TestCapsuleOps(t *testing.T) {
	eachItemsStore(t, func(t *testing.T, tx store.Tx) {
		ctx := context.Background()
		itemsMust(t, tx.ItemInsert(ctx, "A", itemFields("builder"), itemsT0))
		itemsMust(t, tx.ItemInsert(ctx, "B", itemFields("builder"), itemsT0))
		if _, ok, err := tx.CapsuleLatest(ctx, "A"); err != nil || ok {
			t.Errorf("CapsuleLatest with none = %v, %v", ok, err)
		}
		blob := strings.Repeat("a", 64)
		var ids []int64
		for _, c := range []store.Capsule{{Item: "A", Generation: 1}, {Item: "B", Generation: 1}, {Item: "A", Generation: 2}} {
			c.Blob, c.ContentKey, c.Path, c.Template, c.TemplateSHA256, c.GeneratedAt = blob, "k", c.Item+".md", "builtin", "s", itemsT0
			id, err := tx.CapsuleInsert(ctx, c)
			itemsMust(t, err)
			ids = append(ids, id)
		}
		if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == 0 {
			t.Fatalf("CapsuleInsert ids %v", ids)
		}
		files := []store.CapsuleFile{{Path: "f.go", Status: "embedded", Size: 3, SHA256: "h"}, {Path: "big", Status: "over_limit", Note: "n"}}
		for i, f := range files {
			itemsMust(t, tx.CapsuleFileInsert(ctx, ids[2], i, f))
		}
		if got, err := tx.CapsuleFiles(ctx, ids[2]); err != nil || !reflect.DeepEqual(got, files) {
			t.Errorf("CapsuleFiles = %+v, %v", got, err)
		}
		latest, ok, err := tx.CapsuleLatest(ctx, "A")
		if err != nil || !ok || latest.ID != ids[2] || latest.Generation != 2 || !latest.GeneratedAt.Equal(itemsT0) || latest.TemplateSHA256 != "" {
			t.Errorf("CapsuleLatest = %+v, %v, %v", latest, ok, err)
		}
		if c, ok, err := tx.CapsuleGeneration(ctx, "A", 1); err != nil || !ok || c.ID != ids[0] {
			t.Errorf("CapsuleGeneration(A, 1) = %+v, %v, %v", c, ok, err)
		}
		if _, ok, err := tx.CapsuleGeneration(ctx, "A", 3); err != nil || ok {
			t.Errorf("CapsuleGeneration(A, 3) = %v, %v", ok, err)
		}
		if c, ok, err := tx.CapsuleGet(ctx, ids[1]); err != nil || !ok || c.Item != "B" {
			t.Errorf("CapsuleGet = %+v, %v, %v", c, ok, err)
		}
		if cs, err := tx.CapsulesOfItem(ctx, "A"); err != nil || len(cs) != 2 || cs[0].Generation != 1 || cs[1].Generation != 2 {
			t.Errorf("CapsulesOfItem = %+v, %v", cs, err)
		}
		if ok, err := tx.ItemSetStatusIf(ctx, "A", store.ItemOpen, store.ItemInProgress, "ada", itemsT0); err != nil || !ok {
			t.Fatal(ok, err)
		}
		if cs, err := tx.CapsulesInUse(ctx); err != nil || len(cs) != 1 || cs[0].ID != ids[2] {
			t.Errorf("CapsulesInUse = %+v, %v", cs, err)
		}

		// Watches: a lease's end concerns the briefs of items in progress,
		// except the one of the lease's own item when its owner held it.
		itemsMust(t, tx.CapsuleWatchInsert(ctx, "storage", "A", ids[2]))
		itemsMust(t, tx.CapsuleWatchInsert(ctx, "storage", "B", ids[1]))
		if w, err := tx.CapsuleWatchesStale(ctx, "storage", "", "cy"); err != nil || !reflect.DeepEqual(w, []store.CapsuleWatch{{Item: "A", Capsule: ids[2]}}) {
			t.Errorf("CapsuleWatchesStale = %+v, %v", w, err)
		}
		if w, err := tx.CapsuleWatchesStale(ctx, "storage", "A", "ada"); err != nil || len(w) != 0 {
			t.Errorf("CapsuleWatchesStale of the owner's own item = %+v, %v", w, err)
		}
		itemsMust(t, tx.CapsuleWatchesDeleteForItem(ctx, "A"))
		if w, err := tx.CapsuleWatchesStale(ctx, "storage", "", "cy"); err != nil || len(w) != 0 {
			t.Errorf("CapsuleWatchesStale after the delete = %+v, %v", w, err)
		}
	})
}

func TestItemAreaReads(t *testing.T) {
	eachItemsStore(t, func(t *testing.T, tx store.Tx) {
		ctx := context.Background()
		// Empty store.
		if _, _, ok, err := tx.DashboardAuditHead(ctx); err != nil || ok {
			t.Errorf("DashboardAuditHead on an empty log = %v, %v", ok, err)
		}
		if _, ok, err := tx.ReportLatest(ctx); err != nil || ok {
			t.Errorf("ReportLatest with none = %v, %v", ok, err)
		}
		if _, ok, err := tx.VerificationLatest(ctx, store.VerificationBlobStore); err != nil || ok {
			t.Errorf("VerificationLatest with none = %v, %v", ok, err)
		}
		if m, err := tx.ChangeMarkRead(ctx); err != nil || m != (store.ChangeMark{}) {
			t.Errorf("ChangeMarkRead on an empty store = %+v, %v", m, err)
		}

		itemsRaw(t, ctx, tx, `INSERT INTO audit_log (seq, at, actor, action, subject, payload, prev_hash, hash) VALUES (7, 1, 'a', 'x', 's', '{}', '', 'h7')`)
		itemsRaw(t, ctx, tx, `INSERT INTO reports (path, generated_at, head_seq, head_hash, findings) VALUES ('r.md', ?, 7, 'h7', 2)`, itemsT0.UnixMilli())
		itemsRaw(t, ctx, tx, `INSERT INTO lease_waiters (resource, owner, domain, pid, host, created_at, heartbeat_at) VALUES ('r', 'o', 'd', 1, 'h', 1, 1)`)
		if seq, hash, ok, err := tx.DashboardAuditHead(ctx); err != nil || !ok || seq != 7 || hash != "h7" {
			t.Errorf("DashboardAuditHead = %d, %q, %v, %v", seq, hash, ok, err)
		}
		if r, ok, err := tx.ReportLatest(ctx); err != nil || !ok || r != (store.Report{Path: "r.md", GeneratedAt: itemsT0, HeadSeq: 7, HeadHash: "h7", Findings: 2}) {
			t.Errorf("ReportLatest = %+v, %v, %v", r, ok, err)
		}
		if m, err := tx.ChangeMarkRead(ctx); err != nil || m.AuditSeq != 7 || m.Waiters != 1 || m.WaiterMaxID == 0 {
			t.Errorf("ChangeMarkRead = %+v, %v", m, err)
		}

		v := store.Verification{Kind: store.VerificationBlobStore, OK: false, Detail: "d", Findings: `["x"]`, Source: "health", At: itemsT0}
		itemsMust(t, tx.VerificationInsert(ctx, v))
		chain := store.Verification{Kind: store.VerificationAuditChain, OK: true, Detail: "7 events", Findings: "[]", HeadSeq: 7, HeadHash: "h7", Source: "audit", At: itemsT0}
		itemsMust(t, tx.VerificationInsert(ctx, chain))
		for _, want := range []store.Verification{v, chain} {
			if got, ok, err := tx.VerificationLatest(ctx, want.Kind); err != nil || !ok || got != want {
				t.Errorf("VerificationLatest(%s) = %+v, %v, %v; want %+v", want.Kind, got, ok, err, want)
			}
		}

		// Signals a capsule of A (domain builder) lists: those naming A,
		// and those to builder naming no item.
		itemsMust(t, tx.ItemInsert(ctx, "A", itemFields("builder"), itemsT0))
		itemsMust(t, tx.ItemInsert(ctx, "B", itemFields("builder"), itemsT0))
		for _, s := range []struct{ to, item string }{{"builder", "A"}, {"builder", ""}, {"builder", "B"}, {"scribe", ""}, {"all", "A"}} {
			var item any
			if s.item != "" {
				item = s.item
			}
			itemsRaw(t, ctx, tx, `INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, item_id, body, created_at, file) VALUES ('missive', 't', 'ada', 'builder', ?, ?, 'b', ?, 'f')`,
				s.to, item, itemsT0.UnixMilli())
		}
		if n, err := tx.CapsuleSignalsCount(ctx, "A", "builder"); err != nil || n != 3 {
			t.Errorf("CapsuleSignalsCount = %d, %v", n, err)
		}
		sigs, err := tx.CapsuleSignals(ctx, "A", "builder", 2)
		itemsMust(t, err)
		if len(sigs) != 2 || sigs[0].ID <= sigs[1].ID || sigs[0].To != "all" || sigs[1].To != "builder" || sigs[0].Question || !sigs[0].CreatedAt.Equal(itemsT0) {
			t.Errorf("CapsuleSignals = %+v", sigs)
		}
		if ids, err := tx.SignalIDsWithPrefix(ctx, "", 2); err != nil || len(ids) != 2 || ids[0] != sigs[0].ID {
			t.Errorf("SignalIDsWithPrefix = %v, %v", ids, err)
		}

		// Fingerprints a lease left in a worktree.
		itemsRaw(t, ctx, tx, `INSERT INTO leases (resource, owner, domain, token, item_id, created_at, expires_at) VALUES ('r', 'ada', 'builder', 1, 'A', 1, 2)`)
		var lease int64
		if err := sqlstore.SQLOf(tx).QueryRowContext(ctx, `SELECT id FROM leases WHERE token = 1`).Scan(&lease); err != nil {
			t.Fatal(err)
		}
		if m, err := tx.FingerprintClaimManifest(ctx, lease, "wt"); err != nil || m != "" {
			t.Errorf("FingerprintClaimManifest with none = %q, %v", m, err)
		}
		for _, f := range []struct{ reason, worktree, manifest string }{
			{"claim", "wt", "c1"}, {"claim", "wt", "c2"}, {"claim", "other", "c3"}, {"release", "wt", "e1"}, {"audit", "wt", "a1"},
		} {
			itemsRaw(t, ctx, tx, `INSERT INTO fingerprints (resource, manifest, files, taken_at, reason, worktree, lease_id) VALUES ('r', ?, 1, 1, ?, ?, ?)`,
				strings.Repeat(f.manifest, 32), f.reason, f.worktree, lease)
		}
		if m, err := tx.FingerprintClaimManifest(ctx, lease, "wt"); err != nil || m != strings.Repeat("c2", 32) {
			t.Errorf("FingerprintClaimManifest = %q, %v", m, err)
		}
		if m, err := tx.FingerprintEndManifest(ctx, lease, "wt"); err != nil || m != strings.Repeat("e1", 32) {
			t.Errorf("FingerprintEndManifest = %q, %v", m, err)
		}
	})
}
