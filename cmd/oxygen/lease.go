package main

import (
	"strconv"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// printLease is the text form of one lease.
func printLease(env *cli.Env, l *workflow.Lease, now time.Time) {
	env.Printf("%s  token %d  %s (%s)  %s\n", l.Resource, l.Token, l.Owner, l.Domain, l.State)
	env.Printf("  claimed %s, expires %s", l.CreatedAt, l.ExpiresAt)
	if l.State == workflow.LeaseActive {
		env.Printf(" (%s left)", cli.Left(l.ExpiresAt.Sub(now)))
	}
	env.Printf("\n")
	if l.Item != "" {
		env.Printf("  item: %s\n", l.Item)
	}
	if l.Reason != "" {
		env.Printf("  reason: %s\n", l.Reason)
	}
	if l.State != workflow.LeaseActive {
		env.Printf("  ended %s by %s: %s\n", l.EndedAt, l.EndedBy, l.EndReason)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
