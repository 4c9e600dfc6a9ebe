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
func Clock() (workflow.Clock, error) {
	v := os.Getenv("OXYGEN_NOW")
	if v == "" {
		return workflow.SystemClock, nil
	}
	t, err := workflow.ParseTime(v)
	if err != nil {
		return nil, workflow.Errorf(workflow.EINVALID, "OXYGEN_NOW: %v", err)
	}
	return func() time.Time { return t }, nil
}
