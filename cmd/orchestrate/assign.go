package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// AssignCmd starts an item.
type AssignCmd struct {
	ID      string `arg:"" help:"Item id."`
	Owner   string `name:"owner" help:"The new owner; must belong to the item's domain." required:""`
	Domain  string `name:"domain" help:"The owner's domain, when neither the agents map nor the owner's name says it."`
	Council int64  `name:"council" help:"An approved council_call that lets this move exceed the attention budget once." placeholder:"N"`
	By      string `name:"by" help:"Who runs the assignment (default: OXYGEN_OWNER, else the new owner)."`
	Reason  string `name:"reason" help:"Why, for the history."`
}

func (c *AssignCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	res, err := svc.Assign(env.Ctx, workflow.AssignRequest{ID: c.ID, Owner: c.Owner, Domain: c.Domain, By: cli.ActorName(c.By), Council: c.Council, Reason: c.Reason})
	if err != nil {
		return err
	}
	return env.Output(map[string]any{"item": res.Item}, func() {
		env.Printf("%s is in_progress, owned by %s\n", res.Item.ID, res.Item.Owner)
		if res.Council != 0 {
			env.Printf("council_call %d used to exceed the attention budget of %s\n", res.Council, res.Item.Domain)
		}
	})
}
