package pyre

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// flavour is the target syntax: regexp2 (.NET) or Go's regexp (RE2).
type flavour uint8

const (
	flavourNET flavour = iota
	flavourRE2
)

// needs are what a Go-regexp translation assumes of the subject; when the
// subject does not satisfy them, Search uses the regexp2 translation.
type needs uint8

const (
	needASCII       needs = 1 << iota // \b, \B: Go's word boundary is ASCII
	needNoInnerNL                     // $ without (?m): no "\n" but a final one
	needNonEmpty                      // \B: Python's never matches an empty string
	needUnsupported                   // not expressible in Go's regexp at all
)

// maxCount is the largest repeat count either engine takes (.NET's int);
// Go's regexp takes 1000.
const (
	maxCount   = math.MaxInt32
	maxCountGo = 1000
)

type emitter struct {
	b     strings.Builder
	fl    flavour
	needs needs
	err   error
}

// emit writes n in the flavour's syntax; for RE2 it also reports what the
// translation assumes of the subject (or needUnsupported).
func emit(n *node, fl flavour) (string, needs, error) {
	e := &emitter{fl: fl}
	e.node(n)
	return e.b.String(), e.needs, e.err
}

// goUnsupported notes a construct Go's regexp lacks (regexp2 has them all).
func (e *emitter) goUnsupported() {
	if e.fl == flavourRE2 {
		e.needs |= needUnsupported
	}
}

// groupName is the name a Python group number has in the translation;
// Python's own names are kept in the Regex, so any name works.
func groupName(g int) string { return fmt.Sprintf("p%d", g) }

func (e *emitter) node(n *node) {
	switch n.kind {
	case nEmpty:
	case nLit:
		e.b.WriteString(e.escape(n.r, false))
	case nSet:
		e.b.WriteString(e.class(n.set))
	case nAny:
		if n.dot {
			e.b.WriteString("(?s:.)")
		} else {
			e.b.WriteString(".")
		}
	case nConcat:
		for _, s := range n.subs {
			if s.kind == nAlt {
				e.group(s)
				continue
			}
			e.node(s)
		}
	case nAlt:
		for i, s := range n.subs {
			if i > 0 {
				e.b.WriteByte('|')
			}
			e.node(s)
		}
	case nRepeat:
		e.repeat(n)
	case nCapture:
		if e.fl == flavourRE2 {
			e.b.WriteString("(?P<" + groupName(n.group) + ">")
		} else {
			e.b.WriteString("(?<" + groupName(n.group) + ">")
		}
		e.node(n.subs[0])
		e.b.WriteByte(')')
	case nAtomic:
		e.goUnsupported()
		e.b.WriteString("(?>")
		e.node(n.subs[0])
		e.b.WriteByte(')')
	case nLook:
		e.goUnsupported()
		switch {
		case !n.back && !n.neg:
			e.b.WriteString("(?=")
		case !n.back && n.neg:
			e.b.WriteString("(?!")
		case n.back && !n.neg:
			e.b.WriteString("(?<=")
		default:
			e.b.WriteString("(?<!")
		}
		e.node(n.subs[0])
		e.b.WriteByte(')')
	case nBackref:
		e.goUnsupported()
		if n.fold {
			e.b.WriteString(`(?i:\k<` + groupName(n.group) + `>)`)
		} else {
			e.b.WriteString(`\k<` + groupName(n.group) + `>`)
		}
	case nCond:
		e.goUnsupported()
		e.b.WriteString("(?(" + groupName(n.group) + ")")
		e.group(n.subs[0])
		e.b.WriteByte('|')
		if len(n.subs) > 1 {
			e.group(n.subs[1])
		}
		e.b.WriteByte(')')
	case nAssert:
		e.assert(n.at)
	default:
		panic("pyre: unknown node")
	}
}

// group writes n in a non-capturing group.
func (e *emitter) group(n *node) {
	e.b.WriteString("(?:")
	e.node(n)
	e.b.WriteByte(')')
}

// atomic reports whether n is one unit a quantifier may follow.
func atomic(n *node) bool {
	switch n.kind {
	case nLit, nSet, nAny, nCapture, nAtomic:
		return true
	}
	return false
}

func (e *emitter) repeat(n *node) {
	if n.min > maxCount || n.max > maxCount {
		if e.fl == flavourRE2 {
			e.needs |= needUnsupported
		} else if e.err == nil {
			e.err = &UnsupportedError{Construct: fmt.Sprintf("repeat count over %d", maxCount), Pos: -1}
		}
	}
	if e.fl == flavourRE2 && (n.min > maxCountGo || n.max > maxCountGo) {
		e.needs |= needUnsupported
	}
	if n.mode == repeatPossessive {
		e.goUnsupported()
		e.b.WriteString("(?>")
	}
	sub := n.subs[0]
	if atomic(sub) {
		e.node(sub)
	} else {
		e.group(sub)
	}
	switch {
	case n.min == 0 && n.max < 0:
		e.b.WriteByte('*')
	case n.min == 1 && n.max < 0:
		e.b.WriteByte('+')
	case n.min == 0 && n.max == 1:
		e.b.WriteByte('?')
	case n.max < 0:
		fmt.Fprintf(&e.b, "{%d,}", n.min)
	case n.min == n.max:
		fmt.Fprintf(&e.b, "{%d}", n.min)
	default:
		fmt.Fprintf(&e.b, "{%d,%d}", n.min, n.max)
	}
	if n.mode == repeatLazy {
		e.b.WriteByte('?')
	}
	if n.mode == repeatPossessive {
		e.b.WriteByte(')')
	}
}

