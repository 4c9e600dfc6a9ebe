package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// AddCmd creates one work item.
type AddCmd struct {
	ID         string   `arg:"" optional:"" help:"Item id (default: the next <items.id_prefix>-NNN)."`
	Title      string   `name:"title" help:"One-line title." required:""`
	Kind       string   `name:"kind" help:"Kind of work, e.g. plan, feature, bug, chore." required:""`
	Domain     string   `name:"domain" help:"Owning domain." required:""`
	Priority   string   `name:"priority" help:"critical, high, medium or low." required:""`
	Objective  string   `name:"objective" help:"What done looks like." required:""`
	InScope    []string `name:"in-scope" help:"In scope (repeatable)." sep:"none"`
	OutOfScope []string `name:"out-of-scope" help:"Out of scope (repeatable)." sep:"none"`
	Invariant  []string `name:"invariant" help:"An invariant of this item (repeatable)." sep:"none"`
	File       []string `name:"file" help:"A root-relative file the work touches (repeatable)." sep:"none"`
	Command    []string `name:"command" help:"A verification command (repeatable)." sep:"none"`
	DependsOn  []string `name:"depends-on" help:"An item that must be done first (repeatable)." sep:"none"`
	By         string   `name:"by" help:"Who adds it, for the audit log (default: OXYGEN_OWNER, else the domain)."`
}

func (c *AddCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	actor := cli.ActorName(c.By)
	if actor == "" {
		actor = c.Domain
	}
	if actor == "" {
		actor = "orchestrate"
	}
	it, err := svc.AddItem(env.Ctx, workflow.ItemSpec{
		ID: c.ID, Title: c.Title, Kind: c.Kind, Domain: c.Domain, Priority: c.Priority, Objective: c.Objective,
		InScope: c.InScope, OutOfScope: c.OutOfScope, Invariants: c.Invariant, Files: c.File, Commands: c.Command, DependsOn: c.DependsOn,
	}, actor)
	if err != nil {
		return err
	}
	return env.Output(it, func() { env.Printf("%s\n", it.ID) })
}
