package main

import (
	"fmt"

	"os"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// CheckCmd is the shadow-edit guard: changed paths under a resource need a
// lease.
type CheckCmd struct {
	Staged bool     `name:"staged" help:"Check the paths staged for commit in this worktree (the pre-commit hook)."`
	Range  string   `name:"range" help:"Check that every commit of a range, e.g. origin/main..HEAD, carries Oxygen-Lease trailers naming the leases its changes were committed under (CI)." placeholder:"A..B"`
	Paths  []string `arg:"" optional:"" name:"path" help:"Check these paths as if they were changed; a directory stands for every file below it."`
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
	svc, mode, err := openGuard(env)
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
		paths := c.Paths
		if c.Staged {
			if paths, err = svc.StagedPaths(env.Ctx); err != nil {
				return err
			}
		} else if paths, err = svc.CleanPaths(paths); err != nil {
			return err
		}
		// Who acts matters only when a path is under a resource.
		if svc.Config.TouchesResource(paths) {
			if actor, err = c.Identity.Resolve(svc); err != nil {
				return err
			}
		}
		if res, err = svc.CheckPaths(env.Ctx, actor, paths); err != nil {
			return err
		}
	}
	return guardVerdict(env, svc, mode, "OXYGEN_GUARD=warn", actor.Owner, res, func() {
		printViolations(env, res)
		if len(res.Violations) == 0 {
			env.Printf("ok: %d path(s) checked, every shared resource is leased\n", res.Checked)
		}
	})
}

// openGuard opens the service for a guard command and reads OXYGEN_GUARD,
// first: unset or "enforce" refuses unleased changes, "warn" lets them
// through and records that in the audit log.
func openGuard(env *cli.Env) (*workflow.Service, string, error) {
	mode := os.Getenv("OXYGEN_GUARD")
	if mode != "" && mode != "warn" && mode != "enforce" {
		return nil, "", workflow.Errorf(workflow.EINVALID, "OXYGEN_GUARD=%q: use warn or enforce", mode)
	}
	svc, err := env.Service()
	return svc, mode, err
}

// guardVerdict ends a guard command: all covered; unleased changes let
// through under OXYGEN_GUARD=warn, recorded in the audit log as bypass; or
// refused with exit 4.
func guardVerdict(env *cli.Env, svc *workflow.Service, mode, bypass, owner string, res *workflow.GuardResult, text func()) error {
	if len(res.Violations) == 0 {
		return env.Output(res, text)
	}
	if mode == "warn" {
		res.Bypassed = true
		if err := svc.RecordBypass(env.Ctx, owner, bypass, res); err != nil {
			return err
		}
		if err := env.Output(res, text); err != nil {
			return err
		}
		env.Warnf("OXYGEN_GUARD=warn: %d unleased change(s) let through; the bypass is in the audit log", len(res.Violations))
		return nil
	}
	err := workflow.Errorf(workflow.EDENIED, "%d change(s) to shared resources without a lease; claim them first (or set OXYGEN_GUARD=warn to let this through, recorded)", len(res.Violations))
	return env.Finding(err, res, text)
}

// printViolations prints one line per uncovered change with what to run.
func printViolations(env *cli.Env, res *workflow.GuardResult) {
	for _, v := range res.Violations {
		if v.Commit != "" {
			env.Printf("%s %s: under %s (%s): %s; %s\n", v.Commit[:12], v.Path, v.Resource, v.Domain, v.Reason, v.Command)
			continue
		}
		holder := "nobody"
		if h := v.Holder; h != nil {
			holder = fmt.Sprintf("%s (%s), token %d, until %s", h.Owner, h.Domain, h.Token, h.ExpiresAt)
		}
		env.Printf("%s: under %s (%s), held by %s; run: %s\n", v.Path, v.Resource, v.Domain, holder, v.Command)
	}
}

// prove finds the leases that cover changes (see workflow.ProveChanges). Who
// acts is asked only when a change falls under a resource.
func prove(env *cli.Env, svc *workflow.Service, id cli.Identity, changes []workflow.Change) (*workflow.GuardResult, workflow.Actor, error) {
	var actor workflow.Actor
	if svc.Config.TouchesResource(workflow.ChangedPaths(changes)) {
		var err error
		if actor, err = id.Resolve(svc); err != nil {
			return nil, actor, err
		}
	}
	res, err := svc.ProveChanges(env.Ctx, actor, changes)
	return res, actor, err
}
