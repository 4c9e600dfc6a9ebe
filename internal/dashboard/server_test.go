package dashboard_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/internal/dashboard"
	"github.com/oxygen-tools/oxygen/workflow"
)

const xss = `<script>alert(1)</script>`

// fixture is a repository with a writable service (to change things as the
// CLI would) and a dashboard over a read-only store of the same repository.
type fixture struct {
	root    string
	writer  *workflow.Service
	handler *dashboard.Server
	council int64
	token   int64
}

func newFixture(t *testing.T, opts dashboard.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	if _, err := workflow.Init(ctx, root, true, nil); err != nil {
		t.Fatal(err)
	}
	l, err := workflow.Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	w, err := workflow.OpenService(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Store.Close() })
	f := &fixture{root: root, writer: w}
	for _, spec := range []workflow.ItemSpec{
		{ID: "A1", Title: xss, Kind: "bug", Domain: "builder", Priority: "high", Objective: "fix <b>it</b>"},
		{ID: "A2", Title: "second", Kind: "chore", Domain: "builder", Priority: "low", Objective: "o", DependsOn: []string{"A1"}},
	} {
		if _, err := w.AddItem(ctx, spec, "tester"); err != nil {
			t.Fatal(err)
		}
	}
	call, err := w.CallCouncil(ctx, "A2", workflow.Actor{Owner: "ada", Domain: "builder"}, `<img src=x onerror=alert(2)>`)
	if err != nil {
		t.Fatal(err)
	}
	f.council = call.ID
	lease, err := w.Claim(ctx, workflow.ClaimRequest{Resource: "storage", Actor: workflow.Actor{Owner: "ada", Domain: "builder"}, Reason: xss})
	if err != nil {
		t.Fatal(err)
	}
	f.token = lease.Lease.Token
	rl, err := workflow.Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := workflow.OpenServiceReadOnly(ctx, rl, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Store.Close() })
	srv, err := dashboard.New(ro, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.handler = srv
	return f
}

// request runs one request from this machine, as a browser on it sends it.
// Its context ends after a while, so that an event stream that should have
// been refused cannot hang the test.
func (f *fixture) request(method, path string, edit ...func(*http.Request)) *httptest.ResponseRecorder {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, method, path, nil)
	req.RemoteAddr = "127.0.0.1:50000"
	req.Host = "127.0.0.1:7070"
	for _, e := range edit {
		e(req)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

// cspProblems lists what makes a policy weaker than the issue allows.
func cspProblems(policy string) []string {
	var out []string
	directives := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		fields := strings.Fields(d)
		if len(fields) > 0 {
			directives[fields[0]] = fields[1:]
		}
	}
	for name, sources := range directives {
		for _, src := range sources {
			switch {
			case src == "*" || strings.Contains(src, "*"):
				out = append(out, name+" allows a wildcard")
			case src == "data:" || src == "blob:" || src == "filesystem:":
				out = append(out, name+" allows "+src)
			case strings.HasSuffix(src, ":") && !strings.HasPrefix(src, "'"):
				out = append(out, name+" allows the whole scheme "+src)
			case src == "'unsafe-eval'" || src == "'wasm-unsafe-eval'":
				out = append(out, name+" allows eval")
			}
		}
	}
	for _, name := range []string{"script-src", "default-src"} {
		sources := directives[name]
		inline, pinned := false, false
		for _, src := range sources {
			inline = inline || src == "'unsafe-inline'"
			pinned = pinned || strings.HasPrefix(src, "'nonce-") || strings.HasPrefix(src, "'sha")
		}
		if inline && !pinned {
			out = append(out, name+" allows inline scripts without a nonce or hash")
		}
	}
	if _, ok := directives["script-src"]; !ok && strings.Join(directives["default-src"], " ") != "'none'" {
		out = append(out, "no script-src and default-src is not 'none'")
	}
	return out
}

func TestCSPCheckerCatchesWeakPolicies(t *testing.T) {
	for _, weak := range []string{
		"default-src *",
		"default-src 'self'; script-src 'self' https:",
		"script-src 'self' data:",
		"script-src 'self' 'unsafe-inline'",
		"script-src 'self' 'unsafe-eval'",
		"img-src blob:; script-src 'self'",
		"style-src 'self'",
	} {
		if len(cspProblems(weak)) == 0 {
			t.Errorf("%q passed the checker", weak)
		}
	}
	if p := cspProblems("script-src 'self' 'unsafe-inline' 'nonce-abc'"); len(p) != 0 {
		t.Errorf("a nonce-pinned policy was refused: %v", p)
	}
}

