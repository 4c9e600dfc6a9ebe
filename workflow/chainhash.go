package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
)

// chainHasher re-hashes events the way chainHash does, without its
// allocations: json.Marshal of canonicalEvent validates and compacts the
// payload with the general scanner and allocates the document, which was
// most of what a full re-hash cost. The canonical form of an event whose
// strings are plain ASCII and whose payload is already compact (as every
// payload tx.audit writes is) is its bytes copied in order, so the hasher
// checks that, and validates the payload's grammar, in one pass; anything
// else (an escape, a non-ASCII byte, a space between tokens) goes through
// chainHash, which stays the definition.
type chainHasher struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
	hex [2 * sha256.Size]byte
}

func newChainHasher() *chainHasher {
	return &chainHasher{h: sha256.New(), buf: make([]byte, 0, 1024)}
}

// matches reports whether the event hashes to hash; err is chainHash's
// (the payload is not valid JSON).
func (c *chainHasher) matches(prev string, seq, at int64, actor, action, subject, payload, hash string) (bool, error) {
	if !plainString(actor) || !plainString(action) || !plainString(subject) || !compactJSON(payload) {
		want, err := chainHash(prev, seq, at, actor, action, subject, payload)
		return want == hash, err
	}
	b := append(c.buf[:0], `{"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, at, 10)
	b = append(b, `,"actor":"`...)
	b = append(b, actor...)
	b = append(b, `","action":"`...)
	b = append(b, action...)
	b = append(b, `","subject":"`...)
	b = append(b, subject...)
	b = append(b, `","payload":`...)
	b = append(b, payload...)
	b = append(b, '}')
	c.buf = b
	c.h.Reset()
	c.h.Write([]byte(prev))
	c.h.Write([]byte{'\n'})
	c.h.Write(b)
	hex.Encode(c.hex[:], c.h.Sum(c.sum[:0]))
	return string(c.hex[:]) == hash, nil
}

// plainString reports whether json.Marshal writes s as its bytes between
// quotes: printable ASCII other than the quote, the backslash and the
// characters it escapes for HTML.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			return false
		}
	}
	return true
}

func plainByte(c byte) bool {
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}

// compactJSON reports whether p is one valid JSON value that json.Compact
// (with HTML escaping, as json.Marshal applies to a RawMessage) leaves
// byte for byte as it is, using only printable ASCII: no space between
// tokens, no <, > or &. A false answer only sends the event to the general
// path, which tells invalid from merely unusual.
func compactJSON(p string) bool {
	s := jsonScan{p: p}
	return s.value() && s.i == len(p)
}

type jsonScan struct {
	p     string
	i     int
	depth int
}

// maxScanDepth keeps the recursion bounded; deeper payloads take the
// general path.
const maxScanDepth = 100

func (s *jsonScan) value() bool {
	if s.i >= len(s.p) {
		return false
	}
	switch c := s.p[s.i]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		return s.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

func (s *jsonScan) literal(word string) bool {
	if len(s.p)-s.i < len(word) || s.p[s.i:s.i+len(word)] != word {
		return false
	}
	s.i += len(word)
	return true
}

func (s *jsonScan) object() bool {
	if s.depth++; s.depth > maxScanDepth {
		return false
	}
	s.i++ // {
	if s.i < len(s.p) && s.p[s.i] == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.i >= len(s.p) || s.p[s.i] != '"' || !s.str() {
			return false
		}
		if s.i >= len(s.p) || s.p[s.i] != ':' {
			return false
		}
		s.i++
		if !s.value() || s.i >= len(s.p) {
			return false
		}
		switch s.p[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

func (s *jsonScan) array() bool {
	if s.depth++; s.depth > maxScanDepth {
		return false
	}
	s.i++ // [
	if s.i < len(s.p) && s.p[s.i] == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		if !s.value() || s.i >= len(s.p) {
			return false
		}
		switch s.p[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// str accepts a string of printable ASCII whose escapes are JSON's.
func (s *jsonScan) str() bool {
	s.i++ // "
	for s.i < len(s.p) {
		c := s.p[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c == '\\':
			if s.i+1 >= len(s.p) {
				return false
			}
			switch s.p[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if len(s.p)-s.i < 6 {
					return false
				}
				for _, h := range []byte(s.p[s.i+2 : s.i+6]) {
					if !isHex(h) {
						return false
					}
				}
				s.i += 6
			default:
				return false
			}
		case c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&':
			return false
		default:
			s.i++
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number accepts JSON's grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func (s *jsonScan) number() bool {
	if s.p[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i >= len(s.p):
		return false
	case s.p[s.i] == '0':
		s.i++
	case s.p[s.i] >= '1' && s.p[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.i < len(s.p) && s.p[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.p) && (s.p[s.i] == 'e' || s.p[s.i] == 'E') {
		s.i++
		if s.i < len(s.p) && (s.p[s.i] == '+' || s.p[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *jsonScan) digits() int {
	start := s.i
	for s.i < len(s.p) && s.p[s.i] >= '0' && s.p[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}
