package main

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/internal/proctree"
	"github.com/oxygen-tools/oxygen/workflow"
)

// RunCmd holds a lease for exactly as long as a command, and everything it
// starts, runs.
type RunCmd struct {
	Resource string        `arg:"" help:"Resource id." predictor:"resource"`
	Command  []string      `arg:"" passthrough:"partial" name:"command" help:"The command to run, after --."`
	TTL      time.Duration `name:"ttl" default:"1m" help:"Lease length while the command runs, renewed every third of it. Short, because if oxygen itself is killed the lease lasts until it runs out."`
	Grace    time.Duration `name:"grace" default:"10s" help:"After passing SIGTERM, SIGINT or SIGHUP on to the command, how long to wait before killing it and everything it started."`
	Wait     time.Duration `name:"wait" help:"Queue for up to this long while another holds the resource."`
	Item     string        `name:"item" help:"The work item this change belongs to." predictor:"item"`
	Reason   string        `name:"reason" help:"What the command changes."`
	cli.Identity
}

// runResult is what `oxygen run --json` prints: the lease as it stands at
// the end and how the command ended.
type runResult struct {
	Lease      *workflow.Lease `json:"lease"`
	HeldBefore bool            `json:"held_before"` // the owner held it before: it stays held
	Released   bool            `json:"released"`
	Command    []string        `json:"command"`
	PID        int             `json:"pid"`
	ExitCode   int             `json:"exit_code"`        // 128+signal when a signal ended it
	Signal     string          `json:"signal,omitempty"` // the signal that ended it
	Killed     string          `json:"killed,omitempty"` // grace_period or lease_lost: why oxygen killed it
}

func (c *RunCmd) Run(env *cli.Env) error {
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	if len(c.Command) == 0 {
		return workflow.Errorf(workflow.EINVALID, "no command: oxygen run RESOURCE -- COMMAND [ARGS...]")
	}
	if c.Grace < 0 {
		return workflow.Errorf(workflow.EINVALID, "--grace cannot be negative")
	}
	svc, actor, err := env.ServiceAs(c.Identity)
	if err != nil {
		return err
	}
	path, err := exec.LookPath(c.Command[0])
	if err != nil {
		return workflow.Errorf(workflow.EINVALID, "command %q: %v", c.Command[0], err)
	}
	req := workflow.ClaimRequest{Resource: c.Resource, Actor: actor, TTL: &c.TTL, Item: c.Item, Reason: c.Reason}
	claim, err := svc.ClaimWait(env.Ctx, req, c.Wait)
	if err != nil {
		return err
	}
	out := &runResult{Lease: claim.Lease, HeldBefore: claim.Renewed, Command: c.Command}
	for _, e := range claim.ShadowEdits {
		env.Warnf("%s", foundLine(e))
	}

	// From here on the wrapper outlives its command whatever signal it gets:
	// it passes them on, and waits.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	stdout := os.Stdout
	if env.Globals.JSON {
		stdout = os.Stderr // stdout carries the one JSON document
	}
	tree, err := proctree.Start(proctree.Spec{
		Path:       path,
		Args:       c.Command,
		Env:        append(os.Environ(), "OXYGEN_TOKEN="+strconv.FormatInt(out.Lease.Token, 10), "OXYGEN_RESOURCE="+out.Lease.Resource),
		Files:      []*os.File{os.Stdin, stdout, os.Stderr},
		Foreground: true,
	})
	if err != nil {
		c.finish(env, svc, actor, out)
		return workflow.Errorf(workflow.EINVALID, "start %s: %v", c.Command[0], err)
	}
	out.PID = tree.PID()

	lost := c.hold(env, svc, tree, sigs, out)
	// The tree is gone: only now may the lease end.
	st := tree.Status()
	switch {
	case st.Signaled():
		out.ExitCode, out.Signal = 128+int(st.Signal()), unix.SignalName(st.Signal())
	default:
		out.ExitCode = st.ExitStatus()
	}
	if lost != nil {
		if l, _ := svc.CheckLease(context.Background(), out.Lease.Resource, out.Lease.Token); l != nil {
			out.Lease = l
		}
		err := workflow.Errorf(workflow.ECONFLICT, "lost the lease on %s (token %d): %s; the command and everything it started were killed",
			out.Lease.Resource, out.Lease.Token, workflow.ErrorMessage(lost))
		return env.Finding(err, out, func() {})
	}
	c.finish(env, svc, actor, out)
	if env.Globals.JSON {
		if err := env.PrintJSON(out); err != nil {
			return err
		}
	}
	if out.ExitCode != 0 {
		return &cli.ExitError{Code: out.ExitCode}
	}
	return nil
}

