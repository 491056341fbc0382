package pyre

import (
	"maps"
	"strings"
)

// A conditional whose group an earlier optional part or alternation
// decides, as sshd's
//
//	(?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)...|...)) from ... (?(cond_user): |...$)
//
// makes a backtracking engine explore the whole rest of the pattern on
// branches the conditional then refuses. The machine writes such a
// pattern with the rest of it copied into each branch, which a
// backtracking engine may always do ((A|B)C tries A then C, then B then
// C, exactly as AC|BC does), and in each copy the conditional is decided
// where it is written: the group took part, or did not. Each branch then
// starts by checking that the strings it must match still occur in the
// subject (btNeed), so that a branch whose ": " the line does not have
// costs one comparison.
//
// Only the pattern's top-level sequence is split, so what is known of a
// group holds from where it is set to the end: at the start no group has
// taken part; a top-level item that must capture a group sets it; one
// that may leaves it unknown. Inside an item, what the item itself
// captures is unknown.

// top writes the pattern: its top-level items, then btSucceed.
func (c *btCompiler) top(tree *node) {
	items := []*node{tree}
	if tree.kind == nConcat {
		items = tree.subs
	}
	c.known = map[int]bool{}
	for g := 1; g <= c.ngroups; g++ {
		c.known[g] = false
	}
	// What starts the pattern and takes no choice (^, a literal) is
	// tested before the strings: it fails at once on most subjects.
	lead := 0
	for lead < len(items) && noChoice(items[lead]) {
		lead++
	}
	if lead > 0 {
		c.node(&node{kind: nConcat, subs: items[:lead]})
		items = items[lead:]
	}
	c.need(items, c.checked)
	c.seq(items)
}

// noChoice reports whether n matches one way or not at all, at once.
func noChoice(n *node) bool {
	switch n.kind {
	case nEmpty, nLit, nSet, nAny, nAssert:
		return true
	}
	return false
}

// seq writes items, then btSucceed, splitting at the first item whose
// branches decide a later conditional.
func (c *btCompiler) seq(items []*node) {
	for i, n := range items {
		if c.tooBig {
			return
		}
		alts := alternativesOf(n)
		if c.split && alts != nil && decides(c.captured[n], items[i+1:]) {
			saved := maps.Clone(c.known)
			c.splits += len(alts)
			for j, a := range alts {
				capturedIn(a, c.captured) // a may be a new node
				split := -1
				if j < len(alts)-1 {
					split = c.emit(btInst{op: btSplit, x: len(c.insts) + 1})
				}
				branch := append([]*node{a}, items[i+1:]...)
				c.need(branch, "")
				c.seq(branch)
				c.known = maps.Clone(saved)
				if split >= 0 {
					c.insts[split].y = len(c.insts)
				}
			}
			return
		}
		c.node(n)
		c.after(n, c.known)
	}
	c.emit(btInst{op: btSucceed})
}

// alternativesOf is n as a list of alternatives in priority order: an
// alternation's branches, a group around one (each branch in the group),
// an optional part (it, then nothing; nothing first when lazy). Nil for
// anything else.
func alternativesOf(n *node) []*node {
	switch {
	case n.kind == nAlt:
		return n.subs
	case n.kind == nCapture && n.subs[0].kind == nAlt:
		var out []*node
		for _, s := range n.subs[0].subs {
			out = append(out, &node{kind: nCapture, group: n.group, subs: []*node{s}})
		}
		return out
	case n.kind == nRepeat && n.min == 0 && n.max == 1 && n.mode != repeatPossessive:
		body, none := n.subs[0], &node{kind: nEmpty}
		if n.mode == repeatLazy {
			return []*node{none, body}
		}
		return []*node{body, none}
	}
	return nil
}

