package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// eachStore runs fn on a fresh SQLite store and, when
// OXYGEN_TEST_POSTGRES_URL is set, on a fresh PostgreSQL schema dropped
// afterwards: the operations' SQL must behave the same on both.
func eachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for name, st := range testStores(t) {
		t.Run(name, func(t *testing.T) { fn(t, st) })
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

func write(t *testing.T, st store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := st.Write(context.Background(), func() time.Time { return t0 }, fn); err != nil {
		t.Fatal(err)
	}
}

func tokens(ls []store.Lease) []int64 {
	out := []int64{}
	for _, l := range ls {
		out = append(out, l.Token)
	}
	return out
}

func sameTokens(t *testing.T, what string, ls []store.Lease, err error, want ...int64) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	got := tokens(ls)
	if len(got) != len(want) {
		t.Fatalf("%s: tokens %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: tokens %v, want %v", what, got, want)
		}
	}
}

func TestLeaseOperations(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		write(t, st, func(tx store.Tx) error {
			_, err := sqlstore.SQLOf(tx).ExecContext(ctx, `INSERT INTO items (id, title, kind, domain, priority, objective, created_at, updated_at) VALUES ('it-1', 't', 'task', 'core', 'low', 'o', 0, 0)`)
			return err
		})
		write(t, st, func(tx store.Tx) error {
			if l, ok, err := tx.LeaseActiveForResource(ctx, "api"); err != nil || ok {
				t.Fatalf("active lease on an empty store: %+v %v %v", l, ok, err)
			}
			grant := func(resource, owner, domain, item string, created, expires int) store.Lease {
				token, err := tx.TokenNext(ctx)
				if err != nil {
					t.Fatal(err)
				}
				g := store.LeaseGrant{Resource: resource, Owner: owner, Domain: domain, Token: token, Item: item, Reason: "why",
					CreatedAt: at(created), ExpiresAt: at(expires), HoldSince: at(created)}
				id, err := tx.LeaseInsert(ctx, g)
				if err != nil {
					t.Fatal(err)
				}
				return store.Lease{ID: id, Token: token}
			}
			api := grant("api", "ann", "core", "it-1", 0, 60) // token 1
			db := grant("db", "bob", "data", "", 1, 5)        // token 2
			ui := grant("ui", "ann", "core", "it-1", 2, 30)   // token 3
			if api.Token != 1 || db.Token != 2 || ui.Token != 3 || api.ID == db.ID {
				t.Fatalf("grants %+v %+v %+v: tokens count from 1, ids are distinct", api, db, ui)
			}

			l, ok, err := tx.LeaseActiveForResource(ctx, "api")
			if err != nil || !ok {
				t.Fatalf("active lease on api: %v %v", ok, err)
			}
			want := store.Lease{ID: api.ID, Resource: "api", Owner: "ann", Domain: "core", Token: 1, Item: "it-1", Reason: "why",
				CreatedAt: at(0), ExpiresAt: at(60), State: store.LeaseActive, HoldSince: at(0)}
			if l != want {
				t.Fatalf("lease read back as %+v, want %+v", l, want)
			}
			if l, ok, err := tx.LeaseForResourceToken(ctx, "db", 2); err != nil || !ok || l.Owner != "bob" || l.Item != "" {
				t.Fatalf("lease db/2: %+v %v %v", l, ok, err)
			}
			if _, ok, err := tx.LeaseForResourceToken(ctx, "db", 1); err != nil || ok {
				t.Fatalf("lease db/1 should not exist: %v %v", ok, err)
			}
			if l, ok, err := tx.LeaseForToken(ctx, 3); err != nil || !ok || l.Resource != "ui" {
				t.Fatalf("lease 3: %+v %v %v", l, ok, err)
			}

			ls, err := tx.LeasesLive(ctx, at(10))
			sameTokens(t, "live", ls, err, 1, 3)
			ls, err = tx.LeasesLiveByExpiry(ctx, at(3))
			sameTokens(t, "live by expiry", ls, err, 2, 3, 1)
			ls, err = tx.LeasesLiveByResource(ctx, at(3))
			sameTokens(t, "live by resource", ls, err, 1, 2, 3)
			ls, err = tx.LeasesLiveForDomain(ctx, "core", at(3))
			sameTokens(t, "live for core", ls, err, 1, 3)
			ls, err = tx.LeasesLiveForItemOwner(ctx, "it-1", "ann", at(40))
			sameTokens(t, "live for it-1 by ann", ls, err, 1)
			ls, err = tx.LeasesUnswept(ctx, at(30))
			sameTokens(t, "unswept", ls, err, 2, 3)
			ls, err = tx.LeasesExpiredSince(ctx, at(30), at(0))
			sameTokens(t, "expired since", ls, err, 2, 3)
			ls, err = tx.LeasesForItem(ctx, "it-1")
			sameTokens(t, "for item", ls, err, 1, 3)
			ls, err = tx.LeasesForItemNewestFirst(ctx, "it-1")
			sameTokens(t, "for item newest first", ls, err, 3, 1)
			ls, err = tx.LeasesForResourceSince(ctx, "db", at(1))
			sameTokens(t, "db since 1", ls, err, 2)
			ls, err = tx.LeasesForResourceSince(ctx, "db", at(2))
			sameTokens(t, "db since 2", ls, err, nil...)

			if ok, err := tx.LeaseExtendIfActive(ctx, api.ID, at(90)); err != nil || !ok {
				t.Fatalf("extend: %v %v", ok, err)
			}
			if ok, err := tx.LeaseEndIfActive(ctx, api.ID, store.LeaseReleased, at(20), "done", "ann"); err != nil || !ok {
				t.Fatalf("end: %v %v", ok, err)
			}
			if ok, err := tx.LeaseEndIfActive(ctx, api.ID, store.LeaseRevoked, at(21), "again", "cat"); err != nil || ok {
				t.Fatalf("ending an ended lease changed it: %v %v", ok, err)
			}
			if ok, err := tx.LeaseExtendIfActive(ctx, api.ID, at(99)); err != nil || ok {
				t.Fatalf("extending an ended lease changed it: %v %v", ok, err)
			}
			l, _, _ = tx.LeaseForToken(ctx, 1)
			if l.State != store.LeaseReleased || !l.EndedAt.Equal(at(20)) || l.EndReason != "done" || l.EndedBy != "ann" || !l.ExpiresAt.Equal(at(90)) {
				t.Fatalf("ended lease: %+v", l)
			}
			if ok, err := tx.LeaseEndIfActive(ctx, ui.ID, store.LeaseRevoked, at(10), "mine", "cat"); err != nil || !ok {
				t.Fatalf("revoke: %v %v", ok, err)
			}
			ls, err = tx.LeasesRevokedSince(ctx, at(5))
			sameTokens(t, "revoked since", ls, err, 3)
			ls, err = tx.LeasesActive(ctx)
			sameTokens(t, "active", ls, err, 2)
			ls, err = tx.LeasesAll(ctx)
			sameTokens(t, "all", ls, err, 1, 2, 3)

			if since, ok, err := tx.LeaseHoldSince(ctx, "api", "ann", at(15), at(0)); err != nil || !ok || !since.Equal(at(0)) {
				t.Fatalf("hold since, ended within cooldown: %v %v %v", since, ok, err)
			}
			if _, ok, err := tx.LeaseHoldSince(ctx, "api", "ann", at(15), at(1)); err != nil || ok {
				t.Fatalf("hold since, granted before the bound: %v %v", ok, err)
			}
			if _, ok, err := tx.LeaseHoldSince(ctx, "api", "ann", at(20), at(0)); err != nil || ok {
				t.Fatalf("hold since, ended before cooldown: %v %v", ok, err)
			}
			if live, err := tx.LeaseLiveBetween(ctx, "api", at(10), at(30)); err != nil || !live {
				t.Fatalf("api was live between 10 and 30: %v %v", live, err)
			}
			if live, err := tx.LeaseLiveBetween(ctx, "api", at(20), at(30)); err != nil || live {
				t.Fatalf("api was not live after it ended at 20: %v %v", live, err)
			}
			return nil
		})
	})
}

