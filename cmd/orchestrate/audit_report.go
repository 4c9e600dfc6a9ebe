package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// AuditReportCmd writes an audit report now.
type AuditReportCmd struct {
	FailOnFindings bool `name:"fail-on-findings" help:"Exit 4 when the report finds anything."`
}

func (c *AuditReportCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	r, err := svc.AuditReport(env.Ctx, systemActor())
	if err != nil {
		return err
	}
	// --json prints the report document exactly as its .json file holds
	// it; text names the file so that it opens from this worktree.
	text := func() {
		env.Printf("%s\n", svc.Shown(r.Path))
		for _, f := range r.Findings {
			env.Printf("  - %s\n", f)
		}
		if len(r.Findings) == 0 {
			env.Printf("  no findings\n")
		}
	}
	if c.FailOnFindings && len(r.Findings) > 0 {
		return env.Finding(workflow.Errorf(workflow.EDENIED, "the audit report has %d finding(s): %s", len(r.Findings), svc.Shown(r.Path)), r, text)
	}
	return env.Output(r, text)
}
