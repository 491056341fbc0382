package pyre

import (
	"time"
	"unicode/utf8"
)

// pyre's own matcher: a backtracking machine over the pattern tree, run
// on the subject's UTF-8 bytes. It does what CPython's sre does, in the
// part of re where every backtracking engine gives the same answer: no
// repeat over a body that can match empty (where sre, .NET and RE2 each
// have their own rules for which iteration counts), no back-reference
// under (?i) (Python compares lowercases, regexp2 foldings), none inside
// a lookbehind, and no back-reference or conditional on a group from
// inside that group. There a match is the first success in priority
// order (ordered alternatives, greedy or lazy repeats), a group holds what
// it took on the successful path, a positive lookaround or atomic group
// keeps the groups its body set and a negative one does not, and a
// lookbehind matches its fixed-width body forward from width code points
// back, as sre does (.NET matches it backwards). TestBacktrackAgrees and
// FuzzBacktrack compare it with regexp2 and Go's regexp, the oracle tests
// with Python.
//
// It is a first try, not a replacement: a search gives up after a number
// of steps (see btStepsBase) and the Regex then answers with Go's regexp
// or regexp2 as before. Subjects that are not valid UTF-8 (Decode makes
// them so), or longer than btMaxSubject, go straight to the other
// engines.

// btOp is one instruction of the machine.
type btOp uint8

const (
	btSucceed btOp = iota // the pattern, or a lookaround or atomic body, matched
	btString              // the literal str
	btChar                // one code point in cs
	btRepeat              // cs repeated min..max times (max -1: no bound), as mode says, but not from stop
	btSplit               // try x, then y
	btJump                // go to x
	btOpen                // group n starts here
	btClose               // group n ends here
	btAssert              // the zero-width test at
	btLook                // lookaround: body at pc+1, then x; neg, back, width
	btAtomic              // atomic group: body at pc+1, then x
	btBackref             // the text group n took
	btCond                // group n took part: pc+1, else x
	btNeed                // each of the strings lits[need] occurs at pos or after
)

type btInst struct {
	op     btOp
	mode   repeatMode // btRepeat
	at     assertKind // btAssert
	neg    bool       // btLook
	back   bool       // btLook: lookbehind
	caps   bool       // btLook, btAtomic: the body sets groups
	reopen bool       // btOpen: the group may open again (inside a repeat)
	hint   int16      // btRepeat: the byte that must follow, or -1
	n      int        // group; btRepeat: min; btLook: lookbehind width
	max    int        // btRepeat
	x, y   int        // targets
	str    string     // btString
	stop   string     // btRepeat: no iteration starts where it begins
	cs     *btSet     // btChar, btRepeat
	need   []int      // btNeed
	fx, fy *byteSet   // btSplit: the bytes each branch may start with; nil: any
}

// btProg is a pattern compiled for the machine.
type btProg struct {
	insts    []btInst
	lits     []litFinder // the strings btNeed looks for
	ngroups  int
	anchored bool       // every match starts at 0 (\A, or ^ without (?m))
	first    *[256]bool // bytes a match can start with; nil: any, or empty
	splits   int        // branches the program was split into (backtrack_split.go)

	// The step budget of a search: stepsBase plus stepsPerByte for each
	// byte of the subject (btStepsBase, btStepsPerByte; tests starve
	// it), at most stepsMax (the match budget over btStepTime).
	stepsBase, stepsPerByte, stepsMax int
}

// btMaxProg bounds the program (counted repeats are written out).
const btMaxProg = 4000

// btSet is a set of code points as the machine tests them: a bitmap for
// ASCII, the ranges above.
type btSet struct {
	ascii [2]uint64
	hiAll bool    // every code point from 0x80 (no surrogate is valid UTF-8)
	hi    runeSet // the members from 0x80, when not hiAll
}

var nonASCII = runeSet{{0x80, 0xD7FF}, {0xE000, maxRune}}

func newBTSet(s runeSet) *btSet {
	c := &btSet{}
	for _, r := range s {
		for x := r.lo; x <= r.hi && x < 0x80; x++ {
			c.ascii[x>>6] |= 1 << (x & 63)
		}
	}
	hi := s.intersect(nonASCII)
	if hi.equal(nonASCII) {
		c.hiAll = true
	} else {
		c.hi = hi
	}
	return c
}

func (c *btSet) hasByte(b byte) bool { return c.ascii[b>>6]&(1<<(b&63)) != 0 }

