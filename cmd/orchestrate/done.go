package main

import (
	"fmt"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// DoneCmd finishes an item in progress after its commands pass.
type DoneCmd struct {
	ID         string        `arg:"" help:"Item id." predictor:"item"`
	Reason     string        `name:"reason" help:"A note for the history; required with --skip-verify."`
	SkipVerify bool          `name:"skip-verify" help:"Complete without running the item's commands (recorded, and listed by audit reports)."`
	Timeout    time.Duration `name:"timeout" help:"Per-command time limit; when it runs out the command and everything it started are killed." default:"10m"`
	Verbose    bool          `name:"verbose" help:"Stream the commands' output to stderr as they run (a failure always shows its last lines)."`
	actorFlags
}

func (c *DoneCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	req := workflow.DoneRequest{MoveRequest: c.actorFlags.request(env, svc, c.ID, c.Reason, 0), SkipVerify: c.SkipVerify, Timeout: c.Timeout}
	if c.Verbose {
		req.Output = env.Stderr
	}
	res, err := svc.Done(env.Ctx, req)
	if err != nil && res != nil && res.Verification != nil {
		return env.Finding(err, res.Verification, func() {
			for _, run := range res.Verification.Commands {
				if run.ExitCode != 0 && run.Tail != "" && !c.Verbose {
					fmt.Fprintf(env.Stderr, "last lines of `%s`:\n%s\n", run.Command, run.Tail)
				}
			}
		})
	}
	if err != nil {
		return err
	}
	return env.Output(res, func() {
		env.Printf("%s: %s -> %s (verification: %s)\n", res.ID, res.From, res.Status, res.Verification.Status)
		printReleased(env, res.Released)
	})
}
