//go:build oxygentest

package postgres

import (
	"os"
	"strconv"
	"time"
)

// testNow, in test builds only, lets OXYGEN_NOW stand for the whole team's
// time, server included, so scripts can step past expiries on either store
// alike. A machine whose own clock is off is simulated separately
// (OXYGEN_TEST_MACHINE_SKEW, internal/cli), and that one the server store
// never reads.
func testNow() (time.Time, bool) {
	v := os.Getenv("OXYGEN_NOW")
	if v == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(n).UTC(), true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}
