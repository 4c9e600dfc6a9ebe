//go:build linux

package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// Process tests for `oxygen run` and `orchestrate done --timeout` (issue 9,
// point 13): a command never runs unleased, and nothing a command starts
// outlives the lease or the time limit. They read processes from /proc, so
// they run on Linux. Like the lease tests they assert what happened, in
// order, and wait for events only with the generous `patience`.

// runDoc is the part of `oxygen run --json` the tests read.
type runDoc struct {
	Lease      oxLease  `json:"lease"`
	HeldBefore bool     `json:"held_before"`
	Released   bool     `json:"released"`
	Command    []string `json:"command"`
	PID        int      `json:"pid"`
	ExitCode   int      `json:"exit_code"`
	Signal     string   `json:"signal"`
	Killed     string   `json:"killed"`
}

// parseRun reads stdout as exactly one JSON document: the run's, or with
// lost set, the error document that carries it in its details.
func parseRun(t testing.TB, res result, lost bool) runDoc {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(res.stdout))
	var doc runDoc
	var target any = &doc
	var errDoc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details runDoc `json:"details"`
		} `json:"error"`
	}
	if lost {
		target = &errDoc
	}
	if err := dec.Decode(target); err != nil || dec.More() {
		t.Fatalf("stdout is not one JSON document (%v):\n%s\nstderr: %s", err, res.stdout, res.stderr)
	}
	if lost {
		if errDoc.Error.Code != "conflict" {
			t.Fatalf("error document: %s", res.stdout)
		}
		return errDoc.Error.Details
	}
	return doc
}

// running reports whether pid is a live (not zombie) process named comm.
func running(pid int, comm string) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || len(s) < end+3 {
		return false
	}
	return s[open+1:end] == comm && s[end+2] != 'Z'
}

