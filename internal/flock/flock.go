// Package flock takes exclusive advisory file locks (flock(2)) for the few
// one-time steps that must run in one process at a time across a machine:
// creating a store, moving one from its old place, migrating its schema.
// The lock is released when the file is closed, so a killed process never
// leaves it held.
package flock

import (
	"fmt"
	"os"
	"syscall"
)

// Lock blocks until it holds an exclusive lock on path, creating the file
// if need be, and returns the function that releases it.
func Lock(path string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("take lock %s: %w", path, err)
	}
	return f.Close, nil
}
