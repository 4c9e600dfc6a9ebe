package workflow

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// Daemon tests with injected jobs (issue 5, section 1): a panicking job is
// recovered and recorded, and a job still running when its next tick comes
// is skipped, never stacked. They wait for outcomes in the store, never for
// durations; dmnTestPatience only stops a hung test.

const dmnTestPatience = 30 * time.Second

// dmnTestService is a fresh repository whose jobs both run every second, on
// the wall clock (the daemon's schedule is real time).
func dmnTestService(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	if _, err := Init(ctx, root, true, SystemClock); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenStore(ctx, l, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg.Jobs = nil
	for _, name := range KnownJobs {
		sched, err := CronParser.Parse("@every 1s")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Jobs = append(cfg.Jobs, JobConfig{Name: name, Spec: "@every 1s", Schedule: sched})
	}
	return NewService(l, cfg, store, SystemClock)
}

// dmnLog is a goroutine-safe log sink.
type dmnLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *dmnLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *dmnLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// dmnRun starts d.Run in the background; stop cancels it and returns Run's
// error once it has returned.
func dmnRun(t *testing.T, d *Daemon) (stop func() error, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- d.Run(ctx) }()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-ch:
			case <-time.After(dmnTestPatience):
				t.Fatalf("Daemon.Run did not return after cancel")
			}
		})
		return result
	}
	t.Cleanup(func() { stop() })
	return stop, ch
}

