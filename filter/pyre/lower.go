package pyre

import "fmt"

// node is the tree pyre writes out: every character test is an explicit
// code-point set and every flag has been applied, so what the target
// engine would make of \w, \s, (?i), $ or \b never matters.
type node struct {
	kind  nodeKind
	subs  []*node
	set   runeSet // nSet
	r     rune    // nLit
	min   int     // nRepeat
	max   int     // nRepeat; -1: unbounded
	mode  repeatMode
	group int  // nCapture, nBackref, nCond
	neg   bool // nLook
	back  bool // nLook: lookbehind
	fold  bool // nBackref under (?i)
	at    assertKind
	dot   bool // nAny: (?s)
}

type nodeKind uint8

const (
	nEmpty nodeKind = iota
	nLit
	nSet
	nAny
	nConcat
	nAlt
	nRepeat
	nCapture
	nAtomic
	nLook
	nBackref
	nCond
	nAssert
)

type assertKind uint8

const (
	aBeginText            assertKind = iota + 1 // \A, and ^ without (?m)
	aBeginLine                                  // ^ with (?m)
	aEndText                                    // \Z
	aEndTextOptNL                               // $ without (?m): the end, or before a final \n
	aEndLine                                    // $ with (?m)
	aWordBoundary                               // \b (Unicode)
	aNonWordBoundary                            // \B (Unicode)
	aWordBoundaryASCII                          // \b with (?a)
	aNonWordBoundaryASCII                       // \B with (?a)
)

const bmpLimit = 0x10000

type lowerer struct {
	p *parser
}

// lower resolves the parse tree under the global flags.
func lower(pp *parsed, p *parser) (*node, error) {
	l := &lowerer{p: p}
	var err error
	n := func() *node {
		defer func() {
			if r := recover(); r != nil {
				pe, ok := r.(parseError)
				if !ok {
					panic(r)
				}
				err = pe.err
			}
		}()
		return l.seq(pp.seq, pp.flags)
	}()
	return n, err
}

func (l *lowerer) seq(s seq, f pyFlags) *node {
	if len(s) == 1 {
		return l.item(s[0], f)
	}
	n := &node{kind: nConcat}
	for _, it := range s {
		n.subs = append(n.subs, l.item(it, f))
	}
	if len(n.subs) == 0 {
		return &node{kind: nEmpty}
	}
	return n
}

func (l *lowerer) item(it *item, f pyFlags) *node {
	switch it.op {
	case opLiteral:
		return setNode(literalSet(it.c, f))
	case opNotLiteral:
		return setNode(literalSet(it.c, f).complement())
	case opIn:
		return setNode(inSet(it.members, it.negate, f))
	case opAny:
		return &node{kind: nAny, dot: f&flagDotAll != 0}
	case opAt:
		return &node{kind: nAssert, at: atKindOf(it.at, f)}
	case opBranch:
		n := &node{kind: nAlt}
		for _, a := range it.alts {
			n.subs = append(n.subs, l.seq(a, f))
		}
		return n
	case opSubpattern:
		sub := l.seq(it.seq, combineFlags(f, it.add, it.del))
		if it.group == 0 {
			return sub
		}
		return &node{kind: nCapture, group: it.group, subs: []*node{sub}}
	case opAtomic:
		return &node{kind: nAtomic, subs: []*node{l.seq(it.seq, f)}}
	case opRepeat:
		if f&flagTemplate != 0 {
			panic(parseError{&SyntaxError{Msg: "internal: unsupported template operator MAX_REPEAT", Pos: -1}})
		}
		mx := it.max
		if mx == maxRepeat {
			mx = -1
		}
		return &node{kind: nRepeat, min: it.min, max: mx, mode: it.mode, subs: []*node{l.seq(it.seq, f)}}
	case opAssert:
		if it.behind {
			if w := l.p.width(it.seq); w.lo != w.hi {
				panic(parseError{&SyntaxError{Msg: "look-behind requires fixed-width pattern", Pos: -1}})
			}
		}
		return &node{kind: nLook, back: it.behind, neg: it.neg, subs: []*node{l.seq(it.seq, f)}}
	case opGroupref:
		return &node{kind: nBackref, group: it.group, fold: f&flagIgnoreCase != 0}
	case opGroupExists:
		n := &node{kind: nCond, group: it.group, subs: []*node{l.seq(it.seq, f)}}
		if it.hasNo {
			n.subs = append(n.subs, l.seq(it.no, f))
		}
		return n
	}
	panic(fmt.Sprintf("pyre: unknown opcode %d", it.op))
}

func setNode(s runeSet) *node {
	s = s.minus(surrogates)
	if c, ok := s.single(); ok {
		return &node{kind: nLit, r: c}
	}
	return &node{kind: nSet, set: s}
}

func atKindOf(at atCode, f pyFlags) assertKind {
	ascii := f&flagUnicode == 0
	switch at {
	case atBeginning:
		if f&flagMultiline != 0 {
			return aBeginLine
		}
		return aBeginText
	case atBeginningString:
		return aBeginText
	case atEnd:
		if f&flagMultiline != 0 {
			return aEndLine
		}
		return aEndTextOptNL
	case atEndString:
		return aEndText
	case atBoundary:
		if ascii {
			return aWordBoundaryASCII
		}
		return aWordBoundary
	case atNonBoundary:
		if ascii {
			return aNonWordBoundaryASCII
		}
		return aNonWordBoundary
	}
	panic("pyre: unknown assertion")
}