func (c *btSet) has(r rune) bool {
	if r < 0x80 {
		return c.ascii[r>>6]&(1<<(r&63)) != 0
	}
	return c.hiAll || c.hi.has(r)
}

// compileBT compiles the tree for the machine, or returns nil when the
// pattern is outside the part where it is sure to answer as Python does.
//
// lit is the string Search has checked the subject for already
// (requiredLiteral), which the program need not look for again.
func compileBT(tree *node, ngroups int, lit string, budget time.Duration) *btProg {
	c := &btCompiler{ngroups: ngroups, open: map[int]bool{}, checked: lit}
	if !c.eligible(tree, false) {
		return nil
	}
	c.captured = map[*node][]int{}
	capturedIn(tree, c.captured)
	// Written out with the branches that decide a conditional split
	// (see top), or, when that is too big, as it is.
	if !c.build(tree, true) && !c.build(tree, false) {
		return nil
	}
	c.hints()
	c.firsts()
	p := &btProg{
		insts:        c.insts,
		lits:         finders(c.lits),
		ngroups:      ngroups,
		anchored:     startsAnchored(tree),
		stepsBase:    btStepsBase,
		stepsPerByte: btStepsPerByte,
		stepsMax:     int(budget / btStepTime),
		splits:       c.splits,
	}
	if !p.anchored {
		p.first = firstBytes(tree)
	}
	return p
}

func finders(lits []string) []litFinder {
	var out []litFinder
	for _, l := range lits {
		out = append(out, newLitFinder(l))
	}
	return out
}

// build writes the program; false when it is too big.
func (c *btCompiler) build(tree *node, split bool) bool {
	c.insts, c.lits, c.litIndex, c.tooBig, c.splits = nil, nil, map[string]int{}, false, 0
	c.split = split
	c.top(tree)
	return !c.tooBig && len(c.insts) <= btMaxProg
}

type btCompiler struct {
	insts   []btInst
	ngroups int
	open    map[int]bool // groups open at this point of the eligibility walk
	tooBig  bool
	inRep   int // depth of repeats around the node being compiled

	split    bool            // split on the branches that decide a conditional
	known    map[int]bool    // groups known to have taken part (true) or not
	captured map[*node][]int // the groups each node captures
	lits     []string        // the strings btNeed looks for
	litIndex map[string]int  // their indices
	checked  string          // the string Search looks for first
	splits   int             // branches written by seq
}

// eligible reports whether n is in the part of re the machine covers.
func (c *btCompiler) eligible(n *node, inBehind bool) bool {
	switch n.kind {
	case nRepeat:
		if n.max != 1 && minWidth(n.subs[0]) == 0 {
			return false
		}
	case nBackref:
		if n.fold || c.open[n.group] || inBehind {
			return false
		}
	case nCond:
		if c.open[n.group] {
			return false
		}
	case nCapture:
		c.open[n.group] = true
		ok := c.eligible(n.subs[0], inBehind)
		delete(c.open, n.group)
		return ok
	case nLook:
		if n.back {
			if _, ok := fixedWidth(n.subs[0]); !ok {
				return false
			}
			inBehind = true
		}
	}
	for _, s := range n.subs {
		if !c.eligible(s, inBehind) {
			return false
		}
	}
	return true
}

// fixedWidth is the number of code points every match of n takes.
func fixedWidth(n *node) (int, bool) {
	switch n.kind {
	case nLit, nSet, nAny:
		return 1, true
	case nEmpty, nAssert, nLook:
		return 0, true
	case nConcat:
		w := 0
		for _, s := range n.subs {
			x, ok := fixedWidth(s)
			if !ok {
				return 0, false
			}
			w += x
		}
		return w, true
	case nAlt, nCond:
		w := -1
		for _, s := range n.subs {
			x, ok := fixedWidth(s)
			if !ok || w >= 0 && x != w {
				return 0, false
			}
			w = x
		}
		if n.kind == nCond && len(n.subs) == 1 && w != 0 {
			return 0, false
		}
		return max(w, 0), true
	case nRepeat:
		x, ok := fixedWidth(n.subs[0])
		if !ok || n.min != n.max || n.max < 0 || n.min > maxCountGo {
			return 0, false
		}
		return x * n.min, true
	case nCapture, nAtomic:
		return fixedWidth(n.subs[0])
	}
	return 0, false
}

func (c *btCompiler) emit(i btInst) int {
	if i.op == btRepeat {
		i.hint = -1
	}
	c.insts = append(c.insts, i)
	if len(c.insts) > btMaxProg {
		c.tooBig = true
	}
	return len(c.insts) - 1
}

