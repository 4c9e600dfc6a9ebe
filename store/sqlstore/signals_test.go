package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/postgres/pgtest"
	"github.com/oxygen-tools/oxygen/store/sqlite"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// The signals operations share their SQL between SQLite and PostgreSQL, so
// each is run on both: a statement one database rejects, or reads
// differently, fails here rather than on a team's server.

// signalsStores returns a fresh SQLite store and, when
// OXYGEN_TEST_POSTGRES_URL is set, a PostgreSQL store in a fresh schema
// dropped when the test ends.
func signalsStores(t *testing.T) map[string]store.Store {
	t.Helper()
	ctx := context.Background()
	lite, err := sqlite.Create(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	stores := map[string]store.Store{"sqlite": lite}
	url := os.Getenv("OXYGEN_TEST_POSTGRES_URL")
	if url == "" {
		t.Log("OXYGEN_TEST_POSTGRES_URL not set: SQLite only")
		return stores
	}
	stores["postgres"] = pgtest.Create(t, url, "signals")
	return stores
}

func TestSignalsOps(t *testing.T) {
	for name, st := range signalsStores(t) {
		t.Run(name, func(t *testing.T) { testSignalsOps(t, st) })
	}
}

func testSignalsOps(t *testing.T, st store.Store) {
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	clock := func() time.Time { return t0 }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var call, question, toB, toAll, report int64
	must(st.Write(ctx, clock, func(tx store.Tx) error {
		for _, it := range [][2]string{{"A1", "a"}, {"B1", "b"}} {
			if _, err := sqlstore.SQLOf(tx).ExecContext(ctx, `INSERT INTO items (id, title, kind, domain, priority, objective, created_at, updated_at) VALUES (?, 'x', 'task', ?, 'low', 'x', 0, 0)`, it[0], it[1]); err != nil {
				return err
			}
		}
		insert := func(s store.Signal) int64 {
			t.Helper()
			s.Topic, s.FromDomain, s.Refs, s.CreatedAt = "general", "a", `[]`, t0
			if s.FromOwner == "" {
				s.FromOwner = "ann"
			}
			id, err := tx.SignalInsert(ctx, s)
			must(err)
			return id
		}
		call = insert(store.Signal{Kind: "council_call", ToTarget: "all", ItemID: "A1", File: "s/1.json"})
		question = insert(store.Signal{Kind: "council_call", ToTarget: "b", ItemID: "A1", File: "s/2.json", Question: true})
		toB = insert(store.Signal{Kind: "missive", ToTarget: "b", Resource: "api", File: "s/3.json"})
		toAll = insert(store.Signal{Kind: "missive", ToTarget: "all", File: "s/4.json"})
		report = insert(store.Signal{Kind: "proclamation", FromOwner: "oxygen", ToTarget: "all", File: "s/5.json"})
		return nil
	}))
	if call == 0 || question != call+1 || report != call+4 {
		t.Fatalf("ids %d %d %d: want consecutive ids from RETURNING", call, question, report)
	}

	must(st.Read(ctx, clock, func(tx store.Tx) error {
		got, err := tx.SignalGet(ctx, toB)
		must(err)
		if got.ToTarget != "b" || got.Resource != "api" || got.ItemID != "" || !got.CreatedAt.Equal(t0) || got.Question {
			t.Errorf("SignalGet = %+v", got)
		}
		if _, err := tx.SignalGet(ctx, 999); err != store.ErrNotFound {
			t.Errorf("SignalGet(999) err = %v, want ErrNotFound", err)
		}
		if taken, err := tx.SignalFileTaken(ctx, "s/3.json"); err != nil || !taken {
			t.Errorf("SignalFileTaken(s/3.json) = %v, %v", taken, err)
		}
		if taken, err := tx.SignalFileTaken(ctx, "s/9.json"); err != nil || taken {
			t.Errorf("SignalFileTaken(s/9.json) = %v, %v", taken, err)
		}
		ids := func(rows []store.Signal, err error) []int64 {
			t.Helper()
			must(err)
			out := []int64{}
			for _, r := range rows {
				out = append(out, r.ID)
			}
			return out
		}
		for _, c := range []struct {
			f    store.SignalFilter
			want []int64
		}{
			{store.SignalFilter{Kind: "council_call"}, []int64{call, question}},
			{store.SignalFilter{Item: "A1"}, []int64{call, question}},
			{store.SignalFilter{Domain: "b", Kind: "missive"}, []int64{toB, toAll}},
			{store.SignalFilter{Limit: 2}, []int64{toAll, report}},
			{store.SignalFilter{Since: t0.Add(time.Second)}, []int64{}},
		} {
			if got := ids(tx.SignalsList(ctx, c.f)); !slices.Equal(got, c.want) {
				t.Errorf("SignalsList(%+v) = %v, want %v", c.f, got, c.want)
			}
		}
		inbox := store.InboxQuery{Owner: "bob", Domain: "b", CouncilAfter: t0.Add(-time.Hour), HideOwner: "oxygen", HideTopic: "general"}
		if got := ids(tx.SignalsInbox(ctx, inbox)); !slices.Equal(got, []int64{call, question, toB, toAll}) {
			t.Errorf("inbox of bob = %v", got)
		}
		inbox.ShowHidden = true
		if got := ids(tx.SignalsInbox(ctx, inbox)); !slices.Equal(got, []int64{call, question, toB, toAll, report}) {
			t.Errorf("inbox of bob, all = %v", got)
		}
		inbox.Domain, inbox.ShowHidden = "a", false
		if got := ids(tx.SignalsInbox(ctx, inbox)); !slices.Equal(got, []int64{toAll}) {
			t.Errorf("inbox of a (its own item's call is not its to approve) = %v", got)
		}
		inbox.SelfApprove = true
		if got := ids(tx.SignalsInbox(ctx, inbox)); !slices.Equal(got, []int64{call, toAll}) {
			t.Errorf("inbox of a, self approve = %v", got)
		}
		inbox = store.InboxQuery{Domain: "b", CouncilAfter: t0, SinceID: toB}
		if got := ids(tx.SignalsInbox(ctx, inbox)); !slices.Equal(got, []int64{toB, toAll, report}) {
			t.Errorf("inbox of b since %d, calls expired = %v", toB, got)
		}
		files, err := tx.SignalFiles(ctx)
		must(err)
		if len(files) != 5 || files[2] != (store.SignalFile{ID: toB, File: "s/3.json"}) {
			t.Errorf("SignalFiles = %v", files)
		}
		return nil
	}))

	must(st.Write(ctx, clock, func(tx store.Tx) error {
		ack := store.SignalAck{SignalID: toB, Owner: "bob", Domain: "b", AckedAt: t0}
		if ok, err := tx.SignalAckInsertIf(ctx, ack); err != nil || !ok {
			t.Errorf("first ack = %v, %v", ok, err)
		}
		if ok, err := tx.SignalAckInsertIf(ctx, ack); err != nil || ok {
			t.Errorf("second ack = %v, %v; want false", ok, err)
		}
		got, err := tx.SignalsInbox(ctx, store.InboxQuery{Owner: "bob", Domain: "b", CouncilAfter: t0.Add(-time.Hour), HideOwner: "oxygen", HideTopic: "general"})
		must(err)
		for _, s := range got {
			if s.ID == toB {
				t.Errorf("acknowledged signal %d still in the inbox", toB)
			}
		}

		if _, ok, err := tx.CouncilApprovalGet(ctx, call); err != nil || ok {
			t.Errorf("approval before approving: ok %v, %v", ok, err)
		}
		must(tx.CouncilApprovalInsert(ctx, store.CouncilApproval{SignalID: call, ItemID: "A1", ApprovedBy: "bob", ApproverDomain: "b", ApprovedAt: t0, Note: "fine"}))
		a, ok, err := tx.CouncilApprovalGet(ctx, call)
		if err != nil || !ok || a.ApprovedBy != "bob" || !a.ApprovedAt.Equal(t0) || !a.ConsumedAt.IsZero() || a.Note != "fine" {
			t.Errorf("approval = %+v, %v, %v", a, ok, err)
		}
		if done, err := tx.CouncilApprovalConsumeIf(ctx, call, t0.Add(time.Minute), "ann", "assign"); err != nil || !done {
			t.Errorf("first consume = %v, %v", done, err)
		}
		if done, err := tx.CouncilApprovalConsumeIf(ctx, call, t0.Add(2*time.Minute), "cat", "assign"); err != nil || done {
			t.Errorf("second consume = %v, %v; want false", done, err)
		}
		a, _, err = tx.CouncilApprovalGet(ctx, call)
		must(err)
		if !a.ConsumedAt.Equal(t0.Add(time.Minute)) || a.ConsumedBy != "ann" || a.ConsumedAction != "assign" {
			t.Errorf("consumed approval = %+v", a)
		}
		if _, ok, err := tx.CouncilOutcomeGet(ctx, question); err != nil || ok {
			t.Errorf("outcome before one: ok %v, %v", ok, err)
		}
		must(tx.CouncilOutcomeInsert(ctx, store.CouncilOutcome{SignalID: question, Outcome: store.CouncilWithdrawn, ByOwner: "ann", ByDomain: "a", Reason: "moot", At: t0}))
		o, ok, err := tx.CouncilOutcomeGet(ctx, question)
		if err != nil || !ok || o.Outcome != store.CouncilWithdrawn || o.Reason != "moot" || !o.At.Equal(t0) {
			t.Errorf("outcome = %+v, %v, %v", o, ok, err)
		}
		return nil
	}))

	blob := func(c string) string {
		b := make([]byte, 64)
		for i := range b {
			b[i] = c[0]
		}
		return string(b)
	}
	must(st.Write(ctx, clock, func(tx store.Tx) error {
		edit := store.ShadowEdit{Resource: "api", Paths: `[]`, OldBlob: blob("a"), NewBlob: blob("b"), DetectedAt: t0, FoundAt: "audit", SinceAt: t0.Add(-time.Hour)}
		first, err := tx.ShadowEditInsert(ctx, edit)
		must(err)
		edit.DetectedAt = t0.Add(time.Hour)
		second, err := tx.ShadowEditInsert(ctx, edit)
		must(err)
		edit.Resource = "web"
		third, err := tx.ShadowEditInsert(ctx, edit)
		must(err)
		if ok, err := tx.ShadowEditSetSignal(ctx, first, toB); err != nil || !ok {
			t.Errorf("ShadowEditSetSignal = %v, %v", ok, err)
		}
		if ok, err := tx.ShadowEditSetSignal(ctx, 999, toB); err != nil || ok {
			t.Errorf("ShadowEditSetSignal(999) = %v, %v; want false", ok, err)
		}
		e, err := tx.ShadowEditGet(ctx, first)
		must(err)
		if e.Status != store.ShadowOpen || e.SignalID != toB || !e.SinceAt.Equal(t0.Add(-time.Hour)) || !e.ResolvedAt.IsZero() || e.Reason != "" {
			t.Errorf("ShadowEditGet = %+v", e)
		}
		if _, err := tx.ShadowEditGet(ctx, 999); err != store.ErrNotFound {
			t.Errorf("ShadowEditGet(999) err = %v, want ErrNotFound", err)
		}
		if ok, err := tx.ShadowEditRestoreIf(ctx, first, t0, "bob"); err != nil || !ok {
			t.Errorf("restore = %v, %v", ok, err)
		}
		if ok, err := tx.ShadowEditAcceptIf(ctx, first, t0, "bob", "late"); err != nil || ok {
			t.Errorf("accept after restore = %v, %v; want false", ok, err)
		}
		if ok, err := tx.ShadowEditAcceptIf(ctx, second, t0, "bob", "fine"); err != nil || !ok {
			t.Errorf("accept = %v, %v", ok, err)
		}
		e, err = tx.ShadowEditGet(ctx, second)
		must(err)
		if e.Status != store.ShadowAccepted || e.Reason != "fine" || e.ResolvedBy != "bob" || !e.ResolvedAt.Equal(t0) {
			t.Errorf("accepted edit = %+v", e)
		}
		edits := func(rows []store.ShadowEdit, err error) []int64 {
			t.Helper()
			must(err)
			out := []int64{}
			for _, r := range rows {
				out = append(out, r.ID)
			}
			return out
		}
		for name, c := range map[string]struct{ got, want []int64 }{
			"all":        {edits(tx.ShadowEditsAll(ctx)), []int64{first, second, third}},
			"open":       {edits(tx.ShadowEditsByStatus(ctx, store.ShadowOpen)), []int64{third}},
			"restored":   {edits(tx.ShadowEditsByStatus(ctx, store.ShadowRestored)), []int64{first}},
			"since":      {edits(tx.ShadowEditsDetectedSince(ctx, t0.Add(time.Minute))), []int64{second, third}},
			"resource":   {edits(tx.ShadowEditsOnResource(ctx, "api", "", third)), []int64{second, first}},
			"not itself": {edits(tx.ShadowEditsOnResource(ctx, "api", "", first)), []int64{second}},
			"worktree":   {edits(tx.ShadowEditsOnResource(ctx, "api", "/elsewhere", 0)), []int64{}},
		} {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("shadow edits %s = %v, want %v", name, c.got, c.want)
			}
		}
		return nil
	}))

	must(st.Write(ctx, clock, func(tx store.Tx) error {
		must(tx.PendingExportUpsert(ctx, store.PendingExport{Path: "s/1.json", Source: "signal:1", PID: 10, Host: "h"}))
		must(tx.PendingExportUpsert(ctx, store.PendingExport{Path: "s/1.json", Source: "signal:2", PID: 11, Host: "h2"}))
		must(tx.PendingExportUpsert(ctx, store.PendingExport{Path: "r/1.md", Source: blob("c"), PID: 12, Host: "h"}))
		must(tx.PendingExportSetWriter(ctx, "r/1.md", 13, "h3"))
		pending, err := tx.PendingExportsList(ctx)
		must(err)
		byPath := map[string]store.PendingExport{}
		for _, p := range pending {
			byPath[p.Path] = p
		}
		if len(pending) != 2 || byPath["s/1.json"] != (store.PendingExport{Path: "s/1.json", Source: "signal:2", PID: 11, Host: "h2"}) ||
			byPath["r/1.md"] != (store.PendingExport{Path: "r/1.md", Source: blob("c"), PID: 13, Host: "h3"}) {
			t.Errorf("pending exports = %+v", pending)
		}
		must(tx.PendingExportDelete(ctx, "s/1.json"))
		if pending, err := tx.PendingExportsList(ctx); err != nil || len(pending) != 1 {
			t.Errorf("after delete: %+v, %v", pending, err)
		}
		if _, err := sqlstore.SQLOf(tx).ExecContext(ctx, `INSERT INTO reports (path, generated_at, head_seq, head_hash, findings, md_blob, json_blob) VALUES ('r/old.md', 0, 0, 'x', 0, '', ''), ('r/1.md', 0, 0, 'x', 0, ?, ?)`, blob("c"), blob("d")); err != nil {
			return err
		}
		reports, err := tx.ExportReportFiles(ctx)
		must(err)
		if len(reports) != 1 || reports[0] != (store.ReportFiles{MDPath: "r/1.md", MDBlob: blob("c"), JSONBlob: blob("d")}) {
			t.Errorf("ExportReportFiles = %+v", reports)
		}
		return nil
	}))
}
