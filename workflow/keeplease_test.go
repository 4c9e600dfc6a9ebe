package workflow

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// TestKeepLeaseFollowsTheToken pins down what `oxygen run` relies on:
// KeepLease never shortens a lease, says what became of a token that is no
// longer live, and neither it nor a release by token touches a later lease
// of the same owner.
func TestKeepLeaseFollowsTheToken(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	builder := Actor{Owner: "builder", Domain: "builder"}
	claim := func(resource string, ttl time.Duration) *Lease {
		t.Helper()
		res, err := svc.Claim(ctx, ClaimRequest{Resource: resource, Actor: builder, TTL: &ttl})
		if err != nil {
			t.Fatal(err)
		}
		return res.Lease
	}
	renewals := func() int {
		t.Helper()
		var n int
		if err := sqlstore.DBOf(svc.Store).QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE action = 'lease.renew'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	wantConflict := func(err error, want string) {
		t.Helper()
		if ErrorCode(err) != ECONFLICT || !strings.Contains(ErrorMessage(err), want) {
			t.Fatalf("got %v, want a conflict saying %q", err, want)
		}
	}

	first := claim("storage", 30*time.Minute)
	l, err := svc.KeepLease(ctx, "storage", first.Token, time.Minute)
	if err != nil || !l.ExpiresAt.Equal(first.ExpiresAt.Time) || renewals() != 0 {
		t.Fatalf("a 1m keep shortened or renewed a 30m lease: %v %v, %d renewals", l, err, renewals())
	}
	svc.Clock = FixedClock(testNow.Add(29*time.Minute + 30*time.Second))
	l, err = svc.KeepLease(ctx, "storage", first.Token, time.Minute)
	if err != nil || !l.ExpiresAt.Equal(svc.Clock().Add(time.Minute)) || renewals() != 1 {
		t.Fatalf("keep with 30s left: %v %v, %d renewals", l, err, renewals())
	}
	if _, err := svc.CheckLease(ctx, "storage", first.Token); err != nil {
		t.Fatal(err)
	}

	if _, err := svc.Release(ctx, ReleaseRequest{Resource: "storage", Actor: Actor{Owner: "guardian", Domain: "guardian"}, Force: true, Reason: "stuck"}); err != nil {
		t.Fatal(err)
	}
	revoked := fmt.Sprintf("token %d on storage was revoked by guardian at %s: stuck", first.Token, Time{svc.Clock()})
	_, err = svc.KeepLease(ctx, "storage", first.Token, time.Minute)
	wantConflict(err, revoked)
	l, err = svc.CheckLease(ctx, "storage", first.Token)
	wantConflict(err, revoked)
	if l == nil || l.State != LeaseRevoked {
		t.Fatalf("CheckLease of a revoked token returned %+v", l)
	}

	// The same owner claims again: the old token neither extends nor
	// releases the new lease.
	second := claim("storage", time.Minute)
	before := renewals()
	_, err = svc.KeepLease(ctx, "storage", first.Token, 10*time.Minute)
	wantConflict(err, revoked)
	_, err = svc.Release(ctx, ReleaseRequest{Resource: "storage", Actor: builder, Token: first.Token})
	wantConflict(err, revoked)
	if l, err := svc.CheckLease(ctx, "storage", second.Token); err != nil || !l.ExpiresAt.Equal(second.ExpiresAt.Time) || renewals() != before {
		t.Fatalf("the later lease changed: %+v %v", l, err)
	}
	if l, err := svc.Release(ctx, ReleaseRequest{Resource: "storage", Actor: builder, Token: second.Token}); err != nil || l.State != LeaseReleased {
		t.Fatalf("release by the live token: %+v %v", l, err)
	}
	_, err = svc.CheckLease(ctx, "storage", second.Token)
	wantConflict(err, fmt.Sprintf("token %d on storage was released by builder at", second.Token))

	// A lease past its expiry is lost, swept or not.
	third := claim("index", time.Minute)
	svc.Clock = FixedClock(svc.Clock().Add(2 * time.Minute))
	_, err = svc.KeepLease(ctx, "index", third.Token, time.Minute)
	wantConflict(err, fmt.Sprintf("token %d on index expired at %s", third.Token, third.ExpiresAt))
	_, err = svc.CheckLease(ctx, "index", third.Token+1000)
	wantConflict(err, fmt.Sprintf("index has no lease with token %d", third.Token+1000))
}