// pidFile waits until the command has written its pid to name, and makes
// sure the test leaves no such process behind.
func (r *repo) pidFile(name string) int {
	r.t.Helper()
	var pid int
	pollUntil(r.t, name+" is written", func() bool {
		b, err := os.ReadFile(filepath.Join(r.dir, name))
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	r.t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// TestOxygenRunHoldsTheLeaseForBackgroundJobs: the command's shell exits at
// once, leaving a job in the background. The lease stays held until that job
// is gone, and only then is it released.
func TestOxygenRunHoldsTheLeaseForBackgroundJobs(t *testing.T) {
	r := newRepo(t)
	p := r.oxStart("oxygen", "run", "storage", "--owner", "builder", "--ttl", "3s", "--json", "--",
		"sh", "-c", "echo $$ > sh.pid; sleep 600 & echo $! > bg.pid")
	sh, bg := r.pidFile("sh.pid"), r.pidFile("bg.pid")
	pollUntil(t, "the command's shell has exited", func() bool { return !running(sh, "sh") })
	// Two renewals later the background job still keeps it held.
	renewals := func() string { return r.query(`SELECT count(*) FROM audit_log WHERE action = 'lease.renew'`) }
	before := renewals()
	pollUntil(t, "two renewals", func() bool {
		n, _ := strconv.Atoi(strings.TrimSpace(renewals()))
		m, _ := strconv.Atoi(strings.TrimSpace(before))
		return n >= m+2
	})
	for i := 0; i < 3; i++ {
		res := r.oxWant(3, "oxygen", "claim", "storage", "--owner", "bob", "--domain", "builder")
		if !strings.Contains(res.stderr, "storage is held by builder (builder), token "+r.tok(1)) {
			t.Fatalf("claim while the background job runs: %s", res.stderr)
		}
		r.mustRun("oxygen", "verify", "storage", "--token", r.tok(1))
	}
	if p.exited() || !running(bg, "sleep") {
		t.Fatalf("run ended while its background job ran: %+v", p.res)
	}
	if err := syscall.Kill(bg, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	res := p.wait()
	if res.code != 0 {
		t.Fatalf("run: exit %d, want the shell's 0\n%s", res.code, res.stderr)
	}
	doc := parseRun(t, res, false)
	if !doc.Released || doc.HeldBefore || doc.Lease.State != "released" || strconv.FormatInt(doc.Lease.Token, 10) != r.tok(1) || doc.ExitCode != 0 || doc.PID != sh {
		t.Fatalf("run document: %+v", doc)
	}
	if got := r.query(`SELECT token, state, ended_by FROM leases`); got != r.tok(1)+"\treleased\tbuilder\n" {
		t.Fatalf("leases: %q", got)
	}
}

// TestOxygenRunGracePeriodThenKill is the reported fault: a command that
// ignores SIGTERM ran on after the wrapper stopped renewing, and another
// owner was granted the resource. Now the wrapper passes TERM on, keeps
// renewing through the grace period, kills the whole group, and releases
// only then. The command checks its own token all along and logs any moment
// it ran unleased; a waiter queued meanwhile is granted the lease only
// after the command is gone.
func TestOxygenRunGracePeriodThenKill(t *testing.T) {
	r := newRepo(t)
	p := r.oxStart("oxygen", "run", "storage", "--owner", "builder", "--ttl", "6s", "--grace", "3s", "--json", "--",
		"sh", "-c", `trap "" TERM INT
echo $$ > sh.pid
sleep 600 & echo $! > bg.pid
while :; do oxygen verify storage --token "$OXYGEN_TOKEN" >/dev/null 2>&1 || echo "unleased" >> unleased.log; sleep 0.2; done`)
	sh, bg := r.pidFile("sh.pid"), r.pidFile("bg.pid")
	bob := r.oxStart("oxygen", "claim", "storage", "--owner", "bob", "--domain", "builder", "--wait", "60s", "--json")
	pollUntil(t, "bob is queued", func() bool { return r.waiters("storage") == "bob\n" })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	res := p.wait()
	if res.code != 128+int(syscall.SIGKILL) {
		t.Fatalf("run: exit %d, want 137 (the shell killed after the grace period)\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "oxygen: warning: the command outlived the 3s grace period; killing it and everything it started") {
		t.Fatalf("stderr: %s", res.stderr)
	}
	doc := parseRun(t, res, false)
	if doc.Killed != "grace_period" || doc.Signal != "SIGKILL" || !doc.Released || doc.Lease.State != "released" {
		t.Fatalf("run document: %+v", doc)
	}
	if running(sh, "sh") || running(bg, "sleep") {
		t.Fatalf("the command's processes outlived the run")
	}
	rb := bob.wait()
	if rb.code != 0 || strconv.FormatInt(parseLease(t, rb).Token, 10) != r.tok(2) {
		t.Fatalf("bob's claim: exit %d: %s%s", rb.code, rb.stdout, rb.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(r.dir, "unleased.log")); err == nil {
		t.Fatalf("the command ran unleased:\n%s", b)
	}
	if got := r.query(`SELECT owner, token, state FROM leases ORDER BY id`); got != "builder\t"+r.tok(1)+"\treleased\nbob\t"+r.tok(2)+"\tactive\n" {
		t.Fatalf("leases: %q", got)
	}
	if got := r.query(`SELECT count(*) FROM audit_log WHERE action = 'lease.expire'`); got != "0\n" {
		t.Fatalf("the lease expired during the grace period")
	}
}

// TestOxygenRunForwardsSignalsToTheGroup: TERM, INT and HUP reach the whole
// group: both ends of the command's pipeline, not only its shell.
func TestOxygenRunForwardsSignalsToTheGroup(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			r := newRepo(t)
			p := r.oxStart("oxygen", "run", "storage", "--owner", "builder", "--json", "--",
				"sh", "-c", `sh -c 'echo $$ > a.pid; exec sleep 600' | sh -c 'echo $$ > b.pid; exec sleep 601'`)
			a, b := r.pidFile("a.pid"), r.pidFile("b.pid")
			pollUntil(t, "both ends of the pipeline run", func() bool { return running(a, "sleep") && running(b, "sleep") })
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			res := p.wait()
			if running(a, "sleep") || running(b, "sleep") {
				t.Fatalf("the pipeline outlived the run")
			}
			doc := parseRun(t, res, false)
			if res.code != 128+int(sig) || doc.Killed != "" || !doc.Released {
				t.Fatalf("run after %v: exit %d, %+v\n%s", sig, res.code, doc, res.stderr)
			}
		})
	}
}

// TestOxygenRunLostLeaseKillsTheGroup: once the lease is revoked or lapses,
// the command and its background jobs are killed and run exits non-zero,
// naming the lost lease. It releases nothing.
func TestOxygenRunLostLeaseKillsTheGroup(t *testing.T) {
	cases := []struct {
		name, lose, want string
		state            string
	}{
		{"revoked", "", `token \d+ on storage was revoked by guardian at \S+: stuck`, "revoked"},
		{"lapsed", `UPDATE leases SET expires_at = created_at + 1`, `token \d+ on storage expired at \S+`, "active"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRepo(t)
			p := r.oxStart("oxygen", "run", "storage", "--owner", "builder", "--ttl", "3s", "--json", "--",
				"sh", "-c", "echo $$ > sh.pid; sleep 600 & echo $! > bg.pid; wait")
			sh, bg := r.pidFile("sh.pid"), r.pidFile("bg.pid")
			if c.lose == "" {
				r.mustRun("oxygen", "release", "storage", "--force", "--reason", "stuck", "--owner", "guardian", "--json")
			} else {
				r.sqlExec(c.lose)
			}
			res := p.wait()
			if res.code != 3 {
				t.Fatalf("run: exit %d, want 3\n%s", res.code, res.stderr)
			}
			if !regexp.MustCompile(`\Aoxygen: conflict: lost the lease on storage \(token ` + r.tok(1) + `\): ` + c.want + `; the command and everything it started were killed\n\z`).MatchString(res.stderr) {
				t.Fatalf("stderr: %q", res.stderr)
			}
			doc := parseRun(t, res, true)
			if doc.Killed != "lease_lost" || doc.Signal != "SIGKILL" || doc.Released || strconv.FormatInt(doc.Lease.Token, 10) != r.tok(1) {
				t.Fatalf("run document: %+v", doc)
			}
			if running(sh, "sh") || running(bg, "sleep") {
				t.Fatalf("the command's processes outlived the lost lease")
			}
			if got := r.query(`SELECT token, state FROM leases`); got != r.tok(1)+"\t"+c.state+"\n" {
				t.Fatalf("leases: %q", got)
			}
		})
	}
}

// TestOxygenRunKeepsALeaseHeldBefore: run under a lease the owner already
// held leaves it held, with its expiry, token and all, whatever the command
// does.
func TestOxygenRunKeepsALeaseHeldBefore(t *testing.T) {
	r := newRepo(t)
	l := parseLease(t, r.mustRun("oxygen", "claim", "storage", "--owner", "builder", "--ttl", "30m", "--json"))
	expires := r.query(`SELECT expires_at FROM leases`)
	held := func() {
		t.Helper()
		if got := r.query(`SELECT token, state FROM leases`); got != r.tok(1)+"\tactive\n" {
			t.Fatalf("leases: %q", got)
		}
		if got := r.query(`SELECT expires_at FROM leases`); got != expires {
			t.Fatalf("the 30m lease's expiry moved from %s to %s", expires, got)
		}
	}
	r.mustRun("oxygen", "run", "storage", "--owner", "builder", "--", "true")
	held()
	res := r.run("oxygen", "run", "storage", "--owner", "builder", "--json", "--", "sh", "-c", "exit 5")
	held()
	doc := parseRun(t, res, false)
	if res.code != 5 || !doc.HeldBefore || doc.Released || doc.Lease.State != "active" || doc.Lease.Token != l.Token {
		t.Fatalf("run: exit %d, %+v", res.code, doc)
	}
}

// TestOxygenRunJSON: --json prints one document about the lease and the
// command's exit, and nothing else on stdout: the command's own output goes
// to stderr. The exit status is still the command's.
func TestOxygenRunJSON(t *testing.T) {
	r := newRepo(t)
	res := r.run("oxygen", "run", "storage", "--owner", "builder", "--json", "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7")
	if res.code != 7 {
		t.Fatalf("exit %d, want 7: %s", res.code, res.stderr)
	}
	if res.stderr != "to-stdout\nto-stderr\n" {
		t.Fatalf("stderr: %q", res.stderr)
	}
	doc := parseRun(t, res, false)
	token, _ := strconv.ParseInt(r.tok(1), 10, 64)
	want := runDoc{Lease: oxLease{Resource: "storage", Owner: "builder", Domain: "builder", Token: token, State: "released", EndReason: "released", EndedBy: "builder"},
		Released: true, Command: []string{"sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"}, PID: doc.PID, ExitCode: 7}
	want.Lease.CreatedAt, want.Lease.ExpiresAt = doc.Lease.CreatedAt, doc.Lease.ExpiresAt // times are not under test
	if doc.PID <= 0 || !equalJSON(t, doc, want) {
		t.Fatalf("run document:\n%+v\nwant\n%+v", doc, want)
	}
	res = r.run("oxygen", "run", "storage", "--owner", "builder", "--json", "--", "sh", "-c", "kill -9 $$")
	if doc := parseRun(t, res, false); res.code != 137 || doc.ExitCode != 137 || doc.Signal != "SIGKILL" || doc.Killed != "" {
		t.Fatalf("a command killed by a signal: exit %d, %+v", res.code, doc)
	}
}

// TestOxygenRunWrapperKilled documents what SIGKILL does to the wrapper: the
// command it started dies with it, and the lease ends at its TTL.
func TestOxygenRunWrapperKilled(t *testing.T) {
	r := newRepo(t)
	p := r.oxStart("oxygen", "run", "storage", "--owner", "builder", "--ttl", "2s", "--", "sh", "-c", "echo $$ > sh.pid; exec sleep 600")
	sh := r.pidFile("sh.pid")
	p.cmd.Process.Kill()
	p.wait()
	pollUntil(t, "the command dies with the wrapper", func() bool { return !running(sh, "sleep") })
	pollUntil(t, "the lease runs out", func() bool {
		return r.run("oxygen", "claim", "storage", "--owner", "bob", "--domain", "builder").code == 0
	})
	if got := r.query(`SELECT owner, state, end_reason FROM leases ORDER BY id`); got != "builder\texpired\tttl elapsed\nbob\tactive\tNULL\n" {
		t.Fatalf("leases: %q", got)
	}
}

// TestDoneTimeoutKillsTheWholeTree: `orchestrate done --timeout` stops
// everything a verification command started, including a process that left
// the group with setsid. What the command leaves running when its shell
// exits is killed too, instead of holding its output open.
func TestDoneTimeoutKillsTheWholeTree(t *testing.T) {
	cases := []struct {
		name, command string
		code          int
	}{
		{"setsid in the background", "setsid sleep 25 & echo $! > bg.pid", 0},
		{"setsid, waited for", "setsid sleep 25 & echo $! > bg.pid; wait", 4},
		{"background job, waited for", "sleep 25 & echo $! > bg.pid; wait", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRepo(t)
			r.mustRun("orchestrate", "add", "T1", "--title", "t", "--kind", "chore", "--domain", "builder", "--priority", "high", "--objective", "o", "--command", c.command)
			r.mustRun("orchestrate", "assign", "T1", "--owner", "builder")
			res := r.run("orchestrate", "done", "T1", "--by", "builder", "--timeout", "3s")
			if res.code != c.code {
				t.Fatalf("done: exit %d, want %d\n%s%s", res.code, c.code, res.stdout, res.stderr)
			}
			if c.code == 4 && !strings.Contains(res.stderr, "timed out after 3s") {
				t.Fatalf("stderr: %s", res.stderr)
			}
			if bg := r.pidFile("bg.pid"); running(bg, "sleep") {
				t.Fatalf("the command's sleep %d outlived done", bg)
			}
		})
	}
}

// equalJSON compares two values by their JSON.
func equalJSON(t testing.TB, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

var errNoPTY = errors.New("no pty")

// openPTY opens a pseudo-terminal pair, the way a terminal emulator does.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, errNoPTY
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		master.Close()
		return nil, nil, e
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		master.Close()
		return nil, nil, e
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// TestOxygenRunOnATerminal: in a terminal the command's group takes the
// terminal over, so it can read from it; ^Z does not leave it stopped (the
// wrapper continues it, since a suspended wrapper could not renew); and the
// terminal is handed back afterwards, so the script that called oxygen can
// read from it again.
func TestOxygenRunOnATerminal(t *testing.T) {
	r := newRepo(t)
	master, slave, err := openPTY()
	if errors.Is(err, errNoPTY) {
		t.Skip("no /dev/ptmx")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	go func() { // drain the echo
		buf := make([]byte, 4096)
		for {
			if _, err := master.Read(buf); err != nil {
				return
			}
		}
	}()
	script := `oxygen run storage --owner builder -- sh -c 'echo ready > ready.txt; read line; echo "got $line" > got.txt'
echo "run exited $?" > run.txt
read after; echo "after $after" > after.txt`
	cmd := r.command("sh", "-c", script)
	cmd.Path = "/bin/sh"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	// Written: the shell creates the file before echo fills it, so an
	// empty file is not written yet.
	exists := func(name string) func() bool {
		return func() bool { fi, err := os.Stat(filepath.Join(r.dir, name)); return err == nil && fi.Size() > 0 }
	}
	pollUntil(t, "the command is ready", exists("ready.txt"))
	master.Write([]byte("\x1a")) // ^Z
	master.Write([]byte("hello\n"))
	pollUntil(t, "the command read from the terminal", exists("run.txt"))
	master.Write([]byte("again\n"))
	pollUntil(t, "the calling script read from the terminal", exists("after.txt"))
	for name, want := range map[string]string{"got.txt": "got hello\n", "run.txt": "run exited 0\n", "after.txt": "after again\n"} {
		if b, _ := os.ReadFile(filepath.Join(r.dir, name)); string(b) != want {
			t.Fatalf("%s = %q, want %q", name, b, want)
		}
	}
	if got := r.query(`SELECT state FROM leases`); got != "released\n" {
		t.Fatalf("lease: %q", got)
	}
}
