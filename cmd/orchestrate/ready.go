package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
)

// ReadyCmd lists what can start now.
type ReadyCmd struct {
	Domain string `name:"domain" help:"Only items of this domain." predictor:"domain"`
}

func (c *ReadyCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	items, err := svc.Ready(env.Ctx, c.Domain)
	if err != nil {
		return err
	}
	return env.Output(items, func() { printItems(env, items) })
}
