package workflow

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

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

// DaemonInfo is the daemon on record.
type DaemonInfo struct {
	PID       int    `json:"pid"`
	Host      string `json:"host"`
	Since     Time   `json:"since"`
	Heartbeat Time   `json:"heartbeat"`
	Live      bool   `json:"live"`
}

func (tx *Tx) daemonInfo(ctx context.Context) (*DaemonInfo, error) {
	var d DaemonInfo
	var since, beat int64
	err := tx.queryRow(ctx, `SELECT pid, host, started_at, heartbeat_at FROM daemon WHERE id = 1`).Scan(&d.PID, &d.Host, &since, &beat)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, storeErr("read daemon", err)
	}
	d.Since, d.Heartbeat = fromMS(since), fromMS(beat)
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
		now := ms(tx.now)
		if _, err := tx.exec(ctx, `INSERT INTO daemon (id, pid, host, started_at, heartbeat_at) VALUES (1, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
			os.Getpid(), hostname(), now, now); err != nil {
			return err
		}
		payload := map[string]any{"pid": os.Getpid(), "host": hostname()}
		if cur != nil {
			payload["replaced"] = map[string]any{"pid": cur.PID, "host": cur.Host, "last_heartbeat": cur.Heartbeat}
		}
		return tx.audit(ctx, SystemActor.Owner, "daemon.start", "daemon", payload)
	})
}

// daemonHeartbeat refreshes the row; it fails if another daemon took over.
func (s *Service) daemonHeartbeat(ctx context.Context) error {
	return s.write(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE daemon SET heartbeat_at = ? WHERE id = 1 AND pid = ? AND host = ?`, ms(tx.now), os.Getpid(), hostname())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return Errorf(ECONFLICT, "another daemon took over this repository")
		}
		return nil
	})
}

func (s *Service) releaseDaemon(ctx context.Context) error {
	return s.write(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `DELETE FROM daemon WHERE id = 1 AND pid = ? AND host = ?`, os.Getpid(), hostname())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
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
}

// Run holds the daemon row, schedules the jobs and blocks until ctx is
// cancelled; it then lets a running job finish before it returns.
func (d *Daemon) Run(ctx context.Context) error {
	s := d.Service
	if d.Jobs == nil {
		d.Jobs = s.JobFuncs()
	}
	if err := s.acquireDaemon(ctx); err != nil {
		return err
	}
	defer s.releaseDaemon(context.WithoutCancel(ctx))
	sched := cron.New(cron.WithLocation(time.UTC), cron.WithParser(CronParser))
	scheduled := 0
	for _, j := range s.Config.Jobs {
		if j.Schedule == nil {
			d.Logger.Info("job disabled", "job", j.Name)
			continue
		}
		fn, ok := d.Jobs[j.Name]
		if !ok {
			continue
		}
		name := j.Name
		sched.Schedule(j.Schedule, cron.FuncJob(func() { d.runScheduled(ctx, name, fn) }))
		d.Logger.Info("job scheduled", "job", name, "schedule", j.Spec, "next", FormatTime(j.Schedule.Next(time.Now())))
		scheduled++
	}
	d.Logger.Info("daemon started", "pid", os.Getpid(), "host", hostname(), "jobs", scheduled)
	sched.Start()
	beat := time.NewTicker(DaemonHeartbeatEvery)
	defer beat.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-beat.C:
			if err := s.daemonHeartbeat(context.WithoutCancel(ctx)); err != nil {
				d.Logger.Error("heartbeat failed; stopping", "error", ErrorMessage(err))
				runErr = err
				break loop
			}
		}
	}
	d.Logger.Info("daemon stopping; waiting for running jobs")
	<-sched.Stop().Done()
	d.wg.Wait()
	d.Logger.Info("daemon stopped")
	return runErr
}

// runScheduled runs one scheduled job unless its previous run is still
// going: a slow job is skipped, never stacked.
func (d *Daemon) runScheduled(ctx context.Context, name string, fn JobFunc) {
	flag, _ := d.running.LoadOrStore(name, new(atomic.Bool))
	busy := flag.(*atomic.Bool)
	if !busy.CompareAndSwap(false, true) {
		d.Logger.Warn("job skipped: previous run still running", "job", name)
		if err := d.Service.recordSkip(context.WithoutCancel(ctx), name); err != nil {
			d.Logger.Error("record skip", "job", name, "error", ErrorMessage(err))
		}
		return
	}
	d.wg.Add(1)
	defer d.wg.Done()
	defer busy.Store(false)
	start := time.Now()
	d.Logger.Info("job started", "job", name)
	run, err := d.Service.RunJob(context.WithoutCancel(ctx), name, "schedule", fn)
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