func (c *btCompiler) node(n *node) {
	if c.tooBig {
		return
	}
	// What n captures is not known inside it.
	if gs := c.captured[n]; len(gs) > 0 && len(c.known) > 0 {
		saved := c.forget(gs)
		defer c.restore(saved)
	}
	switch n.kind {
	case nEmpty:
	case nLit:
		c.emit(btInst{op: btString, str: string(n.r)})
	case nSet, nAny:
		s, _ := charSet(n)
		c.emit(btInst{op: btChar, cs: newBTSet(s)})
	case nConcat:
		for i := 0; i < len(n.subs); i++ {
			if n.subs[i].kind != nLit {
				c.node(n.subs[i])
				continue
			}
			// A run of literals is one string.
			var b []byte
			for ; i < len(n.subs) && n.subs[i].kind == nLit; i++ {
				b = utf8.AppendRune(b, n.subs[i].r)
			}
			i--
			c.emit(btInst{op: btString, str: string(b)})
		}
	case nAlt:
		var ends []int
		for i, s := range n.subs {
			if i == len(n.subs)-1 {
				c.node(s)
				break
			}
			split := c.emit(btInst{op: btSplit})
			c.insts[split].x = split + 1
			c.node(s)
			ends = append(ends, c.emit(btInst{op: btJump}))
			c.insts[split].y = len(c.insts)
		}
		for _, j := range ends {
			c.insts[j].x = len(c.insts)
		}
	case nRepeat:
		c.repeat(n)
	case nCapture:
		c.emit(btInst{op: btOpen, n: n.group, reopen: c.inRep > 0})
		c.node(n.subs[0])
		c.emit(btInst{op: btClose, n: n.group})
	case nAtomic:
		c.sub(btInst{op: btAtomic}, n.subs[0])
	case nLook:
		w := 0
		if n.back {
			w, _ = fixedWidth(n.subs[0])
		}
		c.sub(btInst{op: btLook, neg: n.neg, back: n.back, n: w}, n.subs[0])
	case nBackref:
		c.emit(btInst{op: btBackref, n: n.group})
	case nCond:
		if took, ok := c.known[n.group]; ok {
			// Decided where it stands: the branch alone.
			switch {
			case took:
				c.node(n.subs[0])
			case len(n.subs) > 1:
				c.node(n.subs[1])
			}
			break
		}
		at := c.emit(btInst{op: btCond, n: n.group})
		c.node(n.subs[0])
		if len(n.subs) == 1 {
			c.insts[at].x = len(c.insts)
			break
		}
		j := c.emit(btInst{op: btJump})
		c.insts[at].x = len(c.insts)
		c.node(n.subs[1])
		c.insts[j].x = len(c.insts)
	case nAssert:
		c.emit(btInst{op: btAssert, at: n.at})
	default:
		panic("pyre: unknown node")
	}
}

// sub writes a lookaround or atomic group: the instruction, its body
// ending in btSucceed, and where to go on.
func (c *btCompiler) sub(in btInst, body *node) {
	in.caps = hasCapture(body)
	at := c.emit(in)
	c.node(body)
	c.emit(btInst{op: btSucceed})
	c.insts[at].x = len(c.insts)
}

func hasCapture(n *node) bool {
	if n.kind == nCapture {
		return true
	}
	for _, s := range n.subs {
		if hasCapture(s) {
			return true
		}
	}
	return false
}

func (c *btCompiler) repeat(n *node) {
	sub := n.subs[0]
	if s, ok := charSet(sub); ok {
		c.emit(btInst{op: btRepeat, cs: newBTSet(s), n: n.min, max: n.max, mode: n.mode})
		return
	}
	if s, stop, ok := tempered(sub); ok {
		c.emit(btInst{op: btRepeat, cs: newBTSet(s), n: n.min, max: n.max, mode: n.mode, stop: stop})
		return
	}
	if n.mode == repeatPossessive {
		// X*+ is (?>X*).
		greedy := *n
		greedy.mode = repeatGreedy
		c.sub(btInst{op: btAtomic}, &greedy)
		return
	}
	if n.min > btMaxProg || n.max > btMaxProg {
		c.tooBig = true
		return
	}
	c.inRep++
	defer func() { c.inRep-- }()
	for range n.min {
		c.node(sub)
		if c.tooBig {
			return
		}
	}
	lazy := n.mode == repeatLazy
	if n.max < 0 {
		// L: split(body, out) (lazy: out first); body; jump L.
		l := c.emit(btInst{op: btSplit})
		c.node(sub)
		c.emit(btInst{op: btJump, x: l})
		c.setSplit(l, l+1, len(c.insts), lazy)
		return
	}
	// The optional copies, nested: every split leaves to the same end.
	var splits []int
	for range n.max - n.min {
		splits = append(splits, c.emit(btInst{op: btSplit}))
		c.node(sub)
		if c.tooBig {
			return
		}
	}
	for _, s := range splits {
		c.setSplit(s, s+1, len(c.insts), lazy)
	}
}

