package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
)

// CouncilDenyCmd answers a council_call with no.
type CouncilDenyCmd struct {
	ID     int64  `arg:"" name:"N" help:"The council_call's signal id."`
	By     string `name:"by" help:"Who denies (default: OXYGEN_OWNER); the same people who could approve it."`
	Domain string `name:"domain" help:"The denier's domain."`
	Reason string `name:"reason" help:"Why the cap must hold; the caller's domain is told." required:""`
}

func (c *CouncilDenyCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	by, err := cli.Identity{Owner: c.By, Domain: c.Domain, Flag: "--by"}.Resolve(svc)
	if err != nil {
		return err
	}
	call, err := svc.DenyCouncil(env.Ctx, c.ID, by, c.Reason)
	if err != nil {
		return err
	}
	return env.Output(call, func() {
		env.Printf("council_call %d for %s denied by %s (%s)\n", call.ID, call.Item, by.Owner, by.Domain)
	})
}