// caseFold is the lowercase function and its companions for one flavour
// of (?i): Unicode (CPython's unicode_tolower and _EXTRA_CASES) or ASCII.
type caseFold struct {
	lower    func(rune) rune
	isCased  func(rune) bool
	fixes    map[rune][]rune
	preimage func(runeSet) runeSet // {x : lower(x) ∈ t}
}

var (
	unicodeFold = caseFold{lower: pyLower, isCased: pyIsCased, fixes: extraCases, preimage: lowerPreimage}
	asciiFold   = caseFold{lower: asciiLower, isCased: asciiIsCased, preimage: asciiLowerPreimage}
)

func foldFor(f pyFlags) caseFold {
	if f&flagUnicode != 0 {
		return unicodeFold
	}
	return asciiFold
}

func asciiLowerPreimage(t runeSet) runeSet {
	out := t.minus(runeSet{{'A', 'Z'}})
	var more runeSet
	for c := 'A'; c <= 'Z'; c++ {
		if t.has(c + 'a' - 'A') {
			more = append(more, runeRange{c, c})
		}
	}
	return out.union(more)
}

// literalSet is what a literal matches: itself, or under (?i) every code
// point whose lowercase is its lowercase or one of its extra cases.
func literalSet(c rune, f pyFlags) runeSet {
	if f&flagIgnoreCase == 0 {
		return runes(c)
	}
	cf := foldFor(f)
	if !cf.isCased(c) {
		return runes(c)
	}
	lo := cf.lower(c)
	t := runes(lo)
	for _, k := range cf.fixes[lo] {
		t = t.union(runes(k))
	}
	return cf.preimage(t)
}

// inSet is what a Python character set matches under the flags, as
// _optimize_charset builds it and the IN / IN_UNI_IGNORE opcodes test it:
// under (?i) with a cased member the test is on the subject's lowercase,
// against lowercased BMP members (with their extra cases), non-BMP
// literals as written, non-BMP ranges as written or uppercased, and the
// categories as they are.
func inSet(members []member, negate bool, f pyFlags) runeSet {
	ascii := f&flagUnicode == 0
	var s runeSet
	if f&flagIgnoreCase == 0 {
		for _, m := range members {
			switch m.kind {
			case memLiteral:
				s = append(s, runeRange{m.lo, m.lo})
			case memRange:
				s = append(s, runeRange{m.lo, m.hi})
			case memCategory:
				s = append(s, m.cat.set(ascii)...)
			}
		}
		s = s.norm()
	} else {
		s = foldedInSet(members, foldFor(f), ascii)
	}
	if negate {
		s = s.complement()
	}
	return s
}

func foldedInSet(members []member, cf caseFold, ascii bool) runeSet {
	var charmap, tail, cats, tailRanges runeSet
	hasCased := false
	addLowered := func(c rune) {
		lo := cf.lower(c)
		charmap = append(charmap, runeRange{lo, lo})
		for _, k := range cf.fixes[lo] {
			charmap = append(charmap, runeRange{k, k})
		}
	}
	for _, m := range members {
		switch m.kind {
		case memLiteral:
			if cf.lower(m.lo) >= bmpLimit {
				tail = append(tail, runeRange{m.lo, m.lo})
				hasCased = true
				continue
			}
			addLowered(m.lo)
			if cf.isCased(m.lo) {
				hasCased = true
			}
		case memRange:
			bmpHi := m.hi
			for c := m.lo; c <= bmpHi; c++ {
				if cf.lower(c) >= bmpLimit {
					bmpHi = c - 1
					break
				}
			}
			lowered := lowerRange(runeRange{m.lo, bmpHi}, cf)
			charmap = append(charmap, lowered...)
			if bmpHi < m.hi {
				tailRanges = append(tailRanges, runeRange{m.lo, m.hi})
				hasCased = true
				continue
			}
			if !hasCased {
				for c := m.lo; c <= m.hi && !hasCased; c++ {
					hasCased = cf.isCased(c)
				}
			}
		case memCategory:
			cats = append(cats, m.cat.set(ascii)...)
		}
	}
	charmap = charmap.norm()
	cats = cats.norm()
	if !hasCased {
		return charmap.union(cats)
	}
	t := charmap.union(tail).union(cats).union(upperPreimage(tailRanges.norm()))
	return cf.preimage(t)
}

// lowerRange is {lower(c) : c ∈ r} plus the extra cases of each.
func lowerRange(r runeRange, cf caseFold) runeSet {
	if r.lo > r.hi {
		return nil
	}
	var out runeSet
	if r.hi-r.lo < 4096 {
		for c := r.lo; c <= r.hi; c++ {
			out = append(out, runeRange{cf.lower(c), cf.lower(c)})
		}
	} else {
		loadCaseTables()
		out = runeSet{r}.intersect(caseTables.fixed)
		if cf.fixes == nil { // ASCII
			out = runeSet{r}.minus(runeSet{{'A', 'Z'}})
			for c := max(r.lo, 'A'); c <= min(r.hi, 'Z'); c++ {
				out = append(out, runeRange{c + 'a' - 'A', c + 'a' - 'A'})
			}
		} else {
			for _, c := range caseTables.lowered {
				if r.lo <= c && c <= r.hi {
					out = append(out, runeRange{cf.lower(c), cf.lower(c)})
				}
			}
		}
	}
	out = out.norm()
	var more runeSet
	for k, v := range cf.fixes {
		if out.has(k) {
			for _, x := range v {
				more = append(more, runeRange{x, x})
			}
		}
	}
	return out.union(more)
}