// tempered recognises the body of a tempered repeat, (?!L). with L a
// literal string, as sshd's (?:(?! from ).)*?: each iteration takes one
// character where L does not begin. It is a single-character repeat that
// stops where L begins, which the machine runs as one.
func tempered(body *node) (runeSet, string, bool) {
	if body.kind != nConcat || len(body.subs) != 2 {
		return nil, "", false
	}
	look, char := body.subs[0], body.subs[1]
	if look.kind != nLook || !look.neg || look.back {
		return nil, "", false
	}
	stop, ok := literalString(look.subs[0])
	if !ok || stop == "" {
		return nil, "", false
	}
	s, ok := charSet(char)
	return s, stop, ok
}

// literalString is the string n matches when it is literals only.
func literalString(n *node) (string, bool) {
	switch n.kind {
	case nLit:
		return string(n.r), true
	case nConcat:
		var b []byte
		for _, s := range n.subs {
			if s.kind != nLit {
				return "", false
			}
			b = utf8.AppendRune(b, s.r)
		}
		return string(b), true
	}
	return "", false
}

func (c *btCompiler) setSplit(at, body, out int, lazy bool) {
	if lazy {
		body, out = out, body
	}
	c.insts[at].x, c.insts[at].y = body, out
}

// hints notes, for each single-character repeat followed by a literal
// string, the byte the string starts with: the repeat only stops where
// that byte follows (sre's REPEAT_ONE does the same).
func (c *btCompiler) hints() {
	for i := range c.insts {
		in := &c.insts[i]
		if in.op != btRepeat || i+1 >= len(c.insts) {
			continue
		}
		if next := c.insts[i+1]; next.op == btString && next.str != "" {
			in.hint = int16(next.str[0])
		}
	}
}

// startsAnchored reports whether every match of n starts at the start of
// the subject.
func startsAnchored(n *node) bool {
	switch n.kind {
	case nAssert:
		return n.at == aBeginText
	case nConcat:
		for _, s := range n.subs {
			if startsAnchored(s) {
				return true
			}
			if s.kind != nEmpty && !(s.kind == nAssert) {
				return false
			}
		}
		return false
	case nCapture, nAtomic:
		return startsAnchored(n.subs[0])
	case nAlt:
		for _, s := range n.subs {
			if !startsAnchored(s) {
				return false
			}
		}
		return len(n.subs) > 0
	}
	return false
}

// firstBytes is the set of bytes a match of n can start with, or nil
// when n can match the empty string or starts with something it does
// not follow (lookarounds, back-references, conditionals).
func firstBytes(n *node) *[256]bool {
	s, ok := firstSet(n)
	if !ok {
		return nil
	}
	var t [256]bool
	for _, r := range s {
		for x := r.lo; x <= r.hi && x < 0x80; x++ {
			t[x] = true
		}
		if r.hi >= 0x80 {
			for b := 0xC2; b <= 0xF4; b++ { // every UTF-8 lead byte
				t[b] = true
			}
		}
	}
	return &t
}

// firstSet is the code points a match of n can start with; ok is false
// when that is not known (n can match empty, or starts with a
// zero-width test other than an assertion).
func firstSet(n *node) (runeSet, bool) {
	switch n.kind {
	case nLit, nSet, nAny:
		s, _ := charSet(n)
		return s, true
	case nConcat:
		for _, s := range n.subs {
			switch {
			case s.kind == nEmpty || s.kind == nAssert:
				continue
			case minWidth(s) == 0:
				return nil, false
			}
			return firstSet(s)
		}
		return nil, false
	case nAlt:
		var out runeSet
		for _, s := range n.subs {
			f, ok := firstSet(s)
			if !ok {
				return nil, false
			}
			out = out.union(f)
		}
		return out, true
	case nRepeat:
		if n.min == 0 {
			return nil, false
		}
		return firstSet(n.subs[0])
	case nCapture, nAtomic:
		return firstSet(n.subs[0])
	}
	return nil, false
}
