package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/robfig/cron/v3"
)

// One daemon per repository. The running daemon owns the single row of the
// daemon table and keeps it alive with a heartbeat. Another daemon is
// refused while that heartbeat is fresh; a daemon that crashed stops
// blocking once its heartbeat is older than DaemonHeartbeatTTL, or at once
// when it ran on this host and its process is gone.
const (
	DaemonHeartbeatEvery = 5 * time.Second
	DaemonHeartbeatTTL   = 20 * time.Second
)

// DaemonInfo is the daemon on record, with the schedule it is running.
type DaemonInfo struct {
	PID       int            `json:"pid"`
	Host      string         `json:"host"`
	Since     Time           `json:"since"`
	Heartbeat Time           `json:"heartbeat"`
	Live      bool           `json:"live"`
	Schedule  []ScheduledJob `json:"schedule"`
}

// ScheduledJob is one job as the running daemon has it scheduled.
type ScheduledJob struct {
	Name string `json:"name"`
	Spec string `json:"spec"`
	Next Time   `json:"next"`
}

func (tx *Tx) daemonInfo(ctx context.Context) (*DaemonInfo, error) {
	row, ok, err := tx.st.DaemonGet(ctx)
	if err != nil {
		return nil, storeErr("read daemon", err)
	}
	if !ok {
		return nil, nil
	}
	d := DaemonInfo{PID: int(row.PID), Host: row.Host, Since: Time{row.StartedAt}, Heartbeat: Time{row.HeartbeatAt}}
	if err := json.Unmarshal([]byte(row.Schedule), &d.Schedule); err != nil {
		return nil, Errorf(EINTERNAL, "the daemon row's schedule is not valid JSON: %v", err)
	}
	d.Live = alive(d.PID, d.Host, d.Heartbeat.Time, tx.now, DaemonHeartbeatTTL)
	return &d, nil
}

// acquireDaemon takes the daemon row, or refuses naming the live daemon.
func (s *Service) acquireDaemon(ctx context.Context) error {
	return s.write(ctx, func(tx *Tx) error {
		cur, err := tx.daemonInfo(ctx)
		if err != nil {
			return err
		}
		if cur != nil && cur.Live && !(cur.Host == hostname() && cur.PID == os.Getpid()) {
			return Errorf(ECONFLICT, "a daemon is already running for this repository: pid %d on %s since %s (last heartbeat %s)",
				cur.PID, cur.Host, cur.Since, cur.Heartbeat)
		}
		if err := tx.st.DaemonClaim(ctx, store.Daemon{PID: int64(os.Getpid()), Host: hostname(), StartedAt: tx.now, HeartbeatAt: tx.now}); err != nil {
			return storeErr("claim daemon", err)
		}
		payload := map[string]any{"pid": os.Getpid(), "host": hostname()}
		if cur != nil {
			payload["replaced"] = map[string]any{"pid": cur.PID, "host": cur.Host, "last_heartbeat": cur.Heartbeat}
		}
		return tx.audit(ctx, SystemActor.Owner, "daemon.start", "daemon", payload)
	})
}

// daemonHeartbeat refreshes the row and the schedule on record; it fails if
// another daemon took over.
func (s *Service) daemonHeartbeat(ctx context.Context, schedule []ScheduledJob) error {
	data, err := json.Marshal(schedule)
	if err != nil {
		return Errorf(EINTERNAL, "encode schedule: %v", err)
	}
	return s.write(ctx, func(tx *Tx) error {
		held, err := tx.st.DaemonHeartbeatIf(ctx, int64(os.Getpid()), hostname(), tx.now, string(data))
		if err != nil {
			return storeErr("record daemon heartbeat", err)
		}
		if !held {
			return Errorf(ECONFLICT, "another daemon took over this repository")
		}
		return nil
	})
}

func (s *Service) releaseDaemon(ctx context.Context) error {
	return s.write(ctx, func(tx *Tx) error {
		held, err := tx.st.DaemonReleaseIf(ctx, int64(os.Getpid()), hostname())
		if err != nil {
			return storeErr("release daemon", err)
		}
		if held {
			return tx.audit(ctx, SystemActor.Owner, "daemon.stop", "daemon", map[string]any{"pid": os.Getpid(), "host": hostname()})
		}
		return nil
	})
}

// Daemon runs the configured jobs on their cron schedules.
type Daemon struct {
	Service *Service
	Logger  *slog.Logger
	// Jobs maps job names to their work; nil means Service.JobFuncs().
	Jobs map[string]JobFunc

	running sync.Map // job name -> *atomic.Bool
	wg      sync.WaitGroup

	current   atomic.Pointer[Service] // Service, as the latest valid config has it
	cron      *cron.Cron
	entries   []scheduledEntry
	configSrc []byte // the config text the schedule was built from
	defaulted bool   // Jobs came from Service.JobFuncs and follow reloads
}

type scheduledEntry struct {
	name, spec string
	id         cron.EntryID
}

