package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
)

// WhereCmd tells where the repository, the worktree and the shared store
// are: with several worktrees and clones, "which store am I using?" is the
// first question when two agents disagree.
type WhereCmd struct{}

func (c *WhereCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	w, err := svc.Where(env.Ctx)
	if err != nil {
		return err
	}
	return env.Output(w, func() {
		env.Printf("repository: %s\n", w.Root)
		env.Printf("worktree:   %s\n", w.Worktree)
		env.Printf("config:     %s\n", w.Config)
		env.Printf("store:      %s\n", w.Store)
		env.Printf("store id:   %s\n", w.StoreID)
		env.Printf("schema:     %d\n", w.SchemaVersion)
	})
}
