package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ReleaseCmd ends a lease.
type ReleaseCmd struct {
	Resource string `arg:"" help:"Resource id." predictor:"resource"`
	Force    bool   `name:"force" help:"Release another owner's lease (it ends as revoked and the holder's domain is told)."`
	Reason   string `name:"reason" help:"Why; required with --force."`
	cli.Identity
}

func (c *ReleaseCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	if c.Force && c.Reason == "" {
		return workflow.Errorf(workflow.EINVALID, "--force needs --reason: a forced release is explained to the holder")
	}
	actor, err := c.Identity.Resolve(svc)
	if err != nil {
		return err
	}
	l, err := svc.Release(env.Ctx, workflow.ReleaseRequest{Resource: c.Resource, Actor: actor, Force: c.Force, Reason: c.Reason})
	if err != nil {
		return err
	}
	return env.Output(l, func() { printLease(env, l, svc.Clock()) })
}
