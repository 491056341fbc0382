package pyre

import (
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// A search on the machine stops after btStepsBase plus btStepsPerByte for
// each byte of the subject, counting instructions, backtracks and
// characters scanned by repeats. On fail2ban's sample logs no stock
// pattern takes more than 22 steps a byte (sshd's "Failed" failregex on a
// line with two " from "); a line that makes a pattern backtrack harder
// runs out and is answered by the other engines, and the Regex then
// leaves the machine aside for its next btSkip searches, so that a run
// of such lines does not pay twice for each.
const (
	btStepsBase    = 1 << 10
	btStepsPerByte = 32
	btSkip         = 256
	btMaxSubject   = 1 << 14

	// btStepTime is more than a step takes: a search on the machine
	// stops well within the match budget, which the other engines then
	// have (nearly) whole.
	btStepTime = 20 * time.Nanosecond
)

// btEntry is one entry of the backtracking stack.
type btEntry struct {
	kind btKind
	pc   int32
	pos  int32
	a, b int32
}

type btKind uint8

const (
	btAlt    btKind = iota // resume at pc, pos
	btCap                  // group a was pos..b
	btOpened               // group a opened at pos
	btGreedy               // repeat at pc: last tried end pos, ends down to a remain
	btLazy                 // repeat at pc: last tried end pos after a iterations, none from b
)

// machine is the state of one search.
type machine struct {
	p     *btProg
	s     string
	caps  []int     // two per group, Python's numbering; -1: did not take part
	open  []int     // where each group last opened
	stack []btEntry // the entries are stack[:sp]; len(stack) is its capacity
	sp    int
	snaps []int // saved caps of enclosing lookarounds and atomic groups
	// For each of the program's strings, the first place at or after
	// from[i] where it occurs (-1: nowhere); from[i] -1: not looked yet.
	from, at []int
	steps    int
	gaveUp   bool
}

var machines = sync.Pool{New: func() any { return new(machine) }}

// find runs the machine: re.search, or re.match when anchored; the
// Match has its offsets only. ok is false when it gave up (too many
// steps): the caller must ask another engine.
func (p *btProg) find(s string, anchored bool) (match *Match, ok bool) {
	m := machines.Get().(*machine)
	defer func() {
		m.s = ""
		if cap(m.stack) > 1<<12 {
			m.stack = nil
		}
		machines.Put(m)
	}()
	m.p, m.s = p, s
	m.caps = resize(m.caps, 2*(p.ngroups+1))
	m.open = resize(m.open, p.ngroups+1)
	m.from = resize(m.from, len(p.lits))
	m.at = resize(m.at, len(p.lits))
	m.sp, m.snaps = 0, m.snaps[:0]
	m.steps = min(p.stepsBase+p.stepsPerByte*len(s), p.stepsMax)
	m.gaveUp = false
	anchored = anchored || p.anchored
	for start := 0; ; {
		if !anchored && p.first != nil {
			// A match takes at least one code point, starting with
			// one of these bytes (never a continuation byte).
			for start < len(s) && !p.first[s[start]] {
				start++
			}
			if start == len(s) {
				break
			}
		}
		end, matched := m.run(0, start)
		if m.gaveUp {
			return nil, false
		}
		if matched {
			mt := newMatch(len(m.caps))
			copy(mt.loc, m.caps)
			mt.loc[0], mt.loc[1] = start, end
			return mt, true
		}
		if anchored || start >= len(s) {
			break
		}
		start++
		for start < len(s) && s[start]&0xC0 == 0x80 {
			start++ // inside a code point
		}
	}
	return nil, true
}

func resize(b []int, n int) []int {
	if cap(b) < n {
		b = make([]int, n)
	}
	b = b[:n]
	for i := range b {
		b[i] = -1
	}
	return b
}

// push adds an entry. Its fields are written one by one, as pop reads
// them: a struct built and copied whole makes the processor wait on
// store forwarding.
func (m *machine) push(kind btKind, pc, pos, a, b int) {
	if m.sp == len(m.stack) {
		m.stack = append(m.stack, make([]btEntry, max(len(m.stack), 64))...)
	}
	e := &m.stack[m.sp]
	e.kind, e.pc, e.pos, e.a, e.b = kind, int32(pc), int32(pos), int32(a), int32(b)
	m.sp++
}

// run matches from pc at pos until a btSucceed (true, and where it
// ended) or until every choice made since it was called has failed
// (false). It leaves its entries on the stack when it succeeds.
func (m *machine) run(pc, pos int) (int, bool) {
	base := m.sp
	s := m.s
	insts := m.p.insts
	// The step count is kept here and handed over around the calls
	// that count too.
	steps := m.steps
	defer func() { m.steps = steps }()
	for {
		steps--
		if steps < 0 {
			m.gaveUp = true
			return -1, false
		}
		in := &insts[pc]
		switch in.op {
		case btSucceed:
			return pos, true
		case btString:
			if str := in.str; len(s)-pos < len(str) || s[pos] != str[0] || s[pos:pos+len(str)] != str {
				goto fail
			}
			pos += len(in.str)
			pc++
			continue
		case btChar:
			if pos >= len(s) {
				goto fail
			}
			if b := s[pos]; b < utf8.RuneSelf {
				if !in.cs.hasByte(b) {
					goto fail
				}
				pos++
			} else {
				c, w := utf8.DecodeRuneInString(s[pos:])
				if !in.cs.has(c) {
					goto fail
				}
				pos += w
			}
			pc++
			continue
		case btRepeat:
			m.steps = steps
			ok := m.repeat(in, pc, &pos)
			steps = m.steps
			if !ok {
				goto fail
			}
			pc++
			continue
		case btSplit:
			b := noByte
			if pos < len(s) {
				b = int(s[pos])
			}
			if in.fx != nil && !in.fx.has(b) {
				pc = in.y // the first branch cannot start here
				continue
			}
			if in.fy == nil || in.fy.has(b) {
				m.push(btAlt, in.y, pos, 0, 0)
			}
			pc = in.x
			continue
		case btJump:
			pc = in.x
			continue
		case btOpen:
			if in.reopen {
				m.push(btOpened, 0, m.open[in.n], in.n, 0)
			}
			m.open[in.n] = pos
			pc++
			continue
		case btClose:
			g := in.n
			m.push(btCap, 0, m.caps[2*g], g, m.caps[2*g+1])
			m.caps[2*g], m.caps[2*g+1] = m.open[g], pos
			pc++
			continue
		case btAssert:
			if !m.assert(in.at, pos) {
				goto fail
			}
			pc++
			continue
		case btCond:
			if m.caps[2*in.n] >= 0 {
				pc++
			} else {
				pc = in.x
			}
			continue
		case btBackref:
			a, b := m.caps[2*in.n], m.caps[2*in.n+1]
			if a < 0 || !strings.HasPrefix(s[pos:], s[a:b]) {
				goto fail
			}
			pos += b - a
			pc++
			continue
		case btNeed:
			for _, i := range in.need {
				if !m.occurs(i, pos) {
					goto fail
				}
			}
			pc++
			continue
		case btLook, btAtomic:
			m.steps = steps
			end, ok := m.sub(in, pc, pos)
			steps = m.steps
			if m.gaveUp {
				return -1, false
			}
			if !ok {
				goto fail
			}
			if in.op == btAtomic {
				pos = end
			}
			pc = in.x
			continue
		}
		panic("pyre: unknown instruction")

	fail:
		for {
			if m.sp == base {
				return -1, false
			}
			steps--
			m.sp--
			e := &m.stack[m.sp]
			kind, epc, epos, ea, eb := e.kind, int(e.pc), int(e.pos), int(e.a), int(e.b)
			switch kind {
			case btAlt:
				pc, pos = epc, epos
			case btCap:
				m.caps[2*ea], m.caps[2*ea+1] = epos, eb
				continue
			case btOpened:
				m.open[ea] = epos
				continue
			case btGreedy:
				m.steps = steps
				p, ok := m.lessGreedy(&insts[epc], epc, epos, ea)
				steps = m.steps
				if !ok {
					continue
				}
				pc, pos = epc+1, p
			case btLazy:
				m.steps = steps
				p, ok := m.moreLazy(&insts[epc], epc, epos, ea, eb)
				steps = m.steps
				if !ok {
					continue
				}
				pc, pos = epc+1, p
			}
			break
		}
	}
}

// occurs reports whether the program's string i occurs at pos or after.
func (m *machine) occurs(i, pos int) bool {
	from, at := m.from[i], m.at[i]
	switch {
	case from >= 0 && at >= pos:
		return true
	case from >= 0 && at < 0 && pos >= from:
		return false
	}
	at = m.p.lits[i].index(m.s[pos:])
	if at >= 0 {
		at += pos
	}
	m.from[i], m.at[i] = pos, at
	return at >= 0
}

// sub runs a lookaround's or an atomic group's body at pos: whether the
// construct holds, and where the body ended. What the body leaves on the
// stack is dropped (no backtracking into it), but the groups a
// successful positive body set stay, with entries that restore them.
func (m *machine) sub(in *btInst, pc, pos int) (int, bool) {
	start := pos
	if in.back {
		for range in.n {
			if start == 0 {
				return -1, in.neg
			}
			_, w := utf8.DecodeLastRuneInString(m.s[:start])
			start -= w
		}
	}
	h := m.sp
	saved := len(m.snaps)
	if in.caps {
		m.snaps = append(m.snaps, m.caps...)
	}
	end, matched := m.run(pc+1, start)
	if m.gaveUp {
		return -1, false
	}
	if !matched {
		// The stack is back at h and the groups as they were.
		m.snaps = m.snaps[:saved]
		return -1, in.neg
	}
	m.sp = h
	if in.caps {
		old := m.snaps[saved:]
		if in.neg {
			copy(m.caps, old)
		} else {
			for g := 1; g <= m.p.ngroups; g++ {
				if old[2*g] != m.caps[2*g] || old[2*g+1] != m.caps[2*g+1] {
					m.push(btCap, 0, old[2*g], g, old[2*g+1])
				}
			}
		}
		m.snaps = m.snaps[:saved]
	}
	if in.neg {
		return -1, false
	}
	return end, true
}

// one matches one code point of cs at pos: the position after it.
func (m *machine) one(cs *btSet, pos int) (int, bool) {
	s := m.s
	if pos >= len(s) {
		return pos, false
	}
	if b := s[pos]; b < utf8.RuneSelf {
		return pos + 1, cs.hasByte(b)
	}
	c, w := utf8.DecodeRuneInString(s[pos:])
	return pos + w, cs.has(c)
}

// repeat runs a single-character repeat at *pos and leaves the entry
// that backtracks into it.
func (m *machine) repeat(in *btInst, pc int, pos *int) bool {
	s := m.s
	p := *pos
	for range in.n {
		if in.stop != "" && strings.HasPrefix(s[p:], in.stop) {
			return false
		}
		q, ok := m.one(in.cs, p)
		if !ok {
			return false
		}
		p = q
	}
	m.steps -= in.n
	minEnd := p
	// No character is taken at limit or past it: the stop string
	// begins there.
	limit := len(s)
	if in.stop != "" {
		if i := strings.Index(s[p:], in.stop); i >= 0 {
			limit = p + i
		}
	}
	if in.mode == repeatLazy {
		if in.hint >= 0 && (p >= len(s) || s[p] != byte(in.hint)) {
			// The string after cannot match here: take more at once.
			q, ok := m.moreLazy(in, pc, p, in.n, limit)
			*pos = q
			return ok
		}
		if in.max < 0 || in.n < in.max {
			m.push(btLazy, pc, p, in.n, limit)
		}
		*pos = p
		return true
	}
	// Greedy or possessive: as many as allowed.
	n := in.n
	if in.max < 0 && allButNewline(in.cs) {
		// . (any but a newline): up to the next newline.
		i := strings.IndexByte(s[p:limit], '\n')
		if i < 0 {
			i = limit - p
		}
		m.steps -= i / 8
		p += i
	} else {
		for (in.max < 0 || n < in.max) && p < limit {
			if b := s[p]; b < utf8.RuneSelf {
				if !in.cs.hasByte(b) {
					break
				}
				p++
			} else {
				c, w := utf8.DecodeRuneInString(s[p:])
				if !in.cs.has(c) {
					break
				}
				p += w
			}
			n++
		}
		m.steps -= n - in.n
	}
	*pos = p
	if in.mode == repeatPossessive || p == minEnd {
		return true
	}
	if in.hint >= 0 && (p >= len(s) || s[p] != byte(in.hint)) {
		q, ok := m.lessGreedy(in, pc, p, minEnd)
		*pos = q
		return ok
	}
	m.push(btGreedy, pc, p, minEnd, 0)
	return true
}

func allButNewline(cs *btSet) bool {
	return cs.hiAll && cs.ascii[0] == ^uint64(1<<'\n') && cs.ascii[1] == ^uint64(0)
}

// lessGreedy gives back one more character of a greedy repeat (more,
// when the hint says the string after cannot match): the new end, with
// the entry pushed again while ends remain.
func (m *machine) lessGreedy(in *btInst, pc, p, low int) (int, bool) {
	s := m.s
	for {
		if p <= low {
			return -1, false
		}
		if s[p-1] < utf8.RuneSelf {
			p--
		} else {
			_, w := utf8.DecodeLastRuneInString(s[:p])
			p -= w
		}
		m.steps--
		if in.hint < 0 || s[p] == byte(in.hint) {
			break
		}
	}
	if p > low {
		m.push(btGreedy, pc, p, low, 0)
	}
	return p, true
}

// moreLazy takes one more character into a lazy repeat (more, when the
// hint says the string after cannot match): the new end, with the entry
// pushed again while the repeat may grow.
func (m *machine) moreLazy(in *btInst, pc, p, n, limit int) (int, bool) {
	for {
		if in.max >= 0 && n >= in.max || p >= limit {
			return -1, false
		}
		q, ok := m.one(in.cs, p)
		if !ok {
			return -1, false
		}
		p, n = q, n+1
		m.steps--
		if in.hint < 0 || p < len(m.s) && m.s[p] == byte(in.hint) {
			break
		}
	}
	if in.max < 0 || n < in.max {
		m.push(btLazy, pc, p, n, limit)
	}
	return p, true
}

// assert is Python's meaning of each zero-width assertion at pos.
func (m *machine) assert(at assertKind, pos int) bool {
	s := m.s
	switch at {
	case aBeginText:
		return pos == 0
	case aBeginLine:
		return pos == 0 || s[pos-1] == '\n'
	case aEndText:
		return pos == len(s)
	case aEndTextOptNL:
		return pos == len(s) || pos == len(s)-1 && s[pos] == '\n'
	case aEndLine:
		return pos == len(s) || s[pos] == '\n'
	}
	if len(s) == 0 {
		return false // sre: no boundary, and no non-boundary, in ""
	}
	w := wordU
	if at == aWordBoundaryASCII || at == aNonWordBoundaryASCII {
		w = wordA
	}
	before, after := false, false
	if pos > 0 {
		c, _ := utf8.DecodeLastRuneInString(s[:pos])
		before = isWord(w, c)
	}
	if pos < len(s) {
		c, _ := utf8.DecodeRuneInString(s[pos:])
		after = isWord(w, c)
	}
	if at == aWordBoundary || at == aWordBoundaryASCII {
		return before != after
	}
	return before == after
}

func isWord(w runeSet, c rune) bool {
	if c < utf8.RuneSelf {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
	}
	return w.has(c)
}
