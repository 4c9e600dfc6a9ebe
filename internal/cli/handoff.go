package cli

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/oxygen-tools/oxygen/workflow"
)

// serverBuild is the name of the build of tool that carries the PostgreSQL
// driver (built with the serverstore tag). oxygen and orchestrate leave the
// driver out, because its packages would add their start-up to every
// command on every store, and hand a command over to this sibling when the
// repository's store turns out to be on a server.
func serverBuild(tool string) string { return tool + "-pg" }

// handOff replaces this process with the server build of the tool, given
// the same arguments, environment and working directory, so that it runs
// the command from the start. It returns only if it could not.
func (e *Env) handOff() error {
	name := serverBuild(e.Tool)
	sibling, err := FindSibling(name)
	if err != nil {
		return workflow.Errorf(workflow.EINVALID, "this repository's store is on a server, and %s carries no PostgreSQL driver; %s, the build that does, is neither next to it nor on PATH: make install puts both in place", e.Tool, name)
	}
	if self, err := os.Executable(); err == nil {
		a, errA := os.Stat(self)
		b, errB := os.Stat(sibling)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return workflow.Errorf(workflow.EINVALID, "%s carries no PostgreSQL driver although it is the server build: rebuild it with make build", sibling)
		}
	}
	if e.stdin != nil {
		if err := replayStdin(e.stdin); err != nil {
			return err
		}
	}
	err = syscall.Exec(sibling, append([]string{sibling}, os.Args[1:]...), os.Environ())
	return workflow.Errorf(workflow.EINTERNAL, "run %s: %v", sibling, err)
}

// ReadStdin reads all of standard input. A command that reads its input
// before it opens the store reads it here, so that a hand-off to the
// server build can give the same input again.
func (e *Env) ReadStdin() ([]byte, error) {
	data, err := io.ReadAll(os.Stdin)
	e.stdin = data
	return data, err
}

// replayStdin makes standard input a file holding data: an unlinked
// temporary file, so input of any size is handed on whole and nothing is
// left behind.
func replayStdin(data []byte) error {
	f, err := os.CreateTemp("", "oxygen-stdin-")
	if err != nil {
		return workflow.Errorf(workflow.EINTERNAL, "keep standard input for the server build: %v", err)
	}
	defer f.Close()
	os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		return workflow.Errorf(workflow.EINTERNAL, "keep standard input for the server build: %v", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return workflow.Errorf(workflow.EINTERNAL, "keep standard input for the server build: %v", err)
	}
	if err := unix.Dup2(int(f.Fd()), 0); err != nil {
		return workflow.Errorf(workflow.EINTERNAL, "keep standard input for the server build: %v", err)
	}
	return nil
}
