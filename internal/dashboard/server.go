// Package dashboard is the read-only web view that `orchestrate serve`
// serves: server-rendered html/template pages, plain SVG, one small static
// script for live updates, all embedded in the binary. It gets its own
// package because it is the only HTTP surface of the project and the only
// code that renders HTML; keeping its handlers apart from the CLI lets them
// be tested with httptest alone.
//
// Nothing here changes state. The handlers only call the service's read
// methods, every route answers GET and HEAD only, and the store it is given
// is opened read-only (workflow.OpenStoreReadOnly), so even a bug in this
// package cannot write.
package dashboard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

//go:embed templates/*.html static/*
var files embed.FS

// ContentSecurityPolicy is sent with every response. Scripts and styles come
// only from this server's own /static files (no inline script or style at
// all, so no nonce is needed), nothing may be framed or framing, forms go
// nowhere but here, and nothing else loads.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Options configure a dashboard.
type Options struct {
	// Token, when set, must come with every request, as a bearer token or as
	// the password of HTTP basic authentication (what a browser prompts for).
	// Without it only loopback peers that name a loopback host are served.
	Token string
	// Repo names the repository in page titles.
	Repo string
	// Poll is how often a live page's event stream looks for changes
	// (default 1s); Tick is how often it refreshes anyway, so that relative
	// times move on (default 15s).
	Poll, Tick time.Duration
}

// Server serves the dashboard of one repository.
type Server struct {
	svc   *workflow.Service
	opts  Options
	pages *pages
	mux   *http.ServeMux
}

// New builds the dashboard's handler over svc, which should hold a store
// opened with workflow.OpenStoreReadOnly.
func New(svc *workflow.Service, opts Options) (*Server, error) {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Tick <= 0 {
		opts.Tick = 15 * time.Second
	}
	pg, err := loadPages(svc.Config)
	if err != nil {
		return nil, err
	}
	s := &Server{svc: svc, opts: opts, pages: pg, mux: http.NewServeMux()}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	// GET patterns also answer HEAD; every other method gets 405.
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("GET /panels", s.panels)
	s.mux.HandleFunc("GET /events", s.events)
	s.mux.HandleFunc("GET /item/{id}", s.item)
	s.mux.HandleFunc("GET /lease/{token}", s.lease)
	s.mux.HandleFunc("GET /signal/{id}", s.signal)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	return s, nil
}

// ServeHTTP sets the security headers on every response, then admits or
// refuses the request before any handler runs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if status, msg := s.admit(r); status != 0 {
		if status == http.StatusUnauthorized {
			h.Add("WWW-Authenticate", `Bearer realm="oxygen"`)
			h.Add("WWW-Authenticate", `Basic realm="oxygen", charset="UTF-8"`)
		}
		http.Error(w, msg, status)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// admit returns 0 for a request that may be served, else the status and
// message to refuse it with. With a token, only the token counts. Without
// one, the peer must be on this machine and the Host header must name a
// loopback host: that stops other machines, and a web page that rebinds its
// own DNS name to 127.0.0.1 to read the dashboard from a browser here.
func (s *Server) admit(r *http.Request) (int, string) {
	if s.opts.Token != "" {
		if !s.tokenOK(r) {
			return http.StatusUnauthorized, "401 unauthorized: send Authorization: Bearer <token> (the --token given to orchestrate serve)"
		}
		return 0, ""
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || !cli.IsLoopbackHost(host) {
		return http.StatusUnauthorized, "401 unauthorized: this dashboard serves only this machine; start it with --token to serve others"
	}
	name := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		name = h
	}
	if !cli.IsLoopbackHost(name) {
		return http.StatusForbidden, "403 forbidden: Host " + strconv.Quote(r.Host) + " is not a loopback name"
	}
	return 0, ""
}

// tokenOK compares the presented token in constant time.
func (s *Server) tokenOK(r *http.Request) bool {
	var got string
	if user, pass, ok := r.BasicAuth(); ok {
		_ = user // any user name: the password is the token
		got = pass
	} else if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		got = strings.TrimSpace(v)
	} else {
		return false
	}
	// Both sides are hashed first: ConstantTimeCompare returns at once on a
	// length mismatch, which would tell a prober the token's length.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.opts.Token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (s *Server) query(r *http.Request) workflow.DashboardQuery {
	q := r.URL.Query()
	return workflow.DashboardQuery{SignalKind: q.Get("kind"), SignalDomain: q.Get("domain")}
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	d, err := s.svc.Dashboard(r.Context(), s.query(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "index", s.pages.dashboardView(d, s.opts.Repo))
}

// panels is the live part of the page alone, which the page's script
// fetches and swaps in when the store changes.
func (s *Server) panels(w http.ResponseWriter, r *http.Request) {
	d, err := s.svc.Dashboard(r.Context(), s.query(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "panels", s.pages.dashboardView(d, s.opts.Repo))
}

func (s *Server) item(w http.ResponseWriter, r *http.Request) {
	p, err := s.svc.ItemPage(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "item", s.pages.view(s.opts.Repo, "Item "+p.ID, p.Now, p))
}

func (s *Server) lease(w http.ResponseWriter, r *http.Request) {
	token, err := strconv.ParseInt(r.PathValue("token"), 10, 64)
	if err != nil || token < 1 {
		s.fail(w, r, workflow.Errorf(workflow.EINVALID, "lease %q: a lease is named by its fencing token, a positive number", r.PathValue("token")))
		return
	}
	p, err := s.svc.LeasePage(r.Context(), token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "lease", s.pages.view(s.opts.Repo, fmt.Sprintf("Lease %d on %s", token, p.Lease.Resource), p.Now, p))
}

func (s *Server) signal(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		s.fail(w, r, workflow.Errorf(workflow.EINVALID, "signal %q: signals are numbered from 1", r.PathValue("id")))
		return
	}
	p, err := s.svc.SignalPage(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "signal", s.pages.view(s.opts.Repo, fmt.Sprintf("Signal %d", id), p.Now, p))
}

// events is a server-sent event stream: "change" when the store's change
// mark moves, "tick" now and then so relative times stay true. The page
// answers either by fetching /panels.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ctx := r.Context()
	last, err := s.svc.ChangeMark(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "retry: 2000\n\n")
	flusher.Flush()
	poll := time.NewTicker(s.opts.Poll)
	defer poll.Stop()
	tick := time.NewTicker(s.opts.Tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fmt.Fprintf(w, "event: tick\ndata: %s\n\n", last)
		case <-poll.C:
			mark, err := s.svc.ChangeMark(ctx)
			if err != nil {
				if errors.Is(ctx.Err(), context.Canceled) {
					return
				}
				fmt.Fprintf(w, "event: trouble\ndata: %s\n\n", oneLine(workflow.ErrorMessage(err)))
				flusher.Flush()
				continue
			}
			if mark == last {
				continue
			}
			last = mark
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", mark)
		}
		flusher.Flush()
	}
}

func oneLine(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ") }

// fail answers with the error's HTTP status and message, as plain text.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch workflow.ErrorCode(err) {
	case workflow.ENOTFOUND:
		status = http.StatusNotFound
	case workflow.EINVALID:
		status = http.StatusBadRequest
	case workflow.ETIMEOUT:
		status = http.StatusServiceUnavailable
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		return
	}
	http.Error(w, workflow.ErrorMessage(err), status)
}

// render executes a template into a buffer first, so a template error is a
// clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	body, err := s.pages.execute(name, data)
	if err != nil {
		s.fail(w, r, workflow.Errorf(workflow.EINTERNAL, "render %s: %v", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}
