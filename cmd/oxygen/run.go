package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// RunCmd holds a lease for exactly as long as a command runs.
type RunCmd struct {
	Resource string         `arg:"" help:"Resource id."`
	Command  []string       `arg:"" passthrough:"partial" name:"command" help:"The command to run, after --."`
	TTL      *time.Duration `name:"ttl" help:"Lease length; the lease is renewed every third of it while the command runs."`
	Wait     time.Duration  `name:"wait" help:"Queue for up to this long while another holds the resource."`
	Item     string         `name:"item" help:"The work item this change belongs to."`
	Reason   string         `name:"reason" help:"What the command changes."`
	cli.Identity
}

func (c *RunCmd) Run(env *cli.Env) error {
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	if len(c.Command) == 0 {
		return workflow.Errorf(workflow.EINVALID, "no command: oxygen run RESOURCE -- COMMAND [ARGS...]")
	}
	svc, actor, err := env.ServiceAs(c.Identity)
	if err != nil {
		return err
	}
	path, err := exec.LookPath(c.Command[0])
	if err != nil {
		return workflow.Errorf(workflow.EINVALID, "command %q: %v", c.Command[0], err)
	}
	req := workflow.ClaimRequest{Resource: c.Resource, Actor: actor, TTL: c.TTL, Item: c.Item, Reason: c.Reason}
	res, err := svc.ClaimWait(env.Ctx, req, c.Wait)
	if err != nil {
		return err
	}
	lease := res.Lease
	ttl := lease.ExpiresAt.Sub(svc.Clock())
	if c.TTL != nil {
		ttl = *c.TTL
	}

	cmd := exec.Command(path, c.Command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, env.Stdout, env.Stderr
	cmd.Env = append(os.Environ(), "OXYGEN_TOKEN="+strconv.FormatInt(lease.Token, 10), "OXYGEN_RESOURCE="+lease.Resource)
	if err := cmd.Start(); err != nil {
		c.release(env, svc, actor)
		return workflow.Errorf(workflow.EINVALID, "start %s: %v", c.Command[0], err)
	}

	// Renew in the background; forward SIGINT/SIGTERM to the command.
	stopRenew := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		every := max(ttl/3, time.Second)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-stopRenew:
				return
			case <-env.Ctx.Done():
				if cmd.Process != nil {
					cmd.Process.Signal(syscall.SIGTERM)
				}
				<-stopRenew
				return
			case <-tick.C:
				if _, err := svc.Renew(context.Background(), lease.Resource, actor, &ttl); err != nil {
					env.Warnf("could not renew %s: %s; the lease will lapse at its expiry", lease.Resource, workflow.ErrorMessage(err))
					<-stopRenew
					return
				}
			}
		}
	}()
	waitErr := cmd.Wait()
	close(stopRenew)
	wg.Wait()
	c.release(env, svc, actor)

	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
		return nil
	case errors.As(waitErr, &exitErr):
		if st, ok := exitErr.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return &cli.ExitError{Code: 128 + int(st.Signal())}
		}
		return &cli.ExitError{Code: exitErr.ExitCode()}
	default:
		return workflow.Errorf(workflow.EINTERNAL, "wait for %s: %v", c.Command[0], waitErr)
	}
}

// release ends the lease even when the run was interrupted.
func (c *RunCmd) release(env *cli.Env, svc *workflow.Service, actor workflow.Actor) {
	if _, err := svc.Release(context.Background(), workflow.ReleaseRequest{Resource: c.Resource, Actor: actor}); err != nil {
		env.Warnf("could not release %s: %s", c.Resource, workflow.ErrorMessage(err))
	}
}