func TestWaiterOperations(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		write(t, st, func(tx store.Tx) error {
			a, err := tx.WaiterInsert(ctx, store.Waiter{Resource: "api", Owner: "ann", Domain: "core", PID: 42, Host: "h", CreatedAt: at(0), HeartbeatAt: at(0)})
			if err != nil {
				t.Fatal(err)
			}
			b, err := tx.WaiterInsert(ctx, store.Waiter{Resource: "db", Owner: "bob", Domain: "data", PID: 43, Host: "h", CreatedAt: at(1), HeartbeatAt: at(1)})
			if err != nil {
				t.Fatal(err)
			}
			ws, err := tx.WaitersForResource(ctx, "api")
			want := store.Waiter{ID: a, Resource: "api", Owner: "ann", Domain: "core", PID: 42, Host: "h", CreatedAt: at(0), HeartbeatAt: at(0)}
			if err != nil || len(ws) != 1 || ws[0] != want {
				t.Fatalf("waiters for api: %+v %v", ws, err)
			}
			if ok, err := tx.WaiterHeartbeatIf(ctx, b, at(2)); err != nil || !ok {
				t.Fatalf("heartbeat: %v %v", ok, err)
			}
			if err := tx.WaiterDelete(ctx, a); err != nil {
				t.Fatal(err)
			}
			if ok, err := tx.WaiterHeartbeatIf(ctx, a, at(2)); err != nil || ok {
				t.Fatalf("heartbeat of a deleted ticket: %v %v", ok, err)
			}
			ws, err = tx.WaitersAll(ctx)
			if err != nil || len(ws) != 1 || ws[0].ID != b || !ws[0].HeartbeatAt.Equal(at(2)) {
				t.Fatalf("all waiters: %+v %v", ws, err)
			}
			return nil
		})
	})
}

