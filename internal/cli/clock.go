//go:build !oxygentest

package cli

import "github.com/oxygen-tools/oxygen/workflow"

// Clock is the wall clock. Builds that users install have no way to set it:
// a clock that anyone can move with an environment variable lets them take
// another owner's lease before it runs out and write audit events at any
// time they like. Tests build with the oxygentest tag for a settable clock
// (clock_oxygentest.go).
func Clock() (workflow.Clock, error) { return workflow.SystemClock, nil }
