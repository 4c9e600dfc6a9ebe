package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// AuditCmd groups the audit commands.
type AuditCmd struct {
	Log    AuditLogCmd    `cmd:"" help:"Print audit events, oldest first."`
	Verify AuditVerifyCmd `cmd:"" help:"Re-hash the audit chain after the last verified head (--full: all of it), check the heads recorded in the store, reports and git, and replay the log against the tables; exit 4 on any finding."`
	Anchor AuditAnchorCmd `cmd:"" help:"Print the chain head as the git trailer the commit-msg hook adds: Oxygen-Audit-Head: STORE SEQ HASH."`
	Report AuditReportCmd `cmd:"" help:"Write an audit report to .substrate/reports/ (hoarding, stale work, drift, shadow edits, integrity)."`
}

// AuditLogCmd prints the log.
type AuditLogCmd struct {
	Subject string `name:"subject" help:"Only events about this subject, e.g. item:WORK-001 or resource:schema."`
	Since   string `name:"since" help:"Only events since a time (RFC 3339) or for a duration back (24h)."`
	Action  string `name:"action" help:"Only this action, e.g. lease.grant."`
	Limit   int    `name:"limit" help:"Only the newest N events."`
}

func (c *AuditLogCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	since, err := parseSince("--since", c.Since, svc.Clock())
	if err != nil {
		return err
	}
	if c.Limit < 0 {
		return workflow.Errorf(workflow.EINVALID, "--limit cannot be negative")
	}
	events, err := svc.AuditLog(env.Ctx, workflow.AuditFilter{Subject: c.Subject, Since: since, Action: c.Action, Limit: c.Limit})
	if err != nil {
		return err
	}
	return env.Output(events, func() {
		if len(events) == 0 {
			env.Printf("no audit events\n")
		}
		for _, e := range events {
			env.Printf("%6d  %s  %-12s %-18s %s  %s\n", e.Seq, e.At, e.Actor, e.Action, e.Subject, e.Payload)
		}
	})
}

// AuditVerifyCmd checks the chain.
type AuditVerifyCmd struct {
	Full bool `name:"full" help:"Re-hash every event, not only those after the last verified head (the daily audit-full job does this)."`
}

func (c *AuditVerifyCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	source := "audit verify"
	if c.Full {
		source = "audit verify --full"
	}
	res, err := svc.VerifyAudit(env.Ctx, systemActor(), source, c.Full)
	if err != nil {
		return err
	}
	notes := func() {
		for _, n := range res.Anchors.Notes() {
			env.Printf("%s\n", n)
		}
	}
	if failures := res.Failures(); len(failures) > 0 {
		err := workflow.Errorf(workflow.EDENIED, "%s", failures[0])
		return env.Finding(err, res, func() {
			// The first failure is the error line; the rest come first.
			for _, f := range failures[1:] {
				env.Printf("%s\n", f)
			}
			notes()
		})
	}
	return env.Output(res, func() {
		env.Printf("audit chain intact: %d events, head seq %d %s\n", res.Events, res.Head.Seq, res.Head.Hash)
		if res.Checkpoint != nil {
			env.Printf("re-hashed the %d event(s) after the last verified head, seq %d (orchestrate audit verify --full re-hashes them all)\n", res.Rehashed, res.Checkpoint.Seq)
		}
		r := res.Replayed
		env.Printf("the store agrees with the log: %d items, %d transitions, %d leases, %d attestations, %d signals, %d council approvals, %d shadow edits, %d capsules\n",
			r.Items, r.Transitions, r.Leases, r.Attestations, r.Signals, r.CouncilApprovals, r.ShadowEdits, r.Capsules)
		notes()
	})
}

// AuditAnchorCmd prints the head for git.
type AuditAnchorCmd struct{}

func (c *AuditAnchorCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	a, err := svc.AuditAnchor(env.Ctx)
	if err != nil {
		return err
	}
	return env.Output(a, func() { env.Printf("%s\n", a.Trailer) })
}
