package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
)

// CouncilWithdrawCmd takes back a council_call its caller no longer needs.
type CouncilWithdrawCmd struct {
	ID     int64  `arg:"" name:"N" help:"The council_call's signal id."`
	By     string `name:"by" help:"Who withdraws: the caller (default: OXYGEN_OWNER)."`
	Domain string `name:"domain" help:"The caller's domain."`
	Reason string `name:"reason" help:"Why, for the record."`
}

func (c *CouncilWithdrawCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	by, err := cli.Identity{Owner: c.By, Domain: c.Domain, Flag: "--by"}.Resolve(svc)
	if err != nil {
		return err
	}
	call, err := svc.WithdrawCouncil(env.Ctx, c.ID, by, c.Reason)
	if err != nil {
		return err
	}
	return env.Output(call, func() {
		env.Printf("council_call %d for %s withdrawn by %s\n", call.ID, call.Item, by.Owner)
	})
}
