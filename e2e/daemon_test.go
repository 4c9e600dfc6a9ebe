package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process tests for `orchestrate daemon` and `orchestrate jobs` (issue 5,
// section 1). They wait for outcomes in the store, never for durations: the
// deadline below only stops a hung test.

// dmnPatience bounds every wait for the daemon. Reaching it means something
// hangs, not that something is slow.
const dmnPatience = 30 * time.Second

// dmnBuffer is a bytes.Buffer safe to read while a process writes to it.
type dmnBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *dmnBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *dmnBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// dmnProc is a daemon running in the background.
type dmnProc struct {
	cmd    *exec.Cmd
	stderr *dmnBuffer
	done   chan struct{}
	code   int // valid once done is closed
}

// dmnStart starts `orchestrate daemon ARGS...` with extra environment.
func dmnStart(t *testing.T, r *repo, env []string, args ...string) *dmnProc {
	t.Helper()
	cmd := r.command("orchestrate", append([]string{"daemon"}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	p := &dmnProc{cmd: cmd, stderr: &dmnBuffer{}, done: make(chan struct{})}
	cmd.Stdout = &dmnBuffer{}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		p.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = -int(ws.Signal())
			}
		} else if err != nil {
			p.code = -1000
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *dmnProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit and returns its exit status.
func (p *dmnProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(dmnPatience):
		t.Fatalf("daemon pid %d did not exit\nstderr:\n%s", p.cmd.Process.Pid, p.stderr.String())
		return 0
	}
}

// dmnWaitFor polls cond until it holds; it fails the test if the daemon p
// (when given) exits first or the patience runs out.
func dmnWaitFor(t *testing.T, p *dmnProc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(dmnPatience)
	for !cond() {
		if p != nil && p.exited() {
			t.Fatalf("daemon exited (status %d) before %s\nstderr:\n%s", p.code, what, p.stderr.String())
		}
		if time.Now().After(deadline) {
			msg := ""
			if p != nil {
				msg = p.stderr.String()
			}
			t.Fatalf("timed out waiting until %s\nstderr:\n%s", what, msg)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// dmnWaitRunning waits until p holds the daemon row.
func dmnWaitRunning(t *testing.T, r *repo, p *dmnProc) {
	t.Helper()
	want := strconv.Itoa(p.cmd.Process.Pid)
	dmnWaitFor(t, p, "the daemon holds the daemon row", func() bool {
		return strings.TrimSpace(r.query(`SELECT pid FROM daemon WHERE id = 1`)) == want
	})
}

// dmnExec runs a statement against the repository's store.
func dmnExec(t *testing.T, r *repo, q string, args ...any) {
	t.Helper()
	if err := storeExec(r.dir, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// dmnSetJobs rewrites the jobs: section of the config, keeping the rest.
func dmnSetJobs(t *testing.T, r *repo, expire, audit string) {
	t.Helper()
	path := filepath.Join(r.dir, ".substrate/oxygen.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The jobs: section init writes runs to the next blank line (the
	// store: block with the repository id follows it).
	i := bytes.Index(data, []byte("\njobs:\n"))
	if i < 0 {
		t.Fatalf("the config has no jobs: section:\n%s", data)
	}
	end := len(data)
	if n := bytes.Index(data[i+1:], []byte("\n\n")); n >= 0 {
		end = i + 1 + n + 1
	}
	jobs := fmt.Sprintf("jobs:\n  expire-leases: %q\n  audit: %q\n", expire, audit)
	data = append(append(append([]byte{}, data[:i+1]...), jobs...), data[end:]...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dmnMatch reports whether the regular expression re matches s.
func dmnMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

func dmnHostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDaemonRunsJobs starts the daemon on a one- and two-second schedule and
// waits for it to sweep an expired lease and write an audit report, then
// stops it with SIGTERM.
func TestDaemonRunsJobs(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	dmnSetJobs(t, r, "@every 1s", "@every 2s")
	p := dmnStart(t, r, nil, "--log-format", "json")
	dmnWaitRunning(t, r, p)

	claim := r.mustRun("oxygen", "claim", "schema", "--owner", "scribe", "--ttl", "1s", "--json")
	var lease struct {
		Token int64 `json:"token"`
	}
	if err := json.Unmarshal([]byte(claim.stdout), &lease); err != nil || lease.Token == 0 {
		t.Fatalf("claim --json: %v\n%s", err, claim.stdout)
	}
	token := strconv.FormatInt(lease.Token, 10)

	dmnWaitFor(t, p, "expire-leases swept the lease", func() bool {
		return strings.TrimSpace(r.query(`SELECT state FROM leases WHERE token = `+token)) == "expired"
	})
	dmnWaitFor(t, p, "an audit report exists", func() bool {
		files, _ := filepath.Glob(filepath.Join(r.dir, ".substrate/reports/audit-*.json"))
		return len(files) > 0 && strings.TrimSpace(r.query(`SELECT count(*) FROM job_runs WHERE name = 'audit' AND outcome = 'ok'`)) != "0"
	})

	// The sweep was done by the daemon's job, recorded as a scheduled run.
	runs := r.query(`SELECT name, trigger, outcome, summary, CASE WHEN finished_at >= started_at THEN 1 ELSE 0 END FROM job_runs WHERE outcome <> 'running' ORDER BY id`)
	if !strings.Contains(runs, "expire-leases\tschedule\tok\texpired 1 lease(s)\t1\n") {
		t.Fatalf("no scheduled expire-leases run swept the lease:\n%s", runs)
	}
	if !dmnMatch(`(?m)^audit\tschedule\tok\t\.substrate/reports/audit-\d{8}-\d{6}(-\d+)?\.md: \d+ finding\(s\)\t1$`, runs) {
		t.Fatalf("no scheduled audit run recorded its report:\n%s", runs)
	}
	// Every recorded report of the audit job exists on disk, both files.
	for _, line := range strings.Split(strings.TrimSpace(r.query(`SELECT path FROM reports`)), "\n") {
		for _, f := range []string{line, strings.TrimSuffix(line, ".md") + ".json"} {
			if _, err := os.Stat(filepath.Join(r.dir, f)); err != nil {
				t.Fatalf("report file: %v", err)
			}
		}
	}
	// Every run of the daemon's jobs is a scheduled one.
	if got := r.query(`SELECT count(*) FROM job_runs WHERE trigger <> 'schedule'`); strings.TrimSpace(got) != "0" {
		t.Fatalf("%s job runs are not scheduled ones", got)
	}

	// SIGTERM: the daemon stops, exits 0 and gives up its row.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("daemon exited %d after SIGTERM, want 0\nstderr:\n%s", code, p.stderr.String())
	}
	if got := r.query(`SELECT count(*) FROM daemon`); strings.TrimSpace(got) != "0" {
		t.Fatalf("the daemon row outlived the daemon: %s", got)
	}
	if got := r.query(`SELECT count(*) FROM job_runs WHERE outcome = 'running'`); strings.TrimSpace(got) != "0" {
		t.Fatalf("%s job runs are still 'running' after the daemon stopped", got)
	}
	pid := strconv.Itoa(p.cmd.Process.Pid)
	events := r.query(`SELECT action, json_extract(payload, '$.pid') FROM audit_log WHERE action LIKE 'daemon.%' ORDER BY seq`)
	if events != "daemon.start\t"+pid+"\ndaemon.stop\t"+pid+"\n" {
		t.Fatalf("daemon audit events:\n%s", events)
	}

	// The log is JSON, one object a line, naming the jobs it ran.
	jobsSeen := map[string]bool{}
	msgs := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Fatalf("log line has no %q: %s", k, line)
			}
		}
		msg, _ := rec["msg"].(string)
		msgs[msg] = true
		if job, ok := rec["job"].(string); ok && msg == "job finished" {
			jobsSeen[job] = true
			if rec["outcome"] != "ok" {
				t.Fatalf("job finished with outcome %v: %s", rec["outcome"], line)
			}
		}
	}
	if !jobsSeen["expire-leases"] || !jobsSeen["audit"] {
		t.Fatalf("the log does not show both jobs finishing: %v\n%s", jobsSeen, p.stderr.String())
	}
	for _, m := range []string{"daemon started", "daemon stopped"} {
		if !msgs[m] {
			t.Fatalf("the log has no %q line:\n%s", m, p.stderr.String())
		}
	}
}

// TestDaemonTextLog: the default log format is slog's text format.
func TestDaemonTextLog(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	p := dmnStart(t, r, nil)
	dmnWaitRunning(t, r, p)
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("daemon exited %d after SIGINT, want 0\nstderr:\n%s", code, p.stderr.String())
	}
	log := p.stderr.String()
	for _, want := range []string{`level=INFO msg="job scheduled" job=expire-leases schedule="@every 1m"`, `msg="job scheduled" job=audit schedule=@hourly`, `msg="daemon started"`, `msg="daemon stopped"`} {
		if !strings.Contains(log, want) {
			t.Fatalf("text log lacks %q:\n%s", want, log)
		}
	}
	if strings.TrimSpace(r.query(`SELECT count(*) FROM daemon`)) != "0" {
		t.Fatal("the daemon row outlived the daemon")
	}
	// An unknown log format is a usage error.
	if res := r.run("orchestrate", "daemon", "--log-format", "xml"); res.code != 2 {
		t.Fatalf("--log-format xml: exit %d, want 2\n%s", res.code, res.stderr)
	}
}

// TestDaemonSingleInstance: a second daemon is refused while the first
// lives, and a crashed one blocks for no longer than its heartbeat TTL (at
// once when its process is gone from this host).
func TestDaemonSingleInstance(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	host := dmnHostname(t)
	first := dmnStart(t, r, nil)
	dmnWaitRunning(t, r, first)

	var st struct {
		Daemon *struct {
			PID   int    `json:"pid"`
			Host  string `json:"host"`
			Since string `json:"since"`
			Live  bool   `json:"live"`
		} `json:"daemon"`
	}
	res := r.mustRun("orchestrate", "jobs", "--json")
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil || st.Daemon == nil {
		t.Fatalf("jobs --json: %v\n%s", err, res.stdout)
	}
	if st.Daemon.PID != first.cmd.Process.Pid || st.Daemon.Host != host || !st.Daemon.Live || st.Daemon.Since == "" {
		t.Fatalf("jobs --json daemon = %+v, want pid %d on %s, live", *st.Daemon, first.cmd.Process.Pid, host)
	}
	text := r.mustRun("orchestrate", "jobs").stdout
	if want := fmt.Sprintf("daemon: running, pid %d on %s since %s\n", first.cmd.Process.Pid, host, st.Daemon.Since); !strings.HasPrefix(text, want) {
		t.Fatalf("jobs text starts %q, want %q", text, want)
	}

	// A second daemon exits 3 and names the first: pid, host, since when.
	second := r.run("orchestrate", "daemon")
	if second.code != 3 {
		t.Fatalf("second daemon: exit %d, want 3\n%s", second.code, second.stderr)
	}
	want := fmt.Sprintf("orchestrate: conflict: a daemon is already running for this repository: pid %d on %s since %s", first.cmd.Process.Pid, host, st.Daemon.Since)
	if !strings.HasPrefix(second.stderr, want) {
		t.Fatalf("second daemon's stderr:\n%s\nwant it to start with:\n%s", second.stderr, want)
	}
	if strings.TrimSpace(r.query(`SELECT pid FROM daemon`)) != strconv.Itoa(first.cmd.Process.Pid) {
		t.Fatal("the refused daemon took the row")
	}

	// The first crashes (SIGKILL): its row stays, but its pid is dead on
	// this host, so a new daemon starts at once.
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.wait(t)
	if strings.TrimSpace(r.query(`SELECT pid FROM daemon`)) != strconv.Itoa(first.cmd.Process.Pid) {
		t.Fatal("a killed daemon cannot remove its row; the test expects it to remain")
	}
	res = r.mustRun("orchestrate", "jobs", "--json")
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil || st.Daemon == nil || st.Daemon.Live {
		t.Fatalf("jobs --json after the crash should show a dead daemon: %v\n%s", err, res.stdout)
	}
	if text := r.mustRun("orchestrate", "jobs").stdout; !strings.HasPrefix(text, fmt.Sprintf("daemon: not running (pid %d on %s stopped beating at ", first.cmd.Process.Pid, host)) {
		t.Fatalf("jobs text after the crash:\n%s", text)
	}
	third := dmnStart(t, r, nil)
	dmnWaitRunning(t, r, third)
	replaced := r.query(`SELECT json_extract(payload, '$.replaced.pid'), json_extract(payload, '$.replaced.host') FROM audit_log WHERE action = 'daemon.start' ORDER BY seq DESC LIMIT 1`)
	if replaced != fmt.Sprintf("%d\t%s\n", first.cmd.Process.Pid, host) {
		t.Fatalf("daemon.start should record the crashed daemon it replaced; got %q", replaced)
	}
	if err := third.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := third.wait(t); code != 0 {
		t.Fatalf("daemon exited %d after SIGTERM\n%s", code, third.stderr.String())
	}

	// A live process on this host with a fresh heartbeat holds the row
	// (here the test process itself stands in for a daemon).
	nowMS := time.Now().UnixMilli()
	dmnExec(t, r, `INSERT INTO daemon (id, pid, host, started_at, heartbeat_at) VALUES (1, ?, ?, ?, ?)`, os.Getpid(), host, nowMS, nowMS)
	if res := r.run("orchestrate", "daemon"); res.code != 3 || !strings.Contains(res.stderr, fmt.Sprintf("pid %d on %s since ", os.Getpid(), host)) {
		t.Fatalf("daemon beside a live one on this host: exit %d, want 3\n%s", res.code, res.stderr)
	}

	// Another host: its pid cannot be checked, so only the heartbeat TTL
	// (20s) counts. The clock of the new daemon is pinned with OXYGEN_NOW,
	// after the events the daemons above wrote in real time (a transaction's
	// time never goes back before the newest event's).
	beat := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	dmnExec(t, r, `UPDATE daemon SET pid = 4242, host = 'elsewhere.example', started_at = ?, heartbeat_at = ?`,
		beat.Add(-time.Hour).UnixMilli(), beat.UnixMilli())
	fresh := r.runEnv([]string{"OXYGEN_NOW=" + beat.Add(19*time.Second).Format(time.RFC3339)}, "orchestrate", "daemon")
	if fresh.code != 3 {
		t.Fatalf("daemon while another host's heartbeat is 19s old: exit %d, want 3\n%s", fresh.code, fresh.stderr)
	}
	if want := "pid 4242 on elsewhere.example since " + beat.Add(-time.Hour).Format(time.RFC3339); !strings.Contains(fresh.stderr, want) {
		t.Fatalf("refusal does not name the other daemon (%q):\n%s", want, fresh.stderr)
	}
	stale := dmnStart(t, r, []string{"OXYGEN_NOW=" + beat.Add(21*time.Second).Format(time.RFC3339)})
	dmnWaitRunning(t, r, stale)
	replaced = r.query(`SELECT json_extract(payload, '$.replaced.pid'), json_extract(payload, '$.replaced.host') FROM audit_log WHERE action = 'daemon.start' ORDER BY seq DESC LIMIT 1`)
	if replaced != "4242\telsewhere.example\n" {
		t.Fatalf("daemon.start should record the stale daemon it replaced; got %q", replaced)
	}
	if err := stale.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := stale.wait(t); code != 0 {
		t.Fatalf("daemon exited %d after SIGTERM\n%s", code, stale.stderr.String())
	}
	if strings.TrimSpace(r.query(`SELECT count(*) FROM daemon`)) != "0" {
		t.Fatal("the daemon row outlived the daemon")
	}
}

// TestJobsListAndRun: `orchestrate jobs` lists each job; `jobs run NAME`
// runs one now and records it as a manual run.
func TestJobsListAndRun(t *testing.T) {
	t.Parallel()
	// A fresh store whose jobs have not run yet: not overdue at first.
	r := newRepoAt(t, "2026-04-01T08:00:00Z")

	type jobRun struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		Trigger    string `json:"trigger"`
		StartedAt  string `json:"started_at"`
		FinishedAt string `json:"finished_at"`
		Outcome    string `json:"outcome"`
		Summary    string `json:"summary"`
	}
	type jobStatus struct {
		Name        string  `json:"name"`
		Schedule    string  `json:"schedule"`
		LastRun     *jobRun `json:"last_run"`
		LastSuccess *string `json:"last_success"`
		NextRun     *string `json:"next_run"`
		Overdue     bool    `json:"overdue"`
		Note        string  `json:"note"`
	}
	list := func(now string) ([]jobStatus, map[string]json.RawMessage) {
		t.Helper()
		res := r.runEnv([]string{"OXYGEN_NOW=" + now}, "orchestrate", "jobs", "--json")
		if res.code != 0 {
			t.Fatalf("jobs --json: exit %d\n%s", res.code, res.stderr)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(res.stdout), &top); err != nil {
			t.Fatalf("jobs --json: %v\n%s", err, res.stdout)
		}
		var jobs []jobStatus
		if err := json.Unmarshal(top["jobs"], &jobs); err != nil {
			t.Fatalf("jobs --json jobs: %v\n%s", err, res.stdout)
		}
		// Exactly these keys, for the top and for every job.
		if len(top) != 2 || top["daemon"] == nil {
			t.Fatalf("jobs --json keys: want daemon and jobs\n%s", res.stdout)
		}
		var raw []map[string]json.RawMessage
		json.Unmarshal(top["jobs"], &raw)
		for _, j := range raw {
			for _, k := range []string{"name", "schedule", "last_run", "last_success", "next_run", "overdue", "note"} {
				if _, ok := j[k]; !ok {
					t.Fatalf("a job lacks %q:\n%s", k, res.stdout)
				}
			}
			if len(j) != 7 {
				t.Fatalf("a job has keys beyond the seven:\n%s", res.stdout)
			}
		}
		return jobs, top
	}

	jobs, top := list("2026-04-01T08:00:30Z")
	if string(top["daemon"]) != "null" {
		t.Fatalf("no daemon ran, want daemon null; got %s", top["daemon"])
	}
	if len(jobs) != 3 || jobs[0].Name != "expire-leases" || jobs[1].Name != "audit" || jobs[2].Name != "audit-full" {
		t.Fatalf("jobs: %+v", jobs)
	}
	if jobs[0].Schedule != "@every 1m" || jobs[1].Schedule != "@hourly" || jobs[2].Schedule != "@daily" {
		t.Fatalf("schedules: %q %q %q", jobs[0].Schedule, jobs[1].Schedule, jobs[2].Schedule)
	}
	for _, j := range jobs {
		if j.LastRun != nil || j.LastSuccess != nil || j.Overdue || j.Note != "" {
			t.Fatalf("a job that never ran, within its interval: %+v", j)
		}
	}
	if jobs[0].NextRun == nil || *jobs[0].NextRun != "2026-04-01T08:01:30Z" {
		t.Fatalf("expire-leases next run: %v, want 2026-04-01T08:01:30Z", jobs[0].NextRun)
	}
	if jobs[1].NextRun == nil || *jobs[1].NextRun != "2026-04-01T09:00:00Z" {
		t.Fatalf("audit next run: %v, want 2026-04-01T09:00:00Z", jobs[1].NextRun)
	}
	text := r.runEnv([]string{"OXYGEN_NOW=2026-04-01T08:00:30Z"}, "orchestrate", "jobs")
	if text.code != 0 || !strings.HasPrefix(text.stdout, "daemon: not running\n") {
		t.Fatalf("jobs text:\n%s%s", text.stdout, text.stderr)
	}
	for _, col := range []string{"JOB", "SCHEDULE", "LAST RUN", "OUTCOME", "NEXT RUN", "NOTE"} {
		if !strings.Contains(text.stdout, col) {
			t.Fatalf("jobs text has no %s column:\n%s", col, text.stdout)
		}
	}
	if !dmnMatch(`(?m)^expire-leases\s+@every 1m\s+-\s+-\s+2026-04-01T08:01:30Z\s*$`, text.stdout) {
		t.Fatalf("jobs text row for expire-leases:\n%s", text.stdout)
	}

	// Twice the interval without a successful run: overdue.
	jobs, _ = list("2026-04-01T08:02:01Z")
	if !jobs[0].Overdue || !strings.Contains(jobs[0].Note, "never ran successfully since the store was created at 2026-04-01T08:00:00Z (runs every 1m)") {
		t.Fatalf("expire-leases should be overdue: %+v", jobs[0])
	}
	if jobs[1].Overdue {
		t.Fatalf("audit is not overdue yet: %+v", jobs[1])
	}

	// jobs run records a manual run.
	res := r.runEnv([]string{"OXYGEN_NOW=2026-04-01T08:03:00Z"}, "orchestrate", "jobs", "run", "expire-leases")
	if res.code != 0 || res.stdout != "expire-leases: ok: expired 0 lease(s)\n" {
		t.Fatalf("jobs run expire-leases: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	r.runEnv([]string{"OXYGEN_NOW=2026-04-01T08:03:00Z"}, "oxygen", "claim", "schema", "--owner", "scribe", "--ttl", "1m")
	res = r.runEnv([]string{"OXYGEN_NOW=2026-04-01T08:05:00Z"}, "orchestrate", "jobs", "run", "expire-leases", "--json")
	var run jobRun
	if err := json.Unmarshal([]byte(res.stdout), &run); err != nil || res.code != 0 {
		t.Fatalf("jobs run --json: exit %d %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	if run.Name != "expire-leases" || run.Trigger != "manual" || run.Outcome != "ok" || run.Summary != "expired 1 lease(s)" ||
		run.StartedAt != "2026-04-01T08:05:00Z" || run.FinishedAt != "2026-04-01T08:05:00Z" || run.ID == 0 {
		t.Fatalf("jobs run --json: %+v", run)
	}
	if got := r.query(`SELECT state FROM leases WHERE resource = 'schema'`); got != "expired\n" {
		t.Fatalf("jobs run expire-leases did not sweep: %q", got)
	}
	res = r.runEnv([]string{"OXYGEN_NOW=2026-04-01T08:05:00Z"}, "orchestrate", "jobs", "run", "audit")
	if res.code != 0 || !dmnMatch(`^audit: ok: \.substrate/reports/audit-20260401-080500\.md: \d+ finding\(s\)\n$`, res.stdout) {
		t.Fatalf("jobs run audit: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, f := range []string{"audit-20260401-080500.md", "audit-20260401-080500.json"} {
		if _, err := os.Stat(filepath.Join(r.dir, ".substrate/reports", f)); err != nil {
			t.Fatal(err)
		}
	}
	got := r.query(`SELECT name, trigger, outcome, started_at, finished_at FROM job_runs ORDER BY id`)
	t0 := time.Date(2026, 4, 1, 8, 3, 0, 0, time.UTC).UnixMilli()
	t1 := time.Date(2026, 4, 1, 8, 5, 0, 0, time.UTC).UnixMilli()
	want := fmt.Sprintf("expire-leases\tmanual\tok\t%d\t%d\nexpire-leases\tmanual\tok\t%d\t%d\naudit\tmanual\tok\t%d\t%d\n", t0, t0, t1, t1, t1, t1)
	if got != want {
		t.Fatalf("job_runs:\n%s\nwant:\n%s", got, want)
	}

	// The list shows the last runs of the two jobs that ran.
	jobs, _ = list("2026-04-01T08:05:30Z")
	for _, j := range jobs[:2] {
		if j.LastRun == nil || j.LastRun.Outcome != "ok" || j.LastRun.Trigger != "manual" || j.LastSuccess == nil || *j.LastSuccess != "2026-04-01T08:05:00Z" || j.Overdue {
			t.Fatalf("after jobs run: %+v", j)
		}
	}
	text = r.runEnv([]string{"OXYGEN_NOW=2026-04-01T08:05:30Z"}, "orchestrate", "jobs")
	if !dmnMatch(`(?m)^audit\s+@hourly\s+2026-04-01T08:05:00Z\s+ok\s+2026-04-01T09:00:00Z\s*$`, text.stdout) {
		t.Fatalf("jobs text row for audit:\n%s", text.stdout)
	}
	// Days later both are overdue, with the last success named.
	jobs, _ = list("2026-04-04T08:00:00Z")
	for _, j := range jobs[:2] {
		if !j.Overdue || !strings.HasPrefix(j.Note, "overdue: last successful run 2026-04-01T08:05:00Z, runs every ") {
			t.Fatalf("days later: %+v", j)
		}
	}

	// An unknown job: exit 5, nothing recorded.
	before := r.query(`SELECT count(*) FROM job_runs`)
	res = r.run("orchestrate", "jobs", "run", "nope")
	if res.code != 5 || !strings.Contains(res.stderr, `no job "nope" (jobs: expire-leases, audit, audit-full)`) {
		t.Fatalf("jobs run nope: exit %d, want 5\n%s", res.code, res.stderr)
	}
	if after := r.query(`SELECT count(*) FROM job_runs`); after != before {
		t.Fatalf("jobs run nope recorded a run: %s -> %s", before, after)
	}

	// A job with an empty schedule is disabled, and never overdue.
	dmnSetJobs(t, r, "@every 1m", "")
	jobs, _ = list("2026-04-10T08:00:00Z")
	if jobs[1].Schedule != "" || jobs[1].NextRun != nil || jobs[1].Overdue || jobs[1].Note != "disabled: no schedule in jobs:" {
		t.Fatalf("disabled audit job: %+v", jobs[1])
	}

	// Crontab lines work too: five fields, or six with leading seconds.
	dmnSetJobs(t, r, "*/10 * * * * *", "30 8 * * *")
	jobs, _ = list("2026-04-10T08:05:31Z")
	if jobs[0].Schedule != "*/10 * * * * *" || jobs[0].NextRun == nil || *jobs[0].NextRun != "2026-04-10T08:05:40Z" {
		t.Fatalf("six-field schedule: %+v next %v", jobs[0], jobs[0].NextRun)
	}
	if jobs[1].Schedule != "30 8 * * *" || jobs[1].NextRun == nil || *jobs[1].NextRun != "2026-04-10T08:30:00Z" {
		t.Fatalf("five-field schedule: %+v next %v", jobs[1], jobs[1].NextRun)
	}
	// The daily audit last succeeded on the 1st: overdue, every 24h.
	if !jobs[1].Overdue || !strings.HasSuffix(jobs[1].Note, "runs every 24h") {
		t.Fatalf("daily audit job: %+v", jobs[1])
	}
	// A schedule that is not one stops every command, naming the line.
	dmnSetJobs(t, r, "every minute", "@hourly")
	res = r.run("orchestrate", "jobs")
	if res.code != 2 || !dmnMatch(`oxygen\.yaml:\d+: .*"every minute" is not a cron schedule`, res.stderr) {
		t.Fatalf("bad schedule: exit %d\n%s", res.code, res.stderr)
	}
}

// newRepoAt is newRepo with the store created at a pinned time.
func newRepoAt(t *testing.T, now string) *repo {
	t.Helper()
	dir := t.TempDir()
	r := &repo{t: t, dir: dir, env: toolEnv(dir)}
	if res := r.runEnv([]string{"OXYGEN_NOW=" + now}, "orchestrate", "init"); res.code != 0 {
		t.Fatalf("init: %s", res.stderr)
	}
	return r
}

// TestDaemonReloadsConfig: the daemon takes up a valid edited schedule,
// keeps its schedule (and says why) when the config breaks, and jobs shows
// what the daemon runs, not what the file says.
func TestDaemonReloadsConfig(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	dmnSetJobs(t, r, "@every 1h", "@every 30s")
	p := dmnStart(t, r, nil, "--log-format", "json")
	dmnWaitRunning(t, r, p)
	type jobs struct {
		Jobs []struct {
			Name, Schedule, Note string
		}
	}
	schedule := func() map[string]string {
		var j jobs
		if err := json.Unmarshal([]byte(r.mustRun("orchestrate", "jobs", "--json").stdout), &j); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, x := range j.Jobs {
			out[x.Name] = x.Schedule + "|" + x.Note
		}
		return out
	}
	dmnWaitFor(t, p, "the daemon records its schedule", func() bool { return schedule()["audit"] == "@every 30s|" })
	dmnSetJobs(t, r, "@every 1h", "@every 15s")
	dmnWaitFor(t, p, "the daemon reloads the new schedule", func() bool { return schedule()["audit"] == "@every 15s|" })
	// A broken config: commands refuse it, the daemon keeps its schedule.
	path := filepath.Join(r.dir, ".substrate/oxygen.yaml")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(append([]byte{}, good...), "bogus: 1\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	dmnWaitFor(t, p, "the daemon logs the bad config", func() bool {
		return strings.Contains(p.stderr.String(), "config changed but does not load; keeping the running schedule")
	})
	if p.exited() {
		t.Fatalf("the daemon stopped on a bad config")
	}
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := schedule()["audit"]; got != "@every 15s|" {
		t.Fatalf("jobs shows %q, want the daemon's @every 15s", got)
	}
}
