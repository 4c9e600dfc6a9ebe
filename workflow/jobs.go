package workflow

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

// JobFunc does one job's work and sums it up in a line.
type JobFunc func(ctx context.Context) (summary string, err error)

// JobFuncs are the jobs the daemon knows, by name.
func (s *Service) JobFuncs() map[string]JobFunc {
	return map[string]JobFunc{
		JobExpireLeases: func(ctx context.Context) (string, error) {
			expired, found, err := s.Expire(ctx)
			if err != nil {
				return "", err
			}
			if len(found) > 0 {
				return fmt.Sprintf("expired %d lease(s), found %d shadow edit(s)", len(expired), len(found)), nil
			}
			return fmt.Sprintf("expired %d lease(s)", len(expired)), nil
		},
		JobAudit: func(ctx context.Context) (string, error) {
			r, err := s.AuditReport(ctx, SystemActor.Owner)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s: %d finding(s)", r.Path, len(r.Findings)), nil
		},
		JobAuditFull: func(ctx context.Context) (string, error) {
			res, err := s.VerifyAudit(ctx, SystemActor.Owner, "audit-full job", true)
			if err != nil {
				return "", err
			}
			if failures := res.Failures(); len(failures) > 0 {
				return "", Errorf(EDENIED, "%s", failures[0])
			}
			return fmt.Sprintf("audit chain intact: %d events re-hashed, head seq %d", res.Rehashed, res.Head.Seq), nil
		},
	}
}

// JobRun is one recorded run of a job.
type JobRun struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Trigger    JobTrigger `json:"trigger"`
	StartedAt  Time       `json:"started_at"`
	FinishedAt Time       `json:"finished_at"`
	Outcome    JobOutcome `json:"outcome"`
	Summary    string     `json:"summary"`
}

// JobTrigger is what started a run: the daemon's schedule or a person.
type JobTrigger = store.JobTrigger

// JobOutcome is how a run ended: ok, error, panic or skipped, or running.
type JobOutcome = store.JobOutcome

const (
	JobScheduled = store.JobScheduled
	JobManual    = store.JobManual
	JobRunning   = store.JobRunning
	JobOK        = store.JobOK
	JobError     = store.JobError
	JobPanic     = store.JobPanic
	JobSkipped   = store.JobSkipped
)

// RunJob runs fn as job name and records the run: a row when it starts, its
// outcome when it ends. A panic is recovered and recorded as the outcome.
func (s *Service) RunJob(ctx context.Context, name string, trigger JobTrigger, fn JobFunc) (run *JobRun, err error) {
	run = &JobRun{Name: name, Trigger: trigger, Outcome: JobRunning}
	err = s.write(ctx, func(tx *Tx) error {
		run.StartedAt = Time{tx.now}
		var err error
		run.ID, err = tx.st.JobRunStart(ctx, name, trigger, tx.now)
		return storeErr("record job run", err)
	})
	if err != nil {
		return nil, err
	}
	summary, jobErr := safeRun(ctx, fn)
	run.Outcome, run.Summary = JobOK, summary
	var panicErr *jobPanic
	switch {
	case errors.As(jobErr, &panicErr):
		run.Outcome, run.Summary = JobPanic, panicErr.Error()
	case jobErr != nil:
		run.Outcome, run.Summary = JobError, ErrorMessage(jobErr)
	}
	// The outcome is recorded even when ctx was cancelled (Ctrl-C during
	// jobs run), or the run would stay "running" for ever.
	final := context.WithoutCancel(ctx)
	err = s.write(final, func(tx *Tx) error {
		run.FinishedAt = Time{tx.now}
		running, err := tx.st.JobRunFinishIf(final, run.ID, tx.now, run.Outcome, run.Summary)
		if err != nil {
			return storeErr("record job run", err)
		}
		if !running {
			return Errorf(EINTERNAL, "job run %d was no longer running when it finished", run.ID)
		}
		return nil
	})
	if err != nil {
		return run, err
	}
	return run, jobErr
}

// jobPanic is a recovered panic, with the frame that raised it.
type jobPanic struct {
	value any
	stack string
}

func (p *jobPanic) Error() string {
	if site := panicSite(p.stack); site != "" {
		return fmt.Sprintf("panic: %v at %s", p.value, site)
	}
	return fmt.Sprintf("panic: %v", p.value)
}

// panicSite finds, in a stack printed by debug.Stack inside a deferred
// recover, the first frame below the panic that is not the runtime's own:
// the code that panicked. It returns "file:line".
func panicSite(stack string) string {
	lines := strings.Split(stack, "\n")
	seenPanic := false
	for i := 0; i+1 < len(lines); i++ {
		fn := lines[i]
		if !seenPanic {
			seenPanic = strings.HasPrefix(fn, "panic(")
			continue
		}
		file := strings.TrimSpace(lines[i+1])
		if strings.HasPrefix(fn, "\t") || !strings.HasPrefix(file, "/") {
			continue
		}
		if strings.HasPrefix(fn, "runtime.") {
			i++
			continue
		}
		if j := strings.LastIndex(file, " +0x"); j >= 0 {
			file = file[:j]
		}
		return file
	}
	return ""
}

