package cli

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"
)

func TestRelative(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "0s",
		45 * time.Second:                "45s",
		-45 * time.Second:               "45s",
		12*time.Minute + 59*time.Second: "12m",
		3 * time.Hour:                   "3h",
		3*time.Hour + 12*time.Minute:    "3h12m",
		49 * time.Hour:                  "2d1h",
		48*time.Hour + 30*time.Minute:   "2d",
	} {
		if got := Relative(d); got != want {
			t.Errorf("Relative(%s) = %q, want %q", d, got, want)
		}
	}
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	if got := Ago(now.Add(-3*time.Hour), now); got != "3h ago" {
		t.Errorf("Ago: %q", got)
	}
	if got := Remaining(now.Add(12*time.Minute), now); got != "12m left" {
		t.Errorf("Remaining: %q", got)
	}
	if got := Remaining(now.Add(-time.Second), now); got != "due" {
		t.Errorf("Remaining past: %q", got)
	}
}

// Colour is for terminals only: a buffer, a pipe or a file gets plain text.
func TestPaletteOffOffATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, out := range []io.Writer{&bytes.Buffer{}, w} {
		p := PaletteFor(out)
		if got := p.Red("x") + p.Bold("y"); got != "xy" {
			t.Errorf("%T: %q", out, got)
		}
	}
	if got := (Palette{on: true}).Yellow("2/2"); got != "\x1b[33m2/2\x1b[0m" {
		t.Errorf("on: %q", got)
	}
}
