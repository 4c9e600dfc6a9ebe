package main

import (
	"os"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// InitCmd sets up a repository; running it again changes nothing.
type InitCmd struct {
	Agents bool `name:"agents" help:"Also add or update the Oxygen section of AGENTS.md (and of CLAUDE.md if present), between its markers."`
}

func (c *InitCmd) Run(env *cli.Env) error {
	dir := env.Globals.Root
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return workflow.Errorf(workflow.EINTERNAL, "working directory: %v", err)
		}
		dir = wd
	}
	clock, err := cli.Clock()
	if err != nil {
		return err
	}
	res, err := workflow.Init(env.Ctx, dir, env.Globals.Root != "", clock)
	if err != nil {
		return err
	}
	var guides []workflow.GuideFile
	if c.Agents {
		cfg, err := workflow.LoadConfig(res.Root)
		if err != nil {
			return err
		}
		if guides, err = workflow.WriteAgentGuides(res.Root, cfg); err != nil {
			return err
		}
	}
	doc := struct {
		*workflow.InitResult
		Agents []workflow.GuideFile `json:"agent_files,omitempty"`
	}{res, guides}
	return env.Output(doc, func() {
		summary := res.Describe()
		for _, g := range guides {
			if len(res.Created) == 0 && g.Status != "unchanged" {
				summary = res.Root + " is already an oxygen repository"
			}
		}
		env.Printf("%s\n", summary)
		for _, f := range res.Created {
			env.Printf("  created %s\n", f)
		}
		for _, g := range guides {
			env.Printf("  %s %s\n", g.Status, g.Path)
		}
	})
}
