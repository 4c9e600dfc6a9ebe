package pathspec

import (
	"math/rand"
	"strings"
	"testing"
)

// TestOverlapCases: the cases issue 10 found missed, and their neighbours.
func TestOverlapCases(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"*.go", "cmd/", true},
		{"src/a*", "src/*b", true},
		{"docs/", "docs/conventions/units.md", true},
		{"store/blobs/", "store/", true},
		{"/deploy/", "scripts/install*", false},
		// Unanchored patterns match at any depth, and a match covers
		// everything below it: deploy/ and scripts/install* share
		// scripts/install/deploy/x, *.go and *.md share x.go/y.md.
		{"deploy/", "scripts/install*", true},
		{"*.go", "*.md", true},
		{"/*.go", "/*.md", false},
		{"/a/", "/b/", false},
		{"a/", "b/", true},
		{"x/**/y", "x/y", true},
		{"x/**/y", "/z", false},
		{"/[!a]b", "/ab", false},
		{"[a-c]b", "cb", true},
		{"{a,b}/c", "b/*", true},
		{"{a,b}/c", "d/*", false},
		{"a?c", "abc", true},
		{"/a?c", "/a/c", false},
		{"dir/", "dir/**", true},
		{"/top.txt", "/sub/top.txt", false},
		{"top.txt", "sub/top.txt", true},
	} {
		a, b := mustCompile(t, c.a), mustCompile(t, c.b)
		w, got := Witness(a, b)
		if got != c.want {
			t.Errorf("Overlap(%q, %q) = %v (witness %q), want %v", c.a, c.b, got, w, c.want)
		}
		if got && (!a.Match(w) || !b.Match(w)) {
			t.Errorf("witness %q of %q and %q does not match both", w, c.a, c.b)
		}
		if Overlap(b, a) != got {
			t.Errorf("Overlap is not symmetric for %q and %q", c.a, c.b)
		}
	}
}

// TestOverlapAgainstBruteForce compares Overlap with an exhaustive search
// over every clean path of up to five characters from {a, b, c, /}, for
// random patterns built from every glob feature: whenever some path
// matches both, Overlap must say so; whenever Overlap says so, its witness
// must match both.
func TestOverlapAgainstBruteForce(t *testing.T) {
	var paths []string
	var gen func(prefix string)
	gen = func(prefix string) {
		if len(prefix) > 0 && !strings.HasSuffix(prefix, "/") {
			paths = append(paths, prefix)
		}
		if len(prefix) == 5 {
			return
		}
		for _, c := range "abc/" {
			if c == '/' && (prefix == "" || strings.HasSuffix(prefix, "/")) {
				continue
			}
			gen(prefix + string(c))
		}
	}
	gen("")
	tokens := []string{"a", "b", "c", "/", "*", "?", "**/", "/**", "[ab]", "[!a]", "{a,b/c}", "a/"}
	rng := rand.New(rand.NewSource(9))
	var patterns []Pattern
	for len(patterns) < 120 {
		var b strings.Builder
		for n := 1 + rng.Intn(4); n > 0; n-- {
			b.WriteString(tokens[rng.Intn(len(tokens))])
		}
		if p, err := Compile(b.String()); err == nil {
			patterns = append(patterns, p)
		}
	}
	for i, a := range patterns {
		for _, b := range patterns[i:] {
			w, got := Witness(a, b)
			if got && (!a.Match(w) || !b.Match(w)) {
				t.Fatalf("witness %q of %q and %q does not match both", w, a.Source, b.Source)
			}
			if got {
				continue
			}
			for _, p := range paths {
				if a.Match(p) && b.Match(p) {
					t.Fatalf("Overlap(%q, %q) = false, but both match %q", a.Source, b.Source, p)
				}
			}
		}
	}
}
