package main

import (
	"os"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// CheckCmd is the shadow-edit guard: changed paths under a resource need a
// lease.
type CheckCmd struct {
	Staged bool     `name:"staged" help:"Check the paths staged for commit (the pre-commit hook)."`
	Range  string   `name:"range" help:"Check every commit of a range, e.g. origin/main..HEAD, against the leases active at its committer time (CI)." placeholder:"A..B"`
	Paths  []string `arg:"" optional:"" name:"path" help:"Check these paths as if they were changed."`
	cli.Identity
}

func (c *CheckCmd) Run(env *cli.Env) error {
	modes := 0
	for _, on := range []bool{c.Staged, c.Range != "", len(c.Paths) > 0} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		return workflow.Errorf(workflow.EINVALID, "check one thing: --staged, --range A..B, or PATH...")
	}
	guard := os.Getenv("OXYGEN_GUARD")
	if guard != "" && guard != "warn" && guard != "enforce" {
		return workflow.Errorf(workflow.EINVALID, "OXYGEN_GUARD=%q: use warn or enforce", guard)
	}
	svc, err := env.Service()
	if err != nil {
		return err
	}
	var res *workflow.GuardResult
	var actor workflow.Actor
	if c.Range != "" {
		commits, err := svc.CommitsIn(env.Ctx, c.Range)
		if err != nil {
			return err
		}
		if res, err = svc.CheckCommits(env.Ctx, commits); err != nil {
			return err
		}
	} else {
		if actor, err = c.Identity.Resolve(svc); err != nil {
			return err
		}
		paths := c.Paths
		if c.Staged {
			if paths, err = svc.StagedPaths(env.Ctx); err != nil {
				return err
			}
		} else if paths, err = svc.CleanPaths(paths); err != nil {
			return err
		}
		if res, err = svc.CheckPaths(env.Ctx, actor, paths); err != nil {
			return err
		}
	}
	if len(res.Violations) > 0 && guard == "warn" {
		res.Bypassed = true
		if err := svc.RecordBypass(env.Ctx, actor.Owner, "OXYGEN_GUARD=warn", res); err != nil {
			return err
		}
	}
	text := func() {
		for _, v := range res.Violations {
			if v.Commit != "" {
				env.Printf("%s %s: under %s (%s), no lease was active at the commit's time; %s\n", v.Commit[:12], v.Path, v.Resource, v.Domain, v.Command)
				continue
			}
			holder := v.Holder
			if holder == "" {
				holder = "nobody"
			}
			env.Printf("%s: under %s (%s), held by %s; run: %s\n", v.Path, v.Resource, v.Domain, holder, v.Command)
		}
		if len(res.Violations) == 0 {
			env.Printf("ok: %d path(s) checked, every shared resource is leased\n", res.Checked)
		}
	}
	if len(res.Violations) == 0 {
		return env.Output(res, text)
	}
	if res.Bypassed {
		if err := env.Output(res, text); err != nil {
			return err
		}
		env.Warnf("OXYGEN_GUARD=warn: %d unleased change(s) let through; the bypass is in the audit log", len(res.Violations))
		return nil
	}
	err = workflow.Errorf(workflow.EDENIED, "%d change(s) to shared resources without a lease; claim them first (or set OXYGEN_GUARD=warn to let this through, recorded)", len(res.Violations))
	return env.Finding(err, res, text)
}
