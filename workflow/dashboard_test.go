package workflow

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

func mustAdd(t *testing.T, svc *Service, id, domain string, deps ...string) {
	t.Helper()
	spec := ItemSpec{ID: id, Title: "title of " + id, Kind: "chore", Domain: domain, Priority: "low", Objective: "o", DependsOn: deps}
	if _, err := svc.AddItem(context.Background(), spec, "tester"); err != nil {
		t.Fatal(err)
	}
}

func mustAssign(t *testing.T, svc *Service, id, owner string) {
	t.Helper()
	if _, err := svc.Assign(context.Background(), AssignRequest{ID: id, Owner: owner}); err != nil {
		t.Fatal(err)
	}
}

func mustClaim(t *testing.T, svc *Service, resource string, actor Actor, ttl time.Duration) *Lease {
	t.Helper()
	res, err := svc.Claim(context.Background(), ClaimRequest{Resource: resource, Actor: actor, TTL: &ttl})
	if err != nil {
		t.Fatal(err)
	}
	return res.Lease
}

// queue puts a live waiter (this process) behind resource.
func queue(t *testing.T, svc *Service, resource string, actor Actor) {
	t.Helper()
	err := svc.write(context.Background(), func(tx *Tx) error {
		_, err := tx.enqueue(context.Background(), ClaimRequest{Resource: resource, Actor: actor})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOverview(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	builder := Actor{Owner: "ada", Domain: "builder"}
	mustAdd(t, svc, "B1", "builder")
	mustAdd(t, svc, "B2", "builder")
	mustAdd(t, svc, "B3", "builder")
	mustAssign(t, svc, "B1", "builder")
	svc.Clock = FixedClock(testNow.Add(time.Hour))
	mustAssign(t, svc, "B2", "builder")
	mustClaim(t, svc, "storage", builder, 30*time.Minute)
	mustClaim(t, svc, "index", builder, 10*time.Minute)
	queue(t, svc, "storage", Actor{Owner: "cy", Domain: "builder"})
	queue(t, svc, "storage", Actor{Owner: "gus", Domain: "guardian"})
	call, err := svc.CallCouncil(ctx, "B3", builder, "the release waits on it")
	if err != nil {
		t.Fatal(err)
	}
	// Unread signals are each domain's inbox (orchestrate signal inbox
	// --domain D) within the week: a broadcast reaches every domain, a
	// missive its addressee, a pending council call every domain that may
	// approve it, and an acknowledgement by anyone in a domain clears it for
	// that domain. A signal from before the week does not count.
	if _, err := svc.SendSignal(ctx, SignalSpec{Kind: KindProclamation, From: "sam", FromDomain: "scribe", Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	hi, err := svc.SendSignal(ctx, SignalSpec{Kind: KindMissive, From: "sam", FromDomain: "scribe", To: "guardian", Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SendSignal(ctx, SignalSpec{Kind: KindMissive, From: "sam", FromDomain: "scribe", To: "guardian", Body: "read"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Ack(ctx, Actor{Owner: "gus", Domain: "guardian"}, []int64{hi.ID + 1}); err != nil {
		t.Fatal(err)
	}

	ov, err := svc.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ov.Now.Equal(testNow.Add(time.Hour)) {
		t.Errorf("now %s", ov.Now)
	}
	domains := map[string]DomainOverview{}
	for _, d := range ov.Domains {
		domains[d.Domain] = d
	}
	if len(ov.Domains) != len(svc.Config.Domains) {
		t.Errorf("%d domains, want every configured one", len(ov.Domains))
	}
	// builder: its 2 assignment missives and the broadcast (its own council
	// call is not its to approve). guardian: the broadcast, "hi" ("read" was
	// acknowledged) and the council call. scribe: its own broadcast and the
	// council call.
	want := map[string]DomainOverview{
		"builder":  {Domain: "builder", InProgress: 2, MaxInProgress: 2, Leases: 2, MaxLeases: 2, Unread: 3},
		"guardian": {Domain: "guardian", MaxInProgress: 2, MaxLeases: 2, Unread: 3},
		"scribe":   {Domain: "scribe", MaxInProgress: 2, MaxLeases: 2, Unread: 2},
	}
	for name, w := range want {
		if domains[name] != w {
			t.Errorf("%s: got %+v, want %+v", name, domains[name], w)
		}
	}
	// A week later all of it has left the window.
	svc.Clock = FixedClock(testNow.Add(time.Hour + UnreadWindow + time.Minute))
	later, err := svc.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range later.Domains {
		if d.Unread != 0 {
			t.Errorf("%s: %d unread a week later", d.Domain, d.Unread)
		}
	}
	svc.Clock = FixedClock(testNow.Add(time.Hour))
	if len(ov.InProgress) != 2 || ov.InProgress[0].ID != "B1" || !ov.InProgress[0].Since.Equal(testNow) || ov.InProgress[1].ID != "B2" || ov.InProgress[0].Owner != "builder" {
		t.Errorf("in progress: %+v", ov.InProgress)
	}
	// Soonest expiry first; the queue in serving order.
	if len(ov.Leases) != 2 || ov.Leases[0].Resource != "index" || ov.Leases[1].Resource != "storage" {
		t.Fatalf("leases: %+v", ov.Leases)
	}
	if len(ov.Leases[0].Waiters) != 0 {
		t.Errorf("index has waiters: %+v", ov.Leases[0].Waiters)
	}
	q := ov.Leases[1].Waiters
	if len(q) != 2 || q[0].Owner != "cy" || q[0].Position != 1 || q[1].Owner != "gus" || q[1].Domain != "guardian" || q[1].Position != 2 {
		t.Errorf("storage queue: %+v", q)
	}
	if len(ov.Council) != 1 || ov.Council[0].ID != call.ID || ov.Council[0].Body != "the release waits on it" || ov.Council[0].State != "pending" {
		t.Errorf("council: %+v", ov.Council)
	}
	if ov.Health.Status != HealthYellow || !strings.Contains(strings.Join(ov.Health.Lines(), "\n"), fmt.Sprintf("council_call %d for B3 awaits approval", call.ID)) {
		t.Errorf("health: %+v", ov.Health)
	}

	// A waiter whose process is gone drops out at once.
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `UPDATE lease_waiters SET pid = 0 WHERE owner = 'cy'`); err != nil {
		t.Fatal(err)
	}
	ov, err = svc.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if q := ov.Leases[1].Waiters; len(q) != 1 || q[0].Owner != "gus" || q[0].Position != 1 {
		t.Errorf("queue after cy died: %+v", q)
	}
}

func TestDashboard(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	builder := Actor{Owner: "ada", Domain: "builder"}
	scribe := Actor{Owner: "sam", Domain: "scribe"}
	watcher := Actor{Owner: "wat", Domain: "watcher"}
	mustAdd(t, svc, "A1", "builder")
	mustAdd(t, svc, "A2", "builder", "A1")
	for i := 0; i < BoardCellLimit+3; i++ {
		mustAdd(t, svc, fmt.Sprintf("S%02d", i), "scribe")
	}

	// Leases: one ended long before the window, one released inside it, one
	// revoked, one expired without a sweep, and one live.
	// Time only moves forward in a store: the day ends two days after the
	// items were added.
	day := testNow.Add(48 * time.Hour)
	svc.Clock = FixedClock(day.Add(-30 * time.Hour))
	mustClaim(t, svc, "schema", scribe, time.Hour)
	if _, err := svc.Release(ctx, ReleaseRequest{Resource: "schema", Actor: scribe}); err != nil {
		t.Fatal(err)
	}
	svc.Clock = FixedClock(day.Add(-3 * time.Hour))
	released := mustClaim(t, svc, "schema", scribe, time.Hour)
	svc.Clock = FixedClock(day.Add(-150 * time.Minute))
	if _, err := svc.Release(ctx, ReleaseRequest{Resource: "schema", Actor: scribe}); err != nil {
		t.Fatal(err)
	}
	revoked := mustClaim(t, svc, "index", builder, time.Hour)
	svc.Clock = FixedClock(day.Add(-2 * time.Hour))
	if _, err := svc.Release(ctx, ReleaseRequest{Resource: "index", Actor: Actor{Owner: "gus", Domain: "guardian"}, Force: true, Reason: "stuck"}); err != nil {
		t.Fatal(err)
	}
	expired := mustClaim(t, svc, "storage", builder, time.Minute)
	svc.Clock = FixedClock(day.Add(-time.Minute))
	live := mustClaim(t, svc, "execution", watcher, time.Hour)
	svc.Clock = FixedClock(day)
	queue(t, svc, "execution", Actor{Owner: "cy", Domain: "builder"})
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `INSERT INTO shadow_edits (resource, paths, old_blob, new_blob, detected_at) VALUES ('policy', '[]', ?, ?, ?)`,
		strings.Repeat("a", 64), strings.Repeat("b", 64), day.Add(-time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	svc.Clock = FixedClock(day)

	d, err := svc.Dashboard(ctx, DashboardQuery{})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]TimelineRow{}
	for _, r := range d.Timeline.Rows {
		rows[r.Resource] = r
	}
	if len(d.Timeline.Rows) != len(svc.Config.Resources) || !d.Timeline.From.Equal(day.Add(-TimelineWindow)) || !d.Timeline.To.Equal(day) {
		t.Fatalf("timeline: %d rows from %s to %s", len(d.Timeline.Rows), d.Timeline.From, d.Timeline.To)
	}
	tokens := func(r TimelineRow) string {
		var s []string
		for _, l := range r.Leases {
			s = append(s, fmt.Sprintf("%d:%s", l.Token, l.State))
		}
		return strings.Join(s, " ")
	}
	for res, want := range map[string]string{
		"schema":    fmt.Sprintf("%d:released", released.Token), // the 30h-old lease is outside the window
		"index":     fmt.Sprintf("%d:revoked", revoked.Token),
		"storage":   fmt.Sprintf("%d:expired", expired.Token), // not swept, shown as it stands
		"execution": fmt.Sprintf("%d:active", live.Token),
		"identity":  "",
	} {
		if got := tokens(rows[res]); got != want {
			t.Errorf("timeline %s: %q, want %q", res, got, want)
		}
	}
	if w := rows["execution"].Waiters; len(w) != 1 || w[0].Owner != "cy" {
		t.Errorf("execution waiters: %+v", w)
	}
	if s := rows["policy"].ShadowEdits; len(s) != 1 || s[0].Resource != "policy" {
		t.Errorf("policy shadow edits: %+v", s)
	}

	// The board: every domain, every status; a full cell lists the most
	// recently changed and counts the rest; dependencies carry their status.
	cell := func(domain string, status Status) BoardCell {
		for _, r := range d.Board.Rows {
			if r.Domain == domain {
				for _, c := range r.Cells {
					if c.Status == status {
						return c
					}
				}
			}
		}
		t.Fatalf("no cell %s/%s", domain, status)
		return BoardCell{}
	}
	if c := cell("scribe", StatusOpen); c.Count != BoardCellLimit+3 || len(c.Items) != BoardCellLimit || c.More() != 3 {
		t.Errorf("scribe/open: count %d, %d listed, %d more", c.Count, len(c.Items), c.More())
	}
	a := cell("builder", StatusOpen)
	var a2 *BoardItem
	for i := range a.Items {
		if a.Items[i].ID == "A2" {
			a2 = &a.Items[i]
		}
	}
	if a2 == nil || len(a2.DependsOn) != 1 || a2.DependsOn[0] != (Dep{ID: "A1", Status: StatusOpen}) {
		t.Errorf("A2 on the board: %+v", a2)
	}
	if c := cell("gems", StatusDone); c.Count != 0 || len(c.Items) != 0 {
		t.Errorf("gems/done: %+v", c)
	}

	// The signal feed is newest first and filters by kind and by domain.
	if len(d.Signals) == 0 || d.Signals[0].ID < d.Signals[len(d.Signals)-1].ID {
		t.Errorf("signals not newest first: %d", len(d.Signals))
	}
	only, err := svc.Dashboard(ctx, DashboardQuery{SignalKind: KindMissive, SignalDomain: "guardian"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range only.Signals {
		if s.Kind != KindMissive || (s.To != "guardian" && s.To != ToAll && s.FromDomain != "guardian") {
			t.Errorf("filtered feed holds %+v", s)
		}
	}
	if len(only.Signals) == 0 {
		t.Errorf("the missive guardian sent with its forced release is not in the filtered feed")
	}
	for _, q := range []DashboardQuery{{SignalKind: "gossip"}, {SignalDomain: "nobody"}} {
		if _, err := svc.Dashboard(ctx, q); ErrorCode(err) != EINVALID {
			t.Errorf("%+v: %v, want invalid", q, err)
		}
	}
}

// The audit panel: the chain's head, and the last verification with the
// head it saw.
func TestDashboardAuditSummary(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	mustAdd(t, svc, "A1", "builder")
	d, err := svc.Dashboard(ctx, DashboardQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Audit.Head.Seq == 0 || len(d.Audit.Head.Hash) != 64 || d.Audit.LastCheck != nil || d.Audit.LastReport != nil {
		t.Errorf("audit: %+v", d.Audit)
	}
	check, err := svc.VerifyAudit(ctx, "tester", "cli", false)
	if err != nil {
		t.Fatal(err)
	}
	d, err = svc.Dashboard(ctx, DashboardQuery{})
	if err != nil {
		t.Fatal(err)
	}
	// The check recorded the head it saw, and its own audit event follows it.
	if c := d.Audit.LastCheck; c == nil || !c.OK || c.Source != "cli" || c.HeadSeq != check.Head.Seq || d.Audit.Head.Seq != check.Head.Seq+1 {
		t.Errorf("last check: %+v (head %d, checked %d)", c, d.Audit.Head.Seq, check.Head.Seq)
	}
}

func TestChangeMark(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	mark := func() string {
		t.Helper()
		m, err := svc.ChangeMark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m0 := mark()
	if mark() != m0 {
		t.Fatal("the mark moved without a change")
	}
	mustClaim(t, svc, "storage", Actor{Owner: "ada", Domain: "builder"}, time.Hour)
	m1 := mark()
	if m1 == m0 {
		t.Fatal("a claim did not move the mark")
	}
	queue(t, svc, "storage", Actor{Owner: "cy", Domain: "builder"})
	m2 := mark()
	if m2 == m1 {
		t.Fatal("a new waiter did not move the mark")
	}
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `DELETE FROM lease_waiters`); err != nil {
		t.Fatal(err)
	}
	if mark() == m2 {
		t.Fatal("a waiter leaving did not move the mark")
	}
}

func TestOpenStoreReadOnly(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	mustAdd(t, svc, "A1", "builder")
	db := svc.Layout.DBPath()
	sum := func() [32]byte {
		b, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	before := sum()

	ro, err := OpenStoreReadOnly(ctx, svc.Layout, svc.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rsvc := NewService(svc.Layout, svc.Config, ro, svc.Clock)
	if _, err := rsvc.Overview(ctx); err != nil {
		t.Fatalf("reading through the read-only store: %v", err)
	}
	// Neither the service's write path nor raw SQL can write.
	if _, err := rsvc.AddItem(ctx, ItemSpec{Title: "t", Kind: "chore", Domain: "builder", Priority: "low", Objective: "o"}, "tester"); err == nil {
		t.Fatal("AddItem succeeded on a read-only store")
	}
	if _, err := sqlstore.DBOf(ro).ExecContext(ctx, `INSERT INTO counters (name, value) VALUES ('x', 1)`); err == nil {
		t.Fatal("an INSERT succeeded on a read-only store")
	}
	if _, err := sqlstore.DBOf(ro).ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.DBOf(ro).ExecContext(ctx, `INSERT INTO counters (name, value) VALUES ('x', 1)`); err == nil {
		t.Fatal("with query_only off, mode=ro still has to refuse the INSERT")
	}
	if after := sum(); after != before {
		t.Fatal("the database file changed under a read-only store")
	}

	// It never creates a store, and never migrates one.
	empty := *svc.Layout
	empty.Home, empty.Explicit = t.TempDir(), "elsewhere"
	if _, err := OpenStoreReadOnly(ctx, &empty, svc.Config); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "no store at") {
		t.Fatalf("missing store: %v, want the no-store error", err)
	}
	if empty.Found() {
		t.Fatal("a read-only open created a store")
	}
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `PRAGMA user_version = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStoreReadOnly(ctx, svc.Layout, svc.Config); ErrorCode(err) != ECONFLICT || !strings.Contains(ErrorMessage(err), "never migrates") {
		t.Fatalf("old schema: %v, want a conflict that says it never migrates", err)
	}
	var v int
	if err := sqlstore.DBOf(svc.Store).QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil || v != 1 {
		t.Fatalf("user_version %d (%v): the read-only open touched the schema", v, err)
	}
}
