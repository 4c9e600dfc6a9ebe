package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/templates"
	"github.com/oxygen-tools/oxygen/workflow"
)

// CapsuleCmd groups the capsule commands; `orchestrate capsule ID`
// regenerates.
type CapsuleCmd struct {
	Regenerate CapsuleRegenerateCmd `cmd:"" default:"withargs" help:"Regenerate the capsule of an item in progress (the default: orchestrate capsule ID)."`
	Show       CapsuleShowCmd       `cmd:"" help:"Print a capsule generation from the blob store."`
	History    CapsuleHistoryCmd    `cmd:"" help:"List an item's capsule generations."`
	Verify     CapsuleVerifyCmd     `cmd:"" help:"Report drift: embedded files changed, or a working copy that no longer matches its blob (exit 4)."`
	Template   CapsuleTemplateCmd   `cmd:"" help:"Print the built-in capsule template, to copy into .substrate/templates/capsule.md.tmpl."`
}

// CapsuleRegenerateCmd re-renders a capsule.
type CapsuleRegenerateCmd struct {
	ID string `arg:"" help:"Item id." predictor:"item"`
	By string `name:"by" help:"Who regenerates (default: OXYGEN_OWNER, else the item's owner)."`
}

func (c *CapsuleRegenerateCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	capsule, created, err := svc.RegenerateCapsule(env.Ctx, c.ID, cli.ActorName(c.By))
	if err != nil {
		return err
	}
	capsule.Path = svc.Shown(capsule.Path)
	return env.Output(map[string]any{"capsule": capsule, "new_generation": created}, func() {
		env.Printf("%s\n", capsule.Path)
		if !created {
			env.Warnf("%s's capsule is unchanged; generation %d kept", c.ID, capsule.Generation)
		}
	})
}

// CapsuleShowCmd prints a generation.
type CapsuleShowCmd struct {
	ID         string `arg:"" help:"Item id." predictor:"item"`
	Generation int    `name:"generation" help:"Which generation (default: the latest)." placeholder:"N"`
}

func (c *CapsuleShowCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	capsule, content, err := svc.ShowCapsule(env.Ctx, c.ID, c.Generation)
	if err != nil {
		return err
	}
	return env.Output(map[string]any{"capsule": capsule, "content": string(content)}, func() {
		env.Printf("%s", content)
	})
}

// CapsuleHistoryCmd lists generations.
type CapsuleHistoryCmd struct {
	ID string `arg:"" help:"Item id." predictor:"item"`
}

func (c *CapsuleHistoryCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	gens, err := svc.CapsuleHistory(env.Ctx, c.ID)
	if err != nil {
		return err
	}
	return env.Output(gens, func() {
		if len(gens) == 0 {
			env.Printf("%s has no capsule yet\n", c.ID)
			return
		}
		rows := make([][]string, 0, len(gens))
		for _, g := range gens {
			rows = append(rows, []string{itoa(int64(g.Generation)), g.GeneratedAt.String(), g.SHA256[:12], itoa(int64(len(g.Embedded))), itoa(int64(len(g.Withheld))), g.Template})
		}
		env.Table([]string{"GEN", "GENERATED", "SHA256", "EMBEDDED", "NOT EMBEDDED", "TEMPLATE"}, rows)
	})
}

// CapsuleVerifyCmd reports drift.
type CapsuleVerifyCmd struct {
	ID string `arg:"" help:"Item id." predictor:"item"`
}

func (c *CapsuleVerifyCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	d, err := svc.VerifyCapsule(env.Ctx, c.ID)
	if err != nil {
		return err
	}
	text := func() {
		if !d.Drifted {
			env.Printf("%s generation %d: no drift\n", d.Item, d.Generation)
			printItemWork(env, d)
			return
		}
		env.Printf("%s generation %d has drifted:\n", d.Item, d.Generation)
		if d.WorkingCopy != "ok" {
			env.Printf("  %s: working copy %s (blob %s)\n", d.Path, d.WorkingCopy, d.SHA256)
		}
		for _, f := range d.Drift() {
			env.Printf("  %s: %s\n", f.Path, f.Problem)
		}
		printItemWork(env, d)
	}
	if d.Drifted {
		return env.Finding(workflow.Errorf(workflow.EDENIED, "%s's capsule has drifted; regenerate it with: orchestrate capsule %s", c.ID, c.ID), d, text)
	}
	return env.Output(d, text)
}

// printItemWork lists the files changed under a lease held for the item:
// the item's own work, which is not drift.
func printItemWork(env *cli.Env, d *workflow.CapsuleDrift) {
	for _, f := range d.Files {
		if f.UnderLease != 0 {
			env.Printf("  %s: %s, under %s's lease (token %d): the item's work, not drift\n", f.Path, f.Problem, d.Item, f.UnderLease)
		}
	}
}

// CapsuleTemplateCmd prints the built-in template.
type CapsuleTemplateCmd struct{}

func (c *CapsuleTemplateCmd) Run(env *cli.Env) error {
	return env.Output(map[string]string{"name": templates.CapsuleName, "template": templates.Capsule}, func() {
		env.Printf("%s", templates.Capsule)
	})
}
