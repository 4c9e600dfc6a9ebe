package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// UnassignCmd returns an item in progress to open.
type UnassignCmd struct {
	ID     string `arg:"" help:"Item id." predictor:"item"`
	Reason string `name:"reason" help:"Why, for the history."`
	actorFlags
}

func (c *UnassignCmd) Run(env *cli.Env) error {
	return runMove(env, c.actorFlags, c.ID, c.Reason, 0, func(svc *workflow.Service, req workflow.MoveRequest) (*workflow.Moved, error) {
		return svc.Unassign(env.Ctx, req)
	})
}
