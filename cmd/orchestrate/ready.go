package main

import (
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ReadyCmd lists what can start, and what each item waits on.
type ReadyCmd struct {
	Domain string `name:"domain" help:"Only items of this domain." predictor:"domain"`
	Owner  string `name:"owner" help:"Whose view: their own leases and queue places never make an item wait (default: OXYGEN_OWNER; with --now, else git config oxygen.owner)." placeholder:"WHO"`
	Now    bool   `name:"now" help:"Only items the owner could assign and start now: of their domain, waiting on no lease, queue or cap."`
	pageFlags
}

func (c *ReadyCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	// Whose view: --owner or OXYGEN_OWNER. Only --now, which must know who
	// asks, falls back on git config oxygen.owner, which costs a process.
	req := workflow.ReadyRequest{Domain: c.Domain, Owner: cli.ActorName(c.Owner), Now: c.Now}
	if c.Now {
		if req.Owner == "" {
			req.Owner = svc.ConfiguredOwner()
		}
		if req.Owner != "" {
			actor, err := cli.Identity{Owner: req.Owner}.Resolve(svc)
			if err != nil {
				return err
			}
			req.OwnerDomain = actor.Domain
		}
	}
	out := newRowStream(env, c.pageFlags, []string{"ID", "PRIORITY", "DOMAIN", "TITLE", "WAITING ON"})
	next, err := svc.ReadyItems(env.Ctx, req, c.page(), func(it *workflow.ReadyItem) error {
		waiting := "-"
		if len(it.WaitingOn) > 0 {
			reasons := make([]string, len(it.WaitingOn))
			for i, w := range it.WaitingOn {
				reasons[i] = w.Reason
			}
			waiting = strings.Join(reasons, "; ")
		}
		return out.row(it, []string{it.ID, it.Priority, it.Domain, it.Title, waiting})
	})
	if err != nil {
		return err
	}
	now := ""
	if c.Now {
		now = "--now"
	}
	return out.end(next, "ready", flag("domain", c.Domain), flag("owner", c.Owner), now)
}