// Run holds the daemon row, schedules the jobs and blocks until ctx is
// cancelled; it then lets a running job finish before it returns.
func (d *Daemon) Run(ctx context.Context) error {
	s := d.Service
	d.current.Store(s)
	if d.Jobs == nil {
		d.Jobs, d.defaulted = s.JobFuncs(), true
	}
	if err := s.acquireDaemon(ctx); err != nil {
		return err
	}
	defer s.releaseDaemon(context.WithoutCancel(ctx))
	d.configSrc, _ = os.ReadFile(filepath.Join(s.Root, ConfigFile))
	d.schedule(ctx, s.Config)
	d.Logger.Info("daemon started", "pid", os.Getpid(), "host", hostname(), "jobs", len(d.entries))
	beat := time.NewTicker(DaemonHeartbeatEvery)
	defer beat.Stop()
	var runErr error
	if err := s.daemonHeartbeat(context.WithoutCancel(ctx), d.scheduled()); err != nil {
		runErr = err
	}
loop:
	for runErr == nil {
		select {
		case <-ctx.Done():
			break loop
		case <-beat.C:
			d.reload(ctx)
			if err := s.daemonHeartbeat(context.WithoutCancel(ctx), d.scheduled()); err != nil {
				d.Logger.Error("heartbeat failed; stopping", "error", ErrorMessage(err))
				runErr = err
				break loop
			}
		}
	}
	d.Logger.Info("daemon stopping; waiting for running jobs")
	<-d.cron.Stop().Done()
	d.wg.Wait()
	d.Logger.Info("daemon stopped")
	return runErr
}

// schedule replaces the running schedule with cfg's jobs. A job already
// running finishes; the busy flags keep it from being started twice.
func (d *Daemon) schedule(ctx context.Context, cfg *Config) {
	if d.cron != nil {
		d.cron.Stop()
	}
	d.cron = cron.New(cron.WithLocation(time.UTC), cron.WithParser(CronParser))
	d.entries = nil
	for _, j := range cfg.Jobs {
		if j.Schedule == nil {
			d.Logger.Info("job disabled", "job", j.Name)
			continue
		}
		fn, ok := d.Jobs[j.Name]
		if !ok {
			continue
		}
		name := j.Name
		id := d.cron.Schedule(j.Schedule, cron.FuncJob(func() { d.runScheduled(ctx, name, fn) }))
		d.entries = append(d.entries, scheduledEntry{name: name, spec: j.Spec, id: id})
		d.Logger.Info("job scheduled", "job", name, "schedule", j.Spec, "next", FormatTime(j.Schedule.Next(time.Now())))
	}
	d.cron.Start()
}

// scheduled is the running schedule with each job's next run.
func (d *Daemon) scheduled() []ScheduledJob {
	out := []ScheduledJob{}
	for _, e := range d.entries {
		out = append(out, ScheduledJob{Name: e.name, Spec: e.spec, Next: Time{d.cron.Entry(e.id).Next.UTC().Truncate(time.Millisecond)}})
	}
	return out
}

// reload follows edits to the config, as every command does: a valid new
// config replaces the schedule (and the policy the jobs apply); an invalid
// one is logged once and the running schedule kept.
func (d *Daemon) reload(ctx context.Context) {
	path := filepath.Join(d.current.Load().Root, ConfigFile)
	src, err := os.ReadFile(path)
	if err != nil || bytes.Equal(src, d.configSrc) {
		return
	}
	d.configSrc = src
	cfg, err := ParseConfig(path, src)
	if err != nil {
		d.Logger.Error("config changed but does not load; keeping the running schedule", "error", ErrorMessage(err))
		return
	}
	next := *d.current.Load()
	next.Config = cfg
	d.current.Store(&next)
	if d.defaulted {
		d.Jobs = next.JobFuncs()
	}
	d.Logger.Info("config changed; rescheduling")
	d.schedule(ctx, cfg)
}

// runScheduled runs one scheduled job unless its previous run is still
// going: a slow job is skipped, never stacked.
func (d *Daemon) runScheduled(ctx context.Context, name string, fn JobFunc) {
	flag, _ := d.running.LoadOrStore(name, new(atomic.Bool))
	busy := flag.(*atomic.Bool)
	if !busy.CompareAndSwap(false, true) {
		d.Logger.Warn("job skipped: previous run still running", "job", name)
		if err := d.current.Load().recordSkip(context.WithoutCancel(ctx), name); err != nil {
			d.Logger.Error("record skip", "job", name, "error", ErrorMessage(err))
		}
		return
	}
	d.wg.Add(1)
	defer d.wg.Done()
	defer busy.Store(false)
	start := time.Now()
	d.Logger.Info("job started", "job", name)
	run, err := d.current.Load().RunJob(context.WithoutCancel(ctx), name, JobScheduled, fn)
	attrs := []any{"job", name, "duration", time.Since(start).Round(time.Millisecond).String()}
	if run != nil {
		attrs = append(attrs, "outcome", run.Outcome, "summary", run.Summary)
	}
	if err != nil {
		d.Logger.Error("job failed", append(attrs, "error", ErrorMessage(err))...)
		return
	}
	d.Logger.Info("job finished", attrs...)
}
