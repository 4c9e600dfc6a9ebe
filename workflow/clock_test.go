package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// TestClockThatGoesBackStandsStill: a transaction whose clock reads earlier
// than the newest audit event runs at that event's time, so the log stays in
// time order, a lease is granted for its whole TTL from then, health says
// why time stands still, and verify finds nothing wrong.
func TestClockThatGoesBackStandsStill(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	svc.Clock = FixedClock(testNow.Add(-time.Hour))
	ttl := 2 * time.Minute
	res, err := svc.Claim(ctx, ClaimRequest{Resource: "storage", Actor: Actor{Owner: "builder", Domain: "builder"}, TTL: &ttl})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Lease.CreatedAt.Equal(testNow) || !res.Lease.ExpiresAt.Equal(testNow.Add(ttl)) {
		t.Fatalf("lease %s to %s, want %s to %s: the clock an hour back must stand at the last event's time",
			res.Lease.CreatedAt, res.Lease.ExpiresAt, testNow, testNow.Add(ttl))
	}
	events, err := svc.AuditLog(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if !e.At.Equal(testNow) {
			t.Fatalf("event %d %s at %s, want %s", e.Seq, e.Action, e.At, testNow)
		}
	}
	// Health says why time stands still.
	h, err := svc.Health(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	want := "yellow: the clock reads 1h behind the newest audit event (2026-01-30T04:46:11Z): the store's time stands still until it catches up, so no lease expires meanwhile"
	if h.Status != HealthYellow || len(h.Findings) != 1 || h.Lines()[0] != want || h.Findings[0].Code != "clock_behind" {
		t.Fatalf("health %s %q, want yellow %q", h.Status, h.Lines(), want)
	}
	// A clock that moves on again is used as it reads.
	later := testNow.Add(time.Minute)
	svc.Clock = FixedClock(later)
	check, err := svc.VerifyAudit(ctx, "tester", "test", true)
	if err != nil || !check.OK {
		t.Fatalf("verify: %+v, %v", check, err)
	}
	last, err := svc.AuditLog(ctx, AuditFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if last[0].Action != "audit.verify" || !last[0].At.Equal(later) {
		t.Fatalf("last event %s at %s, want audit.verify at %s", last[0].Action, last[0].At, later)
	}
}

// TestVerifyFindsEventEarlierThanItsPredecessor: an event whose time is
// earlier than the one before it breaks the chain check even when its hash
// is right (as a pre-fix binary, a moved clock or a forger would leave it).
func TestVerifyFindsEventEarlierThanItsPredecessor(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	db := sqlstore.DBOf(svc.Store)
	var seq int64
	var prev string
	if err := db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev); err != nil {
		t.Fatal(err)
	}
	seq++
	at := ms(testNow.Add(-time.Second))
	hash, err := chainHash(prev, seq, at, "mallory", "lease.claim", "lease:storage", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		seq, at, "mallory", "lease.claim", "lease:storage", "{}", prev, hash); err != nil {
		t.Fatal(err)
	}
	check, err := svc.VerifyAudit(ctx, "tester", "test", true)
	if err != nil {
		t.Fatal(err)
	}
	want := "the event's time 2026-01-30T04:46:10Z is earlier than the previous event's 2026-01-30T04:46:11Z"
	if check.OK || check.BrokenSeq != seq || check.Problem != want {
		t.Fatalf("verify: %+v; want broken at seq %d: %s", check, seq, want)
	}
}

// TestParseTimeRange: times the store and RFC 3339 cannot hold are refused,
// not wrapped around or printed as a five-digit year.
func TestParseTimeRange(t *testing.T) {
	for _, v := range []string{"0", "-1", "253402300800000", "9223372036854775807", "3093527980800000",
		"0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9999-12-31T23:00:00-05:00"} {
		if got, err := ParseTime(v); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("ParseTime(%q) = %s, %v; want out of range", v, got, err)
		}
	}
	for v, want := range map[string]int64{"1": 1, "253402300799999": 253402300799999,
		"9999-12-31T23:59:59.999Z": 253402300799999, "1970-01-01T00:00:00.001Z": 1} {
		got, err := ParseTime(v)
		if err != nil || ms(got) != want {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", v, ms(got), err, want)
		}
	}
}
