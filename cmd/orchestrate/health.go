package main

import (
	"fmt"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// HealthCmd follows the monitoring-plugin convention for its exit status:
// 0 green, 1 yellow, 2 red, 3 unknown.
type HealthCmd struct{}

func (c *HealthCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return unknown(env, err)
	}
	h, err := svc.Health(env.Ctx, systemActor())
	if err != nil {
		return unknown(env, err)
	}
	if err := env.Output(h, func() {
		env.Printf("%s\n", h.Status)
		for _, r := range h.Lines() {
			env.Printf("  %s\n", r)
		}
	}); err != nil {
		return err
	}
	switch h.Status {
	case workflow.HealthGreen:
		return nil
	case workflow.HealthYellow:
		return &cli.ExitError{Code: 1}
	default:
		return &cli.ExitError{Code: 2}
	}
}

// unknown reports a health check that could not run, with exit status 3.
func unknown(env *cli.Env, err error) error {
	if env.Globals.JSON {
		env.PrintJSON(workflow.Health{Status: "unknown", Findings: []workflow.HealthFinding{
			{Level: "unknown", Code: workflow.ErrorCode(err), Subject: "health", Message: workflow.ErrorMessage(err)}}})
	}
	fmt.Fprintf(env.Stderr, "%s: unknown: %s\n", env.Tool, workflow.ErrorMessage(err))
	return &cli.ExitError{Code: 3}
}
