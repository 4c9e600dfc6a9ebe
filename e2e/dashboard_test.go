package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const xssTitle = `<script>alert(1)</script>`

// dashboard is a running `orchestrate serve`.
type dashboard struct {
	url    string
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
}

var servingLine = regexp.MustCompile(`^dashboard on (http://\S+/) \(read-only; Ctrl-C stops it\)\n$`)

// serve starts `orchestrate serve` with args and waits for the line that
// gives its address. The test's cleanup stops it with SIGTERM and checks
// that it exits 0.
func (r *repo) serve(args ...string) *dashboard {
	r.t.Helper()
	d := &dashboard{cmd: r.command("orchestrate", append([]string{"serve"}, args...)...), done: make(chan struct{})}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	d.cmd.Stderr = &d.stderr
	if err := d.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	m := servingLine.FindStringSubmatch(line)
	if m == nil {
		<-d.done
		r.t.Fatalf("orchestrate serve %v printed %q (%v); stderr: %s", args, line, err, d.stderr.String())
	}
	d.url = m[1]
	go io.Copy(io.Discard, stdout)
	r.t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(patience):
			d.cmd.Process.Kill()
			<-d.done
			r.t.Errorf("orchestrate serve did not stop on SIGTERM")
		}
		if code := d.cmd.ProcessState.ExitCode(); code != 0 {
			r.t.Errorf("orchestrate serve exited %d on SIGTERM: %s", code, d.stderr.String())
		}
	})
	return d
}

