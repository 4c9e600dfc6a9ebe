package main

import (
	"os"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// InitCmd sets up a repository; running it again changes nothing.
type InitCmd struct{}

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
	return env.Output(res, func() {
		env.Printf("%s\n", res.Describe())
		for _, f := range res.Created {
			env.Printf("  created %s\n", f)
		}
	})
}
