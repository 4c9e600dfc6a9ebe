// Command orchestrate-dashboard serves the read-only live dashboard behind
// `orchestrate serve`. It is a binary of its own so that the cost of
// linking net/http and html/template stays out of every other orchestrate
// command.
package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/internal/dashboard"
	// A long-running server pays the driver's start-up once: it carries
	// it, rather than handing over to a sibling.
	_ "github.com/oxygen-tools/oxygen/store/postgres"
	"github.com/oxygen-tools/oxygen/workflow"
)

// CLI is orchestrate-dashboard's grammar: serving is all it does.
type CLI struct {
	cli.Globals

	Serve ServeCmd `cmd:"" default:"withargs" help:"Serve the dashboard until SIGINT or SIGTERM (the default)."`
}

// ServeCmd serves the dashboard of one repository over a read-only store.
type ServeCmd struct {
	cli.ServeFlags
}

func (c *ServeCmd) Run(env *cli.Env) error {
	if err := c.Check(); err != nil {
		return err
	}
	svc, err := env.ReadOnlyService()
	if err != nil {
		return err
	}
	srv, err := dashboard.New(svc, dashboard.Options{Token: c.Token, Repo: filepath.Base(svc.Root)})
	if err != nil {
		return workflow.Errorf(workflow.EINTERNAL, "dashboard: %v", err)
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return workflow.Errorf(workflow.EINVALID, "--addr %s: %v", c.Addr, err)
	}
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		// Requests, event streams included, end when the command is stopped.
		BaseContext: func(net.Listener) context.Context { return env.Ctx },
	}
	env.Printf("dashboard on http://%s/ (read-only; Ctrl-C stops it)\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- httpSrv.Serve(ln) }()
	select {
	case err := <-done:
		return workflow.Errorf(workflow.EINTERNAL, "serve: %v", err)
	case <-env.Ctx.Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return workflow.Errorf(workflow.EINTERNAL, "stop serving: %v", err)
	}
	return nil
}

func main() {
	var c CLI
	os.Exit(cli.Run("orchestrate-dashboard", &c, &c.Globals, os.Args[1:], cli.Options{
		Description: "The read-only live dashboard of an Oxygen repository; run it through orchestrate serve.",
	}))
}
