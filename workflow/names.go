package workflow

import (
	"fmt"

	"github.com/oxygen-tools/oxygen/internal/textcheck"
)

// Name rules, checked by hand rather than with regexp: compiling a pattern
// like [a-z]{0,63} at start-up costs more than a whole store transaction,
// and every CLI call pays start-up.

// charset is a set of ASCII bytes.
type charset [256]bool

func newCharset(groups ...string) *charset {
	var c charset
	for _, g := range groups {
		for i := 0; i < len(g); i++ {
			c[g[i]] = true
		}
	}
	return &c
}

const (
	lowerLetters = "abcdefghijklmnopqrstuvwxyz"
	upperLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits       = "0123456789"
)

var (
	lower      = newCharset(lowerLetters)
	letters    = newCharset(lowerLetters, upperLetters)
	alnum      = newCharset(lowerLetters, upperLetters, digits)
	nameRest   = newCharset(lowerLetters, digits, "_-")
	idRest     = newCharset(lowerLetters, upperLetters, digits, "._-")
	ownerRest  = newCharset(lowerLetters, upperLetters, digits, "._@+-")
	topicFirst = alnum
)

// token reports whether s is one byte from first followed by at most
// maxLen-1 bytes from rest.
func token(s string, first, rest *charset, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen || !first[s[0]] {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest[s[i]] {
			return false
		}
	}
	return true
}

// validName: domains, resources and kinds: [a-z][a-z0-9_-]{0,31}.
func validName(s string) bool { return token(s, lower, nameRest, 32) }

// validOwner: [A-Za-z0-9][A-Za-z0-9._@+-]{0,63}.
func validOwner(s string) bool { return token(s, alnum, ownerRest, 64) }

// validItemID: [A-Za-z][A-Za-z0-9._-]{0,63}.
func validItemID(s string) bool { return token(s, letters, idRest, 64) }

// validIDPrefix leaves room for "-NNN": [A-Za-z][A-Za-z0-9._-]{0,55}.
func validIDPrefix(s string) bool { return token(s, letters, idRest, 56) }

// validTopic: [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
func validTopic(s string) bool { return token(s, topicFirst, idRest, 64) }

// Free text (titles, reasons, notes, bodies) is refused when it holds a
// control character: it is stored, then printed on other people's terminals
// and embedded in capsules, where an ESC or a BEL acts instead of reading.
// Bodies may hold tabs and newlines; everything else is one line.

// textProblem says what is wrong with the free text s, or "" if nothing is.
func textProblem(s string, mode textcheck.Mode) string {
	at, r, found := textcheck.FirstBad(s, mode)
	switch {
	case !found:
		return ""
	case mode == textcheck.Line && (r == '\n' || r == '\r'):
		return "must be one line"
	}
	return fmt.Sprintf("holds %s at byte %d: control characters are not allowed in text", textcheck.Describe(r), at)
}

// checkLine refuses a one-line free text field that holds a control
// character, naming the field (a flag such as --reason).
func checkLine(field, s string) error { return checkText(field, s, textcheck.Line) }

// checkBody is checkLine for multi-line text: tabs and newlines are allowed.
func checkBody(field, s string) error { return checkText(field, s, textcheck.Body) }

func checkText(field, s string, mode textcheck.Mode) error {
	if p := textProblem(s, mode); p != "" {
		return Errorf(EINVALID, "%s: %s", field, p)
	}
	return nil
}
