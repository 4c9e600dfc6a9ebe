package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/internal/dashboard"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ServeCmd serves the read-only dashboard until SIGINT or SIGTERM.
type ServeCmd struct {
	Addr  string `name:"addr" default:"127.0.0.1:7070" help:"Listen address. Anything but loopback needs --token." placeholder:"HOST:PORT"`
	Token string `name:"token" env:"OXYGEN_DASHBOARD_TOKEN" help:"Require this bearer token (or basic-auth password) on every request. Prefer the environment variable: a flag shows in ps." placeholder:"TOKEN"`
}

func (c *ServeCmd) Run(env *cli.Env) error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return workflow.Errorf(workflow.EINVALID, "--addr %q: give HOST:PORT, such as 127.0.0.1:7070", c.Addr)
	}
	if !dashboard.IsLoopbackAddr(c.Addr) && c.Token == "" {
		return workflow.Errorf(workflow.EINVALID, "--addr %s is reachable from other machines: pass --token (or set OXYGEN_DASHBOARD_TOKEN), or listen on 127.0.0.1", c.Addr)
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
