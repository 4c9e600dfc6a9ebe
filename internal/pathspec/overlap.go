package pathspec

import (
	"sort"
	"strings"
)

// Ambiguous ownership is a failure mode the protocol names, so overlap
// detection must be exact, not a guess from sample paths. Each pattern is
// compiled to a small nondeterministic automaton over path characters, with
// transitions labelled by character predicates; two patterns overlap when
// the product of their automata, and of one that accepts only clean
// repository paths, reaches an accepting state. Predicates only ever tell
// apart the characters that the patterns name, '/', and everything else,
// so the product runs over that finite alphabet plus one stand-in for
// "any other character".

// predicate is one character test of a glob.
type predicate struct {
	kind byte // 'c' one character, 'n' any but '/', 'a' any, 's' a set
	char rune
	set  map[rune]bool
	neg  bool
}

func (p predicate) accepts(c rune) bool {
	switch p.kind {
	case 'c':
		return c == p.char
	case 'n':
		return c != '/'
	case 'a':
		return true
	default:
		return p.set[c] != p.neg
	}
}

// nfa is a Thompson automaton: state 0 starts, accept ends.
type nfa struct {
	eps    [][]int
	edges  [][]edge
	accept int
}

type edge struct {
	on predicate
	to int
}

func (a *nfa) state() int {
	a.eps = append(a.eps, nil)
	a.edges = append(a.edges, nil)
	return len(a.eps) - 1
}

func (a *nfa) epsilon(from, to int)            { a.eps[from] = append(a.eps[from], to) }
func (a *nfa) step(from, to int, on predicate) { a.edges[from] = append(a.edges[from], edge{on, to}) }

// loop adds "any number of characters matching on" between from and to.
func (a *nfa) loop(from, to int, on predicate) {
	mid := a.state()
	a.epsilon(from, mid)
	a.step(mid, mid, on)
	a.epsilon(mid, to)
}

// compileGlob builds the automaton of a doublestar glob (as Compile leaves
// it) from start to a new end state, and returns the end.
func (a *nfa) compileGlob(g string, start int, alphabet map[rune]bool) int {
	cur := start
	for i := 0; i < len(g); {
		c := g[i]
		switch {
		case strings.HasPrefix(g[i:], "**") && (i == 0 || g[i-1] == '/'):
			// A whole "**" segment: any directories, including none.
			j := i + 2
			switch {
			case j == len(g) && i == 0: // "**": everything
				next := a.state()
				a.loop(cur, next, predicate{kind: 'a'})
				cur = next
			case j == len(g): // "x/**" inside braces: anything below x
				// (a whole pattern ending in "/**" is handled by automaton,
				// which also lets it match x itself)
				next := a.state()
				a.loop(cur, next, predicate{kind: 'a'})
				cur = next
			case g[j] == '/': // "**/": nothing, or some directories
				next := a.state()
				a.epsilon(cur, next)
				dirs := a.state()
				a.loop(cur, dirs, predicate{kind: 'a'})
				a.step(dirs, next, predicate{kind: 'c', char: '/'})
				cur = next
				j++
			default: // "**x" inside a segment acts as "*"
				next := a.state()
				a.loop(cur, next, predicate{kind: 'n'})
				cur = next
			}
			i = j
			continue
		case c == '*':
			for i < len(g) && g[i] == '*' {
				i++
			}
			next := a.state()
			a.loop(cur, next, predicate{kind: 'n'})
			cur = next
			continue
		case c == '?':
			next := a.state()
			a.step(cur, next, predicate{kind: 'n'})
			cur = next
		case c == '[':
			end := strings.IndexByte(g[i+1:], ']')
			if end < 0 {
				cur = a.literal(cur, '[', alphabet)
				break
			}
			body := g[i+1 : i+1+end]
			p := predicate{kind: 's', set: map[rune]bool{}}
			if strings.HasPrefix(body, "!") || strings.HasPrefix(body, "^") {
				p.neg, body = true, body[1:]
			}
			rs := []rune(body)
			for k := 0; k < len(rs); k++ {
				if rs[k] == '\\' && k+1 < len(rs) {
					k++
				}
				lo, hi := rs[k], rs[k]
				if k+2 < len(rs) && rs[k+1] == '-' {
					hi = rs[k+2]
					k += 2
				}
				for r := lo; r <= hi && r-lo < 4096; r++ {
					p.set[r] = true
					alphabet[r] = true
				}
			}
			next := a.state()
			a.step(cur, next, p)
			cur = next
			i += end + 2
			continue
		case c == '{':
			end := matchingBrace(g, i)
			if end < 0 {
				cur = a.literal(cur, '{', alphabet)
				break
			}
			next := a.state()
			for _, alt := range splitAlternatives(g[i+1 : end]) {
				last := a.compileGlob(alt, cur, alphabet)
				a.epsilon(last, next)
			}
			cur = next
			i = end + 1
			continue
		case c == '\\' && i+1 < len(g):
			i++
			cur = a.literal(cur, rune(g[i]), alphabet)
		default:
			cur = a.literal(cur, rune(c), alphabet)
		}
		i++
	}
	return cur
}

