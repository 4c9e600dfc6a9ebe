package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
)

// ExpireCmd sweeps expired leases.
type ExpireCmd struct{}

func (c *ExpireCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	expired, found, err := svc.Expire(env.Ctx)
	if err != nil {
		return err
	}
	return env.Output(expired, func() {
		if len(expired) == 0 {
			env.Printf("no expired leases\n")
		}
		for _, l := range expired {
			env.Printf("expired %s (token %d, %s of %s) at %s\n", l.Resource, l.Token, l.Owner, l.Domain, l.ExpiresAt)
		}
		for _, e := range found {
			env.Printf("%s\n", foundLine(e))
		}
	})
}
