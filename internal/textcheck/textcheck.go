// Package textcheck finds the characters that free text typed by a user must
// not carry: text such as a title, a reason or a signal body is stored, then
// printed on other people's terminals and embedded in capsules that agents
// read. An ESC there can recolour, retitle or rewrite a terminal; a BEL rings
// it; a carriage return or a bidirectional override makes a line read as
// something other than what it holds.
//
// It is its own package because both workflow (titles, reasons, bodies) and
// pathspec (paths a user names) refuse the same characters, and the CLI
// escapes the same ones in the error line it prints.
package textcheck

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Mode says which layout characters a field may hold.
type Mode int

const (
	// Line is one line of text: no control character at all.
	Line Mode = iota
	// Body is free-form text: tab and newline are allowed, nothing else.
	Body
)

// FirstBad returns the byte offset and the rune of the first character of s
// that mode does not allow, and false when there is none. A byte that is not
// valid UTF-8 is reported as utf8.RuneError: some terminals read a lone byte
// 0x9b as CSI, the eight-bit form of ESC [.
func FirstBad(s string, mode Mode) (at int, r rune, found bool) {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i, r, true
			}
		}
		if bad(r, mode) {
			return i, r, true
		}
	}
	return 0, 0, false
}

func bad(r rune, mode Mode) bool {
	switch {
	case mode == Body && (r == '\t' || r == '\n'):
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidirectional embeddings, overrides, isolates
		return true
	}
	return false
}

// Describe names a rune FirstBad found, for an error message.
func Describe(r rune) string {
	if r == utf8.RuneError {
		return "a byte that is not UTF-8"
	}
	if name, ok := names[r]; ok {
		return fmt.Sprintf("U+%04X (%s)", r, name)
	}
	return fmt.Sprintf("U+%04X", r)
}

var names = map[rune]string{
	0x00: "NUL", 0x07: "BEL", 0x08: "backspace", 0x09: "tab", 0x0a: "newline", 0x0b: "vertical tab",
	0x0c: "form feed", 0x0d: "carriage return", 0x1b: "ESC", 0x7f: "DEL", 0x9b: "CSI", 0x9d: "OSC",
	0x202a: "left-to-right embedding", 0x202b: "right-to-left embedding", 0x202c: "pop directional formatting",
	0x202d: "left-to-right override", 0x202e: "right-to-left override", 0x2066: "left-to-right isolate",
	0x2067: "right-to-left isolate", 0x2068: "first strong isolate", 0x2069: "pop directional isolate",
}

// Escape returns s with every character Line mode refuses written as a Go
// escape (\x1b, \u202e), so that a message quoting user input prints as one
// inert line.
func Escape(s string) string {
	if _, _, found := FirstBad(s, Line); !found {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case bad(r, Line):
			q := fmt.Sprintf("%+q", string(r))
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func validAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size > 1
}
