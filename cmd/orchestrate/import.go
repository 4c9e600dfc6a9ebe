package main

import (
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
)

// ImportCmd loads a plan registry.
type ImportCmd struct {
	File string `arg:"" help:"Plan registry YAML with an items: list." type:"path"`
	By   string `name:"by" help:"Who imports, for the audit log (default: OXYGEN_OWNER)."`
}

func (c *ImportCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	actor := cli.ActorName(c.By)
	if actor == "" {
		actor = "orchestrate"
	}
	res, err := svc.ImportPlan(env.Ctx, c.File, actor)
	if err != nil {
		return err
	}
	return env.Output(res, func() {
		env.Printf("imported %s: %d created, %d updated, %d unchanged\n", c.File, len(res.Created), len(res.Updated), len(res.Unchanged))
		for _, r := range res.Rebriefed {
			env.Printf("  %s (%s's) changed: %s; capsule generation %d, missive %d\n", r.Item, r.Owner, strings.Join(r.Changed, ", "), r.Generation, r.Signal)
		}
	})
}
