package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
)

// SignalShowCmd prints one signal.
type SignalShowCmd struct {
	ID int64 `arg:"" help:"Signal id." name:"N" predictor:"signal"`
}

func (c *SignalShowCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	sig, err := svc.GetSignal(env.Ctx, c.ID)
	if err != nil {
		return err
	}
	sig.File = svc.Shown(sig.File)
	return env.Output(sig, func() { printSignal(env, sig) })
}
