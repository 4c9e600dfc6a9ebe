package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// UnblockCmd resumes a blocked item, subject to the attention budget.
type UnblockCmd struct {
	ID      string `arg:"" help:"Item id." predictor:"item"`
	Council int64  `name:"council" help:"An approved council_call that lets this move exceed the attention budget once." placeholder:"N"`
	Reason  string `name:"reason" help:"Why, for the history."`
	actorFlags
}

func (c *UnblockCmd) Run(env *cli.Env) error {
	return runMove(env, c.actorFlags, c.ID, c.Reason, c.Council, func(svc *workflow.Service, req workflow.MoveRequest) (*workflow.Moved, error) {
		return svc.Unblock(env.Ctx, req)
	})
}