func (d *dashboard) get(t *testing.T, path string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", d.url+strings.TrimPrefix(path, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// dashboardRepo is a scratch repository named acme with something in every
// panel, built over a pinned day so that the timeline has a history: items
// (one titled with a script tag, one waiting on another), released, expired
// and revoked leases, a shadow edit, audit reports and a verification, a
// pending council call, and a live lease on storage. The clock stays pinned
// at 22:00, for the server and for every later command of the test.
func dashboardRepo(t *testing.T) (*repo, int64) {
	r := newRepo(t)
	named := filepath.Join(filepath.Dir(r.dir), "acme")
	if err := os.Rename(r.dir, named); err != nil {
		t.Fatal(err)
	}
	r.dir = named
	day := time.Date(2030, 3, 4, 0, 0, 0, 0, time.UTC)
	r.env = append(r.env, "")
	at := func(hours float64) {
		r.env[len(r.env)-1] = "OXYGEN_NOW=" + day.Add(time.Duration(hours*float64(time.Hour))).Format(time.RFC3339)
	}
	add := func(id, domain, title string, extra ...string) {
		r.mustRun("orchestrate", append([]string{"add", id, "--title", title, "--kind", "chore", "--domain", domain, "--priority", "high", "--objective", "o"}, extra...)...)
	}
	writePolicy := func(text string) {
		if err := os.MkdirAll(filepath.Join(r.dir, "policy"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.dir, "policy", "rules.md"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	at(1)
	add("A1", "builder", xssTitle)
	add("A2", "builder", "Ship the release", "--depends-on", "A1")
	add("A3", "builder", "Rebuild the index")
	add("S1", "scribe", "Write the runbook")
	add("G1", "guardian", "Rotate access keys")
	r.mustRun("orchestrate", "assign", "A1", "--owner", "builder")
	writePolicy("v1\n")
	r.mustRun("orchestrate", "audit", "report") // the baseline fingerprints
	at(2)
	r.mustRun("oxygen", "claim", "schema", "--owner", "sam", "--domain", "scribe", "--ttl", "1h")
	at(2.5)
	r.mustRun("oxygen", "release", "schema", "--owner", "sam", "--domain", "scribe")
	at(3)
	r.mustRun("oxygen", "claim", "deployment", "--owner", "builder", "--ttl", "30m")
	at(5)
	r.mustRun("oxygen", "expire")
	at(6)
	r.mustRun("orchestrate", "assign", "G1", "--owner", "guardian")
	r.mustRun("oxygen", "claim", "identity", "--owner", "guardian", "--ttl", "2h", "--item", "G1")
	at(7)
	r.mustRun("oxygen", "release", "identity", "--owner", "guardian")
	r.mustRun("orchestrate", "done", "G1", "--by", "guardian")
	at(8)
	r.mustRun("oxygen", "claim", "execution", "--owner", "watcher", "--ttl", "4h")
	at(10)
	r.mustRun("oxygen", "release", "execution", "--owner", "builder", "--force", "--reason", "stuck overnight")
	at(11)
	r.mustRun("oxygen", "claim", "policy", "--owner", "guardian", "--ttl", "1h")
	at(11.5)
	r.mustRun("oxygen", "release", "policy", "--owner", "guardian")
	at(12)
	r.mustRun("orchestrate", "audit", "report") // fingerprints policy after that lease
	at(13)
	writePolicy("v2: changed without a lease\n")
	at(14)
	r.mustRun("orchestrate", "audit", "report") // finds the shadow edit
	at(15)
	call := r.mustRun("orchestrate", "council", "call", "--item", "A2", "--from", "builder", "--reason", "the release <b>waits</b> on it", "--json")
	id := regexp.MustCompile(`"id": (\d+)`).FindStringSubmatch(call.stdout)
	if id == nil {
		t.Fatalf("council call: %s", call.stdout)
	}
	council, _ := strconv.ParseInt(id[1], 10, 64)
	at(16)
	r.mustRun("orchestrate", "assign", "A3", "--owner", "builder")
	at(18)
	r.mustRun("oxygen", "claim", "coordination", "--owner", "scribe", "--ttl", "3h")
	at(20)
	r.mustRun("oxygen", "claim", "storage", "--owner", "builder", "--item", "A1", "--ttl", "4h")
	at(21.5)
	r.mustRun("orchestrate", "jobs", "run", "expire-leases")
	r.mustRun("orchestrate", "jobs", "run", "audit")
	r.mustRun("orchestrate", "audit", "verify")
	at(22)
	return r, council
}

// TestServeRefusesAndStaysReadOnly starts the real server: anything but
// loopback needs a token; with a token, a request without it gets 401; and
// a server that answered every page has not changed the store, which its
// process holds open read-only.
func TestServeRefusesAndStaysReadOnly(t *testing.T) {
	r, council := dashboardRepo(t)

	res := r.run("orchestrate", "serve", "--addr", "0.0.0.0:0")
	if res.code != 2 || !strings.Contains(res.stderr, "--addr 0.0.0.0:0 is reachable from other machines: pass --token") {
		t.Fatalf("serve on every interface without a token: exit %d\n%s", res.code, res.stderr)
	}
	res = r.run("orchestrate", "serve", "--addr", "nonsense")
	if res.code != 2 || !strings.Contains(res.stderr, `--addr "nonsense": give HOST:PORT`) {
		t.Fatalf("serve --addr nonsense: exit %d\n%s", res.code, res.stderr)
	}

	// serve hands over to orchestrate-dashboard, found next to orchestrate
	// or on PATH; without it, serve says so.
	alone := t.TempDir()
	data, err := os.ReadFile(filepath.Join(binDir, "orchestrate"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(alone, "orchestrate"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(alone, "orchestrate"), "serve")
	cmd.Dir, cmd.Env = r.dir, append(os.Environ(), "PATH="+alone)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 || !strings.Contains(string(out), "orchestrate-dashboard is neither next to this binary nor on PATH") {
		t.Errorf("serve without orchestrate-dashboard: %v\n%s", err, out)
	}

	guarded := r.serve("--addr", "0.0.0.0:0", "--token", "s3cret")
	port := guarded.url[strings.LastIndex(guarded.url[:len(guarded.url)-1], ":")+1 : len(guarded.url)-1]
	guarded.url = "http://127.0.0.1:" + port + "/"
	if code, _ := guarded.get(t, "/"); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := guarded.get(t, "/", "Authorization", "Bearer wrong"); code != 401 {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code, body := guarded.get(t, "/", "Authorization", "Bearer s3cret"); code != 200 || !strings.Contains(body, `data-item="A1"`) {
		t.Errorf("right token: %d", code)
	}

	if _, err := exec.Command("sqlite3", filepath.Join(r.dir, ".substrate/state/oxygen.db"), "PRAGMA wal_checkpoint(TRUNCATE)").CombinedOutput(); err != nil {
		t.Logf("no sqlite3 to checkpoint with (%v): comparing rows only", err)
	}
	before := storeState(t, r)
	d := r.serve("--addr", "127.0.0.1:0")
	first := strings.TrimSpace(r.query(`SELECT token FROM leases ORDER BY id LIMIT 1`))
	for _, path := range []string{"/", "/panels", "/panels?kind=dead_end", "/item/A1", "/item/A2", "/lease/" + first, fmt.Sprintf("/signal/%d", council), "/static/app.js"} {
		if code, _ := d.get(t, path); code != 200 {
			t.Errorf("GET %s: %d", path, code)
		}
	}
	for _, method := range []string{"POST", "PUT", "DELETE"} {
		req, _ := http.NewRequest(method, d.url, strings.NewReader("x=1"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 405 {
			t.Errorf("%s /: %d, want 405", method, res.StatusCode)
		}
	}
	if goruntime.GOOS == "linux" && !onServer() { // a server store has no file to open
		flags, ok := openFlags(d.cmd.Process.Pid, filepath.Join(r.dir, ".substrate/state/oxygen.db"))
		switch {
		case !ok:
			t.Errorf("the database is not among the server's open files")
		case flags&(syscall.O_WRONLY|syscall.O_RDWR) != 0:
			t.Errorf("the server holds the database open for writing (flags %o)", flags)
		}
	}
	if after := storeState(t, r); after != before {
		t.Errorf("serving changed the store")
	}
}

// storeState is every row plus, on SQLite, the bytes of the database file.
func storeState(t *testing.T, r *repo) string {
	t.Helper()
	dump, err := dumpStore(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if onServer() {
		return dump
	}
	data, err := os.ReadFile(r.dbPath())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x\n%s", sha256.Sum256(data), dump)
}

// openFlags reads, from /proc, the flags a process opened path with.
func openFlags(pid int, path string) (int, bool) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || target != path {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
		if err != nil {
			return 0, false
		}
		m := regexp.MustCompile(`flags:\s+([0-7]+)`).FindSubmatch(info)
		if m == nil {
			return 0, false
		}
		v, _ := strconv.ParseInt(string(m[1]), 8, 64)
		return int(v), true
	}
	return 0, false
}

// chromium finds Debian's Chromium, or skips the browser tests.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("SKIP: the dashboard's browser test needs Chromium (apt-get install chromium); the HTTP-level dashboard tests still ran")
	return ""
}

// TestDashboardInABrowser drives headless Chromium over the real server:
// every panel shows the right rows, a claim made from the CLI appears
// without a reload, the script-tag title stays text, the permalinks work,
// and the console stays free of errors (CSP violations included).
func TestDashboardInABrowser(t *testing.T) {
	exe := chromium(t)
	r, council := dashboardRepo(t)
	waiter := r.oxStart("oxygen", "claim", "storage", "--owner", "cy", "--domain", "builder", "--wait", "10m")
	pollUntil(t, "cy waits for storage", func() bool { return r.waiters("storage") == "cy\n" })
	d := r.serve("--addr", "127.0.0.1:0")

	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*patience)
	defer cancel()

	// Every console error or warning, uncaught exception and browser log
	// entry (a CSP violation, a failed request) is a problem, and so is a
	// dialog, which only an injected script could open.
	var mu sync.Mutex
	var problems []string
	problem := func(p string) {
		mu.Lock()
		problems = append(problems, p)
		mu.Unlock()
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
				problem(fmt.Sprintf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
			}
		}
	}()
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			problem("a dialog opened: " + d.Message)
		}
	}); err != nil {
		t.Fatal(err)
	}

	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return strings.Join(strings.Fields(s), " ")
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(d.url), chromedp.WaitVisible(chromedp.CSS(`#leases`))); err != nil {
		t.Fatal(err)
	}

	// Budgets: builder has two items in progress (at its cap) and one lease.
	if got := text(`#budgets tr[data-domain="builder"] td.in-progress`); got != "2/2" {
		t.Errorf("builder in progress: %q", got)
	}
	if got := text(`#budgets tr[data-domain="builder"] td.leases`); got != "1/2" {
		t.Errorf("builder leases: %q", got)
	}
	// The board: A1 in progress with its owner, A2 open and needing A1.
	if got := text(`#board tr[data-domain="builder"] td[data-status="in_progress"] li[data-item="A1"] .owner`); got != "builder" {
		t.Errorf("A1's owner on the board: %q", got)
	}
	if got := text(`#board tr[data-domain="builder"] td[data-status="open"] li[data-item="A2"] .deps`); got != "needs A1" {
		t.Errorf("A2's dependencies: %q", got)
	}
	if got := text(`#board tr[data-domain="guardian"] td[data-status="done"] li[data-item="G1"] .title`); got != "Rotate access keys" {
		t.Errorf("G1: %q", got)
	}
	if got := text(`#board tr[data-domain="scribe"] td[data-status="open"] li[data-item="S1"] .title`); got != "Write the runbook" {
		t.Errorf("S1: %q", got)
	}
	// The script-tag title is text, and the page runs no script but app.js.
	if got := text(`#board li[data-item="A1"] .title`); got != xssTitle {
		t.Errorf("A1's title shows as %q", got)
	}
	if n := count(`script`); n != 1 {
		t.Errorf("%d script elements, want only app.js", n)
	}
	// Leases: storage held by builder with cy queued; the timeline shows the
	// live bar, the waiter, the expiry, the revocation and the shadow edit.
	if got := text(`#leases tr[data-resource="storage"] .waiter[data-owner="cy"]`); !strings.HasPrefix(got, "1. cy (builder)") {
		t.Errorf("storage's queue: %q", got)
	}
	for sel, want := range map[string]int{
		`#timeline g[data-resource="storage"] rect.bar.live`:      1,
		`#timeline g[data-resource="storage"] text.waiting`:       1,
		`#timeline g[data-resource="deployment"] .mark.expired`:   1,
		`#timeline g[data-resource="execution"] .mark.revoked`:    1,
		`#timeline g[data-resource="coordination"] .mark.expired`: 1,
		`#timeline g[data-resource="schema"] rect.bar`:            1,
		`#timeline g[data-resource="identity"] rect.bar`:          1,
		`#timeline g[data-resource="policy"] .mark.shadow`:        1,
		`#timeline g.tl-row`: 8,
	} {
		if n := count(sel); n != want {
			t.Errorf("%s: %d, want %d", sel, n, want)
		}
	}
	// Council queue, health, audit chain.
	if got := text(fmt.Sprintf(`#council tr[data-council="%d"][data-state="pending"] td.body`, council)); got != "the release <b>waits</b> on it" {
		t.Errorf("council reason: %q", got)
	}
	if got := text(`#health .health-status`); got != "red" {
		t.Errorf("health: %q", got)
	}
	if got := text(`#health-findings`); !strings.Contains(got, "shadow edit 1 on policy is unresolved") {
		t.Errorf("health findings: %q", got)
	}
	if got := text(`#audit-check`); !strings.HasPrefix(got, "intact up to event") {
		t.Errorf("audit check: %q", got)
	}
	if got := text(`#audit-report`); !strings.Contains(got, ".substrate/reports/audit-") {
		t.Errorf("audit report: %q", got)
	}
	// The signals feed, then filtered by kind through the form.
	if n := count(`#signals tr[data-kind="dead_end"]`); n == 0 {
		t.Errorf("the shadow edit's dead_end signal is not in the feed")
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#signal-filter select[name="kind"]`), "council_call"),
		chromedp.Submit(chromedp.CSS(`#signal-filter`)),
		chromedp.WaitVisible(chromedp.CSS(`#signals tr[data-kind="council_call"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if all, calls := count(`#signals tr[data-signal]`), count(`#signals tr[data-kind="council_call"]`); all != calls || calls != 1 {
		t.Errorf("filtered feed: %d rows, %d council calls", all, calls)
	}

	// A claim from the CLI shows up without a reload.
	if err := chromedp.Do(ctx, chromedp.Navigate(d.url), chromedp.WaitVisible(chromedp.CSS(`#leases`)),
		chromedp.Evaluate[chromedp.Void](`window.sameDocument = 'yes'`)); err != nil {
		t.Fatal(err)
	}
	r.mustRun("oxygen", "claim", "index", "--owner", "builder", "--item", "A3", "--reason", "reindex")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#leases tr[data-resource="index"]`))); err != nil {
		t.Fatalf("the claim never appeared: %v", err)
	}
	same, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.sameDocument`))
	if err != nil {
		t.Fatal(err)
	}
	if same != "yes" {
		t.Errorf("the page was reloaded to show the claim")
	}
	if got := text(`#budgets tr[data-domain="builder"] td.leases`); got != "2/2" {
		t.Errorf("builder leases after the claim: %q", got)
	}
	screenshot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "dashboard.png")
	if os.Getenv("UPDATE_SCREENSHOT") != "" {
		shot = filepath.Join("..", "docs", "img", "dashboard.png")
	}
	if err := os.WriteFile(shot, screenshot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)

	// Permalinks.
	tokens := strings.Fields(r.query(`SELECT token FROM leases ORDER BY id LIMIT 2`))
	for path, want := range map[string]string{
		"item/A1":                         "A1 in_progress",
		"lease/" + tokens[0]:              "Lease " + tokens[0] + " on schema released",
		"lease/" + tokens[1]:              "Lease " + tokens[1] + " on deployment expired",
		fmt.Sprintf("signal/%d", council): fmt.Sprintf("Signal %d council_call", council),
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(d.url+path)); err != nil {
			t.Fatal(err)
		}
		heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h2`)))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(strings.Fields(heading), " "); got != want {
			t.Errorf("%s: heading %q, want %q", path, got, want)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"item/A1")); err != nil {
		t.Fatal(err)
	}
	if got := text(`p.title`); got != xssTitle {
		t.Errorf("A1's page shows the title as %q", got)
	}

	if waiter.exited() {
		t.Errorf("the waiter ended early: %+v", waiter.res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the browser reported:\n%s", strings.Join(problems, "\n"))
	}
}
