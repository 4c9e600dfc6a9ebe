package textcheck

import (
	"testing"
	"unicode/utf8"
)

func TestFirstBad(t *testing.T) {
	cases := []struct {
		s    string
		mode Mode
		at   int
		r    rune
	}{
		{"plain text, ünïcode and emoji 🚀", Line, -1, 0},
		{"tab\tand\nnewline", Body, -1, 0},
		{"tab\there", Line, 3, '\t'},
		{"new\nline", Line, 3, '\n'},
		{"ok\r", Body, 2, '\r'},
		{"esc \x1b[31m", Body, 4, 0x1b},
		{"\x07", Line, 0, 0x07},
		{"nul\x00", Body, 3, 0},
		{"del\x7f", Line, 3, 0x7f},
		{"c1 \u009b2J", Line, 3, 0x9b},
		{"é\u202e", Line, 2, 0x202e},
		{"iso\u2066late", Body, 3, 0x2066},
		{"caf\xe9", Line, 3, utf8.RuneError},
		{"\uFFFD is a real character", Line, -1, 0},
	}
	for _, c := range cases {
		at, r, found := FirstBad(c.s, c.mode)
		if c.at < 0 {
			if found {
				t.Errorf("FirstBad(%q) = %d %U, want nothing", c.s, at, r)
			}
			continue
		}
		if !found || at != c.at || r != c.r {
			t.Errorf("FirstBad(%q) = %d %U %v, want %d %U", c.s, at, r, found, c.at, c.r)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"nothing to do":      "nothing to do",
		"a\x1b]0;title\x07b": `a\x1b]0;title\ab`,
		"tab\tcr\r":          `tab\tcr\r`,
		"\u202egpj.exe":      `\u202egpj.exe`,
		"caf\xe9 and café":   `caf\xe9 and café`,
		"c1 \u009b":          `c1 \u009b`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		if _, _, found := FirstBad(Escape(in), Line); found {
			t.Errorf("Escape(%q) still holds a refused character", in)
		}
	}
}

func TestDescribe(t *testing.T) {
	for r, want := range map[rune]string{0x1b: "U+001B (ESC)", 0x202e: "U+202E (right-to-left override)", 0x01: "U+0001", utf8.RuneError: "a byte that is not UTF-8"} {
		if got := Describe(r); got != want {
			t.Errorf("Describe(%U) = %q, want %q", r, got, want)
		}
	}
}
