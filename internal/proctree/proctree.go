// Package proctree runs a command as a tree of processes that is waited for
// and killed as a whole, for `oxygen run` (which must hold its lease until
// nothing it started is left) and `orchestrate done` (whose time limit must
// stop everything a verification command started).
//
// The command leads a process group of its own. On Linux this process also
// becomes a child subreaper while the tree runs, so whatever the command
// leaves behind, background jobs included and even ones that called setsid,
// is reparented here, reaped here, found by walking /proc, and killed with
// the rest; and the command gets SIGKILL if this process dies. Elsewhere the
// tree is the command's process group: a process that leaves the group
// escapes it.
//
// A process runs one tree at a time and starts no other child while it
// does, because the tree reaps every child of the process.
package proctree

import (
	"errors"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Spec is the command to run.
type Spec struct {
	Path  string
	Args  []string // including the command's name, Args[0]
	Dir   string
	Env   []string   // KEY=value; of a key given twice, the later value counts
	Files []*os.File // standard input, output and error
	// Foreground hands the terminal on Files[0] to the command's group while
	// it runs, if this process's group has it, so that the command can read
	// from it and takes ^C itself.
	Foreground bool
}

// Tree is a running command and everything it starts.
type Tree struct {
	pid int // the command, leader of its own process group
	tty int // the terminal handed to the command, or -1

	mu           sync.Mutex // held while reaping, so the leader is never signalled after it is reaped
	leaderReaped bool
	status       syscall.WaitStatus

	leaderDone chan struct{}
	done       chan struct{}
}

// killRetry is how often Kill sweeps the tree again: a process may fork
// between the walk and the signal, and orphans arrive as their parents die.
const killRetry = 20 * time.Millisecond

// orphanPoll bounds each wait for SIGCHLD. Where there is no subreaper the
// group's orphans are reaped by init and send nothing here.
const orphanPoll = 250 * time.Millisecond

var running atomic.Bool

// Start runs the command in a new process group.
func Start(spec Spec) (*Tree, error) {
	if !running.CompareAndSwap(false, true) {
		return nil, errors.New("proctree: a tree is already running in this process")
	}
	t := &Tree{tty: -1, leaderDone: make(chan struct{}), done: make(chan struct{})}
	started := make(chan error, 1)
	go t.run(spec, started)
	if err := <-started; err != nil {
		running.Store(false)
		return nil, err
	}
	return t, nil
}

// run starts the command and reaps until the tree is gone. Its thread stays
// locked until then: the command's parent-death signal fires when the thread
// that started it exits, not the process.
func (t *Tree) run(spec Spec, started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	defer signal.Stop(sigchld)
	if err := setSubreaper(true); err != nil {
		started <- err
		return
	}
	attr := &syscall.ProcAttr{Dir: spec.Dir, Env: lastWins(spec.Env), Sys: sysProcAttr()}
	for _, f := range spec.Files {
		attr.Files = append(attr.Files, f.Fd())
	}
	if spec.Foreground && len(spec.Files) > 0 {
		if fd := int(spec.Files[0].Fd()); foreground(fd) {
			t.tty = fd
			attr.Sys.Foreground, attr.Sys.Ctty = true, fd
		}
	}
	pid, err := syscall.ForkExec(spec.Path, spec.Args, attr)
	if err != nil {
		setSubreaper(false)
		started <- err
		return
	}
	t.pid = pid
	started <- nil
	poll := time.NewTicker(orphanPoll)
	defer poll.Stop()
	for !t.reap() {
		select {
		case <-sigchld:
		case <-poll.C:
		}
	}
	if t.tty >= 0 {
		takeTerminal(t.tty)
	}
	setSubreaper(false)
	running.Store(false)
	close(t.done)
}

// reap collects every child that has ended and reports whether the tree is
// gone. A ^Z that stops a command holding the terminal is undone at once:
// this process cannot pass the stop on to its shell and still promise what
// it promises its caller (a suspended `oxygen run` could not renew).
func (t *Tree) reap() (gone bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG|syscall.WUNTRACED, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
		case errors.Is(err, syscall.ECHILD):
			return treeGone(t.pid)
		case err != nil || pid == 0:
			return false
		case pid != t.pid:
		case ws.Stopped():
			if t.tty >= 0 && ws.StopSignal() == syscall.SIGTSTP {
				syscall.Kill(-t.pid, syscall.SIGCONT)
			}
		default:
			t.status, t.leaderReaped = ws, true
			close(t.leaderDone)
		}
	}
}

// PID is the command's process id, which is also its process group id.
func (t *Tree) PID() int { return t.pid }

// LeaderDone is closed when the command itself has ended; processes it
// started may still run.
func (t *Tree) LeaderDone() <-chan struct{} { return t.leaderDone }

// Done is closed when no process of the tree is left.
func (t *Tree) Done() <-chan struct{} { return t.done }

// Status is how the command ended; valid once LeaderDone is closed.
func (t *Tree) Status() syscall.WaitStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status
}

// Signal sends sig to every process of the tree, once each: to the group,
// and to every other descendant found. Where descendants can be found the
// group is signalled only while its leader is not reaped, so that its number
// cannot have been reused by then.
func (t *Tree) Signal(sig syscall.Signal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	grouped := !t.leaderReaped || !findsDescendants
	if grouped {
		syscall.Kill(-t.pid, sig)
	}
	for _, p := range descendants() {
		if !grouped || p.pgid != t.pid {
			syscall.Kill(p.pid, sig)
		}
	}
}

// Kill sends SIGKILL to the tree until none of it is left, and returns once
// it is gone.
func (t *Tree) Kill() {
	for {
		t.Signal(syscall.SIGKILL)
		select {
		case <-t.done:
			return
		case <-time.After(killRetry):
		}
	}
}

// foreground reports whether fd is a terminal whose foreground process group
// is this process's.
func foreground(fd int) bool {
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pgrp == syscall.Getpgrp()
}

// takeTerminal makes this process's group the terminal's foreground again.
// SIGTTOU is ignored meanwhile: a background group asking for the terminal
// would otherwise be stopped by it.
func takeTerminal(fd int) {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, syscall.Getpgrp())
}

// proc is a process found in the tree.
type proc struct{ pid, pgid int }

// lastWins drops every KEY=value that a later entry for the same key
// overrides: getenv in the command would find the first.
func lastWins(env []string) []string {
	seen := make(map[string]bool, len(env))
	out := make([]string, len(env))
	n := len(env)
	for i := len(env) - 1; i >= 0; i-- {
		key, _, _ := strings.Cut(env[i], "=")
		if !seen[key] {
			seen[key] = true
			n--
			out[n] = env[i]
		}
	}
	return out[n:]
}