// decides reports whether any of the groups is the condition of a
// conditional in rest.
func decides(groups []int, rest []*node) bool {
	if len(groups) == 0 {
		return false
	}
	var found bool
	var walk func(n *node)
	walk = func(n *node) {
		if found {
			return
		}
		if n.kind == nCond {
			for _, g := range groups {
				if g == n.group {
					found = true
					return
				}
			}
		}
		for _, s := range n.subs {
			walk(s)
		}
	}
	for _, n := range rest {
		walk(n)
	}
	return found
}

// capturedIn fills m with the groups each node of n's tree captures, and
// returns n's.
func capturedIn(n *node, m map[*node][]int) []int {
	var gs []int
	if n.kind == nCapture {
		gs = append(gs, n.group)
	}
	for _, s := range n.subs {
		gs = append(gs, capturedIn(s, m)...)
	}
	if len(gs) > 0 {
		m[n] = gs
	}
	return gs
}

// forget drops what is known of groups, returning what to restore.
func (c *btCompiler) forget(groups []int) map[int]bool {
	saved := map[int]bool{}
	for _, g := range groups {
		if v, ok := c.known[g]; ok {
			saved[g] = v
			delete(c.known, g)
		}
	}
	return saved
}

func (c *btCompiler) restore(saved map[int]bool) {
	maps.Copy(c.known, saved)
}

// after updates known past the top-level item n: the groups n must
// capture took part, the ones it may capture are unknown.
func (c *btCompiler) after(n *node, known map[int]bool) {
	for _, g := range c.captured[n] {
		if mustCapture(n, g) {
			known[g] = true
		} else {
			delete(known, g)
		}
	}
}

// mustCapture reports whether every match of n leaves group g set.
func mustCapture(n *node, g int) bool {
	switch n.kind {
	case nCapture:
		return n.group == g || mustCapture(n.subs[0], g)
	case nConcat:
		for _, s := range n.subs {
			if mustCapture(s, g) {
				return true
			}
		}
	case nAtomic:
		return mustCapture(n.subs[0], g)
	case nRepeat:
		return n.min > 0 && mustCapture(n.subs[0], g)
	case nAlt:
		for _, s := range n.subs {
			if !mustCapture(s, g) {
				return false
			}
		}
		return len(n.subs) > 0
	}
	return false
}

// need writes a btNeed for the strings every match of items must take,
// conditionals decided as known says (when it has any), but checked.
func (c *btCompiler) need(items []*node, checked string) {
	known := maps.Clone(c.known)
	var lits []string
	var run strings.Builder
	flush := func() {
		if run.Len() >= 2 {
			lits = append(lits, run.String())
		}
		run.Reset()
	}
	var walk func(n *node, known map[int]bool)
	walk = func(n *node, known map[int]bool) {
		if gs := c.captured[n]; len(gs) > 0 && n.kind != nConcat && n.kind != nCapture {
			known = maps.Clone(known)
			for _, g := range gs {
				delete(known, g)
			}
		}
		switch n.kind {
		case nLit:
			run.WriteRune(n.r)
		case nEmpty, nAssert:
		case nConcat:
			for _, s := range n.subs {
				walk(s, known)
				if gs := c.captured[s]; len(gs) > 0 {
					known = maps.Clone(known)
					c.after(s, known)
				}
			}
		case nCapture, nAtomic:
			walk(n.subs[0], known)
		case nRepeat:
			flush()
			if n.min > 0 {
				walk(n.subs[0], known)
			}
			flush()
		case nCond:
			took, ok := known[n.group]
			switch {
			case !ok:
				flush()
			case took:
				walk(n.subs[0], known)
			case len(n.subs) > 1:
				walk(n.subs[1], known)
			}
		default:
			flush()
		}
	}
	for _, n := range items {
		walk(n, known)
		c.after(n, known)
	}
	flush()
	in := btInst{op: btNeed}
	for _, l := range lits {
		if l == checked {
			continue
		}
		i, ok := c.litIndex[l]
		if !ok {
			i = len(c.lits)
			c.lits = append(c.lits, l)
			c.litIndex[l] = i
		}
		in.need = append(in.need, i)
	}
	if len(in.need) > 0 {
		c.emit(in)
	}
}
