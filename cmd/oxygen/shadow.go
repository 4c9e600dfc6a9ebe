package main

import (
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
)

// ShadowCmd handles shadow edits, found at lease boundaries and audits.
type ShadowCmd struct {
	List    ShadowListCmd    `cmd:"" help:"List shadow edits (changes to a resource made without a lease)."`
	Restore ShadowRestoreCmd `cmd:"" help:"Put a shadow edit's files back to their last leased or accepted content (a member of the resource's domain, holding a lease on it)."`
	Accept  ShadowAcceptCmd  `cmd:"" help:"Let a shadow edit's content stand (a member of the resource's domain, with a reason)."`
}

// ShadowListCmd lists them.
type ShadowListCmd struct {
	Status string `name:"status" help:"Only open, restored or accepted edits."`
}

func (c *ShadowListCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	edits, err := svc.ShadowEdits(env.Ctx, c.Status)
	if err != nil {
		return err
	}
	return env.Output(edits, func() {
		if len(edits) == 0 {
			env.Printf("no shadow edits\n")
			return
		}
		rows := make([][]string, 0, len(edits))
		for _, e := range edits {
			var paths []string
			for _, p := range e.Paths {
				paths = append(paths, p.Path+" ("+p.Change+")")
			}
			rows = append(rows, []string{itoa(e.ID), e.Resource, string(e.Status), e.DetectedAt.String(), e.FoundAt, strings.Join(paths, ", ")})
		}
		env.Table([]string{"ID", "RESOURCE", "STATUS", "DETECTED", "FOUND AT", "PATHS"}, rows)
	})
}

// ShadowRestoreCmd undoes one.
type ShadowRestoreCmd struct {
	ID     int64  `arg:"" help:"Shadow edit id."`
	Reason string `name:"reason" help:"Why; recorded in the audit log."`
	cli.Identity
}

func (c *ShadowRestoreCmd) Run(env *cli.Env) error {
	svc, actor, err := env.ServiceAs(c.Identity)
	if err != nil {
		return err
	}
	res, err := svc.RestoreShadow(env.Ctx, c.ID, actor, c.Reason)
	if err != nil {
		return err
	}
	return env.Output(res, func() {
		env.Printf("shadow edit %d on %s restored\n", c.ID, res.Edit.Resource)
		for _, p := range res.Restored {
			env.Printf("  restored %s\n", p)
		}
		for _, p := range res.Kept {
			env.Printf("  kept %s (added without a lease; review it)\n", p)
		}
		for _, p := range res.Superseded {
			env.Printf("  left %s (changed again since the edit)\n", p)
		}
		for _, id := range res.Through {
			env.Printf("  also undid shadow edit %d's content on these files (still open: oxygen shadow restore %d)\n", id, id)
		}
	})
}

// ShadowAcceptCmd acknowledges one.
type ShadowAcceptCmd struct {
	ID     int64  `arg:"" help:"Shadow edit id."`
	Reason string `name:"reason" help:"Why the edit may stand." required:""`
	cli.Identity
}

func (c *ShadowAcceptCmd) Run(env *cli.Env) error {
	svc, actor, err := env.ServiceAs(c.Identity)
	if err != nil {
		return err
	}
	e, err := svc.AcceptShadow(env.Ctx, c.ID, actor, c.Reason)
	if err != nil {
		return err
	}
	return env.Output(e, func() { env.Printf("shadow edit %d on %s accepted\n", e.ID, e.Resource) })
}
