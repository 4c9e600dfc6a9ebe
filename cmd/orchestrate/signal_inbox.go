package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// SignalInboxCmd lists the signals waiting for an owner or a domain.
type SignalInboxCmd struct {
	Owner  string `name:"owner" help:"Whose inbox (default: OXYGEN_OWNER, else git config oxygen.owner); their acknowledgements hide signals." placeholder:"WHO"`
	Domain string `name:"domain" help:"Without --owner: the domain's inbox, hiding what anyone in it acknowledged. With --owner: the domain that owner acts for." placeholder:"DOMAIN"`
	All    bool   `name:"all" help:"Include the audit job's proclamations."`
}

func (c *SignalInboxCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	req := workflow.InboxRequest{Domain: c.Domain, All: c.All}
	reader := c.Domain
	if c.Owner != "" || c.Domain == "" {
		actor, err := cli.Identity{Owner: c.Owner, Domain: c.Domain}.Resolve(svc)
		if err != nil {
			return err
		}
		req.Owner, req.Domain = actor.Owner, actor.Domain
		reader = actor.Owner + " (" + actor.Domain + ")"
	}
	entries, err := svc.Inbox(env.Ctx, req)
	if err != nil {
		return err
	}
	return env.Output(entries, func() { printInbox(env, reader, entries) })
}

// printInbox prints each waiting signal with its body and how to clear it.
func printInbox(env *cli.Env, reader string, entries []*workflow.InboxEntry) {
	if len(entries) == 0 {
		env.Printf("no signals waiting for %s\n", reader)
		return
	}
	env.Printf("%d signal(s) waiting for %s, oldest first:\n", len(entries), reader)
	for _, e := range entries {
		env.Printf("\n#%d %s %s from %s (%s), %s", e.ID, e.CreatedAt, e.Kind, e.From, e.FromDomain, e.Why)
		if e.Item != "" {
			env.Printf(", item %s", e.Item)
		}
		if e.Resource != "" {
			env.Printf(", resource %s", e.Resource)
		}
		env.Printf("\n")
		if e.Body != "" {
			env.Printf("%s\n", indent(e.Body))
		}
		for _, r := range e.Refs {
			env.Printf("  ref: %s\n", r)
		}
		if e.Approve != "" {
			env.Printf("  approve: %s\n", e.Approve)
		}
		env.Printf("  ack: %s\n", e.Ack)
	}
}
