package workflow

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Clock is the one source of time. Services read it once per transaction.
type Clock func() time.Time

// SystemClock is wall-clock time truncated to the store's millisecond
// resolution, so a value read back from the store equals the value written.
func SystemClock() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// ClockFromEnv returns SystemClock unless OXYGEN_NOW pins the time. Pinning
// makes capsules and golden outputs reproducible; it takes RFC 3339 or Unix
// milliseconds.
func ClockFromEnv() (Clock, error) {
	v := os.Getenv("OXYGEN_NOW")
	if v == "" {
		return SystemClock, nil
	}
	t, err := ParseTime(v)
	if err != nil {
		return nil, Errorf(EINVALID, "OXYGEN_NOW: %v", err)
	}
	return func() time.Time { return t }, nil
}

// ParseTime accepts RFC 3339 or integer Unix milliseconds.
func ParseTime(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix milliseconds", v)
	}
	return t.UTC().Truncate(time.Millisecond), nil
}

// FormatTime prints t as RFC 3339 UTC, with milliseconds only when non-zero.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.999Z07:00")
}

// Time is a timestamp that marshals to RFC 3339 UTC and to null when unset.
type Time struct{ time.Time }

// MarshalJSON prints RFC 3339 UTC, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(strconv.Quote(FormatTime(t.Time))), nil
}

func (t Time) String() string { return FormatTime(t.Time) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) Time {
	if v == 0 {
		return Time{}
	}
	return Time{time.UnixMilli(v).UTC()}
}

// FormatDuration prints d without zero trailing units: 24h, 30m, 1h30m.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
