package main

import (
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// JobsCmd lists jobs, or runs one now.
type JobsCmd struct {
	List JobsListCmd `cmd:"" default:"1" help:"List each job with its schedule, last run, outcome and next run (the default)."`
	Run  JobsRunCmd  `cmd:"" help:"Run one job now, for systemd timers, system cron or CI."`
}

// JobsListCmd shows the jobs.
type JobsListCmd struct{}

func (c *JobsListCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	st, err := svc.Jobs(env.Ctx)
	if err != nil {
		return err
	}
	return env.Output(st, func() {
		switch d := st.Daemon; {
		case d == nil:
			env.Printf("daemon: not running\n")
		case d.Live:
			env.Printf("daemon: running, pid %d on %s since %s\n", d.PID, d.Host, d.Since)
		default:
			env.Printf("daemon: not running (pid %d on %s stopped beating at %s)\n", d.PID, d.Host, d.Heartbeat)
		}
		rows := make([][]string, 0, len(st.Jobs))
		for _, j := range st.Jobs {
			schedule, last, outcome, next := dash(j.Schedule), "-", "-", "-"
			if j.LastRun != nil {
				last, outcome = j.LastRun.StartedAt.String(), string(j.LastRun.Outcome)
			}
			if !j.NextRun.IsZero() {
				next = j.NextRun.String()
			}
			rows = append(rows, []string{j.Name, schedule, last, outcome, next, j.Note})
		}
		env.Table([]string{"JOB", "SCHEDULE", "LAST RUN", "OUTCOME", "NEXT RUN", "NOTE"}, rows)
	})
}

// JobsRunCmd runs one job now.
type JobsRunCmd struct {
	Name string `arg:"" help:"expire-leases, audit or audit-full."`
}

func (c *JobsRunCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	fn, ok := svc.JobFuncs()[c.Name]
	if !ok {
		return workflow.Errorf(workflow.ENOTFOUND, "no job %q (jobs: %s)", c.Name, strings.Join(workflow.KnownJobs, ", "))
	}
	run, err := svc.RunJob(env.Ctx, c.Name, workflow.JobManual, fn)
	if run != nil && run.ID != 0 {
		if outErr := env.Output(run, func() { env.Printf("%s: %s: %s\n", run.Name, run.Outcome, run.Summary) }); outErr != nil {
			return outErr
		}
	}
	return err
}
