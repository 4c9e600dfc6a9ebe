package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// systemActor is who checks and jobs are recorded as: OXYGEN_OWNER when set,
// else the tool itself.
func systemActor() string {
	if a := cli.ActorName(""); a != "" {
		return a
	}
	return workflow.SystemActor.Owner
}

// parseSince accepts RFC 3339, Unix milliseconds or a duration back from now.
func parseSince(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	t, err := workflow.ParseTime(v)
	if err != nil {
		return time.Time{}, workflow.Errorf(workflow.EINVALID, "%s %q: give an RFC 3339 time or a duration such as 24h", flag, v)
	}
	return t, nil
}

// oneLine shows free text in a table cell: first line, at most n runes.
func oneLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	if r := []rune(s); len(r) > n {
		s = string(r[:n-3]) + "..."
	}
	return s
}