// hold keeps the lease while the command's tree runs, passes signals on,
// and kills the tree when the grace period after a signal runs out or the
// lease is lost. It returns once the tree is gone, with why the lease was
// lost if it was.
func (c *RunCmd) hold(env *cli.Env, svc *workflow.Service, tree *proctree.Tree, sigs <-chan os.Signal, out *runResult) error {
	keep := startKeeper(svc, out.Lease, c.TTL)
	defer keep.stop()
	lapse := time.NewTimer(keep.margin(svc, out.Lease))
	defer lapse.Stop()
	var grace <-chan time.Time
	var lost, failing error
	for {
		select {
		case <-tree.Done():
			return lost
		case sig := <-sigs:
			tree.Signal(sig.(syscall.Signal))
			if grace == nil {
				grace = time.After(c.Grace)
			}
		case <-grace:
			env.Warnf("the command outlived the %s grace period; killing it and everything it started", workflow.FormatDuration(c.Grace))
			out.Killed = "grace_period"
			tree.Kill()
		case <-lapse.C:
			if lost != nil {
				break
			}
			why := "the store did not answer"
			if failing != nil {
				why = workflow.ErrorMessage(failing)
			}
			lost = workflow.Errorf(workflow.ETIMEOUT, "it could not be renewed before it would lapse: %s", why)
			out.Killed = "lease_lost"
			tree.Kill()
		case r := <-keep.results:
			switch {
			case r.err == nil:
				out.Lease, failing = r.lease, nil
				lapse.Reset(keep.margin(svc, r.lease))
			case lost != nil:
			case workflow.ErrorCode(r.err) == workflow.EINTERNAL || workflow.ErrorCode(r.err) == workflow.ETIMEOUT:
				// The store may be busy or failing for a moment; the lapse
				// timer decides when it has failed for too long.
				if failing == nil {
					env.Warnf("could not renew %s: %s; retrying", out.Lease.Resource, workflow.ErrorMessage(r.err))
				}
				failing = r.err
			default:
				lost = r.err
				out.Killed = "lease_lost"
				tree.Kill()
			}
		}
	}
}

// finish ends the lease after the command: it is released, unless the owner
// held it before the run, in which case it is left held for at least --ttl.
func (c *RunCmd) finish(env *cli.Env, svc *workflow.Service, actor workflow.Actor, out *runResult) {
	if out.HeldBefore {
		l, err := svc.KeepLease(context.Background(), out.Lease.Resource, out.Lease.Token, c.TTL)
		if err != nil {
			env.Warnf("could not renew %s: %s", out.Lease.Resource, workflow.ErrorMessage(err))
			return
		}
		out.Lease = l
		return
	}
	l, err := svc.Release(context.Background(), workflow.ReleaseRequest{Resource: out.Lease.Resource, Actor: actor, Token: out.Lease.Token})
	if err != nil {
		env.Warnf("could not release %s: %s", out.Lease.Resource, workflow.ErrorMessage(err))
		return
	}
	out.Lease, out.Released = l, true
}

// keeper checks the lease every second (or every third of the TTL, if
// shorter) and renews it every third of the TTL, in a goroutine of its own
// so that a store busy for a while never delays passing on a signal or
// killing the command.
type keeper struct {
	check   time.Duration
	results chan keepResult
	done    chan struct{}
	stopped chan struct{}
}

type keepResult struct {
	lease *workflow.Lease
	err   error
}

func startKeeper(svc *workflow.Service, l *workflow.Lease, ttl time.Duration) *keeper {
	every := ttl / 3
	k := &keeper{check: min(every, time.Second), results: make(chan keepResult), done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(k.stopped)
		tick := time.NewTicker(k.check)
		defer tick.Stop()
		renewed := time.Now()
		for {
			select {
			case <-k.done:
				return
			case <-tick.C:
			}
			var r keepResult
			// Half a check's slack absorbs the ticker's jitter.
			if time.Since(renewed)+k.check/2 >= every {
				if r.lease, r.err = svc.KeepLease(context.Background(), l.Resource, l.Token, ttl); r.err == nil {
					renewed = time.Now()
				}
			} else {
				r.lease, r.err = svc.CheckLease(context.Background(), l.Resource, l.Token)
			}
			select {
			case k.results <- r:
			case <-k.done:
				return
			}
		}
	}()
	return k
}

// margin is how long the command may run on the lease l as known: until half
// a check before its expiry, so that it is killed while the lease still
// holds. A healthy lease never gets there: it is renewed with two thirds of
// its TTL left.
func (k *keeper) margin(svc *workflow.Service, l *workflow.Lease) time.Duration {
	return max(l.ExpiresAt.Sub(svc.Clock())-k.check/2, 0)
}

// stop ends the keeper and waits for it, so that no renewal follows the
// release.
func (k *keeper) stop() {
	close(k.done)
	<-k.stopped
}
