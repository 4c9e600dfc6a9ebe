package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/workflow"
)

// runRules checks each rule of the protocol once, through the API, and
// where the schema itself guards a rule, with raw SQL that tries to break it.
func runRules(t *testing.T, open Opener) {
	t.Run("ChangeBudget", func(t *testing.T) {
		svc := open(t).Open(t)
		got(claim(svc, "deployment", actor("ada", "builder"))).must(t, "claim deployment")
		got(claim(svc, "storage", actor("bo", "builder"))).must(t, "claim storage")
		_, err := claim(svc, "index", actor("cy", "builder"))
		wantCode(t, "third builder lease", err, workflow.EDENIED)
		// Another domain's budget is its own.
		got(claim(svc, "execution", actor("wes", "watcher"))).must(t, "claim execution")
		got(svc.Release(ctx, workflow.ReleaseRequest{Resource: "storage", Actor: actor("bo", "builder")})).must(t, "release storage")
		got(claim(svc, "index", actor("cy", "builder"))).must(t, "claim index after a release")
	})

	t.Run("AttentionBudgetAndSingleUseCouncil", func(t *testing.T) {
		svc := open(t).Open(t)
		var ids []string
		for i := 0; i < 4; i++ {
			ids = append(ids, addItem(t, svc, "builder", "item").ID)
		}
		for _, id := range ids[:2] {
			got(svc.Assign(ctx, workflow.AssignRequest{ID: id, Owner: "ada", Domain: "builder"})).must(t, "assign "+id)
		}
		_, err := svc.Assign(ctx, workflow.AssignRequest{ID: ids[2], Owner: "ada", Domain: "builder"})
		wantCode(t, "third in progress", err, workflow.EDENIED)
		call := got(svc.CallCouncil(ctx, ids[2], actor("cy", "builder"), "the release waits on it")).must(t, "council call")
		_, err = svc.ApproveCouncil(ctx, call.ID, actor("cy", "scribe"), "")
		wantCode(t, "approval by the caller, naming another domain", err, workflow.EDENIED)
		got(svc.ApproveCouncil(ctx, call.ID, actor("sam", "scribe"), "")).must(t, "approve")
		got(svc.Assign(ctx, workflow.AssignRequest{ID: ids[2], Owner: "cy", Domain: "builder", Council: call.ID})).must(t, "assign over the cap with the council")
		if n := scalar[int64](t, svc, `SELECT count(*) FROM items WHERE domain = 'builder' AND status = 'in_progress'`); n != 3 {
			t.Fatalf("%d builder items in progress, want 3: the cap and one by council", n)
		}
		_, err = svc.Assign(ctx, workflow.AssignRequest{ID: ids[3], Owner: "cy", Domain: "builder", Council: call.ID})
		wantCode(t, "the council approval for another item", err, workflow.EDENIED)
		// Spent: the same item, back to open, cannot go over the cap with it again.
		got(svc.Unassign(ctx, workflow.MoveRequest{ID: ids[2], By: "cy", Reason: "again"})).must(t, "unassign")
		_, err = svc.Assign(ctx, workflow.AssignRequest{ID: ids[2], Owner: "cy", Domain: "builder", Council: call.ID})
		wantCode(t, "a second use of the council approval", err, workflow.EDENIED)
		if err := exec(svc, `UPDATE council_approvals SET consumed_at = NULL, consumed_by = NULL, consumed_action = NULL WHERE signal_id = ?`, call.ID); err == nil {
			t.Fatal("the store let a spent council approval be restored")
		}
		inProgress := got(svc.List(ctx, workflow.ItemFilter{Domain: "builder", Status: "in_progress"})).must(t, "list")
		if len(inProgress) != 2 {
			t.Fatalf("%d builder items in progress, want the cap, 2", len(inProgress))
		}
		if n := scalar[int64](t, svc, `SELECT count(*) FROM council_approvals WHERE signal_id = ? AND consumed_at IS NOT NULL`, call.ID); n != 1 {
			t.Fatalf("council approval consumed %d times, want 1", n)
		}
	})

	t.Run("HandshakeForAnotherDomainsResource", func(t *testing.T) {
		svc := open(t).Open(t)
		_, err := claim(svc, "schema", actor("ada", "builder"))
		wantCode(t, "claim scribe's resource without a handshake", err, workflow.EDENIED)
		got(svc.SendSignal(ctx, workflow.SignalSpec{Kind: workflow.KindHandshake, From: "ada", FromDomain: "builder", To: "scribe", Resource: "schema", Body: "adding a column"})).must(t, "handshake")
		got(claim(svc, "schema", actor("ada", "builder"))).must(t, "claim after the handshake")
	})

	t.Run("OneActiveLeasePerResource", func(t *testing.T) {
		svc := open(t).Open(t)
		l := got(claim(svc, "deployment", actor("ada", "builder"))).must(t, "claim").Lease
		_, err := claim(svc, "deployment", actor("bo", "builder"))
		wantCode(t, "second claim", err, workflow.ECONFLICT)
		// The schema refuses a second active lease whatever the code does.
		err = exec(svc, `INSERT INTO leases (resource, owner, domain, token, reason, created_at, expires_at, state) VALUES ('deployment', 'bo', 'builder', ?, '', 1, 2, 'active')`, l.Token+1000)
		if err == nil {
			t.Fatal("the store took a second active lease on deployment")
		}
		if n := scalar[int64](t, svc, `SELECT count(*) FROM leases WHERE resource = 'deployment' AND state = 'active'`); n != 1 {
			t.Fatalf("%d active leases on deployment", n)
		}
	})

	t.Run("FencingTokensStrictlyIncrease", func(t *testing.T) {
		svc := open(t).Open(t)
		var last int64
		for i, res := range []string{"deployment", "storage", "deployment", "index", "storage", "deployment"} {
			l := got(claim(svc, res, actor("ada", "builder"))).must(t, "claim "+res).Lease
			if l.Token <= last {
				t.Fatalf("claim %d of %s got token %d after %d", i, res, l.Token, last)
			}
			last = l.Token
			got(svc.Release(ctx, workflow.ReleaseRequest{Resource: res, Actor: actor("ada", "builder")})).must(t, "release "+res)
		}
		// The counter never goes down, whatever writes it.
		if err := exec(svc, `UPDATE counters SET value = 1 WHERE name = 'lease_token'`); err == nil {
			t.Fatal("the store let the fencing token counter go down")
		}
	})

	t.Run("LeaseBoundariesNameTheirLease", func(t *testing.T) {
		svc := open(t).Open(t)
		l := got(claim(svc, "deployment", actor("ada", "builder"))).must(t, "claim").Lease
		got(svc.Release(ctx, workflow.ReleaseRequest{Resource: "deployment", Actor: actor("ada", "builder")})).must(t, "release")
		id := scalar[int64](t, svc, `SELECT id FROM leases WHERE token = ?`, l.Token)
		rows, err := db(t, svc).QueryContext(ctx, rebind(svc, `SELECT reason, COALESCE(lease_id, 0) FROM fingerprints WHERE resource = 'deployment' ORDER BY id`))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var boundaries []string
		for rows.Next() {
			var reason string
			var lease int64
			if err := rows.Scan(&reason, &lease); err != nil {
				t.Fatal(err)
			}
			if lease != id {
				t.Errorf("%s boundary names lease %d, want %d (token %d)", reason, lease, id, l.Token)
			}
			boundaries = append(boundaries, reason)
		}
		if strings.Join(boundaries, " ") != "claim release" {
			t.Fatalf("boundaries %v, want claim and release", boundaries)
		}
	})

	t.Run("ExpiryIsAudited", func(t *testing.T) {
		svc := open(t).Open(t)
		l := got(claim(svc, "deployment", actor("ada", "builder"))).must(t, "claim").Lease
		// Expired behind the rules' back: the earliest expiry the schema allows.
		if err := exec(svc, `UPDATE leases SET expires_at = created_at + 1 WHERE token = ?`, l.Token); err != nil {
			t.Fatal(err)
		}
		expired, _, err := svc.Expire(ctx)
		if err != nil {
			t.Fatalf("expire: %v", err)
		}
		if len(expired) != 1 || expired[0].Token != l.Token {
			t.Fatalf("expired %v, want token %d", expired, l.Token)
		}
		if st := scalar[string](t, svc, `SELECT state FROM leases WHERE token = ?`, l.Token); st != string(workflow.LeaseExpired) {
			t.Fatalf("lease state %s after expiry", st)
		}
		events := got(svc.AuditLog(ctx, workflow.AuditFilter{Action: "lease.expire"})).must(t, "audit log")
		if len(events) != 1 || events[0].Subject != "resource:deployment" {
			t.Fatalf("expiry audit events %+v, want one on resource:deployment", events)
		}
		next := got(claim(svc, "deployment", actor("bo", "builder"))).must(t, "claim after expiry").Lease
		if next.Token <= l.Token {
			t.Fatalf("token %d after expired token %d", next.Token, l.Token)
		}
		if err := exec(svc, `UPDATE leases SET expires_at = expires_at + 1000 WHERE token = ?`, l.Token); err == nil {
			t.Fatal("the store let an ended lease change")
		}
	})

	t.Run("ReleaseByNonHolderRefused", func(t *testing.T) {
		svc := open(t).Open(t)
		l := got(claim(svc, "deployment", actor("ada", "builder"))).must(t, "claim").Lease
		_, err := svc.Release(ctx, workflow.ReleaseRequest{Resource: "deployment", Actor: actor("bo", "builder")})
		wantCode(t, "release by bo", err, workflow.ECONFLICT)
		if st := scalar[string](t, svc, `SELECT state FROM leases WHERE token = ?`, l.Token); st != string(workflow.LeaseActive) {
			t.Fatalf("lease %s after a refused release", st)
		}
	})

	t.Run("ItemStateMachine", func(t *testing.T) {
		svc := open(t).Open(t)
		id := addItem(t, svc, "builder", "moving").ID
		move := func(req workflow.MoveRequest) workflow.MoveRequest {
			req.ID, req.By, req.Domain, req.Reason = id, "ada", "builder", "conformance"
			return req
		}
		_, err := svc.Block(ctx, move(workflow.MoveRequest{}))
		wantCode(t, "block an open item", err, workflow.ECONFLICT)
		_, err = svc.Unblock(ctx, move(workflow.MoveRequest{}))
		wantCode(t, "unblock an open item", err, workflow.ECONFLICT)
		// The schema refuses an illegal move done by raw SQL.
		if err := exec(svc, `UPDATE items SET status = 'done' WHERE id = ?`, id); err == nil {
			t.Fatal("the store let open move straight to done")
		}
		if st := scalar[string](t, svc, `SELECT status FROM items WHERE id = ?`, id); st != "open" {
			t.Fatalf("item %s after a refused raw move", st)
		}
		got(svc.Assign(ctx, workflow.AssignRequest{ID: id, Owner: "ada", Domain: "builder"})).must(t, "assign")
		got(svc.Block(ctx, move(workflow.MoveRequest{}))).must(t, "block")
		_, err = svc.Assign(ctx, workflow.AssignRequest{ID: id, Owner: "ada", Domain: "builder"})
		wantCode(t, "assign a blocked item", err, workflow.ECONFLICT)
		got(svc.Unblock(ctx, move(workflow.MoveRequest{}))).must(t, "unblock")
		got(svc.Unassign(ctx, move(workflow.MoveRequest{}))).must(t, "unassign")
		got(svc.DeadEnd(ctx, move(workflow.MoveRequest{}))).must(t, "dead end")
		got(svc.Reopen(ctx, move(workflow.MoveRequest{}))).must(t, "reopen")
		want := []string{"open>in_progress", "in_progress>blocked", "blocked>in_progress", "in_progress>open", "open>dead_end", "dead_end>open"}
		rows, err := db(t, svc).QueryContext(ctx, rebind(svc, `SELECT from_status, to_status FROM item_transitions WHERE item_id = ? ORDER BY id`), id)
		if err != nil {
			t.Fatal(err)
		}
		var history []string
		for rows.Next() {
			var from, to string
			if err := rows.Scan(&from, &to); err != nil {
				t.Fatal(err)
			}
			history = append(history, from+">"+to)
		}
		rows.Close()
		if strings.Join(history, " ") != strings.Join(want, " ") {
			t.Fatalf("history %v, want %v", history, want)
		}
		if err := exec(svc, `DELETE FROM item_transitions WHERE item_id = ?`, id); err == nil {
			t.Fatal("the store let item history be deleted")
		}
	})

	t.Run("AuditChainAppendOnly", func(t *testing.T) {
		svc := open(t).Open(t)
		addItem(t, svc, "builder", "audited")
		got(claim(svc, "deployment", actor("ada", "builder"))).must(t, "claim")
		if err := exec(svc, `UPDATE audit_log SET actor = 'mallory'`); err == nil {
			t.Fatal("the store let the audit log be rewritten")
		}
		if err := exec(svc, `DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)`); err == nil {
			t.Fatal("the store let the audit log be truncated")
		}
		check := got(svc.VerifyAudit(ctx, "tester", "conformance", true)).must(t, "verify")
		if !check.OK || check.Events < 3 {
			t.Fatalf("audit verify: ok=%v events=%d %v", check.OK, check.Events, check.Failures())
		}
	})

	t.Run("WaitersGrantedInArrivalOrder", func(t *testing.T) {
		r := open(t)
		svc := r.Open(t)
		got(claim(svc, "deployment", actor("ada", "builder"))).must(t, "claim")
		type granted struct {
			owner string
			res   *workflow.ClaimResult
			err   error
		}
		grants := make(chan granted, 2)
		wait := func(w *workflow.Service, owner string) {
			res, err := w.ClaimWait(ctx, workflow.ClaimRequest{Resource: "deployment", Actor: actor(owner, "builder"), Reason: "queued"}, time.Minute)
			grants <- granted{owner, res, err}
		}
		queued := func(n int64) {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for scalar[int64](t, svc, `SELECT count(*) FROM lease_waiters WHERE resource = 'deployment'`) < n {
				select {
				case g := <-grants:
					t.Fatalf("%s returned without queueing: %v", g.owner, g.err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("waiter %d never queued", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		first, second := r.Open(t), r.Open(t)
		go wait(first, "first")
		queued(1)
		go wait(second, "second")
		queued(2)
		// A claim without a ticket never jumps the queue: right after the
		// release it finds either the waiters queued first or first holding.
		got(svc.Release(ctx, workflow.ReleaseRequest{Resource: "deployment", Actor: actor("ada", "builder")})).must(t, "release")
		_, err := claim(svc, "deployment", actor("cy", "builder"))
		wantCode(t, "claim by cy past the queue", err, workflow.ECONFLICT)
		g := <-grants
		if g.err != nil || g.owner != "first" {
			t.Fatalf("after the holder released, %s got %v", g.owner, g.err)
		}
		if owner := scalar[string](t, svc, `SELECT owner FROM leases WHERE resource = 'deployment' AND state = 'active'`); owner != "first" {
			t.Fatalf("deployment held by %s, want first", owner)
		}
		if n := scalar[int64](t, svc, `SELECT count(*) FROM lease_waiters WHERE resource = 'deployment'`); n != 1 {
			t.Fatalf("%d tickets left, want second's", n)
		}
		got(svc.Release(ctx, workflow.ReleaseRequest{Resource: "deployment", Actor: actor("first", "builder")})).must(t, "release first")
		g = <-grants
		if g.err != nil || g.owner != "second" || g.res.Lease.Token <= 0 {
			t.Fatalf("after first released, %s got %v", g.owner, g.err)
		}
	})

	t.Run("BlobsImmutable", func(t *testing.T) {
		r := open(t)
		svc := r.Open(t)
		// An audit report is stored as blobs, in either store.
		got(svc.AuditReport(ctx, "tester")).must(t, "audit report")
		if svc.Store.Info().Kind == "postgres" {
			if n := scalar[int64](t, svc, `SELECT count(*) FROM blobs`); n == 0 {
				t.Fatal("the audit report stored no blob in the database")
			}
			if err := exec(svc, `UPDATE blobs SET size = size + 1`); err == nil {
				t.Fatal("the store let a blob change")
			}
			if err := exec(svc, `DELETE FROM blobs`); err == nil {
				t.Fatal("the store let a blob be deleted")
			}
		} else {
			checkBlobFiles(t, r.Root)
		}
		check := got(svc.VerifyStore(ctx, "tester")).must(t, "verify store")
		if !check.OK {
			t.Fatalf("store verify after refused tampering: %v", check.Failures())
		}
	})

	t.Run("RepositoriesIsolated", func(t *testing.T) {
		a := open(t).Open(t)
		b := open(t).Open(t)
		addItem(t, a, "builder", "only in a")
		got(claim(a, "deployment", actor("ada", "builder"))).must(t, "claim in a")
		if items := got(b.List(ctx, workflow.ItemFilter{})).must(t, "list b"); len(items) != 0 {
			t.Fatalf("repository b sees %d items of a", len(items))
		}
		st := got(b.Status(ctx, workflow.LeaseFilter{All: true})).must(t, "status b")
		if len(st.Leases) != 0 {
			t.Fatalf("repository b sees %d leases of a", len(st.Leases))
		}
		got(claim(b, "deployment", actor("bo", "builder"))).must(t, "claim in b")
		if events := got(b.AuditLog(ctx, workflow.AuditFilter{})).must(t, "audit b"); len(events) != 2 {
			t.Fatalf("repository b's audit log has %d events, want its init and its grant", len(events))
		}
		if ca, cb := got(a.VerifyAudit(ctx, "tester", "conformance", true)).must(t, "verify a"), got(b.VerifyAudit(ctx, "tester", "conformance", true)).must(t, "verify b"); !ca.OK || !cb.OK || ca.Store == cb.Store {
			t.Fatalf("chains: a ok=%v store %s, b ok=%v store %s", ca.OK, ca.Store, cb.OK, cb.Store)
		}
	})
}

// checkBlobFiles finds the file store's blobs under root: each is named
// by the hash of its bytes and read-only.
func checkBlobFiles(t *testing.T, root string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(filepath.Dir(filepath.Dir(p))) != "sha256" {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o222 != 0 {
			t.Errorf("blob %s is writable (%v)", p, fi.Mode())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		if h := hex.EncodeToString(sum[:]); filepath.Base(filepath.Dir(p))+filepath.Base(p) != h {
			t.Errorf("blob %s holds content hashing to %s", p, h)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the audit report stored no blob file")
	}
}
