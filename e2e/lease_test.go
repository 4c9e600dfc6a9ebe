package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process tests for oxygen (issue 3): fencing tokens across processes, the
// first-come-first-served queue, `oxygen run`, and refusals under --wait.
// They assert order and outcomes, never durations; the timeouts below only
// stop a hung test.

// patience bounds every wait for another process. It is generous: reaching
// it means something hangs, not that something is slow.
const patience = 30 * time.Second

// oxLease is the part of a lease that the tests read from --json output.
type oxLease struct {
	Resource  string    `json:"resource"`
	Owner     string    `json:"owner"`
	Domain    string    `json:"domain"`
	Token     int64     `json:"token"`
	State     string    `json:"state"`
	EndReason string    `json:"end_reason"`
	EndedBy   string    `json:"ended_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func parseLease(t testing.TB, res result) oxLease {
	t.Helper()
	var l oxLease
	if err := json.Unmarshal([]byte(res.stdout), &l); err != nil {
		t.Fatalf("lease JSON: %v\nstdout: %s\nstderr: %s", err, res.stdout, res.stderr)
	}
	return l
}

// oxWant runs a tool and fails the test unless it exits with code.
func (r *repo) oxWant(code int, name string, args ...string) result {
	r.t.Helper()
	res := r.run(name, args...)
	if res.code != code {
		r.t.Fatalf("%s %s: exit %d, want %d\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), res.code, code, res.stdout, res.stderr)
	}
	return res
}

// oxRunBounded runs a tool but kills it after limit, failing the test: for
// commands that must answer at once even though they were told to wait.
func (r *repo) oxRunBounded(limit time.Duration, name string, args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.command(name).Path, args...)
	cmd.Dir, cmd.Env = r.dir, append([]string{}, r.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		r.t.Fatalf("%s %s still running after %s: it waited instead of refusing at once", name, strings.Join(args, " "), limit)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatalf("%s %v: %v", name, args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// oxProc is a process running in the background.
type oxProc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	res    result
}

// oxStart starts a tool in the background; the test's cleanup kills it if it
// is still running.
func (r *repo) oxStart(name string, args ...string) *oxProc {
	r.t.Helper()
	p := &oxProc{t: r.t, name: name + " " + strings.Join(args, " "), cmd: r.command(name, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	// A process it leaves behind may hold its output open; the test, not
	// the wait, must report that.
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		r.t.Fatalf("start %s: %v", p.name, err)
	}
	go func() {
		_ = p.cmd.Wait() // the exit status is read from ProcessState
		p.res = result{code: p.cmd.ProcessState.ExitCode(), stdout: p.stdout.String(), stderr: p.stderr.String()}
		if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.res.code = 128 + int(ws.Signal())
		}
		close(p.done)
	}()
	r.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *oxProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end and returns how it ended.
func (p *oxProc) wait() result {
	p.t.Helper()
	select {
	case <-p.done:
		return p.res
	case <-time.After(patience):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("%s did not finish within %s\nstdout: %s\nstderr: %s", p.name, patience, p.res.stdout, p.res.stderr)
		return result{}
	}
}

// pollUntil checks cond until it holds, failing the test after patience.
func pollUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// activeOwner is the owner of the active lease row on resource, or "".
func (r *repo) activeOwner(resource string) string {
	r.t.Helper()
	return strings.TrimSpace(r.query(`SELECT owner FROM leases WHERE state = 'active' AND resource = '` + resource + `'`))
}

func (r *repo) waiters(resource string) string {
	r.t.Helper()
	return r.query(`SELECT owner FROM lease_waiters WHERE resource = '` + resource + `' ORDER BY id`)
}

// ---------------------------------------------------------------------------
// Fencing tokens

// TestLeaseTokensIncreaseAcrossProcesses claims and ends leases in many
// separate processes, on different resources and in every way a lease can
// end: release, the expire sweep, expiry found by the next claim, and forced
// release. Every grant's token is larger than all before it.
func TestLeaseTokensIncreaseAcrossProcesses(t *testing.T) {
	r := newRepo(t)
	resources := []string{"storage", "index", "deployment"}
	// ranOut pins the clock at a lease's expiry: the lease has run out.
	// (Pinning it in the past would not do: no transaction's time goes back
	// before the newest audit event's.)
	ranOut := func(l oxLease) []string { return []string{"OXYGEN_NOW=" + l.ExpiresAt.Format(time.RFC3339Nano)} }
	var tokens []int64
	grant := func(env []string, args ...string) oxLease {
		t.Helper()
		res := r.runEnv(env, "oxygen", append([]string{"claim", "--json"}, args...)...)
		if res.code != 0 {
			t.Fatalf("claim %v: exit %d: %s", args, res.code, res.stderr)
		}
		l := parseLease(t, res)
		if n := len(tokens); n > 0 && l.Token <= tokens[n-1] {
			t.Fatalf("token %d after %d: tokens must only increase (all so far: %v)", l.Token, tokens[n-1], tokens)
		}
		tokens = append(tokens, l.Token)
		return l
	}
	for i := 0; i < 24; i++ {
		res := resources[i%len(resources)]
		owner := fmt.Sprintf("agent-%02d", i)
		switch i % 4 {
		case 0: // claim and release
			grant(nil, res, "--owner", owner, "--domain", "builder")
			r.mustRun("oxygen", "release", res, "--owner", owner, "--domain", "builder")
		case 1: // a lease that ran out, ended by the sweep
			l := grant(nil, res, "--owner", owner, "--domain", "builder", "--ttl", "1s")
			if out := r.runEnv(ranOut(l), "oxygen", "expire"); out.code != 0 || !strings.Contains(out.stdout, "expired "+res) {
				t.Fatalf("expire did not expire %s: exit %d\n%s%s", res, out.code, out.stdout, out.stderr)
			}
		case 2: // forced release
			grant(nil, res, "--owner", owner, "--domain", "builder")
			// --json: the text form of a forced release crashes (see
			// TestReleaseForcePrintsRevokedLease).
			r.mustRun("oxygen", "release", res, "--force", "--reason", "token test", "--owner", "guardian", "--json")
		case 3: // a lease that ran out, ended by the next claim
			l := grant(nil, res, "--owner", owner, "--domain", "builder", "--ttl", "1s")
			grant(ranOut(l), res, "--owner", owner+"-next", "--domain", "builder")
			r.mustRun("oxygen", "release", res, "--owner", owner+"-next", "--domain", "builder")
		}
		// A refused claim takes no token.
		r.mustRun("oxygen", "claim", "storage", "--owner", "holder", "--domain", "builder")
		r.oxWant(3, "oxygen", "claim", "storage", "--owner", "intruder", "--domain", "builder")
		tokens = append(tokens, parseLease(t, r.mustRun("oxygen", "claim", "storage", "--owner", "holder", "--domain", "builder", "--json")).Token)
		if n := len(tokens); tokens[n-1] <= tokens[n-2] {
			t.Fatalf("token %d after %d", tokens[n-1], tokens[n-2])
		}
		r.mustRun("oxygen", "release", "storage", "--owner", "holder", "--domain", "builder")
	}

	// The store agrees: tokens in grant order strictly increase, none is
	// reused, and the counter stands at the last one.
	var stored []int64
	for _, f := range strings.Fields(r.query(`SELECT token FROM leases ORDER BY id`)) {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, v)
	}
	seen := map[int64]bool{}
	for i, v := range stored {
		if seen[v] {
			t.Fatalf("token %d reused: %v", v, stored)
		}
		seen[v] = true
		if i > 0 && v <= stored[i-1] {
			t.Fatalf("stored tokens do not increase: %v", stored)
		}
	}
	for _, v := range tokens {
		if !seen[v] {
			t.Fatalf("printed token %d is not in the store", v)
		}
	}
	if got, want := strings.TrimSpace(r.query(`SELECT value FROM counters WHERE name = 'lease_token'`)), strconv.FormatInt(stored[len(stored)-1], 10); got != want {
		t.Fatalf("counter = %s, want the last token %s", got, want)
	}
	if got := r.query(`SELECT state, count(*) FROM leases GROUP BY state ORDER BY state`); got != "expired\t12\nreleased\t36\nrevoked\t6\n" {
		t.Fatalf("lease states:\n%s", got)
	}
	// Restarting means nothing to the counter: a fresh process continues it.
	l := parseLease(t, r.mustRun("oxygen", "claim", "policy", "--owner", "guardian", "--json"))
	if l.Token <= stored[len(stored)-1] {
		t.Fatalf("token after restart = %d, last was %d", l.Token, stored[len(stored)-1])
	}
}

// ---------------------------------------------------------------------------
// Waiting: first come, first served

// TestLeaseWaitFirstComeFirstServed queues two waiters behind a holder. The
// first waiter gets the lease when the holder releases, the second only when
// the first releases, and a claim without --wait never jumps the queue.
func TestLeaseWaitFirstComeFirstServed(t *testing.T) {
	r := newRepo(t)
	r.mustRun("oxygen", "claim", "storage", "--owner", "holder", "--domain", "builder")

	a := r.oxStart("oxygen", "claim", "storage", "--owner", "wait-a", "--domain", "builder", "--wait", "60s", "--json")
	pollUntil(t, "waiter A is queued", func() bool { return r.waiters("storage") == "wait-a\n" })
	b := r.oxStart("oxygen", "claim", "storage", "--owner", "wait-b", "--domain", "builder", "--wait", "60s", "--json")
	pollUntil(t, "waiter B is queued behind A", func() bool { return r.waiters("storage") == "wait-a\nwait-b\n" })

	// While held, a claim without --wait is a plain conflict.
	res := r.oxWant(3, "oxygen", "claim", "storage", "--owner", "jumper", "--domain", "builder")
	if !strings.Contains(res.stderr, "storage is held by holder (builder)") {
		t.Fatalf("conflict does not name the holder: %s", res.stderr)
	}
	if a.exited() || b.exited() {
		t.Fatalf("a waiter ended while the resource was held:\nA: %+v\nB: %+v", a.res, b.res)
	}

	// Release: A, first in line, gets the lease; B keeps waiting.
	r.mustRun("oxygen", "release", "storage", "--owner", "holder", "--domain", "builder")
	// Whether A has been granted yet or not, a claim without --wait is
	// refused: either A holds it, or A and B are queued first.
	res = r.oxWant(3, "oxygen", "claim", "storage", "--owner", "jumper", "--domain", "builder")
	if !strings.Contains(res.stderr, "storage is held by wait-a (builder)") && !strings.Contains(res.stderr, "waiter(s) queued first (first: wait-a since") {
		t.Fatalf("a claim without --wait jumped the queue or gave the wrong reason: %s", res.stderr)
	}
	ra := a.wait()
	if ra.code != 0 {
		t.Fatalf("waiter A: exit %d: %s", ra.code, ra.stderr)
	}
	la := parseLease(t, ra)
	if la.Owner != "wait-a" || la.State != "active" {
		t.Fatalf("waiter A got %+v", la)
	}
	if got := r.activeOwner("storage"); got != "wait-a" {
		t.Fatalf("active owner after the first release = %q, want wait-a", got)
	}
	if b.exited() {
		t.Fatalf("waiter B ended while A held the lease: %+v", b.res)
	}
	if got := r.waiters("storage"); got != "wait-b\n" {
		t.Fatalf("queue after A's grant = %q, want only wait-b", got)
	}
	r.oxWant(3, "oxygen", "claim", "storage", "--owner", "jumper", "--domain", "builder")

	// A releases: B gets it.
	r.mustRun("oxygen", "release", "storage", "--owner", "wait-a", "--domain", "builder")
	rb := b.wait()
	if rb.code != 0 {
		t.Fatalf("waiter B: exit %d: %s", rb.code, rb.stderr)
	}
	lb := parseLease(t, rb)
	if lb.Owner != "wait-b" || lb.Token <= la.Token {
		t.Fatalf("waiter B got %+v after A's token %d", lb, la.Token)
	}
	if got := r.activeOwner("storage"); got != "wait-b" {
		t.Fatalf("active owner after the second release = %q, want wait-b", got)
	}
	if got := r.waiters("storage"); got != "" {
		t.Fatalf("tickets left after both waiters were served: %q", got)
	}
	// The grants happened in queue order.
	if got := r.query(`SELECT owner FROM leases ORDER BY id`); got != "holder\nwait-a\nwait-b\n" {
		t.Fatalf("grant order:\n%s", got)
	}
}

// TestLeaseQueueTicketLiveness places tickets in lease_waiters by hand to pin
// down which tickets hold a place in the queue: a live one (fresh heartbeat,
// process alive on this host, or fresh on another host) blocks a free
// resource; a stale or dead one does not.
func TestLeaseQueueTicketLiveness(t *testing.T) {
	r := newRepo(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	// A process that has ended, and been reaped, for a dead pid.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	fresh, stale := now+int64(time.Hour/time.Millisecond), now-int64(time.Hour/time.Millisecond)
	ticket := func(owner string, pid int, host string, beat int64) {
		t.Helper()
		r.sqlExec(fmt.Sprintf(`INSERT INTO lease_waiters (resource, owner, domain, pid, host, created_at, heartbeat_at) VALUES ('storage', '%s', 'builder', %d, '%s', %d, %d)`,
			owner, pid, host, now, beat))
	}
	claim := func() result {
		return r.run("oxygen", "claim", "storage", "--owner", "claimant", "--domain", "builder")
	}
	cases := []struct {
		name   string
		pid    int
		host   string
		beat   int64
		blocks bool
	}{
		{"live process, fresh heartbeat", os.Getpid(), host, fresh, true},
		{"dead process, fresh heartbeat", dead.Process.Pid, host, fresh, false},
		{"live process, stale heartbeat", os.Getpid(), host, stale, false},
		{"other host, fresh heartbeat", 1, "some-other-host.invalid", fresh, true},
		{"other host, stale heartbeat", 1, "some-other-host.invalid", stale, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r.t = t // the subtests share one repository, one at a time
			ticket("ghost", c.pid, c.host, c.beat)
			defer r.sqlExec(`DELETE FROM lease_waiters`)
			res := claim()
			if c.blocks {
				if res.code != 3 || !strings.Contains(res.stderr, "storage is free but 1 waiter(s) queued first (first: ghost since") {
					t.Fatalf("claim past a live ticket: exit %d: %s", res.code, res.stderr)
				}
				if got := r.query(`SELECT count(*) FROM leases WHERE state = 'active'`); got != "0\n" {
					t.Fatalf("a refused claim left a lease: %s", got)
				}
				// --wait queues behind it and gives up, leaving the ghost's
				// ticket alone and none of its own.
				w := r.run("oxygen", "claim", "storage", "--owner", "claimant", "--domain", "builder", "--wait", "1s")
				if w.code != 6 || !strings.HasPrefix(w.stderr, "oxygen: timeout: waited 1s for storage: ") {
					t.Fatalf("claim --wait behind a live ticket: exit %d: %s", w.code, w.stderr)
				}
				if got := r.waiters("storage"); got != "ghost\n" {
					t.Fatalf("queue after giving up = %q, want only the ghost", got)
				}
			} else {
				if res.code != 0 {
					t.Fatalf("claim past a %s ticket: exit %d: %s", c.name, res.code, res.stderr)
				}
				r.mustRun("oxygen", "release", "storage", "--owner", "claimant", "--domain", "builder")
			}
		})
	}
}

// sqlExec runs a statement against the repository's store.
func (r *repo) sqlExec(q string) {
	r.t.Helper()
	if err := storeExec(r.dir, q); err != nil {
		r.t.Fatalf("%s: %v", q, err)
	}
}

// TestLeaseDeadWaiterDoesNotBlock kills a waiter outright: the one behind it
// still gets the lease when the holder releases.
func TestLeaseDeadWaiterDoesNotBlock(t *testing.T) {
	r := newRepo(t)
	r.mustRun("oxygen", "claim", "storage", "--owner", "holder", "--domain", "builder")
	a := r.oxStart("oxygen", "claim", "storage", "--owner", "wait-a", "--domain", "builder", "--wait", "60s")
	pollUntil(t, "waiter A is queued", func() bool { return r.waiters("storage") == "wait-a\n" })
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if res := a.wait(); res.code != 128+int(syscall.SIGKILL) {
		t.Fatalf("killed waiter ended with %d", res.code)
	}
	// A died with its ticket in place; it must not hold anyone up.
	b := r.oxStart("oxygen", "claim", "storage", "--owner", "wait-b", "--domain", "builder", "--wait", "60s", "--json")
	pollUntil(t, "waiter B is queued", func() bool { return strings.Contains(r.waiters("storage"), "wait-b") })
	r.mustRun("oxygen", "release", "storage", "--owner", "holder", "--domain", "builder")
	rb := b.wait()
	if rb.code != 0 {
		t.Fatalf("waiter B behind a dead waiter: exit %d: %s", rb.code, rb.stderr)
	}
	if l := parseLease(t, rb); l.Owner != "wait-b" {
		t.Fatalf("B got %+v", l)
	}
	if got := r.activeOwner("storage"); got != "wait-b" {
		t.Fatalf("active owner = %q, want wait-b", got)
	}
	if got := r.waiters("storage"); got != "" {
		t.Fatalf("tickets left behind: %q", got)
	}
	// Nor does it block a plain claim once B is done.
	r.mustRun("oxygen", "release", "storage", "--owner", "wait-b", "--domain", "builder")
	r.mustRun("oxygen", "claim", "storage", "--owner", "later", "--domain", "builder")
}

// TestLeaseWaitGivesUp: a waiter whose --wait runs out exits 6 and leaves no
// ticket.
func TestLeaseWaitGivesUp(t *testing.T) {
	r := newRepo(t)
	r.mustRun("oxygen", "claim", "storage", "--owner", "holder", "--domain", "builder")
	before, err := dumpStore(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	res := r.oxWant(6, "oxygen", "claim", "storage", "--owner", "waiter", "--domain", "builder", "--wait", "1s", "--json")
	if !regexp.MustCompile(`\Aoxygen: timeout: waited 1s for storage: storage is held by holder \(builder\), token \d+, until \S+\n\z`).MatchString(res.stderr) {
		t.Fatalf("stderr: %q", res.stderr)
	}
	if !strings.Contains(res.stdout, `"code": "timeout"`) {
		t.Fatalf("stdout: %s", res.stdout)
	}
	if got := r.query(`SELECT count(*) FROM lease_waiters`); got != "0\n" {
		t.Fatalf("lease_waiters rows after giving up: %s", got)
	}
	after, err := dumpStore(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	// The ticket's AUTOINCREMENT bookkeeping may move; nothing else may.
	strip := regexp.MustCompile(`(?m)^lease_waiters\t\d+\n`)
	if strip.ReplaceAllString(before, "") != strip.ReplaceAllString(after, "") {
		t.Fatalf("giving up changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The holder releases: a plain claim is not blocked by the waiter that left.
	r.mustRun("oxygen", "release", "storage", "--owner", "holder", "--domain", "builder")
	r.mustRun("oxygen", "claim", "storage", "--owner", "other", "--domain", "builder")
}

// TestLeaseWaitRefusalsFailAtOnce: budget and handshake refusals do not wait,
// even with a long --wait.
func TestLeaseWaitRefusalsFailAtOnce(t *testing.T) {
	r := newRepo(t)
	r.mustRun("oxygen", "claim", "storage", "--owner", "builder")
	r.mustRun("oxygen", "claim", "index", "--owner", "builder")

	res := r.oxRunBounded(20*time.Second, "oxygen", "claim", "deployment", "--owner", "builder", "--wait", "60s")
	if res.code != 4 || !strings.Contains(res.stderr, "change budget: builder already holds 2 of 2 leases") {
		t.Fatalf("budget refusal with --wait: exit %d: %s", res.code, res.stderr)
	}
	res = r.oxRunBounded(20*time.Second, "oxygen", "claim", "schema", "--owner", "guardian", "--wait", "60s")
	if res.code != 4 || !strings.Contains(res.stderr, "guardian needs a handshake first") {
		t.Fatalf("handshake refusal with --wait: exit %d: %s", res.code, res.stderr)
	}
	if got := r.query(`SELECT count(*) FROM lease_waiters`); got != "0\n" {
		t.Fatalf("refusals left tickets: %s", got)
	}
	if got := r.query(`SELECT count(*) FROM leases`); got != "2\n" {
		t.Fatalf("refusals changed leases: %s", got)
	}
	// --wait on a free resource is an ordinary grant.
	res = r.oxRunBounded(20*time.Second, "oxygen", "claim", "policy", "--owner", "guardian", "--wait", "60s", "--json")
	if res.code != 0 || parseLease(t, res).Owner != "guardian" {
		t.Fatalf("--wait on a free resource: exit %d: %s", res.code, res.stderr)
	}
}

// ---------------------------------------------------------------------------
// oxygen run

func TestOxygenRunExitStatusAndRelease(t *testing.T) {
	r := newRepo(t)
	res := r.run("oxygen", "run", "storage", "--owner", "builder", "--", "sh", "-c", "echo $OXYGEN_TOKEN $OXYGEN_RESOURCE; exit 7")
	if res.code != 7 {
		t.Fatalf("run: exit %d, want the command's 7\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res.stdout != r.tok(1)+" storage\n" {
		t.Fatalf("the command saw %q, want the token and resource", res.stdout)
	}
	if got := r.query(`SELECT token, state, ended_by FROM leases`); got != r.tok(1)+"\treleased\tbuilder\n" {
		t.Fatalf("lease after run: %q", got)
	}
	// Success exits 0, also released.
	r.mustRun("oxygen", "run", "storage", "--owner", "builder", "--", "true")
	if got := r.query(`SELECT token, state FROM leases ORDER BY id`); got != r.tok(1)+"\treleased\n"+r.tok(2)+"\treleased\n" {
		t.Fatalf("leases after a second run: %q", got)
	}
	// A command killed by a signal: 128+signal, released.
	res = r.run("oxygen", "run", "storage", "--owner", "builder", "--", "sh", "-c", "kill -9 $$")
	if res.code != 137 {
		t.Fatalf("run of a killed command: exit %d, want 137: %s", res.code, res.stderr)
	}
	if got := r.activeOwner("storage"); got != "" {
		t.Fatalf("lease still held by %q after the command died", got)
	}
	// Held by another: exit 3 and the command never runs.
	r.mustRun("oxygen", "claim", "storage", "--owner", "bob", "--domain", "builder")
	res = r.run("oxygen", "run", "storage", "--owner", "builder", "--", "touch", "ran")
	if res.code != 3 || !strings.Contains(res.stderr, "storage is held by bob (builder)") {
		t.Fatalf("run on a held resource: exit %d: %s", res.code, res.stderr)
	}
	if _, err := os.Stat(r.dir + "/ran"); err == nil {
		t.Fatalf("the command ran without the lease")
	}
}

func TestOxygenRunSignalsReleaseTheLease(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			r := newRepo(t)
			p := r.oxStart("oxygen", "run", "storage", "--owner", "builder", "--", "sleep", "60")
			pollUntil(t, "the run holds the lease", func() bool { return r.activeOwner("storage") == "builder" })
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			res := p.wait()
			// oxygen passes SIGTERM on to the command, which then dies of
			// it; the command's status is what oxygen exits with.
			if res.code != 128+int(syscall.SIGTERM) && res.code != 128+int(sig) {
				t.Fatalf("run after %v: exit %d, want %d\n%s", sig, res.code, 128+int(sig), res.stderr)
			}
			if got := r.query(`SELECT state, ended_by FROM leases`); got != "released\tbuilder\n" {
				t.Fatalf("lease after %v: %q", sig, got)
			}
		})
	}
}

// TestOxygenRunRenewsInTheBackground runs a command for twice the lease's
// TTL; the lease is still current when the command checks it at the end.
func TestOxygenRunRenewsInTheBackground(t *testing.T) {
	r := newRepo(t)
	res := r.run("oxygen", "run", "storage", "--owner", "builder", "--ttl", "2s", "--",
		"sh", "-c", "sleep 4; oxygen verify $OXYGEN_RESOURCE --token $OXYGEN_TOKEN")
	if res.code != 0 {
		t.Fatalf("the token was not current after 4s of a 2s lease: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "token "+r.tok(1)+" is the active lease on storage (held by builder)") {
		t.Fatalf("verify output: %s", res.stdout)
	}
	if got := r.query(`SELECT state FROM leases`); got != "released\n" {
		t.Fatalf("lease after run: %q (it must be released, not expired)", got)
	}
	if got := r.query(`SELECT CASE WHEN count(*) > 0 THEN 1 ELSE 0 END FROM audit_log WHERE action = 'lease.renew'`); got != "1\n" {
		t.Fatalf("no renewals recorded")
	}
	if got := r.query(`SELECT count(*) FROM audit_log WHERE action = 'lease.expire'`); got != "0\n" {
		t.Fatalf("the lease expired during the run")
	}
}

// ---------------------------------------------------------------------------
// Handshake message

var handshakeCmd = regexp.MustCompile(`: (orchestrate signal send --kind handshake .*)$`)

// claimAfterHandshake claims schema (scribe's) as owner, runs the command the
// refusal names exactly as printed, and claims again.
func claimAfterHandshake(t *testing.T, r *repo, owner []string) {
	t.Helper()
	args := append([]string{"claim", "schema"}, owner...)
	res := r.oxWant(4, "oxygen", args...)
	m := handshakeCmd.FindStringSubmatch(strings.TrimSpace(res.stderr))
	if m == nil {
		t.Fatalf("no handshake command in %q", res.stderr)
	}
	sh := exec.Command("sh", "-c", m[1])
	sh.Dir, sh.Env = r.dir, append([]string{}, r.env...)
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the printed command %q failed: %v\n%s", m[1], err, out)
	}
	r.mustRun("oxygen", args...)
}

func TestHandshakeCommandRunsVerbatim(t *testing.T) {
	t.Run("owner named like its domain", func(t *testing.T) {
		claimAfterHandshake(t, newRepo(t), []string{"--owner", "builder"})
	})
	t.Run("domain from the agents map", func(t *testing.T) {
		r := newRepo(t)
		cfg := r.dir + "/.substrate/oxygen.yaml"
		src, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		src = bytes.Replace(src, []byte("\nagents: {}\n"), []byte("\nagents: {bob: builder}\n"), 1)
		if err := os.WriteFile(cfg, src, 0o644); err != nil {
			t.Fatal(err)
		}
		claimAfterHandshake(t, r, []string{"--owner", "bob"})
	})
	t.Run("domain from --domain", func(t *testing.T) {
		claimAfterHandshake(t, newRepo(t), []string{"--owner", "bob", "--domain", "builder"})
	})
}

// ---------------------------------------------------------------------------
// Regressions: bugs these tests found, now fixed.

func TestReleaseForcePrintsRevokedLease(t *testing.T) {
	r := newRepo(t)
	r.mustRun("oxygen", "claim", "storage", "--owner", "builder")
	l := parseLease(t, r.mustRun("oxygen", "release", "storage", "--force", "--reason", "stuck", "--owner", "guardian", "--json"))
	if l.Owner != "builder" || l.State != "revoked" || l.EndReason != "stuck" || l.EndedBy != "guardian" {
		t.Fatalf("forced release printed %+v", l)
	}
	r.mustRun("oxygen", "claim", "storage", "--owner", "builder")
	res := r.mustRun("oxygen", "release", "storage", "--force", "--reason", "stuck", "--owner", "guardian")
	if !strings.Contains(res.stdout, "storage  token "+r.tok(2)+"  builder (builder)  revoked") || res.stderr != "" {
		t.Fatalf("forced release (text): %q %q", res.stdout, res.stderr)
	}
}

func TestLeaseZeroTTLIsInvalid(t *testing.T) {
	r := newRepo(t)
	r.oxWant(2, "oxygen", "claim", "storage", "--owner", "builder", "--ttl", "0s")
	r.mustRun("oxygen", "claim", "storage", "--owner", "builder")
	r.oxWant(2, "oxygen", "renew", "storage", "--owner", "builder", "--ttl", "0s")
	r.oxWant(2, "oxygen", "run", "index", "--owner", "builder", "--ttl", "0s", "--", "true")
}

func TestClaimMalformedItemIsInvalid(t *testing.T) {
	r := newRepo(t)
	res := r.oxWant(2, "oxygen", "claim", "storage", "--owner", "builder", "--item", "not an id!")
	if !strings.HasPrefix(res.stderr, "oxygen: invalid: ") {
		t.Fatalf("stderr: %s", res.stderr)
	}
}