// dmnCount counts job_runs rows matching where.
func dmnCount(t *testing.T, svc *Service, where string, args ...any) int {
	t.Helper()
	var n int
	if err := sqlstore.DBOf(svc.Store).QueryRow(`SELECT count(*) FROM job_runs WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func dmnWait(t *testing.T, done <-chan error, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(dmnTestPatience)
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("Daemon.Run returned (%v) before %s", err, what)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunJobRecoversPanic: RunJob turns a panic into a recorded outcome.
func TestRunJobRecoversPanic(t *testing.T) {
	svc := dmnTestService(t)
	ctx := context.Background()
	run, err := svc.RunJob(ctx, JobAudit, "manual", func(context.Context) (string, error) {
		var m map[string]int
		m["boom"]++ // a real runtime panic: assignment to entry in nil map
		return "unreachable", nil
	})
	if err == nil {
		t.Fatal("RunJob returned no error for a panicking job")
	}
	if run == nil || run.Outcome != "panic" || !strings.HasPrefix(run.Summary, "panic: assignment to entry in nil map") {
		t.Fatalf("run = %+v", run)
	}
	var outcome, summary, trigger string
	var finished *int64
	err = sqlstore.DBOf(svc.Store).QueryRow(`SELECT outcome, summary, trigger, finished_at FROM job_runs WHERE id = ?`, run.ID).Scan(&outcome, &summary, &trigger, &finished)
	if err != nil {
		t.Fatal(err)
	}
	if outcome != "panic" || !strings.HasPrefix(summary, "panic:") || summary != run.Summary || trigger != "manual" || finished == nil {
		t.Fatalf("job_runs row: outcome %q summary %q trigger %q finished %v", outcome, summary, trigger, finished)
	}

	// A panic with a value of any type, and an ordinary error, for contrast.
	run, err = svc.RunJob(ctx, JobAudit, "manual", func(context.Context) (string, error) { panic(errors.New("custom")) })
	if err == nil || run.Outcome != "panic" || !strings.HasPrefix(run.Summary, "panic: custom") {
		t.Fatalf("panic(error): run %+v err %v", run, err)
	}
	run, err = svc.RunJob(ctx, JobAudit, "manual", func(context.Context) (string, error) { return "half done", Errorf(EDENIED, "nope") })
	if ErrorCode(err) != EDENIED || run.Outcome != "error" || run.Summary != "nope" {
		t.Fatalf("error job: run %+v err %v", run, err)
	}
	run, err = svc.RunJob(ctx, JobAudit, "manual", func(context.Context) (string, error) { return "fine", nil })
	if err != nil || run.Outcome != "ok" || run.Summary != "fine" {
		t.Fatalf("ok job: run %+v err %v", run, err)
	}
}

// TestRunJobPanicNamesRaisingFrame: the jobPanic type says it records "the
// frame that raised it"; the summary should point at the job's code, not at
// the recover in jobs.go.
func TestRunJobPanicNamesRaisingFrame(t *testing.T) {
	svc := dmnTestService(t)
	run, _ := svc.RunJob(context.Background(), JobAudit, "manual", func(context.Context) (string, error) { panic("here") })
	if run == nil || !strings.HasPrefix(run.Summary, "panic: here at ") {
		t.Fatalf("summary %q", run.Summary)
	}
	if !strings.Contains(run.Summary, "daemon_internal_test.go:") || strings.Contains(run.Summary, "+0x") {
		t.Fatalf("the panic summary should name the frame that panicked: %q", run.Summary)
	}
}

// TestDaemonRecoversPanickingJob: a job that panics on every tick is
// recorded as 'panic' each time, and the daemon goes on running it and the
// other job.
func TestDaemonRecoversPanickingJob(t *testing.T) {
	t.Parallel()
	svc := dmnTestService(t)
	var audits atomic.Int32
	log := &dmnLog{}
	d := &Daemon{Service: svc, Logger: slog.New(slog.NewTextHandler(log, nil)), Jobs: map[string]JobFunc{
		JobExpireLeases: func(context.Context) (string, error) { panic("expire exploded") },
		JobAudit: func(context.Context) (string, error) {
			audits.Add(1)
			return "audited", nil
		},
	}}
	stop, done := dmnRun(t, d)
	dmnWait(t, done, "the panicking job ran twice and the other job ran after the first panic", func() bool {
		return dmnCount(t, svc, `name = 'expire-leases' AND outcome = 'panic'`) >= 2 &&
			dmnCount(t, svc, `name = 'audit' AND outcome = 'ok' AND id > (SELECT MIN(id) FROM job_runs WHERE outcome = 'panic')`) >= 1
	})
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v after cancel", err)
	}
	rows, err := sqlstore.DBOf(svc.Store).Query(`SELECT summary, trigger FROM job_runs WHERE name = 'expire-leases'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var summary, trigger string
		if err := rows.Scan(&summary, &trigger); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(summary, "panic: expire exploded") || trigger != "schedule" {
			t.Fatalf("panic row: summary %q trigger %q", summary, trigger)
		}
	}
	if dmnCount(t, svc, `outcome NOT IN ('ok', 'panic')`) != 0 {
		t.Fatalf("unexpected job outcomes")
	}
	if int(audits.Load()) != dmnCount(t, svc, `name = 'audit'`) {
		t.Fatalf("audit ran %d times but %d runs are recorded", audits.Load(), dmnCount(t, svc, `name = 'audit'`))
	}
	if !strings.Contains(log.String(), `msg="job failed" job=expire-leases`) || !strings.Contains(log.String(), "outcome=panic") {
		t.Fatalf("the log does not report the panic:\n%s", log.String())
	}
	// The daemon gave its row back.
	var n int
	if err := sqlstore.DBOf(svc.Store).QueryRow(`SELECT count(*) FROM daemon`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("daemon rows after Run: %d %v", n, err)
	}
}

