// Command maxrss runs a command and prints its peak resident set size in
// KiB, from the kernel's rusage of the waited-for child, for
// scripts/bench-scale.sh: GNU time is not always installed, and a process
// that lives a few milliseconds is gone before /proc can be sampled.
//
//	maxrss COMMAND [ARG...]
//
// The command's output is discarded; a command that fails makes maxrss
// fail with its exit code, after printing the figure all the same.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: maxrss COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "maxrss:", err)
		os.Exit(2)
	}
	// Linux reports ru_maxrss in KiB.
	fmt.Println(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	os.Exit(cmd.ProcessState.ExitCode())
}
