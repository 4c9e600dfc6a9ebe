package sqlstore_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// The audit operations run the same statements on both databases; each test
// here runs once per database so that a statement PostgreSQL reads otherwise
// (a parameter's inferred type, a boolean, GROUP BY) fails here rather than
// in a team's store.

var auditT0 = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)

func auditClock() time.Time { return auditT0 }

// eachAuditStore runs fn in one write transaction of every store, as a subtest.
func eachAuditStore(t *testing.T, fn func(t *testing.T, ctx context.Context, tx store.Tx)) {
	for name, st := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			err := st.Write(ctx, auditClock, func(tx store.Tx) error {
				fn(t, ctx, tx)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func mustAudit(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuditChainOps(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, ctx context.Context, tx store.Tx) {
		if _, ok, err := tx.AuditHead(ctx); err != nil || ok {
			t.Fatalf("head of an empty log: ok %v, err %v", ok, err)
		}
		if _, ok, err := tx.AuditFirst(ctx); err != nil || ok {
			t.Fatalf("first of an empty log: ok %v, err %v", ok, err)
		}
		events := []store.AuditEvent{
			{Seq: 1, At: auditT0, Actor: "system", Action: "store.init", Subject: "store", Payload: `{}`, PrevHash: "h0", Hash: "h1"},
			{Seq: 2, At: auditT0.Add(time.Second), Actor: "ada", Action: "lease.grant", Subject: "lease:1", Payload: `{"a":1}`, PrevHash: "h1", Hash: "h2"},
			{Seq: 3, At: auditT0.Add(2 * time.Second), Actor: "ada", Action: "lease.release", Subject: "lease:1", Payload: `{}`, PrevHash: "h2", Hash: "h3"},
		}
		for _, e := range events {
			mustAudit(t, tx.AuditAppend(ctx, e))
		}
		head, ok, err := tx.AuditHead(ctx)
		if err != nil || !ok || head != (store.AuditMark{Seq: 3, Hash: "h3", At: events[2].At}) {
			t.Errorf("head %+v ok %v err %v", head, ok, err)
		}
		first, ok, err := tx.AuditFirst(ctx)
		if err != nil || !ok || first != (store.AuditMark{Seq: 1, Hash: "h1", At: auditT0}) {
			t.Errorf("first %+v ok %v err %v", first, ok, err)
		}
		last, err := tx.AuditLastAt(ctx)
		if err != nil || !last.Equal(events[2].At) {
			t.Errorf("last at %v, err %v", last, err)
		}
		if hash, ok, err := tx.AuditHashAt(ctx, 2); err != nil || !ok || hash != "h2" {
			t.Errorf("hash at 2: %q ok %v err %v", hash, ok, err)
		}
		if _, ok, err := tx.AuditHashAt(ctx, 4); err != nil || ok {
			t.Errorf("hash at 4: ok %v err %v", ok, err)
		}
		for _, c := range []struct {
			q    store.AuditQuery
			want []int64
		}{
			{store.AuditQuery{}, []int64{1, 2, 3}},
			{store.AuditQuery{Subject: "lease:1"}, []int64{2, 3}},
			{store.AuditQuery{Action: "lease.grant"}, []int64{2}},
			{store.AuditQuery{Since: auditT0.Add(time.Second)}, []int64{2, 3}},
			{store.AuditQuery{Limit: 2}, []int64{2, 3}},
			{store.AuditQuery{Subject: "lease:1", Limit: 1}, []int64{3}},
		} {
			got, err := tx.AuditEvents(ctx, c.q)
			mustAudit(t, err)
			var seqs []int64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if !reflect.DeepEqual(seqs, c.want) {
				t.Errorf("events %+v: %v, want %v", c.q, seqs, c.want)
			}
		}
		var seen []store.AuditEvent
		mustAudit(t, tx.AuditEach(ctx, func(e *store.AuditEvent) bool {
			seen = append(seen, *e)
			return e.Seq < 2
		}))
		if !reflect.DeepEqual(seen, events[:2]) {
			t.Errorf("each stopped after %+v, want the first two events", seen)
		}
		for _, c := range []struct {
			from, to int64
			want     []store.AuditEvent
		}{
			{2, 3, events[1:]},
			{1, 1, events[:1]},
			{0, 2, events[:2]},
			{3, 9, events[2:]},
			{4, 9, nil},
		} {
			var ranged []store.AuditEvent
			mustAudit(t, tx.AuditEachRange(ctx, c.from, c.to, func(e *store.AuditEvent) bool {
				ranged = append(ranged, *e)
				return true
			}))
			if !reflect.DeepEqual(ranged, c.want) {
				t.Errorf("range %d to %d: %+v, want %+v", c.from, c.to, ranged, c.want)
			}
		}
		seen = nil
		mustAudit(t, tx.AuditEachRange(ctx, 1, 3, func(e *store.AuditEvent) bool {
			seen = append(seen, *e)
			return false
		}))
		if !reflect.DeepEqual(seen, events[:1]) {
			t.Errorf("range stopped after %+v, want the first event", seen)
		}
	})
}

func TestVerificationAndReportOps(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, ctx context.Context, tx store.Tx) {
		if _, ok, err := tx.VerifiedChainHeadLatest(ctx); err != nil || ok {
			t.Fatalf("checkpoint before any check: ok %v err %v", ok, err)
		}
		for _, v := range []store.Verification{
			{Kind: store.VerificationAuditChain, OK: true, Detail: "3 events", Findings: "[]", HeadSeq: 3, HeadHash: "h3", Source: "cli", At: auditT0},
			{Kind: store.VerificationAuditChain, OK: true, Detail: "5 events", Findings: "[]", HeadSeq: 5, HeadHash: "h5", Source: "job", At: auditT0.Add(time.Minute)},
			{Kind: store.VerificationAuditChain, OK: false, Detail: "broken", Findings: `["broken"]`, Source: "cli", At: auditT0.Add(2 * time.Minute)},
			{Kind: store.VerificationBlobStore, OK: true, Detail: "fine", Findings: "[]", Source: "cli", At: auditT0},
		} {
			mustAudit(t, tx.VerificationInsert(ctx, v))
		}
		latest, ok, err := tx.VerifiedChainHeadLatest(ctx)
		if err != nil || !ok || latest != (store.VerifiedHead{Seq: 5, Hash: "h5", Source: "job", At: auditT0.Add(time.Minute)}) {
			t.Errorf("checkpoint %+v ok %v err %v", latest, ok, err)
		}
		heads, err := tx.VerifiedChainHeads(ctx)
		mustAudit(t, err)
		if len(heads) != 2 || heads[0].Seq != 5 || heads[1].Seq != 3 {
			t.Errorf("heads %+v, want seq 5 then 3", heads)
		}

		if at, err := tx.ReportsLastGeneratedAt(ctx); err != nil || !at.IsZero() {
			t.Errorf("last report before any: %v err %v", at, err)
		}
		mustAudit(t, tx.ReportInsert(ctx, store.Report{Path: "r/a.md", GeneratedAt: auditT0, HeadSeq: 3, HeadHash: "h3", Findings: 2, MDBlob: "m", JSONBlob: "j"}))
		if at, err := tx.ReportsLastGeneratedAt(ctx); err != nil || !at.Equal(auditT0) {
			t.Errorf("last report: %v err %v", at, err)
		}
		for path, want := range map[string]bool{"r/a.md": true, "r/b.md": false} {
			if taken, err := tx.ReportPathTaken(ctx, path); err != nil || taken != want {
				t.Errorf("path %s taken %v err %v, want %v", path, taken, err, want)
			}
		}
		if _, ok, err := tx.ReportLastProclamationBody(ctx, "audit"); err != nil || ok {
			t.Errorf("proclamation with no signals: ok %v err %v", ok, err)
		}
	})
}