func TestEveryResponseCarriesTheHeaders(t *testing.T) {
	f := newFixture(t, dashboard.Options{})
	if p := cspProblems(dashboard.ContentSecurityPolicy); len(p) != 0 {
		t.Fatalf("the policy is too weak: %v", p)
	}
	cases := []struct {
		method, path string
		edit         func(*http.Request)
		status       int
	}{
		{"GET", "/", nil, 200},
		{"HEAD", "/", nil, 200},
		{"GET", "/panels", nil, 200},
		{"GET", "/static/app.js", nil, 200},
		{"GET", "/static/style.css", nil, 200},
		{"GET", "/static/favicon.svg", nil, 200},
		{"GET", "/item/A1", nil, 200},
		{"GET", fmt.Sprintf("/lease/%d", f.token), nil, 200},
		{"GET", fmt.Sprintf("/signal/%d", f.council), nil, 200},
		{"GET", "/item/NOPE", nil, 404},
		{"GET", "/lease/999", nil, 404},
		{"GET", "/lease/abc", nil, 400},
		{"GET", "/signal/0", nil, 400},
		{"GET", "/?kind=gossip", nil, 400},
		{"GET", "/nothing/here", nil, 404},
		{"POST", "/", nil, 405},
		{"GET", "/", func(r *http.Request) { r.RemoteAddr = "192.0.2.7:4000" }, 401},
		{"GET", "/", func(r *http.Request) { r.Host = "attacker.example:7070" }, 403},
	}
	for _, c := range cases {
		edits := []func(*http.Request){}
		if c.edit != nil {
			edits = append(edits, c.edit)
		}
		rec := f.request(c.method, c.path, edits...)
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, rec.Code, c.status, rec.Body)
		}
		h := rec.Header()
		if got := h.Get("Content-Security-Policy"); got != dashboard.ContentSecurityPolicy {
			t.Errorf("%s %s: CSP %q", c.method, c.path, got)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s: headers %v", c.method, c.path, h)
		}
	}
}

func TestTokenAndLoopback(t *testing.T) {
	open := newFixture(t, dashboard.Options{})
	for _, remote := range []string{"127.0.0.1:1", "127.8.9.10:1", "[::1]:1"} {
		if rec := open.request("GET", "/", func(r *http.Request) { r.RemoteAddr = remote }); rec.Code != 200 {
			t.Errorf("loopback peer %s without a token configured: %d", remote, rec.Code)
		}
	}
	for _, host := range []string{"localhost:7070", "127.0.0.1", "[::1]:7070"} {
		if rec := open.request("GET", "/", func(r *http.Request) { r.Host = host }); rec.Code != 200 {
			t.Errorf("Host %s: %d", host, rec.Code)
		}
	}
	for _, remote := range []string{"192.0.2.7:4000", "10.0.0.1:1", "[2001:db8::1]:1"} {
		rec := open.request("GET", "/", func(r *http.Request) { r.RemoteAddr = remote })
		if rec.Code != 401 || strings.Contains(rec.Body.String(), "A1") {
			t.Errorf("non-loopback peer %s without a token: %d %s", remote, rec.Code, rec.Body)
		}
	}

	f := newFixture(t, dashboard.Options{Token: "s3cret-token"})
	remote := func(r *http.Request) { r.RemoteAddr = "192.0.2.7:4000"; r.Host = "dash.example" }
	for name, edit := range map[string]func(*http.Request){
		"no credentials": func(*http.Request) {},
		"wrong bearer":   func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-tokeN") },
		"prefix bearer":  func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") },
		"empty bearer":   func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") },
		"wrong basic":    func(r *http.Request) { r.SetBasicAuth("me", "nope") },
		"token as user":  func(r *http.Request) { r.SetBasicAuth("s3cret-token", "") },
		"query string":   func(r *http.Request) { r.URL.RawQuery = "token=s3cret-token" },
	} {
		for _, path := range []string{"/", "/events", "/static/app.js", "/item/A1"} {
			rec := f.request("GET", path, remote, edit)
			if rec.Code != 401 {
				t.Errorf("%s on %s: %d, want 401", name, path, rec.Code)
			}
			if len(rec.Header().Values("WWW-Authenticate")) == 0 {
				t.Errorf("%s on %s: no WWW-Authenticate", name, path)
			}
		}
	}
	// The token admits any peer, and even this machine needs it once set.
	for name, edit := range map[string]func(*http.Request){
		"bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-token") },
		"basic":  func(r *http.Request) { r.SetBasicAuth("anyone", "s3cret-token") },
	} {
		if rec := f.request("GET", "/", remote, edit); rec.Code != 200 {
			t.Errorf("%s from afar: %d", name, rec.Code)
		}
	}
	if rec := f.request("GET", "/"); rec.Code != 401 {
		t.Errorf("loopback without the configured token: %d", rec.Code)
	}
}

