package main

import (
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ClaimCmd takes a lease.
type ClaimCmd struct {
	Resource string         `arg:"" help:"Resource id (see oxygen resources)."`
	TTL      *time.Duration `name:"ttl" help:"Lease length (default: leases.default_ttl; at most leases.max_ttl)."`
	Item     string         `name:"item" help:"The work item this change belongs to."`
	Reason   string         `name:"reason" help:"What you will change."`
	Wait     time.Duration  `name:"wait" help:"Queue (first come, first served) for up to this long while another holds it; exit 6 if it runs out."`
	cli.Identity
}

func (c *ClaimCmd) Run(env *cli.Env) error {
	svc, actor, err := env.ServiceAs(c.Identity)
	if err != nil {
		return err
	}
	req := workflow.ClaimRequest{Resource: c.Resource, Actor: actor, TTL: c.TTL, Item: c.Item, Reason: c.Reason}
	res, err := svc.ClaimWait(env.Ctx, req, c.Wait)
	if err != nil {
		return err
	}
	return env.Output(res.Lease, func() {
		if res.Renewed {
			env.Printf("already held; expiry extended\n")
		}
		printLease(env, res.Lease, svc.Clock())
	})
}
