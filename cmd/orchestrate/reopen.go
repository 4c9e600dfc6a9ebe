package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ReopenCmd puts a done or dead_end item back to open.
type ReopenCmd struct {
	ID     string `arg:"" help:"Item id." predictor:"item"`
	Reason string `name:"reason" help:"Why it is reopened." required:""`
	actorFlags
}

func (c *ReopenCmd) Run(env *cli.Env) error {
	return runMove(env, c.actorFlags, c.ID, c.Reason, 0, func(svc *workflow.Service, req workflow.MoveRequest) (*workflow.Moved, error) {
		return svc.Reopen(env.Ctx, req)
	})
}
