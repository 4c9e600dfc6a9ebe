//go:build oxygentest

package cli

import (
	"os"
	"time"

	"github.com/oxygen-tools/oxygen/workflow"
)

// Clock is the wall clock unless OXYGEN_NOW pins it, in test builds only
// (go build -tags oxygentest, as the e2e tests do). Pinning makes capsules
// and golden outputs reproducible and lets scripts step past expiries
// without sleeping. It takes RFC 3339 or Unix milliseconds.
//
// OXYGEN_TEST_MACHINE_SKEW (a signed Go duration, "+15m") then shifts this
// machine's clock alone, as a machine whose clock is off would be: OXYGEN_NOW
// stands for the whole team's time, server included, while the skew never
// reaches a server store, whose time is its own. The e2e tests use it to show
// that expiry on a server store does not depend on the machine's clock.
func Clock() (workflow.Clock, error) {
	base := workflow.SystemClock
	if v := os.Getenv("OXYGEN_NOW"); v != "" {
		t, err := workflow.ParseTime(v)
		if err != nil {
			return nil, workflow.Errorf(workflow.EINVALID, "OXYGEN_NOW: %v", err)
		}
		base = func() time.Time { return t }
	}
	v := os.Getenv("OXYGEN_TEST_MACHINE_SKEW")
	if v == "" {
		return base, nil
	}
	skew, err := time.ParseDuration(v)
	if err != nil {
		return nil, workflow.Errorf(workflow.EINVALID, "OXYGEN_TEST_MACHINE_SKEW: %v", err)
	}
	return func() time.Time { return base().Add(skew) }, nil
}
