package pyre

// A lookbehind of one character that the pattern already guarantees is
// dropped: fail2ban's IPv6 expression ends in (?<=:):, right after a
// repeat whose every iteration ends in ':', so the lookbehind always
// holds. Without it <HOST> and <ADDR> need no lookaround, which lets most
// filters run on Go's regexp, and regexp2 skips the check too.

// before is what may precede a position: a set of code points, or
// anything (including the start of the subject).
type before struct {
	set runeSet
	any bool
}

func (b before) union(c before) before {
	if b.any || c.any {
		return before{any: true}
	}
	return before{set: b.set.union(c.set)}
}

// charSet is the code points a one-character node matches.
func charSet(n *node) (runeSet, bool) {
	switch n.kind {
	case nLit:
		return runes(n.r), true
	case nSet:
		return n.set, true
	case nAny:
		if n.dot {
			return runeSet{{0, maxRune}}, true
		}
		return runeSet{{0, maxRune}}.minus(runes('\n')), true
	}
	return nil, false
}

// last is what n leaves before the position after it: the code points it
// may consume last, and whether it may consume nothing.
func last(n *node) (before, bool) {
	switch n.kind {
	case nLit, nSet, nAny:
		s, _ := charSet(n)
		return before{set: s}, false
	case nEmpty, nAssert, nLook:
		return before{}, true
	case nConcat:
		acc, nullable := before{}, true
		for _, s := range n.subs {
			l, nl := last(s)
			if nl {
				acc = acc.union(l)
			} else {
				acc = l
			}
			nullable = nullable && nl
		}
		return acc, nullable
	case nAlt:
		acc, nullable := before{}, false
		for _, s := range n.subs {
			l, nl := last(s)
			acc = acc.union(l)
			nullable = nullable || nl
		}
		return acc, nullable
	case nRepeat:
		l, nl := last(n.subs[0])
		return l, nl || n.min == 0
	case nCapture, nAtomic:
		return last(n.subs[0])
	case nCond:
		l, nl := last(n.subs[0])
		if len(n.subs) == 1 {
			return l, true
		}
		m, nm := last(n.subs[1])
		return l.union(m), nl || nm
	}
	return before{any: true}, true // back-references: any text
}

// after is what precedes the position after n, given what preceded it.
func after(n *node, in before) before {
	l, nullable := last(n)
	if nullable {
		return l.union(in)
	}
	return l
}

// elideLookbehinds walks n with in, what may precede it, and empties the
// one-character lookbehinds whose answer in already decides as true.
func elideLookbehinds(n *node, in before) {
	switch n.kind {
	case nLook:
		if n.back {
			if c, ok := charSet(n.subs[0]); ok && lookbehindHolds(c, n.neg, in) {
				*n = node{kind: nEmpty}
				return
			}
			elideLookbehinds(n.subs[0], before{any: true})
			return
		}
		elideLookbehinds(n.subs[0], in)
	case nConcat:
		for _, s := range n.subs {
			elideLookbehinds(s, in)
			in = after(s, in)
		}
	case nAlt, nCond:
		for _, s := range n.subs {
			elideLookbehinds(s, in)
		}
	case nRepeat:
		l, _ := last(n.subs[0])
		elideLookbehinds(n.subs[0], in.union(l))
	case nCapture, nAtomic:
		elideLookbehinds(n.subs[0], in)
	}
}

func lookbehindHolds(c runeSet, neg bool, in before) bool {
	if in.any {
		return false
	}
	if neg {
		return len(in.set.intersect(c)) == 0
	}
	return len(in.set) > 0 && in.set.subsetOf(c)
}
