package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ListCmd lists items.
type ListCmd struct {
	Status string `name:"status" help:"Only items in this status."`
	Domain string `name:"domain" help:"Only items of this domain." predictor:"domain"`
	Owner  string `name:"owner" help:"Only items owned by this owner."`
}

func (c *ListCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	items, err := svc.List(env.Ctx, workflow.ItemFilter{Status: c.Status, Domain: c.Domain, Owner: c.Owner})
	if err != nil {
		return err
	}
	return env.Output(items, func() { printItems(env, items) })
}

// printItems is the item table shared by list and ready.
func printItems(env *cli.Env, items []*workflow.Item) {
	if len(items) == 0 {
		env.Printf("no items\n")
		return
	}
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		owner := it.Owner
		if owner == "" {
			owner = "-"
		}
		rows = append(rows, []string{it.ID, string(it.Status), it.Priority, it.Domain, owner, it.Title})
	}
	env.Table([]string{"ID", "STATUS", "PRIORITY", "DOMAIN", "OWNER", "TITLE"}, rows)
}
