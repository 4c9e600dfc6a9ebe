package workflow

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

// Clock is the one source of time. Services read it once per transaction,
// once the transaction holds the write lock or its read snapshot.
type Clock = store.Clock

// SystemClock is wall-clock time truncated to the store's millisecond
// resolution, so a value read back from the store equals the value written.
func SystemClock() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// ParseTime accepts RFC 3339 or integer Unix milliseconds, from just after
// the Unix epoch (0 is the store's "unset") to the end of year 9999, the last
// instant RFC 3339 can print. Anything else would be stored, compared and
// printed as nonsense, or overflow when a duration is added to it.
func ParseTime(v string) (time.Time, error) {
	var t time.Time
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 1 || n > lastMS {
			return time.Time{}, timeOutOfRange(v)
		}
		t = time.UnixMilli(n)
	} else if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix milliseconds", v)
	}
	t = t.UTC().Truncate(time.Millisecond)
	if n := ms(t); n < 1 || n > lastMS {
		return time.Time{}, timeOutOfRange(v)
	}
	return t, nil
}

// lastMS is 9999-12-31T23:59:59.999Z in Unix milliseconds.
const lastMS = 253402300799999

func timeOutOfRange(v string) error {
	return fmt.Errorf("%q is out of range: give a time after 1970-01-01T00:00:00Z and before year 10000", v)
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