func safeRun(ctx context.Context, fn JobFunc) (summary string, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &jobPanic{value: v, stack: string(debug.Stack())}
		}
	}()
	return fn(ctx)
}

// recordSkip notes a scheduled run skipped because the last one still runs.
func (s *Service) recordSkip(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *Tx) error {
		return storeErr("record job run", tx.st.JobRunSkipped(ctx, name, tx.now, "the previous run is still running"))
	})
}

// JobStatus is one configured job as `orchestrate jobs` shows it.
type JobStatus struct {
	Name        string  `json:"name"`
	Schedule    string  `json:"schedule"` // "" when disabled
	LastRun     *JobRun `json:"last_run"`
	LastSuccess Time    `json:"last_success"`
	NextRun     Time    `json:"next_run"`
	Overdue     bool    `json:"overdue"`
	Note        string  `json:"note"`
}

// JobsStatus is every job plus the daemon that runs them.
type JobsStatus struct {
	Daemon *DaemonInfo `json:"daemon"`
	Jobs   []JobStatus `json:"jobs"`
}

// Jobs reports each job's schedule, last run, outcome and next run.
func (s *Service) Jobs(ctx context.Context) (*JobsStatus, error) {
	st := &JobsStatus{}
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		if st.Daemon, err = tx.daemonInfo(ctx); err != nil {
			return err
		}
		st.Jobs, err = s.jobStatuses(ctx, tx, st.Daemon)
		return err
	})
	return st, err
}

// jobStatuses describes each job. With a live daemon, the schedule and next
// run are the daemon's, since it only takes up a config once it is valid.
func (s *Service) jobStatuses(ctx context.Context, tx *Tx, daemon *DaemonInfo) ([]JobStatus, error) {
	created, err := tx.storeCreated(ctx)
	if err != nil {
		return nil, err
	}
	var out []JobStatus
	for _, name := range KnownJobs {
		js := JobStatus{Name: name}
		cfg, ok := s.Config.Job(name)
		if ok {
			js.Schedule = cfg.Spec
		}
		last, err := tx.lastRun(ctx, name, false)
		if err != nil {
			return nil, err
		}
		js.LastRun = last
		ok2, err := tx.lastRun(ctx, name, true)
		if err != nil {
			return nil, err
		}
		if ok2 != nil {
			js.LastSuccess = ok2.FinishedAt
		}
		if cfg.Schedule == nil {
			js.Note = "disabled: no schedule in jobs:"
			out = append(out, js)
			continue
		}
		next := cfg.Schedule.Next(tx.now)
		js.NextRun = Time{next}
		interval := cfg.Schedule.Next(next).Sub(next)
		if daemon != nil && daemon.Live {
			js.Note = "not scheduled by the running daemon"
			for _, d := range daemon.Schedule {
				if d.Name == name {
					js.Schedule, js.NextRun, js.Note = d.Spec, d.Next, ""
				}
			}
			if js.Schedule != cfg.Spec {
				js.Note = fmt.Sprintf("the config says %q; the daemon runs the last valid config until it loads this one", cfg.Spec)
			}
		}
		since := created
		if !js.LastSuccess.IsZero() {
			since = js.LastSuccess.Time
		}
		if !since.IsZero() && tx.now.Sub(since) > 2*interval {
			js.Overdue = true
			if js.LastSuccess.IsZero() {
				js.Note = fmt.Sprintf("never ran successfully since the store was created at %s (runs every %s)", Time{created}, FormatDuration(interval))
			} else {
				js.Note = fmt.Sprintf("overdue: last successful run %s, runs every %s", js.LastSuccess, FormatDuration(interval))
			}
		}
		out = append(out, js)
	}
	return out, nil
}

// lastRun is a job's newest run that was not skipped, or with okOnly its
// newest success; nil when there is none.
func (tx *Tx) lastRun(ctx context.Context, name string, okOnly bool) (*JobRun, error) {
	last := tx.st.JobRunLast
	if okOnly {
		last = tx.st.JobRunLastOK
	}
	r, ok, err := last(ctx, name)
	if err != nil {
		return nil, storeErr("read job runs", err)
	}
	if !ok {
		return nil, nil
	}
	return &JobRun{ID: r.ID, Name: r.Name, Trigger: r.Trigger, StartedAt: Time{r.StartedAt}, FinishedAt: Time{r.FinishedAt},
		Outcome: r.Outcome, Summary: r.Summary}, nil
}

// storeCreated is the time of the first audit event: when the store began.
// The first by seq, read through the primary key: MIN(at) scanned the
// whole log on every assign, jobs and health.
func (tx *Tx) storeCreated(ctx context.Context) (time.Time, error) {
	first, _, err := tx.st.AuditFirst(ctx)
	if err != nil {
		return time.Time{}, storeErr("read audit log", err)
	}
	return first.At, nil
}