func TestJobRunAndDaemonOps(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, ctx context.Context, tx store.Tx) {
		id, err := tx.JobRunStart(ctx, "audit", store.JobManual, auditT0)
		mustAudit(t, err)
		id2, err := tx.JobRunStart(ctx, "audit", store.JobScheduled, auditT0.Add(time.Second))
		mustAudit(t, err)
		if id2 <= id {
			t.Errorf("ids %d then %d: want increasing", id, id2)
		}
		if run, ok, err := tx.JobRunLastOK(ctx, "audit"); err != nil || ok {
			t.Errorf("last ok before any finished: %+v ok %v err %v", run, ok, err)
		}
		for _, c := range []struct {
			id      int64
			outcome store.JobOutcome
			want    bool
		}{{id, store.JobOK, true}, {id, store.JobError, false}, {id2, store.JobPanic, true}} {
			if done, err := tx.JobRunFinishIf(ctx, c.id, auditT0.Add(time.Minute), c.outcome, "s"); err != nil || done != c.want {
				t.Errorf("finish %d as %s: %v err %v, want %v", c.id, c.outcome, done, err, c.want)
			}
		}
		mustAudit(t, tx.JobRunSkipped(ctx, "audit", auditT0.Add(2*time.Minute), "still running"))
		last, ok, err := tx.JobRunLast(ctx, "audit")
		if err != nil || !ok || last.ID != id2 || last.Outcome != store.JobPanic || last.Trigger != store.JobScheduled || !last.FinishedAt.Equal(auditT0.Add(time.Minute)) {
			t.Errorf("last run %+v ok %v err %v", last, ok, err)
		}
		lastOK, ok, err := tx.JobRunLastOK(ctx, "audit")
		if err != nil || !ok || lastOK.ID != id || lastOK.Outcome != store.JobOK || !lastOK.StartedAt.Equal(auditT0) {
			t.Errorf("last ok run %+v ok %v err %v", lastOK, ok, err)
		}

		if _, ok, err := tx.DaemonGet(ctx); err != nil || ok {
			t.Fatalf("daemon before any: ok %v err %v", ok, err)
		}
		mustAudit(t, tx.DaemonClaim(ctx, store.Daemon{PID: 10, Host: "a", StartedAt: auditT0, HeartbeatAt: auditT0}))
		mustAudit(t, tx.DaemonClaim(ctx, store.Daemon{PID: 11, Host: "b", StartedAt: auditT0, HeartbeatAt: auditT0}))
		if beat, err := tx.DaemonHeartbeatIf(ctx, 10, "a", auditT0.Add(time.Second), `[]`); err != nil || beat {
			t.Errorf("heartbeat of a replaced daemon: %v err %v", beat, err)
		}
		if beat, err := tx.DaemonHeartbeatIf(ctx, 11, "b", auditT0.Add(time.Second), `[{"name":"audit"}]`); err != nil || !beat {
			t.Errorf("heartbeat of the daemon: %v err %v", beat, err)
		}
		d, ok, err := tx.DaemonGet(ctx)
		want := store.Daemon{PID: 11, Host: "b", StartedAt: auditT0, HeartbeatAt: auditT0.Add(time.Second), Schedule: `[{"name":"audit"}]`}
		if err != nil || !ok || d != want {
			t.Errorf("daemon %+v ok %v err %v, want %+v", d, ok, err, want)
		}
		if gone, err := tx.DaemonReleaseIf(ctx, 10, "a"); err != nil || gone {
			t.Errorf("release by a replaced daemon: %v err %v", gone, err)
		}
		if gone, err := tx.DaemonReleaseIf(ctx, 11, "b"); err != nil || !gone {
			t.Errorf("release by the daemon: %v err %v", gone, err)
		}
	})
}