// wordClassU and wordClassA are Python's \w in class syntax.
const (
	wordClassU = `[\p{L}\p{N}_]`
	wordClassA = `[0-9A-Z_a-z]`
)

func (e *emitter) assert(k assertKind) {
	w := wordClassU
	switch k {
	case aBeginText:
		e.b.WriteString(`\A`)
	case aBeginLine:
		e.b.WriteString(`(?m:^)`)
	case aEndText:
		e.b.WriteString(`\z`)
	case aEndTextOptNL:
		if e.fl == flavourRE2 {
			// Go's $ is \z; (?m:$) is the same as Python's $ while
			// the only "\n" is the last byte.
			e.needs |= needNoInnerNL
			e.b.WriteString(`(?m:$)`)
			return
		}
		e.b.WriteString(`$`)
	case aEndLine:
		e.b.WriteString(`(?m:$)`)
	case aWordBoundaryASCII, aNonWordBoundaryASCII, aWordBoundary, aNonWordBoundary:
		if k == aWordBoundaryASCII || k == aNonWordBoundaryASCII {
			w = wordClassA
		}
		b := k == aWordBoundary || k == aWordBoundaryASCII
		if e.fl == flavourRE2 {
			// On ASCII text Go's \b is Python's, both ways.
			e.needs |= needASCII
			if b {
				e.b.WriteString(`\b`)
			} else {
				e.needs |= needNonEmpty
				e.b.WriteString(`\B`)
			}
			return
		}
		// .NET's word characters are not Python's: spell it out.
		if b {
			fmt.Fprintf(&e.b, `(?:(?<=%[1]s)(?!%[1]s)|(?<!%[1]s)(?=%[1]s))`, w)
		} else {
			// Python 3.11's \B never matches in an empty string.
			fmt.Fprintf(&e.b, `(?:(?<=%[1]s)(?=%[1]s)|(?<!%[1]s)(?!%[1]s))(?!\A\z)`, w)
		}
	default:
		panic("pyre: unknown assertion")
	}
}

// escape writes one code point so that the target reads it literally.
func (e *emitter) escape(c rune, inClass bool) string {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return string(c)
	case e.fl == flavourRE2:
		return `\x{` + strconv.FormatInt(int64(c), 16) + `}`
	case c < 0x80:
		return `\x` + hex2(c)
	case c < bmpLimit:
		return `\u` + hex2(c>>8) + hex2(c&0xff)
	}
	return string(c) // regexp2 reads the pattern as runes
}

func hex2(c rune) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[c>>4&0xf], digits[c&0xf]})
}

// class writes a set as a character class: positive or negated, whichever
// is shorter, with Python's \w and \d as Unicode properties when whole.
func (e *emitter) class(s runeSet) string {
	all := surrogates.complement()
	switch {
	case len(s) == 0:
		if e.fl == flavourRE2 {
			return `[^\x00-\x{10FFFF}]`
		}
		return `(?!)`
	case s.equal(all) || s.equal(runeSet{{0, maxRune}}):
		return `(?s:.)`
	}
	pos, posRest := classPlan(s)
	neg, negRest := classPlan(s.complement().minus(surrogates))
	if len(negRest)+len(neg) < len(posRest)+len(pos) {
		return "[^" + e.classBody(neg, negRest) + "]"
	}
	return "[" + e.classBody(pos, posRest) + "]"
}

// classParts are the Unicode properties a class body may use whole, in
// the order they are tried: Go's tables, which regexp2 and Go's regexp
// both read, so a property means exactly its code points here.
var classParts = []struct {
	set  runeSet
	text string
}{
	{wordU, `\p{L}\p{N}_`},
	{fromTables(unicode.L), `\p{L}`},
	{fromTables(unicode.N), `\p{N}`},
	{digitU, `\p{Nd}`},
	{fromTables(unicode.Nl), `\p{Nl}`},
	{fromTables(unicode.No), `\p{No}`},
}

// classPlan splits a set into whole properties and the ranges left.
func classPlan(s runeSet) (parts []string, rest runeSet) {
	for _, p := range classParts {
		if len(s) > 8 && p.set.subsetOf(s) {
			parts = append(parts, p.text)
			s = s.minus(p.set)
		}
	}
	return parts, s
}

func (e *emitter) classBody(parts []string, s runeSet) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p)
	}
	for _, r := range s {
		b.WriteString(e.escape(r.lo, true))
		switch {
		case r.hi == r.lo:
		case r.hi == r.lo+1:
			b.WriteString(e.escape(r.hi, true))
		default:
			b.WriteByte('-')
			b.WriteString(e.escape(r.hi, true))
		}
	}
	return b.String()
}