// TestDaemonSkipsBusyJob: a job that blocks past its next tick is skipped
// (recorded as 'skipped'), never run twice at once; cancelling the daemon
// waits for the running job to finish.
func TestDaemonSkipsBusyJob(t *testing.T) {
	t.Parallel()
	svc := dmnTestService(t)
	var running, maxRunning, calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 16)
	log := &dmnLog{}
	d := &Daemon{Service: svc, Logger: slog.New(slog.NewTextHandler(log, nil)), Jobs: map[string]JobFunc{
		JobExpireLeases: func(context.Context) (string, error) {
			n := running.Add(1)
			defer running.Add(-1)
			for {
				m := maxRunning.Load()
				if n <= m || maxRunning.CompareAndSwap(m, n) {
					break
				}
			}
			calls.Add(1)
			started <- struct{}{}
			<-release
			return "slow run done", nil
		},
		JobAudit: func(context.Context) (string, error) { return "quick", nil },
	}}
	stop, done := dmnRun(t, d)
	select {
	case <-started:
	case <-time.After(dmnTestPatience):
		t.Fatal("the slow job never started")
	}
	dmnWait(t, done, "a tick of the busy job was skipped twice", func() bool {
		return dmnCount(t, svc, `name = 'expire-leases' AND outcome = 'skipped'`) >= 2
	})
	// While the slow job blocks, the other job keeps its own schedule.
	dmnWait(t, done, "the other job ran while the slow one blocked", func() bool {
		return dmnCount(t, svc, `name = 'audit' AND outcome = 'ok'`) >= 2
	})
	if got := dmnCount(t, svc, `name = 'expire-leases' AND outcome = 'running'`); got != 1 {
		t.Fatalf("%d expire-leases runs are running, want 1", got)
	}

	// Cancel while the job still runs: Run waits for it.
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while a job was still running", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(dmnTestPatience):
		t.Fatal("Run did not return after the job finished")
	}

	if maxRunning.Load() != 1 {
		t.Fatalf("the job ran %d times at once, want 1", maxRunning.Load())
	}
	if calls.Load() != 1 {
		t.Fatalf("the busy job was started %d times, want 1 (the rest skipped)", calls.Load())
	}
	if got := dmnCount(t, svc, `name = 'expire-leases' AND outcome = 'ok' AND summary = 'slow run done' AND finished_at IS NOT NULL`); got != 1 {
		t.Fatalf("%d finished slow runs, want 1", got)
	}
	if got := dmnCount(t, svc, `outcome = 'running'`); got != 0 {
		t.Fatalf("%d runs still 'running' after Run returned", got)
	}
	if got := dmnCount(t, svc, `outcome = 'skipped' AND (name <> 'expire-leases' OR summary <> 'the previous run is still running' OR trigger <> 'schedule' OR finished_at IS NULL)`); got != 0 {
		t.Fatalf("%d malformed skipped rows", got)
	}
	if !strings.Contains(log.String(), `msg="job skipped: previous run still running" job=expire-leases`) {
		t.Fatalf("the log does not report the skip:\n%s", log.String())
	}
}

// TestDaemonSecondRunRefused: a second Daemon on the same store is refused
// while the first holds the row, naming it.
func TestDaemonSecondRunRefused(t *testing.T) {
	t.Parallel()
	svc := dmnTestService(t)
	quiet := slog.New(slog.NewTextHandler(&dmnLog{}, nil))
	noop := map[string]JobFunc{JobExpireLeases: func(context.Context) (string, error) { return "", nil }}
	first := &Daemon{Service: svc, Logger: quiet, Jobs: noop}
	stop, done := dmnRun(t, first)
	dmnWait(t, done, "the first daemon holds the row", func() bool {
		var n int
		sqlstore.DBOf(svc.Store).QueryRow(`SELECT count(*) FROM daemon`).Scan(&n)
		return n == 1
	})
	// The same process may re-acquire its own row (it is the same daemon),
	// so the rival must look like another process: another host, fresh beat.
	if _, err := sqlstore.DBOf(svc.Store).Exec(`UPDATE daemon SET pid = 7, host = 'rival.example'`); err != nil {
		t.Fatal(err)
	}
	err := (&Daemon{Service: svc, Logger: quiet, Jobs: noop}).Run(context.Background())
	if ErrorCode(err) != ECONFLICT || !strings.Contains(ErrorMessage(err), "pid 7 on rival.example since ") {
		t.Fatalf("second daemon: %v", err)
	}
	// The first notices at its next heartbeat that it lost the row and stops.
	// (Heartbeats come every DaemonHeartbeatEvery; don't wait for that here.)
	if _, err := sqlstore.DBOf(svc.Store).Exec(`UPDATE daemon SET pid = ?, host = ?`, os.Getpid(), hostname()); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("first daemon: %v", err)
	}
}
