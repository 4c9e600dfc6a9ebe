package main

import (
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// PrimeCmd briefs an agent starting work. It runs as a SessionStart hook, so
// an unknown identity is part of the briefing, not a failure: the agent reads
// how to set it instead of an error.
type PrimeCmd struct {
	cli.Identity
}

func (c *PrimeCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	actor, idErr := c.Identity.Resolve(svc)
	problem := ""
	if idErr != nil {
		actor, problem = workflow.Actor{}, workflow.ErrorMessage(idErr)
	}
	b, err := svc.Prime(env.Ctx, actor, problem)
	if err != nil {
		return err
	}
	return env.Output(b, func() { printBriefing(env, svc.Config, b) })
}

func printBriefing(env *cli.Env, cfg *workflow.Config, b *workflow.Briefing) {
	if b.Owner == "" {
		env.Printf("Who you are: unknown (%s)\n", b.Problem)
	} else {
		d, _ := cfg.Domain(b.Domain)
		env.Printf("You are %s, acting for %s: %s\n", b.Owner, b.Domain, d.Description)
	}
	for _, d := range b.Budgets {
		items := ""
		if len(d.Items) > 0 {
			items = " (" + strings.Join(d.Items, ", ") + ")"
		}
		env.Printf("%s budgets: in progress %d/%d%s, leases %d/%d\n", d.Domain, d.InProgress, d.MaxInProgress, items, d.Leases, d.MaxLeases)
	}
	if b.Owner != "" {
		env.Printf("\nYour items:\n")
		if len(b.Items) == 0 {
			env.Printf("  none yet\n")
		}
		for _, it := range b.Items {
			capsule := "no capsule yet"
			if it.Capsule != "" {
				capsule = "capsule " + it.Capsule
			}
			env.Printf("  %s  %s  %s  %s; %s\n", it.ID, it.Status, it.Priority, it.Title, capsule)
		}
		env.Printf("\nWork you can start now (orchestrate ready --now):\n")
		if len(b.CanStart) == 0 {
			env.Printf("  none; orchestrate ready says what the ready items wait on\n")
		}
		for _, it := range b.CanStart {
			env.Printf("  %s  %s  %s\n", it.ID, it.Priority, it.Title)
		}
		env.Printf("\nYour leases:\n")
		if len(b.Leases) == 0 {
			env.Printf("  none\n")
		}
		for _, l := range b.Leases {
			env.Printf("  %s  token %d  until %s (%s left)\n", l.Resource, l.Token, l.ExpiresAt, cli.Left(time.Duration(l.LeftMS)*time.Millisecond))
		}
		env.Printf("\nSignals waiting for you (bodies: orchestrate signal inbox):\n")
		if len(b.Inbox) == 0 {
			env.Printf("  none\n")
		}
		for _, s := range b.Inbox {
			env.Printf("  #%d %s from %s (%s): %s\n", s.ID, s.Kind, s.From, s.FromDomain, excerpt(s.Body))
		}
		env.Printf("\nCouncil calls you could approve:\n")
		if len(b.Council) == 0 {
			env.Printf("  none\n")
		}
		for _, s := range b.Council {
			env.Printf("  #%d for %s from %s (%s): %s; %s\n", s.ID, s.Item, s.From, s.FromDomain, excerpt(s.Body), s.Approve)
		}
	}
	env.Printf("\nRules:\n")
	for _, r := range b.Rules {
		env.Printf("- %s\n", r)
	}
}

// excerpt is the first line of a body, cut to fit one line of a briefing.
func excerpt(body string) string {
	line, _, more := strings.Cut(strings.TrimSpace(body), "\n")
	const max = 80
	if r := []rune(line); len(r) > max {
		return string(r[:max-3]) + "..."
	} else if more {
		return line + " ..."
	}
	return line
}
