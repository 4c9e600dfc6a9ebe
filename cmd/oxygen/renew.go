package main

import (
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
)

// RenewCmd extends the caller's lease.
type RenewCmd struct {
	Resource string         `arg:"" help:"Resource id." predictor:"resource"`
	TTL      *time.Duration `name:"ttl" help:"New length from now (default: leases.default_ttl)."`
	cli.Identity
}

func (c *RenewCmd) Run(env *cli.Env) error {
	svc, actor, err := env.ServiceAs(c.Identity)
	if err != nil {
		return err
	}
	l, err := svc.Renew(env.Ctx, c.Resource, actor, c.TTL)
	if err != nil {
		return err
	}
	return env.Output(l, func() { printLease(env, l, svc.Clock()) })
}
