package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// BlockCmd parks an item in progress.
type BlockCmd struct {
	ID     string `arg:"" help:"Item id." predictor:"item"`
	Reason string `name:"reason" help:"What it waits for." required:""`
	actorFlags
}

func (c *BlockCmd) Run(env *cli.Env) error {
	return runMove(env, c.actorFlags, c.ID, c.Reason, 0, func(svc *workflow.Service, req workflow.MoveRequest) (*workflow.Moved, error) {
		return svc.Block(env.Ctx, req)
	})
}
