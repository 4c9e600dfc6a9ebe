package main

import (
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ShowCmd prints one item and its history.
type ShowCmd struct {
	ID string `arg:"" help:"Item id." predictor:"item"`
}

func (c *ShowCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	d, err := svc.Show(env.Ctx, c.ID)
	if err != nil {
		return err
	}
	return env.Output(d, func() { printItem(env, d) })
}

func printItem(env *cli.Env, d *workflow.ItemDetail) {
	owner := d.Owner
	if owner == "" {
		owner = "-"
	}
	env.Printf("%s  %s\n", d.ID, d.Title)
	env.Printf("  kind: %s   domain: %s   priority: %s   status: %s   owner: %s\n", d.Kind, d.Domain, d.Priority, d.Status, owner)
	env.Printf("  created: %s   updated: %s\n", d.CreatedAt, d.UpdatedAt)
	env.Printf("  objective: %s\n", d.Objective)
	list := func(name string, l []string) {
		if len(l) > 0 {
			env.Printf("  %s:\n", name)
			for _, v := range l {
				env.Printf("    - %s\n", v)
			}
		}
	}
	list("in scope", d.InScope)
	list("out of scope", d.OutOfScope)
	list("invariants", d.Invariants)
	list("files", d.Files)
	list("commands", d.Commands)
	if len(d.DependsOn) > 0 {
		env.Printf("  depends on: %s\n", strings.Join(d.DependsOn, ", "))
	}
	env.Printf("  history:\n")
	if len(d.History) == 0 {
		env.Printf("    (no transitions yet)\n")
	}
	for _, t := range d.History {
		line := "    " + t.At.String() + "  " + string(t.From) + " -> " + string(t.To) + "  by " + t.Actor
		if t.Council != nil {
			line += "  (council " + itoa(*t.Council) + ")"
		}
		if t.Reason != "" {
			line += ": " + t.Reason
		}
		env.Printf("%s\n", line)
	}
}
