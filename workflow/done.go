package workflow

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/proctree"
)

// The risk budget: how much may change without verification. Completing an
// item runs its commands first; a failing command refuses the completion.

// DoneRequest completes an item in progress.
type DoneRequest struct {
	MoveRequest
	SkipVerify bool          // complete without running the commands; needs Reason
	Timeout    time.Duration // per command; zero means 10 minutes
	Output     io.Writer     // where command output streams as it runs; nil discards
}

// CommandRun is one verification command's outcome.
type CommandRun struct {
	Command    string `json:"command"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
	TimedOut   bool   `json:"timed_out"`
	Tail       string `json:"tail,omitempty"`
}

// Verification is what ran before a completion.
type Verification struct {
	Status   string       `json:"status"` // passed, failed, skipped, or none (no commands)
	Commands []CommandRun `json:"commands"`
}

// DoneResult is the completed item and how it was verified.
type DoneResult struct {
	*Moved
	Verification *Verification `json:"verification"`
}

// tailLines is how much failing output a refusal shows.
const tailLines = 20

// Done runs the item's commands from the repository root, one after
// another, and completes the item only if all succeed. The commands run
// outside any transaction; the move re-checks the state in its own.
func (s *Service) Done(ctx context.Context, req DoneRequest) (*DoneResult, error) {
	if err := req.MoveRequest.check(); err != nil {
		return nil, err
	}
	if req.SkipVerify && strings.TrimSpace(req.Reason) == "" {
		return nil, Errorf(EINVALID, "--skip-verify needs --reason: skipping verification is recorded and reported")
	}
	if req.Timeout < 0 {
		return nil, Errorf(EINVALID, "--timeout cannot be negative")
	}
	if req.Timeout == 0 {
		req.Timeout = 10 * time.Minute
	}
	var it *Item
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		if it, err = tx.getItem(ctx, req.ID); err != nil {
			return err
		}
		_, err = CheckMove("done", it.ID, it.Status)
		return err
	})
	if err != nil {
		return nil, err
	}
	v := &Verification{Status: "none", Commands: []CommandRun{}}
	switch {
	case req.SkipVerify:
		v.Status = "skipped"
	case len(it.Commands) > 0:
		v.Status = "passed"
		for _, c := range it.Commands {
			run := s.runCommand(ctx, it.ID, c, req.Timeout, req.Output)
			v.Commands = append(v.Commands, run)
			if run.ExitCode != 0 {
				v.Status = "failed"
				what := fmt.Sprintf("exited with status %d", run.ExitCode)
				if run.TimedOut {
					what = fmt.Sprintf("timed out after %s", FormatDuration(req.Timeout))
				}
				return &DoneResult{Verification: v}, Errorf(EDENIED, "risk budget: %s stays in_progress: `%s` %s; fix it and run done again, or complete it with --skip-verify --reason \"why\"", it.ID, c, what)
			}
		}
	}
	verification := ""
	switch v.Status {
	case "passed", "skipped":
		verification = v.Status
	}
	moved, err := s.moveItem(ctx, req.MoveRequest, "done", false, nil, moveOptions{verification: verification, extra: map[string]any{"commands": v.Commands}})
	if err != nil {
		return nil, err
	}
	return &DoneResult{Moved: moved, Verification: v}, nil
}

// runCommand runs one verification command with sh -c, keeping the tail of
// its output.
func (s *Service) runCommand(ctx context.Context, id, command string, timeout time.Duration, out io.Writer) CommandRun {
	var buf tailBuffer
	var w io.Writer = &buf
	if out != nil {
		w = io.MultiWriter(&buf, out)
	}
	start := time.Now()
	code, timedOut, err := s.runTree(ctx, command, timeout, []string{"OXYGEN_ITEM=" + id, "OXYGEN_ROOT=" + s.Root}, w)
	run := CommandRun{Command: command, ExitCode: code, DurationMS: time.Since(start).Milliseconds(), TimedOut: timedOut}
	if err != nil {
		run.ExitCode = 127
		buf.Write([]byte(err.Error() + "\n"))
	}
	if run.ExitCode != 0 {
		run.Tail = buf.Tail(tailLines)
	}
	return run
}

// outputDrain is how long output may still arrive once the command's tree is
// gone. Only a process that escaped the tree (possible where there is no
// subreaper) can still hold the output open; its output is cut off.
const outputDrain = time.Second

// runTree runs command from the worktree in a process tree of its own, its
// output going to w. The command is finished when its shell is: whatever it
// left running is killed then. On a timeout, or when ctx ends, the shell and
// everything it started are killed. So nothing a verification started
// outlives it or holds its output open. The exit code is -1 when a signal
// ended the shell.
func (s *Service) runTree(ctx context.Context, command string, timeout time.Duration, env []string, w io.Writer) (code int, timedOut bool, err error) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return 0, false, err
	}
	stdin, err := os.Open(os.DevNull)
	if err != nil {
		return 0, false, err
	}
	defer stdin.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, false, err
	}
	defer pr.Close()
	tree, err := proctree.Start(proctree.Spec{Path: sh, Args: []string{"sh", "-c", command}, Dir: s.Worktree,
		Env: append(os.Environ(), env...), Files: []*os.File{stdin, pw, pw}})
	pw.Close()
	if err != nil {
		return 0, false, err
	}
	copied := make(chan struct{})
	go func() {
		io.Copy(w, pr)
		close(copied)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-tree.LeaderDone():
	case <-timer.C:
	case <-ctx.Done():
	}
	select {
	case <-tree.LeaderDone(): // it finished, even if the time ran out at the same moment
	default:
		timedOut = ctx.Err() == nil
	}
	tree.Kill()
	select {
	case <-copied:
	case <-time.After(outputDrain):
		pr.Close()
		<-copied
	}
	return tree.Status().ExitStatus(), timedOut, nil
}

// tailBuffer keeps the last 64 KiB written to it.
type tailBuffer struct{ b []byte }

const tailKeep = 64 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailKeep {
		t.b = t.b[len(t.b)-tailKeep:]
	}
	return len(p), nil
}

// Tail returns the last n lines.
func (t *tailBuffer) Tail(n int) string {
	lines := bytes.Split(bytes.TrimRight(t.b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
