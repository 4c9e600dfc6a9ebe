package main

import (
	"github.com/oxygen-tools/oxygen/store"
	"log/slog"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// DaemonCmd runs the scheduled jobs until SIGINT or SIGTERM.
type DaemonCmd struct {
	LogFormat string `name:"log-format" help:"Log format: text or json." enum:"text,json" default:"text"`
}

func (c *DaemonCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	var handler slog.Handler
	if c.LogFormat == "json" {
		handler = slog.NewJSONHandler(env.Stderr, nil)
	} else {
		handler = slog.NewTextHandler(env.Stderr, nil)
	}
	// A long audit run must not hold up the heartbeat: give the daemon a
	// few connections instead of the CLI's one.
	if p, ok := svc.Store.(store.Pooled); ok {
		p.SetMaxConns(4)
	}
	d := &workflow.Daemon{Service: svc, Logger: slog.New(handler)}
	svc.Warn = func(msg string) { d.Logger.Warn(msg) }
	err = d.Run(env.Ctx)
	env.Close()
	return err
}