func TestUntrustedTextIsEscaped(t *testing.T) {
	f := newFixture(t, dashboard.Options{})
	for _, path := range []string{"/", "/panels", "/item/A1", "/item/A2", fmt.Sprintf("/signal/%d", f.council), fmt.Sprintf("/lease/%d", f.token)} {
		body := f.request("GET", path).Body.String()
		for _, raw := range []string{xss, "<img src=x", "<b>it</b>"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s holds %q unescaped", path, raw)
			}
		}
	}
	if body := f.request("GET", "/").Body.String(); !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(body, "&lt;img src=x onerror=alert(2)&gt;") {
		t.Errorf("the escaped title and reason are missing from the page")
	}
	// The page has no inline script or style for the policy to forbid.
	body := f.request("GET", "/").Body.String()
	for _, inline := range []string{"<script>", "style=", " onload=", " onclick=", "javascript:"} {
		if strings.Contains(body, inline) {
			t.Errorf("the page holds %q", inline)
		}
	}
}

// The council queue keeps the calls that can still be used; a denied one
// leaves it, and its permalink says who denied it and why.
func TestCouncilStates(t *testing.T) {
	f := newFixture(t, dashboard.Options{})
	denied, err := f.writer.CallCouncil(context.Background(), "A1", workflow.Actor{Owner: "ada", Domain: "builder"}, "second thoughts")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.writer.DenyCouncil(context.Background(), denied.ID, workflow.Actor{Owner: "sam", Domain: "scribe"}, "not <now>"); err != nil {
		t.Fatal(err)
	}
	body := f.request("GET", "/panels").Body.String()
	if !strings.Contains(body, fmt.Sprintf(`<tr data-council="%d" data-state="pending">`, f.council)) || strings.Contains(body, fmt.Sprintf(`data-council="%d"`, denied.ID)) {
		t.Errorf("council queue: pending call missing or denied call shown")
	}
	rec := f.request("GET", fmt.Sprintf("/signal/%d", denied.ID))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "denied by sam at ") || !strings.Contains(rec.Body.String(), ": not &lt;now&gt;</p>") {
		t.Errorf("denied call's page: %d\n%s", rec.Code, rec.Body)
	}
}

func TestPanelsShowTheStore(t *testing.T) {
	f := newFixture(t, dashboard.Options{})
	body := f.request("GET", "/").Body.String()
	for _, want := range []string{
		`<tr data-domain="builder">`,
		`<li class="item p-high" data-item="A1"><a href="/item/A1">A1</a>`,
		`needs <a class="dep dep-open" href="/item/A1" title="open">A1</a>`,
		fmt.Sprintf(`<tr data-resource="storage" data-owner="ada" data-token="%d">`, f.token),
		fmt.Sprintf(`<tr data-council="%d" data-state="pending">`, f.council),
		fmt.Sprintf(`<tr data-signal="%d" data-kind="council_call">`, f.council),
		`<g class="tl-row" data-resource="storage">`,
		fmt.Sprintf(`<rect class="bar live" data-token="%d"`, f.token),
		`<p class="health-status">yellow</p>`,
		`<script src="/static/app.js"></script>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// The filter narrows the feed; the selection is kept in the form.
	body = f.request("GET", "/panels?kind=missive").Body.String()
	if strings.Contains(body, `data-kind="council_call"`) || !strings.Contains(body, `<option value="missive" selected>`) {
		t.Errorf("kind=missive did not filter the feed")
	}
}

// storeFiles hashes the database and its WAL: what a reader must never change.
func storeFiles(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	for _, name := range []string{"oxygen.db", "oxygen.db-wal"} {
		data, err := os.ReadFile(filepath.Join(root, ".substrate", "state", name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %x\n", name, sha256.Sum256(data))
	}
	return b.String()
}

func TestNoRequestChangesTheStore(t *testing.T) {
	f := newFixture(t, dashboard.Options{})
	if _, err := sqlstore.DBOf(f.writer.Store).Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	before := storeFiles(t, f.root)
	paths := []string{"/", "/panels", "/panels?kind=handshake&domain=builder", "/item/A1", "/item/A2", "/lease/1", "/signal/1", "/static/app.js"}
	for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		for _, path := range paths {
			rec := f.request(method, path)
			if method != "GET" && method != "HEAD" && rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", method, path, rec.Code)
			}
		}
	}
	if after := storeFiles(t, f.root); after != before {
		t.Fatalf("requests changed the store:\n%s\n%s", before, after)
	}
}

func TestEventsAnnounceChanges(t *testing.T) {
	f := newFixture(t, dashboard.Options{Poll: 20 * time.Millisecond, Tick: time.Hour})
	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := bufio.NewScanner(res.Body)
	if !lines.Scan() || lines.Text() != "retry: 2000" {
		t.Fatalf("first line %q", lines.Text())
	}
	if _, err := f.writer.Claim(context.Background(), workflow.ClaimRequest{Resource: "index", Actor: workflow.Actor{Owner: "ada", Domain: "builder"}}); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		if lines.Text() == "event: change" {
			return
		}
	}
	t.Fatalf("no change event after a claim: %v", lines.Err())
}
