package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
)

// VerifyCmd is a fencing check for scripts.
type VerifyCmd struct {
	Resource string `arg:"" help:"Resource id." predictor:"resource"`
	Token    int64  `name:"token" help:"The fencing token you hold." required:""`
}

func (c *VerifyCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	l, err := svc.VerifyToken(env.Ctx, c.Resource, c.Token)
	if err != nil {
		return err
	}
	return env.Output(l, func() { env.Printf("token %d is the active lease on %s (held by %s)\n", l.Token, l.Resource, l.Owner) })
}
