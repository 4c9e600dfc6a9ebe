package cli

import (
	"fmt"
	"io"
	"os"
	"time"
)

// IsTerminal reports whether w is a terminal. Colour and progress lines are
// for people; a pipe or a file gets plain, stable text.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Palette colours text with ANSI escapes, or leaves it alone when off.
type Palette struct{ on bool }

// PaletteFor turns colour on for a terminal, unless NO_COLOR is set
// (https://no-color.org).
func PaletteFor(w io.Writer) Palette {
	_, noColor := os.LookupEnv("NO_COLOR")
	return Palette{on: !noColor && IsTerminal(w)}
}

func (p Palette) paint(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p Palette) Bold(s string) string   { return p.paint("1", s) }
func (p Palette) Dim(s string) string    { return p.paint("2", s) }
func (p Palette) Red(s string) string    { return p.paint("31", s) }
func (p Palette) Green(s string) string  { return p.paint("32", s) }
func (p Palette) Yellow(s string) string { return p.paint("33", s) }

// Relative prints a duration the way people say it: 45s, 12m, 3h12m, 2d4h.
// Precision drops as the span grows; exact times are in --json.
func Relative(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	default:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h)
	}
}

// Ago is "3h ago" for a time before now.
func Ago(t, now time.Time) string { return Relative(now.Sub(t)) + " ago" }

// Remaining is "12m left" for a time after now, and "due" once it passed.
func Remaining(t, now time.Time) string {
	if !t.After(now) {
		return "due"
	}
	return Relative(t.Sub(now)) + " left"
}