func TestFingerprintAndAttestationOperations(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		write(t, st, func(tx store.Tx) error {
			if _, ok, err := tx.FingerprintLatest(ctx, "api", ""); err != nil || ok {
				t.Fatalf("fingerprint on an empty store: %v %v", ok, err)
			}
			token, _ := tx.TokenNext(ctx)
			id, err := tx.LeaseInsert(ctx, store.LeaseGrant{Resource: "api", Owner: "ann", Domain: "core", Token: token, CreatedAt: at(0), ExpiresAt: at(60), HoldSince: at(0)})
			if err != nil {
				t.Fatal(err)
			}
			hash := func(c byte) string {
				b := make([]byte, 64)
				for i := range b {
					b[i] = c
				}
				return string(b)
			}
			first := store.Fingerprint{Resource: "api", Worktree: "", Manifest: hash('a'), Files: 2, TakenAt: at(0), Reason: "audit", ScannedAtNS: 7}
			second := store.Fingerprint{Resource: "api", Worktree: "", Manifest: hash('b'), Files: 3, TakenAt: at(1), Reason: "claim", LeaseID: id, ScannedAtNS: 8}
			other := store.Fingerprint{Resource: "api", Worktree: "/wt", Manifest: hash('c'), Files: 1, TakenAt: at(2), Reason: "audit", ScannedAtNS: 9}
			for _, f := range []store.Fingerprint{first, second, other} {
				if err := tx.FingerprintInsert(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			if f, ok, err := tx.FingerprintLatest(ctx, "api", ""); err != nil || !ok || f != second {
				t.Fatalf("latest fingerprint: %+v %v %v, want %+v", f, ok, err, second)
			}

			if ok, err := tx.AttestationInsertIfNew(ctx, token, "a.go", "blob1", at(10)); err != nil || !ok {
				t.Fatalf("attest: %v %v", ok, err)
			}
			if ok, err := tx.AttestationInsertIfNew(ctx, token, "a.go", "blob1", at(11)); err != nil || ok {
				t.Fatalf("attesting again added a row: %v %v", ok, err)
			}
			if tok, owner, ok, err := tx.AttestationLatest(ctx, "api", "a.go", "blob1"); err != nil || !ok || tok != token || owner != "ann" {
				t.Fatalf("latest attestation: %d %s %v %v", tok, owner, ok, err)
			}
			if _, _, ok, err := tx.AttestationLatest(ctx, "db", "a.go", "blob1"); err != nil || ok {
				t.Fatalf("attestation on another resource: %v %v", ok, err)
			}
			if granted, attested, err := tx.AttestationProof(ctx, token, "api", "ann", "a.go", "blob1"); err != nil || !granted || !attested {
				t.Fatalf("proof: %v %v %v", granted, attested, err)
			}
			if granted, attested, err := tx.AttestationProof(ctx, token, "api", "ann", "a.go", "blob2"); err != nil || !granted || attested {
				t.Fatalf("proof of other content: %v %v %v", granted, attested, err)
			}
			if granted, attested, err := tx.AttestationProof(ctx, token, "api", "bob", "a.go", "blob1"); err != nil || granted || attested {
				t.Fatalf("proof for another owner: %v %v %v", granted, attested, err)
			}
			return nil
		})
	})
}

func TestSignalReadsOfLeases(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		write(t, st, func(tx store.Tx) error {
			if first, err := tx.OverviewFirstSignalSince(ctx, at(0), at(-5)); err != nil || first != 1 {
				t.Fatalf("first signal of none: %d %v", first, err)
			}
			for _, m := range []int{0, 10, 20} {
				if _, err := sqlstore.SQLOf(tx).ExecContext(ctx, `INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, resource, created_at, file) VALUES ('handshake', 't', 'ann', 'core', 'data', 'db', ?, 'f')`, at(m).UnixMilli()); err != nil {
					t.Fatal(err)
				}
			}
			if first, err := tx.OverviewFirstSignalSince(ctx, at(5), at(0)); err != nil || first != 2 {
				t.Fatalf("first signal since 5: %d %v", first, err)
			}
			if first, err := tx.OverviewFirstSignalSince(ctx, at(30), at(25)); err != nil || first != 4 {
				t.Fatalf("first signal since 30: %d %v", first, err)
			}
			if ok, err := tx.ClaimHandshakeSince(ctx, "core", "data", "db", at(20)); err != nil || !ok {
				t.Fatalf("handshake since 20: %v %v", ok, err)
			}
			if ok, err := tx.ClaimHandshakeSince(ctx, "core", "data", "db", at(21)); err != nil || ok {
				t.Fatalf("handshake since 21: %v %v", ok, err)
			}
			return nil
		})
	})
}
