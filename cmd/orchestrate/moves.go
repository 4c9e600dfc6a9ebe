package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// actorFlags are the flags every non-assign transition takes.
type actorFlags struct {
	By     string `name:"by" help:"Who acts (default: OXYGEN_OWNER, else the item's owner)."`
	Domain string `name:"domain" help:"The actor's domain, for signals this move emits."`
}

func (a actorFlags) request(env *cli.Env, svc *workflow.Service, id, reason string, council int64) workflow.MoveRequest {
	by := cli.ActorName(a.By)
	req := workflow.MoveRequest{ID: id, By: by, Reason: reason, Council: council}
	if by != "" {
		req.ByDomain = cli.ActorDomain(svc.Config, by, a.Domain)
	}
	return req
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
	return env.Output(it, func() { env.Printf("%s: %s -> %s\n", it.ID, it.From, it.Status) })
}
