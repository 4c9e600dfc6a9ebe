package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
)

// SignalAckCmd acknowledges signals, taking them out of the owner's inbox.
type SignalAckCmd struct {
	IDs    []int64 `arg:"" name:"N" help:"Signal ids (see orchestrate signal inbox)." predictor:"signal"`
	By     string  `name:"by" help:"Who acknowledges (default: OXYGEN_OWNER)." placeholder:"WHO"`
	Domain string  `name:"domain" help:"The domain they act for."`
}

func (c *SignalAckCmd) Run(env *cli.Env) error {
	svc, actor, err := env.ServiceAs(cli.Identity{Owner: c.By, Domain: c.Domain, Flag: "--by"})
	if err != nil {
		return err
	}
	res, err := svc.Ack(env.Ctx, actor, c.IDs)
	if err != nil {
		return err
	}
	return env.Output(res, func() {
		for _, id := range res.Acknowledged {
			env.Printf("signal %d acknowledged by %s\n", id, actor.Owner)
		}
		for _, id := range res.Already {
			env.Printf("signal %d was already acknowledged by %s\n", id, actor.Owner)
		}
	})
}
