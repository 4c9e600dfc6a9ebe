package proctree

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// patience bounds each wait for an event; reaching it means a hang.
const patience = 30 * time.Second

func start(t *testing.T, script string) (*Tree, string) {
	t.Helper()
	dir := t.TempDir()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	tree, err := Start(Spec{Path: "/bin/sh", Args: []string{"sh", "-c", script}, Dir: dir, Env: os.Environ(), Files: []*os.File{null, null, null}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tree.Kill)
	return tree, dir
}

func wait(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(patience):
		t.Fatalf("timed out waiting until %s", what)
	}
}

// pidIn waits for the pid a script wrote to dir/name.
func pidIn(t *testing.T, dir, name string) int {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never written", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exists reports whether pid is still a process (a zombie counts: it has not
// been reaped).
func exists(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestTreeOutlivesItsLeader: the tree is done only when the background job
// its leader left is gone, and then every process of it has been reaped.
func TestTreeOutlivesItsLeader(t *testing.T) {
	tree, dir := start(t, "sleep 600 & echo $! > bg.pid; exit 3")
	wait(t, "the leader exits", tree.LeaderDone())
	bg := pidIn(t, dir, "bg.pid")
	if st := tree.Status(); !st.Exited() || st.ExitStatus() != 3 {
		t.Fatalf("leader status %v, want exit 3", st)
	}
	select {
	case <-tree.Done():
		t.Fatal("the tree ended while its background job ran")
	default:
	}
	if !exists(bg) {
		t.Fatal("the background job is gone already")
	}
	syscall.Kill(bg, syscall.SIGTERM)
	wait(t, "the tree is gone", tree.Done())
	if exists(bg) {
		t.Fatal("the background job was not reaped")
	}
}

// TestKillReachesEscapedProcesses: Kill ends a process that left the group
// with setsid, and one more tree may start after.
func TestKillReachesEscapedProcesses(t *testing.T) {
	if !findsDescendants {
		t.Skip("only Linux finds processes that left the group")
	}
	tree, dir := start(t, "setsid sleep 600 & echo $! > bg.pid; wait")
	bg := pidIn(t, dir, "bg.pid")
	if _, err := Start(Spec{Path: "/bin/true", Args: []string{"true"}}); err == nil {
		t.Fatal("a second tree started while one ran")
	}
	tree.Kill()
	if exists(bg) || exists(tree.PID()) {
		t.Fatal("Kill returned with processes of the tree left")
	}
	if st := tree.Status(); !st.Signaled() || st.Signal() != syscall.SIGKILL {
		t.Fatalf("leader status %v, want killed", st)
	}
	next, _ := start(t, "exit 0")
	wait(t, "the next tree ends", next.Done())
}

// TestLaterEnvironmentWins: a variable given twice, as when `oxygen run`
// runs inside another and sets OXYGEN_TOKEN again, reaches the command once,
// with its later value (getenv would find the first).
func TestLaterEnvironmentWins(t *testing.T) {
	out, err := os.Create(filepath.Join(t.TempDir(), "env"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tree, err := Start(Spec{Path: "/usr/bin/env", Args: []string{"env"}, Env: []string{"A=outer", "B=b", "A=inner"}, Files: []*os.File{out, out, out}})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, "the tree ends", tree.Done())
	if b, _ := os.ReadFile(out.Name()); string(b) != "B=b\nA=inner\n" {
		t.Fatalf("the command's environment:\n%s", b)
	}
}
