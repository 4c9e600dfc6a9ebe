//go:build !oxygentest

package postgres

import "time"

// testNow is never set in binaries users install: the server's clock is
// the team's clock, and nothing on a machine can move it.
func testNow() (time.Time, bool) { return time.Time{}, false }