// seedAuditRows writes, behind the operations' back, an item in progress with a
// drifted capsule, three expired leases of one owner with an attestation,
// and a done transition whose verification was skipped.
func seedAuditRows(t *testing.T, ctx context.Context, tx store.Tx) {
	t.Helper()
	ms := func(d time.Duration) int64 { return auditT0.Add(d).UnixMilli() }
	blob := strings.Repeat("a", 64)
	for _, s := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO items (id, title, kind, domain, priority, status, owner, objective, created_at, updated_at) VALUES ('A', 'Item A', 'task', 'core', 'high', 'open', '', 'do it', ?, ?)`, []any{ms(0), ms(0)}},
		{`UPDATE items SET status = 'in_progress', owner = 'ada', updated_at = ? WHERE id = 'A'`, []any{ms(time.Minute)}},
		{`INSERT INTO item_transitions (item_id, from_status, to_status, actor, at) VALUES ('A', 'open', 'in_progress', 'ada', ?)`, []any{ms(time.Minute)}},
		{`INSERT INTO items (id, title, kind, domain, priority, status, owner, objective, created_at, updated_at) VALUES ('B', 'Item B', 'task', 'core', 'low', 'open', '', 'do it', ?, ?)`, []any{ms(0), ms(0)}},
		{`INSERT INTO item_deps (item_id, depends_on, pos) VALUES ('B', 'A', 0)`, nil},
		{`INSERT INTO capsules (item_id, generation, blob, content_key, path, template, template_sha256, generated_at) VALUES ('A', 1, ?, 'k', 'p', 't', 's', ?)`, []any{blob, ms(time.Minute)}},
		{`INSERT INTO capsule_checks (capsule_id, drifted, source, at) SELECT id, 1, 'health', ? FROM capsules WHERE item_id = 'A'`, []any{ms(2 * time.Minute)}},
	} {
		if _, err := sqlstore.SQLOf(tx).ExecContext(ctx, s.q, s.args...); err != nil {
			t.Fatalf("%s: %v", s.q, err)
		}
	}
	for i := int64(1); i <= 3; i++ {
		if _, err := sqlstore.SQLOf(tx).ExecContext(ctx, `INSERT INTO leases (resource, owner, domain, token, created_at, expires_at, ended_at, end_reason, ended_by, state)
			VALUES (?, 'ada', 'core', ?, ?, ?, ?, 'expired', 'system', 'expired')`, "r"+string(rune('0'+i)), i, ms(0), ms(time.Hour), ms(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sqlstore.SQLOf(tx).ExecContext(ctx, `INSERT INTO lease_attestations (token, path, blob, attested_at) VALUES (1, 'a.go', 'b1', ?)`, ms(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func TestHealthReportAndReplayOps(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, ctx context.Context, tx store.Tx) {
		seedAuditRows(t, ctx, tx)
		drifted, err := tx.HealthDriftedInProgress(ctx)
		if err != nil || !reflect.DeepEqual(drifted, []string{"A"}) {
			t.Errorf("drifted %v err %v", drifted, err)
		}
		inProgress, err := tx.HealthItemsInProgress(ctx)
		if err != nil || len(inProgress) != 1 || inProgress[0] != (store.InProgressItem{ID: "A", Title: "Item A", Domain: "core", Owner: "ada", Since: auditT0.Add(time.Minute)}) {
			t.Errorf("in progress %+v err %v", inProgress, err)
		}
		var capsule int64
		mustAudit(t, sqlstore.SQLOf(tx).QueryRowContext(ctx, `SELECT id FROM capsules WHERE item_id = 'A'`).Scan(&capsule))
		if last, ok, err := tx.HealthCapsuleLastDrift(ctx, capsule); err != nil || !ok || !last {
			t.Errorf("last drift %v ok %v err %v", last, ok, err)
		}
		mustAudit(t, tx.HealthCapsuleCheckInsert(ctx, capsule, false, "cli", auditT0.Add(3*time.Minute)))
		if last, ok, err := tx.HealthCapsuleLastDrift(ctx, capsule); err != nil || !ok || last {
			t.Errorf("last drift after a clean check %v ok %v err %v", last, ok, err)
		}
		if drifted, err := tx.HealthDriftedInProgress(ctx); err != nil || len(drifted) != 0 {
			t.Errorf("drifted after a clean check %v err %v", drifted, err)
		}

		repeat, err := tx.ReportRepeatExpiries(ctx, auditT0.Add(2*time.Hour), auditT0, 3)
		if err != nil || !reflect.DeepEqual(repeat, []store.OwnerCount{{Owner: "ada", Count: 3}}) {
			t.Errorf("repeat expiries %+v err %v", repeat, err)
		}
		if repeat, err := tx.ReportRepeatExpiries(ctx, auditT0.Add(2*time.Hour), auditT0, 4); err != nil || len(repeat) != 0 {
			t.Errorf("repeat expiries of 4 or more %+v err %v", repeat, err)
		}
		if skipped, err := tx.ReportSkippedVerifications(ctx, time.Time{}); err != nil || len(skipped) != 0 {
			t.Errorf("skipped verifications %+v err %v", skipped, err)
		}

		items, err := tx.ReplayItems(ctx)
		mustAudit(t, err)
		if got := items["A"]; got["status"] != "in_progress" || got["owner"] != "ada" || got["created_at"] != "1775030400000" || got["files"] != "[]" {
			t.Errorf("item A snapshot %v", got)
		}
		deps, err := tx.ReplayItemDeps(ctx)
		if err != nil || !reflect.DeepEqual(deps, map[string][]string{"B": {"A"}}) {
			t.Errorf("deps %v err %v", deps, err)
		}
		leases, err := tx.ReplayLeases(ctx)
		mustAudit(t, err)
		if got := leases["2"]; len(leases) != 3 || got["resource"] != "r2" || got["item_id"] != "" || got["state"] != "expired" {
			t.Errorf("leases snapshot %v", leases)
		}
		atts, err := tx.ReplayAttestations(ctx)
		mustAudit(t, err)
		if got, ok := atts["1 a.go b1"]; !ok || got["attested_at"] != "1775030460000" {
			t.Errorf("attestations snapshot %v", atts)
		}
		capsules, err := tx.ReplayCapsules(ctx)
		mustAudit(t, err)
		if got, ok := capsules["A generation 1"]; !ok || got["path"] != "p" {
			t.Errorf("capsules snapshot %v", capsules)
		}
		mustAudit(t, tx.TokenSeedAtLeast(ctx, 100))
		mustAudit(t, tx.TokenSeedAtLeast(ctx, 50))
		counter, err := tx.ReplayTokenCounter(ctx)
		if err != nil || !reflect.DeepEqual(counter, store.Snapshot{"lease_token": {"value": "100"}}) {
			t.Errorf("token counter %v err %v", counter, err)
		}
		for name, read := range map[string]func(context.Context) (store.Snapshot, error){
			"transitions": tx.ReplayTransitions, "signals": tx.ReplaySignals, "acks": tx.ReplayAcks,
			"council approvals": tx.ReplayCouncilApprovals, "council outcomes": tx.ReplayCouncilOutcomes, "shadow edits": tx.ReplayShadowEdits,
		} {
			if _, err := read(ctx); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}

		blobs, err := tx.BlobRefsCapsules(ctx, 0)
		if err != nil || len(blobs) != 1 || !reflect.DeepEqual(blobs, []store.CapsuleBlob{{ID: blobs[0].ID, ItemID: "A", Generation: 1, Blob: strings.Repeat("a", 64)}}) {
			t.Errorf("capsule blobs %+v err %v", blobs, err)
		}
		if after, err := tx.BlobRefsCapsules(ctx, blobs[0].ID); err != nil || len(after) != 0 {
			t.Errorf("capsule blobs after the last %+v err %v", after, err)
		}
		if edits, err := tx.BlobRefsShadowEdits(ctx, 0); err != nil || len(edits) != 0 {
			t.Errorf("shadow edit blobs %+v err %v", edits, err)
		}
		if reports, err := tx.BlobRefsReports(ctx, 0); err != nil || len(reports) != 0 {
			t.Errorf("reports %+v err %v", reports, err)
		}
		if prints, err := tx.BlobRefsFingerprints(ctx, 0); err != nil || len(prints) != 0 {
			t.Errorf("fingerprint manifests %+v err %v", prints, err)
		}
	})
}

// Marks only move forward; the verified set holds each blob once.
func TestVerifyMarkOps(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, ctx context.Context, tx store.Tx) {
		marks, err := tx.VerifyMarks(ctx)
		if err != nil || len(marks) != 0 {
			t.Fatalf("marks before any check: %v err %v", marks, err)
		}
		for _, through := range []int64{5, 3, 9} {
			mustAudit(t, tx.VerifyMarkAdvance(ctx, store.MarkSignalFiles, through, auditT0))
		}
		mustAudit(t, tx.VerifyMarkAdvance(ctx, store.MarkReportBlobs, 2, auditT0))
		marks, err = tx.VerifyMarks(ctx)
		if err != nil || !reflect.DeepEqual(marks, map[store.VerifyMark]int64{store.MarkSignalFiles: 9, store.MarkReportBlobs: 2}) {
			t.Errorf("marks %v err %v, want signal_files 9 (never lowered) and report_blobs 2", marks, err)
		}
		blob := strings.Repeat("b", 64)
		if ok, err := tx.VerifiedBlob(ctx, blob); err != nil || ok {
			t.Errorf("blob verified before any check: %v err %v", ok, err)
		}
		mustAudit(t, tx.VerifiedBlobAdd(ctx, blob, auditT0))
		mustAudit(t, tx.VerifiedBlobAdd(ctx, blob, auditT0.Add(time.Minute)))
		if ok, err := tx.VerifiedBlob(ctx, blob); err != nil || !ok {
			t.Errorf("blob verified: %v err %v", ok, err)
		}
		mustAudit(t, tx.ReportInsert(ctx, store.Report{Path: "r/a.md", GeneratedAt: auditT0, HeadSeq: 3, HeadHash: "h3", MDBlob: "m", JSONBlob: "j"}))
		reports, err := tx.BlobRefsReports(ctx, 0)
		if err != nil || len(reports) != 1 || reports[0] != (store.ReportRow{ID: reports[0].ID, Path: "r/a.md", HeadSeq: 3, HeadHash: "h3", MDBlob: "m", JSONBlob: "j"}) {
			t.Errorf("reports %+v err %v", reports, err)
		}
		if files, err := tx.VerifySignalFilesAfter(ctx, 0); err != nil || len(files) != 0 {
			t.Errorf("signal files %+v err %v", files, err)
		}
	})
}