func (a *nfa) literal(cur int, c rune, alphabet map[rune]bool) int {
	alphabet[c] = true
	next := a.state()
	a.step(cur, next, predicate{kind: 'c', char: c})
	return next
}

// matchingBrace finds the '}' closing the '{' at i, allowing nesting.
func matchingBrace(g string, i int) int {
	depth := 0
	for j := i; j < len(g); j++ {
		switch g[j] {
		case '\\':
			j++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// splitAlternatives splits a brace body at its top-level commas.
func splitAlternatives(body string) []string {
	var out []string
	depth, start := 0, 0
	for j := 0; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, body[start:j])
				start = j + 1
			}
		}
	}
	return append(out, body[start:])
}

// automaton is the language of a Pattern: paths the glob matches (unless the
// pattern names directories only) and every path below one it matches.
func (p Pattern) automaton(alphabet map[rune]bool) *nfa {
	a := &nfa{}
	start := a.state()
	glob := p.glob
	// "dir/**" also matches dir itself: compile "dir" and make the rest
	// optional, which is what the trailing-"**" case needs.
	var end int
	if strings.HasSuffix(glob, "/**") && len(glob) > 3 {
		mid := a.compileGlob(strings.TrimSuffix(glob, "/**"), start, alphabet)
		end = a.state()
		a.epsilon(mid, end)
		below := a.state()
		a.step(mid, below, predicate{kind: 'c', char: '/'})
		a.loop(below, end, predicate{kind: 'a'})
	} else {
		end = a.compileGlob(glob, start, alphabet)
	}
	a.accept = a.state()
	if !p.dirOnly {
		a.epsilon(end, a.accept)
	}
	// Everything below a match: "/" and at least one more character.
	slash, rest := a.state(), a.state()
	a.step(end, slash, predicate{kind: 'c', char: '/'})
	a.step(slash, rest, predicate{kind: 'a'})
	a.loop(rest, a.accept, predicate{kind: 'a'})
	return a
}

func (a *nfa) closure(states []int) []int {
	seen := map[int]bool{}
	var out []int
	var visit func(int)
	visit = func(s int) {
		if seen[s] {
			return
		}
		seen[s] = true
		out = append(out, s)
		for _, t := range a.eps[s] {
			visit(t)
		}
	}
	for _, s := range states {
		visit(s)
	}
	sort.Ints(out)
	return out
}

func (a *nfa) move(states []int, c rune) []int {
	var next []int
	for _, s := range states {
		for _, e := range a.edges[s] {
			if e.on.accepts(c) {
				next = append(next, e.to)
			}
		}
	}
	return a.closure(next)
}

func (a *nfa) accepts(states []int) bool {
	for _, s := range states {
		if s == a.accept {
			return true
		}
	}
	return false
}

// Overlap reports whether the two patterns can match a common path.
func Overlap(a, b Pattern) bool {
	_, ok := Witness(a, b)
	return ok
}

// fixedPrefixesDiffer reports whether two globs anchored at the root begin
// with literal characters that disagree, so that no path matches both: every
// path a pattern matches, or lies below, starts with its glob's characters up
// to the first wildcard. Resource globs are mostly anchored under distinct
// directories, and every config load compares all pairs of them, so this
// spares building automata for nearly every pair (BenchmarkLoadConfig).
func fixedPrefixesDiffer(a, b string) bool {
	if strings.HasPrefix(a, "**") || strings.HasPrefix(b, "**") {
		return false
	}
	pa, pb := fixedPrefix(a), fixedPrefix(b)
	n := min(len(pa), len(pb))
	return pa[:n] != pb[:n]
}

