package main

import (
	"fmt"
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// TrailerCmd prints the Oxygen-Lease trailers that prove a commit made
// without them (with --no-verify, or before the commit-msg hook was
// installed), for `oxygen check --range` to accept it. A change under a
// resource you hold now is recorded under your lease; any other must have
// been committed under a lease before (the same content, on that
// resource).
type TrailerCmd struct {
	Commit string `arg:"" optional:"" default:"HEAD" help:"The commit to prove (default HEAD)."`
	cli.Identity
}

// TrailerResult is what oxygen trailer prints under --json.
type TrailerResult struct {
	Commit   string   `json:"commit"`
	Checked  int      `json:"checked"`
	Trailers []string `json:"trailers"`
}

func (c *TrailerCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	commit, err := svc.CommitAt(env.Ctx, c.Commit)
	if err != nil {
		return err
	}
	res, _, err := prove(env, svc, c.Identity, commit.Changes)
	if err != nil {
		return err
	}
	if len(res.Violations) > 0 {
		err := workflow.Errorf(workflow.EDENIED, "%d change(s) of %s are under a lease you do not hold and were never committed under one: claim them and run this again", len(res.Violations), c.Commit)
		return env.Finding(err, res, func() { printViolations(env, res) })
	}
	return env.Output(TrailerResult{Commit: commit.Hash, Checked: res.Checked, Trailers: res.Trailers}, func() {
		if len(res.Trailers) == 0 {
			fmt.Fprintf(env.Stderr, "%s changes no shared resource: it needs no trailer\n", c.Commit)
			return
		}
		for _, t := range res.Trailers {
			env.Printf("%s\n", t)
		}
		fmt.Fprintf(env.Stderr, "add them to the commit's message: for HEAD, git commit --amend --no-edit --trailer '%s'; for an older commit, reword it in git rebase -i\n",
			strings.Join(res.Trailers, "' --trailer '"))
	})
}
