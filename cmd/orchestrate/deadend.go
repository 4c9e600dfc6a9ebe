package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// DeadEndCmd abandons an item and records why as a dead_end signal.
type DeadEndCmd struct {
	ID     string `arg:"" help:"Item id." predictor:"item"`
	Reason string `name:"reason" help:"Why this is a dead end; it becomes the signal's body." required:""`
	actorFlags
}

func (c *DeadEndCmd) Run(env *cli.Env) error {
	return runMove(env, c.actorFlags, c.ID, c.Reason, 0, func(svc *workflow.Service, req workflow.MoveRequest) (*workflow.Moved, error) {
		return svc.DeadEnd(env.Ctx, req)
	})
}
