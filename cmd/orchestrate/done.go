package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// DoneCmd finishes an item in progress.
type DoneCmd struct {
	ID     string `arg:"" help:"Item id."`
	Reason string `name:"reason" help:"A note for the history."`
	actorFlags
}

func (c *DoneCmd) Run(env *cli.Env) error {
	return runMove(env, c.actorFlags, c.ID, c.Reason, 0, func(svc *workflow.Service, req workflow.MoveRequest) (*workflow.Moved, error) {
		return svc.Done(env.Ctx, req)
	})
}
