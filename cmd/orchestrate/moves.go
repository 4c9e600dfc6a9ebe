package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// actorFlags are the flags every non-assign transition takes.
type actorFlags struct {
	By     string `name:"by" help:"Who acts: the item's owner or a member of its domain (default: OXYGEN_OWNER, else git config oxygen.owner)."`
	Domain string `name:"domain" help:"The actor's domain (default: OXYGEN_DOMAIN, the agents map, or an owner named like a domain)."`
}

func (a actorFlags) request(env *cli.Env, svc *workflow.Service, id, reason string, council int64) workflow.MoveRequest {
	by, domain, envDomain := cli.MoveActor(svc, a.By, a.Domain)
	return workflow.MoveRequest{ID: id, By: by, Domain: domain, EnvDomain: envDomain, Reason: reason, Council: council}
}

// runMove is the shared body of the simple transitions.
func runMove(env *cli.Env, a actorFlags, id, reason string, council int64, move func(*workflow.Service, workflow.MoveRequest) (*workflow.Moved, error)) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	it, err := move(svc, a.request(env, svc, id, reason, council))
	if err != nil {
		return err
	}
	return env.Output(it, func() {
		env.Printf("%s: %s -> %s\n", it.ID, it.From, it.Status)
		printReleased(env, it.Released)
	})
}

// printReleased lists the leases a move ended with its item.
func printReleased(env *cli.Env, leases []*workflow.Lease) {
	for _, l := range leases {
		env.Printf("released %s (token %d), held for %s\n", l.Resource, l.Token, l.Item)
	}
}