// fixedPrefix is a glob's text before its first wildcard or escape.
func fixedPrefix(glob string) string {
	if i := strings.IndexAny(glob, `*?[{\`); i >= 0 {
		return glob[:i]
	}
	return glob
}

// Witness returns a shortest clean path that both patterns match, if any.
// The search is breadth-first over the product automaton, so it ends: the
// product has finitely many states.
func Witness(a, b Pattern) (string, bool) {
	if fixedPrefixesDiffer(a.glob, b.glob) {
		return "", false
	}
	alphabet := map[rune]bool{'/': true}
	na, nb := a.automaton(alphabet), b.automaton(alphabet)
	// One character that no pattern names stands for all of them; a
	// printable one when there is one, so the witness reads well.
	other := rune(0xE000)
	for _, r := range "xyzqk0123456789" {
		if !alphabet[r] {
			other = r
			break
		}
	}
	for alphabet[other] {
		other++
	}
	alphabet[other] = true
	letters := make([]rune, 0, len(alphabet))
	for r := range alphabet {
		letters = append(letters, r)
	}
	// The stand-in comes first, so a witness prefers it to named characters.
	sort.Slice(letters, func(i, j int) bool {
		if (letters[i] == other) != (letters[j] == other) {
			return letters[i] == other
		}
		return letters[i] < letters[j]
	})

	pr := &product{a: a, b: b, na: na, nb: nb, letters: letters}
	if w, ok, rejected := pr.search(0); ok || rejected == 0 {
		return w, ok
	}
	// Match refused a path the automata accept (one of doublestar's corner
	// cases): search again, letting each state be reached once per length,
	// a little longer than the first candidate, for one Match accepts.
	w, ok, _ := pr.search(pr.firstCandidate + 6)
	return w, ok
}

// product searches the product of two pattern automata and the automaton
// of clean paths: no leading, trailing or doubled '/', not empty (clean
// states: 0 start, 1 inside a segment, 2 just after '/').
type product struct {
	a, b           Pattern
	na, nb         *nfa
	letters        []rune
	firstCandidate int
}

type productVisit struct {
	sa, sb []int
	clean  int
	path   string
}

// search runs breadth-first. With maxLen 0 each product state is visited
// once, so it ends; otherwise once per length up to maxLen.
func (pr *product) search(maxLen int) (string, bool, int) {
	type node struct {
		a, b  string
		clean int
		n     int
	}
	key := func(v productVisit) node {
		k := node{a: fmtStates(v.sa), b: fmtStates(v.sb), clean: v.clean}
		if maxLen > 0 {
			k.n = len(v.path)
		}
		return k
	}
	rejected := 0
	start := productVisit{pr.na.closure([]int{0}), pr.nb.closure([]int{0}), 0, ""}
	seen := map[node]bool{key(start): true}
	queue := []productVisit{start}
	for len(queue) > 0 && len(seen) < 200000 {
		v := queue[0]
		queue = queue[1:]
		if v.clean == 1 && pr.na.accepts(v.sa) && pr.nb.accepts(v.sb) {
			// The automata follow doublestar's rules but not each of its
			// corner cases, so Match, which decides ownership, has the
			// last word on every candidate.
			if pr.a.Match(v.path) && pr.b.Match(v.path) {
				return v.path, true, rejected
			}
			if rejected == 0 {
				pr.firstCandidate = len(v.path)
			}
			rejected++
		}
		if maxLen > 0 && len(v.path) >= maxLen {
			continue
		}
		for _, c := range pr.letters {
			clean := 1
			if c == '/' {
				if v.clean != 1 {
					continue
				}
				clean = 2
			}
			sa := pr.na.move(v.sa, c)
			if len(sa) == 0 {
				continue
			}
			sb := pr.nb.move(v.sb, c)
			if len(sb) == 0 {
				continue
			}
			next := productVisit{sa, sb, clean, v.path + string(c)}
			if k := key(next); !seen[k] {
				seen[k] = true
				queue = append(queue, next)
			}
		}
	}
	return "", false, rejected
}

func fmtStates(s []int) string {
	var b strings.Builder
	for _, x := range s {
		b.WriteString(string(rune(x + 1)))
	}
	return b.String()
}
