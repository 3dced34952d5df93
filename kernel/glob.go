package kernel

import "unicode/utf8"

// maxPatternBytes bounds a history search pattern. IPython's patterns are a
// few words; the bound keeps the matcher's state (one bit per pattern
// element) small, so that a search costs at most 17 word operations per
// character of history.
const maxPatternBytes = 1024

// globMatcher matches whole strings against a history search pattern with
// the semantics IPython's history search has (SQLite's GLOB, anchored at both
// ends, case-sensitive): '*' matches any text, newlines included; '?' one
// character; '[...]' one character of a set, with ranges (a-z), negated by a
// leading '^', and ']' literal when it comes first. An unclosed '[' is a
// literal '[', as in Python's fnmatch (SQLite would match nothing).
//
// Matching simulates the pattern's automaton with bit sets (shift-and), so
// it runs in time linear in the input, with no backtracking and no compile
// step that can fail: state j means "the first j elements have matched".
type globMatcher struct {
	n     int                   // number of single-character elements
	star  bitset                // state j has a '*' self-loop
	ascii [utf8.RuneSelf]bitset // per ASCII character: bit j+1 if element j accepts it
	any   bitset                // bit j+1 if element j is '?'
	lit   map[rune]bitset       // per non-ASCII literal: bit j+1 if element j is it
	class []globClass           // the '[...]' elements, tested for non-ASCII characters
}

// globClass is one '[...]' element: the character ranges it lists.
type globClass struct {
	bit    int // the element's bit (its index + 1)
	negate bool
	ranges [][2]rune
}

func (c globClass) accepts(r rune) bool {
	in := false
	for _, rg := range c.ranges {
		if rg[0] <= r && r <= rg[1] {
			in = true
			break
		}
	}
	return in != c.negate
}

// compileGlob compiles pattern; an empty pattern means "*" (everything). A
// pattern over maxPatternBytes is a kindTooLarge *protoError, which the
// caller answers with an error reply.
func compileGlob(pattern string) (*globMatcher, error) {
	if len(pattern) > maxPatternBytes {
		return nil, errTooLarge("pattern", len(pattern), maxPatternBytes)
	}
	if pattern == "" {
		pattern = "*"
	}
	elems, stars := parseGlob(pattern)
	g := &globMatcher{n: len(elems), star: newBitset(len(elems) + 1), any: newBitset(len(elems) + 1), lit: map[rune]bitset{}}
	for _, j := range stars {
		g.star.set(j)
	}
	for c := range g.ascii {
		g.ascii[c] = newBitset(g.n + 1)
	}
	for j, e := range elems {
		g.add(j+1, e)
	}
	return g, nil
}

// add records element e as the one whose bit is bit.
func (g *globMatcher) add(bit int, e globClass) {
	for c := range g.ascii {
		if e.accepts(rune(c)) {
			g.ascii[c].set(bit)
		}
	}
	switch {
	case e.negate && len(e.ranges) == 0: // '?'
		g.any.set(bit)
	case !e.negate && len(e.ranges) == 1 && e.ranges[0][0] == e.ranges[0][1]: // a literal
		r := e.ranges[0][0]
		if r >= utf8.RuneSelf {
			if g.lit[r] == nil {
				g.lit[r] = newBitset(g.n + 1)
			}
			g.lit[r].set(bit)
		}
	default:
		e.bit = bit
		g.class = append(g.class, e)
	}
}

// parseGlob splits pattern into its single-character elements, each a set of
// characters ('?' is the negation of the empty set), and the states that
// carry a '*' loop.
func parseGlob(pattern string) (elems []globClass, stars []int) {
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '*':
			stars = append(stars, len(elems))
		case '?':
			elems = append(elems, globClass{negate: true})
		case '[':
			c, end, ok := parseClass(rs, i)
			if !ok {
				elems = append(elems, literal('['))
				continue
			}
			elems = append(elems, c)
			i = end
		default:
			elems = append(elems, literal(rs[i]))
		}
	}
	return elems, stars
}

func literal(r rune) globClass { return globClass{ranges: [][2]rune{{r, r}}} }

// parseClass parses the set that starts with the '[' at rs[start]; end is
// the index of its closing ']', and ok is false when there is none.
func parseClass(rs []rune, start int) (c globClass, end int, ok bool) {
	i := start + 1
	if i < len(rs) && rs[i] == '^' {
		c.negate = true
		i++
	}
	for first := true; i < len(rs); i, first = i+1, false {
		r := rs[i]
		if r == ']' && !first {
			return c, i, true
		}
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] != ']' {
			c.ranges = append(c.ranges, [2]rune{r, rs[i+2]})
			i += 2
			continue
		}
		c.ranges = append(c.ranges, [2]rune{r, r})
	}
	return globClass{}, 0, false
}

// match reports whether the whole of s matches the pattern.
func (g *globMatcher) match(s string) bool {
	cur, next, buf := newBitset(g.n+1), newBitset(g.n+1), newBitset(g.n+1)
	cur.set(0)
	for _, r := range s {
		next.step(cur, g.accepting(r, buf), g.star)
		cur, next = next, cur
		if cur.empty() {
			return false
		}
	}
	return cur.has(g.n)
}

// accepting returns the elements (as their bits) that accept r: a row of
// the ASCII table (not to be written), or buf filled in.
func (g *globMatcher) accepting(r rune, buf bitset) bitset {
	if r >= 0 && r < utf8.RuneSelf {
		return g.ascii[r]
	}
	copy(buf, g.any)
	if l := g.lit[r]; l != nil {
		buf.or(l)
	}
	for _, c := range g.class {
		if c.accepts(r) {
			buf.set(c.bit)
		}
	}
	return buf
}

// bitset is a fixed-size set of small integers.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) or(o bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// step sets b to the states reached from cur on one character: state j+1
// when state j was active and element j accepts it, and every active state
// with a '*' loop.
func (b bitset) step(cur, accept, star bitset) {
	var carry uint64
	for i, w := range cur {
		b[i] = ((w<<1)|carry)&accept[i] | w&star[i]
		carry = w >> 63
	}
}
