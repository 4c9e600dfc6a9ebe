package main

import (
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// AssignCmd starts an item.
type AssignCmd struct {
	ID      string `arg:"" help:"Item id." predictor:"item"`
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
	by, _, envDomain := cli.MoveActor(svc, c.By, "")
	res, err := svc.Assign(env.Ctx, workflow.AssignRequest{ID: c.ID, Owner: c.Owner, Domain: c.Domain, By: by, ByEnvDomain: envDomain, Council: c.Council, Reason: c.Reason})
	if err != nil {
		return err
	}
	if over := res.Capsule.OverLimit(); len(over) > 0 {
		env.Warnf("%s lists %d files; %d not embedded (over the drift guard of %d files): %s",
			res.Item.ID, len(res.Item.Files), len(over), svc.Config.Capsules.MaxFiles, strings.Join(over, ", "))
	}
	if res.Council != 0 {
		env.Warnf("council_call %d used: %s goes over the attention budget of %s", res.Council, res.Item.ID, res.Item.Domain)
	}
	res.Capsule.Path = svc.Shown(res.Capsule.Path)
	return env.Output(map[string]any{"item": res.Item, "capsule": res.Capsule}, func() {
		env.Printf("%s\n", res.Capsule.Path)
	})
}
