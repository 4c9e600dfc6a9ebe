package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ClaimCmd takes a lease.
type ClaimCmd struct {
	Resource string         `arg:"" help:"Resource id (see oxygen resources)." predictor:"resource"`
	TTL      *time.Duration `name:"ttl" help:"Lease length (default: leases.default_ttl; at most leases.max_ttl)."`
	Item     string         `name:"item" help:"The work item this change belongs to." predictor:"item"`
	Reason   string         `name:"reason" help:"What you will change."`
	Wait     time.Duration  `name:"wait" help:"Queue (first come, first served) for up to this long while another holds it; exit 6 if it runs out. On a terminal, stderr shows your place and the holder."`
	cli.Identity
}

func (c *ClaimCmd) Run(env *cli.Env) error {
	svc, actor, err := env.ServiceAs(c.Identity)
	if err != nil {
		return err
	}
	req := workflow.ClaimRequest{Resource: c.Resource, Actor: actor, TTL: c.TTL, Item: c.Item, Reason: c.Reason}
	if c.Wait > 0 && cli.IsTerminal(env.Stderr) {
		p := &waitProgress{env: env}
		req.OnWait = p.show
		defer p.clear()
	}
	res, err := svc.ClaimWait(env.Ctx, req, c.Wait)
	if err != nil {
		return err
	}
	return env.Output(claimOutput{res.Lease, res.ShadowEdits}, func() {
		if res.Renewed {
			env.Printf("already held; expiry extended\n")
		}
		printLease(env, res.Lease, svc.Clock())
		for _, e := range res.ShadowEdits {
			env.Printf("%s\n", foundLine(e))
		}
	})
}

// waitProgress keeps one status line on a terminal's stderr up to date while
// a claim waits, and wipes it before the result is printed.
type waitProgress struct {
	env  *cli.Env
	last string
}

func (p *waitProgress) show(st workflow.WaitState) {
	line := waitLine(st)
	if line == p.last {
		return
	}
	p.last = line
	fmt.Fprintf(p.env.Stderr, "\r\x1b[K%s", line)
}

func (p *waitProgress) clear() {
	if p.last != "" {
		fmt.Fprint(p.env.Stderr, "\r\x1b[K")
	}
}

// waitLine says where a waiting claim stands: its place, and who is in the
// way for how long.
func waitLine(st workflow.WaitState) string {
	line := fmt.Sprintf("waiting for %s: queue position %d", st.Resource, st.Position)
	switch {
	case st.Holder != nil:
		h := st.Holder
		line += fmt.Sprintf(", held by %s (%s), token %d, %s", h.Owner, h.Domain, h.Token, cli.Remaining(h.ExpiresAt.Time, st.Now.Time))
	case st.Position > 1:
		line += fmt.Sprintf(", free, %d ahead", st.Position-1)
	default:
		line += ", free, claiming"
	}
	return line
}

// claimOutput is a granted lease and the shadow edits its claim found.
type claimOutput struct {
	*workflow.Lease
	ShadowEdits []*workflow.ShadowEdit `json:"shadow_edits"`
}

// foundLine tells, in one line, what a lease boundary found.
func foundLine(e *workflow.ShadowEdit) string {
	var paths []string
	for _, p := range e.Paths {
		paths = append(paths, p.Path+" ("+p.Change+")")
	}
	return fmt.Sprintf("found shadow edit %d: %s changed while no lease was held on it (between %s and %s): %s; "+
		"the lease is granted, and the edit stays open until its domain restores it (oxygen shadow restore %d) or accepts it (oxygen shadow accept %d --reason \"...\")",
		e.ID, e.Resource, e.SinceAt, e.DetectedAt, strings.Join(paths, ", "), e.ID, e.ID)
}
