//go:build !linux

package proctree

import (
	"errors"
	"syscall"
)

// sysProcAttr puts the command in a group of its own.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// setSubreaper does nothing: only Linux has subreapers. The group's orphans
// go to init, which reaps them.
func setSubreaper(bool) error { return nil }

// treeGone: with the command reaped and no child left, the tree is gone once
// its group is empty.
func treeGone(pgid int) bool {
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// findsDescendants is false: the group's id is the only handle on the tree.
const findsDescendants = false

func descendants() []proc { return nil }
