package main

import (
	"os"
	"syscall"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// dashboardBinary serves the dashboard. It is a binary of its own because
// linking net/http and html/template into orchestrate cost every orchestrate
// command about a millisecond of start-up (docs/PERFORMANCE.md); `orchestrate
// serve` checks its flags and replaces itself with it.
const dashboardBinary = "orchestrate-dashboard"

// ServeCmd serves the read-only dashboard until SIGINT or SIGTERM.
type ServeCmd struct {
	cli.ServeFlags
}

func (c *ServeCmd) Run(env *cli.Env) error {
	if err := c.Check(); err != nil {
		return err
	}
	server, err := cli.FindSibling(dashboardBinary)
	if err != nil {
		return err
	}
	args := []string{dashboardBinary, "--addr", c.Addr}
	if env.Globals.Root != "" {
		args = append(args, "--root", env.Globals.Root)
	}
	// The token goes on in the environment, never in the new argv, where ps
	// would show it.
	vars := os.Environ()
	if c.Token != "" {
		vars = append(vars, "OXYGEN_DASHBOARD_TOKEN="+c.Token)
	}
	if err := syscall.Exec(server, args, vars); err != nil {
		return workflow.Errorf(workflow.EINTERNAL, "start %s: %v", server, err)
	}
	return nil
}
