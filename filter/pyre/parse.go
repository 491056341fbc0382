package pyre

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/banserver/banserver/protocol"
)

// parsed is a Python pattern after parsing: its tree, global flags and
// groups, as CPython's re._parser.parse leaves them.
type parsed struct {
	seq       seq
	flags     pyFlags
	groups    int            // number of capturing groups
	names     map[string]int // group name -> number
	groupName []string       // number -> name ("" for unnamed)
}

// parseError carries a *SyntaxError or *UnsupportedError out of the
// recursive descent; parse recovers it.
type parseError struct{ err error }

// token is one pattern character, or a backslash and the next one.
type token struct {
	c   rune
	esc bool // "\\" + c
	eof bool
}

type tokenizer struct {
	pattern string
	s       []rune
	index   int // start of the token after next
	next    token
}

func newTokenizer(s string) *tokenizer {
	t := &tokenizer{pattern: s, s: []rune(s)}
	t.advance()
	return t
}

func (t *tokenizer) fail(msg string, pos int) {
	panic(parseError{&SyntaxError{Msg: msg, Pos: pos, Pattern: t.pattern}})
}

func (t *tokenizer) advance() {
	i := t.index
	if i >= len(t.s) {
		t.next = token{eof: true}
		return
	}
	c := t.s[i]
	if c == '\\' {
		i++
		if i >= len(t.s) {
			t.fail("bad escape (end of pattern)", len(t.s)-1)
		}
		t.next = token{c: t.s[i], esc: true}
		t.index = i + 1
		return
	}
	t.next = token{c: c}
	t.index = i + 1
}

func (t *tokenizer) width() int {
	switch {
	case t.next.eof:
		return 0
	case t.next.esc:
		return 2
	}
	return 1
}

// tell is the position of the next token.
func (t *tokenizer) tell() int { return t.index - t.width() }

func (t *tokenizer) seek(i int) {
	t.index = i
	t.advance()
}

func (t *tokenizer) get() token {
	tok := t.next
	t.advance()
	return tok
}

// is reports whether the next token is the plain character c.
func (t *tokenizer) is(c rune) bool { return !t.next.eof && !t.next.esc && t.next.c == c }

func (t *tokenizer) match(c rune) bool {
	if t.is(c) {
		t.advance()
		return true
	}
	return false
}

func (t *tokenizer) errorAt(msg string, offset int) {
	t.fail(msg, t.tell()-offset)
}

// getWhile takes up to n plain characters that satisfy ok.
func (t *tokenizer) getWhile(n int, ok func(rune) bool) string {
	var b strings.Builder
	for range n {
		if t.next.eof || t.next.esc || !ok(t.next.c) {
			break
		}
		b.WriteRune(t.next.c)
		t.advance()
	}
	return b.String()
}

// getUntil reads a name up to the terminator, as Tokenizer.getuntil.
func (t *tokenizer) getUntil(term rune, name string) string {
	var b []rune
	for {
		tok := t.next
		t.advance()
		if tok.eof {
			if len(b) == 0 {
				t.errorAt("missing "+name, 0)
			}
			t.errorAt(fmt.Sprintf("missing %c, unterminated name", term), len(b))
		}
		if !tok.esc && tok.c == term {
			if len(b) == 0 {
				t.errorAt("missing "+name, 1)
			}
			break
		}
		if tok.esc {
			b = append(b, '\\')
		}
		b = append(b, tok.c)
	}
	return string(b)
}

func isDigit(c rune) bool    { return '0' <= c && c <= '9' }
func isOctDigit(c rune) bool { return '0' <= c && c <= '7' }
func isHexDigit(c rune) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
func isASCIILetter(c rune) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isIdentifier is str.isidentifier, close enough for group names: a letter
// or '_' first (categories L and Nl), then letters, marks, digits and
// connector punctuation.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		start := c == '_' || unicode.IsLetter(c) || unicode.Is(unicode.Nl, c)
		if i == 0 && !start {
			return false
		}
		if !start && !unicode.In(c, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc) {
			return false
		}
	}
	return true
}

type width struct{ lo, hi int }

type parser struct {
	t         *tokenizer
	flags     pyFlags
	names     map[string]int
	widths    []*width // per group number; nil while the group is open
	groupName []string
	// lookbehindGroups is the number of groups when the outermost
	// lookbehind began, or -1 outside lookbehinds.
	lookbehindGroups int
	grouprefPos      map[int]int
}

func (p *parser) groups() int { return len(p.widths) }

// parse parses a Python str pattern with the given initial flags. The
// parser comes back too: its group widths decide lookbehinds.
func parse(pattern string, flags pyFlags) (pp *parsed, p *parser, err error) {
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(parseError)
			if !ok {
				panic(r)
			}
			pp, p, err = nil, nil, pe.err
		}
	}()
	p = newParser(pattern, flags)
	return p.run(), p, nil
}

func newParser(pattern string, flags pyFlags) *parser {
	return &parser{
		t:                newTokenizer(pattern),
		flags:            flags,
		names:            map[string]int{},
		widths:           []*width{{0, 0}}, // group 0
		groupName:        []string{""},
		lookbehindGroups: -1,
		grouprefPos:      map[int]int{},
	}
}

// run parses the whole pattern; errors are parseError panics.
func (p *parser) run() *parsed {
	s := p.parseSub(p.flags&flagVerbose != 0, 0)
	// fix_flags: a str pattern is Unicode unless (?a).
	if p.flags&flagASCII == 0 {
		p.flags |= flagUnicode
	} else if p.flags&flagUnicode != 0 {
		p.t.fail("ASCII and UNICODE flags are incompatible", -1) // ValueError
	}
	if !p.t.next.eof {
		p.t.errorAt("unbalanced parenthesis", 0)
	}
	for g, pos := range p.grouprefPos {
		if g >= p.groups() {
			p.t.fail(fmt.Sprintf("invalid group reference %d", g), pos)
		}
	}
	return &parsed{seq: s, flags: p.flags, groups: p.groups() - 1, names: p.names, groupName: p.groupName}
}

func (p *parser) openGroup(name string, hasName bool) int {
	gid := p.groups()
	p.widths = append(p.widths, nil)
	p.groupName = append(p.groupName, name)
	if p.groups() > maxGroups {
		p.t.fail("too many groups", p.t.tell())
	}
	if hasName {
		if og, ok := p.names[name]; ok {
			p.t.errorAt(fmt.Sprintf("redefinition of group name %s as group %d; was group %d",
				protocol.ReprString(name), gid, og), len([]rune(name))+1)
		}
		p.names[name] = gid
	}
	return gid
}

func (p *parser) checkGroup(gid int) bool { return gid < p.groups() && p.widths[gid] != nil }

func (p *parser) checkLookbehindGroup(gid int) {
	if p.lookbehindGroups >= 0 {
		if !p.checkGroup(gid) {
			p.t.errorAt("cannot refer to an open group", 0)
		}
		if gid >= p.lookbehindGroups {
			p.t.errorAt("cannot refer to group defined in the same lookbehind subpattern", 0)
		}
	}
}

func (p *parser) checkGroupName(name string, offset int) {
	if !isIdentifier(name) {
		p.t.errorAt("bad character in group name "+protocol.ReprString(name), len([]rune(name))+offset)
	}
}

// parseSub parses an alternation, then applies _parse_sub's rewrites.
func (p *parser) parseSub(verbose bool, nested int) seq {
	var items []seq
	for {
		items = append(items, p.parseSeq(&verbose, nested+1, nested == 0 && len(items) == 0))
		if !p.t.match('|') {
			break
		}
		if nested == 0 {
			verbose = p.flags&flagVerbose != 0
		}
	}
	if len(items) == 1 {
		return items[0]
	}
	var out seq
	// Factor a common prefix out of the alternatives.
	for {
		var prefix *item
		same := true
		for _, it := range items {
			if len(it) == 0 {
				same = false
				break
			}
			if prefix == nil {
				prefix = it[0]
			} else if !equalItems(it[0], prefix) {
				same = false
				break
			}
		}
		if !same {
			break
		}
		for i := range items {
			items[i] = items[i][1:]
		}
		out = append(out, prefix)
	}
	// Alternatives of single characters or sets become one set.
	var members []member
	asSet := true
	for _, it := range items {
		if len(it) != 1 {
			asSet = false
			break
		}
		switch x := it[0]; {
		case x.op == opLiteral:
			members = append(members, member{kind: memLiteral, lo: x.c})
		case x.op == opIn && !x.negate:
			members = append(members, x.members...)
		default:
			asSet = false
		}
		if !asSet {
			break
		}
	}
	if asSet {
		return append(out, &item{op: opIn, members: uniqMembers(members)})
	}
	return append(out, &item{op: opBranch, alts: items})
}

func uniqMembers(ms []member) []member {
	out := ms[:0:0]
	seen := map[member]bool{}
	for _, m := range ms {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

const specialChars = ".\\[{()*+?^$|"

func isVerboseSpace(c rune) bool { return strings.ContainsRune(" \t\n\r\v\f", c) }

// parseSeq parses a sequence up to '|', ')' or the end.
func (p *parser) parseSeq(verbose *bool, nested int, first bool) seq {
	var s seq
	t := p.t
	for {
		if t.next.eof || t.is('|') || t.is(')') {
			break
		}
		tok := t.get()
		if *verbose && !tok.esc {
			if isVerboseSpace(tok.c) {
				continue
			}
			if tok.c == '#' {
				for {
					tok = t.get()
					if tok.eof || !tok.esc && tok.c == '\n' {
						break
					}
				}
				continue
			}
		}
		switch {
		case tok.esc:
			s = append(s, p.escape(tok.c))
		case !strings.ContainsRune(specialChars, tok.c):
			s = append(s, &item{op: opLiteral, c: tok.c})
		case tok.c == '[':
			s = append(s, p.parseSet())
		case strings.ContainsRune("*+?{", tok.c):
			if it := p.parseRepeat(tok.c, &s); it != nil {
				s = append(s, it)
			}
		case tok.c == '.':
			s = append(s, &item{op: opAny})
		case tok.c == '(':
			if it := p.parseGroup(verbose, nested, first && len(s) == 0, len(s) > 0); it != nil {
				s = append(s, it)
			}
		case tok.c == '^':
			s = append(s, &item{op: opAt, at: atBeginning})
		case tok.c == '$':
			s = append(s, &item{op: opAt, at: atEnd})
		}
	}
	// Unpack non-capturing groups without flags.
	var out seq
	for _, it := range s {
		if it.op == opSubpattern && it.group == 0 && it.add == 0 && it.del == 0 {
			out = append(out, it.seq...)
			continue
		}
		out = append(out, it)
	}
	return out
}

func (p *parser) parseSet() *item {
	t := p.t
	here := t.tell() - 1
	negate := t.match('^')
	var set []member
	for {
		tok := t.get()
		if tok.eof {
			t.errorAt("unterminated character set", t.tell()-here)
		}
		if !tok.esc && tok.c == ']' && len(set) > 0 {
			break
		}
		var code1 member
		isIn := false
		if tok.esc {
			code1, isIn = p.classEscape(tok.c)
		} else {
			code1 = member{kind: memLiteral, lo: tok.c}
		}
		if t.match('-') {
			that := t.get()
			if that.eof {
				t.errorAt("unterminated character set", t.tell()-here)
			}
			if !that.esc && that.c == ']' {
				set = append(set, code1, member{kind: memLiteral, lo: '-'})
				break
			}
			var code2 member
			isIn2 := false
			if that.esc {
				code2, isIn2 = p.classEscape(that.c)
			} else {
				code2 = member{kind: memLiteral, lo: that.c}
			}
			tw, thw := 1, 1
			if tok.esc {
				tw = 2
			}
			if that.esc {
				thw = 2
			}
			if isIn || isIn2 {
				t.errorAt(fmt.Sprintf("bad character range %s-%s", tokString(tok), tokString(that)), tw+1+thw)
			}
			if code2.lo < code1.lo {
				t.errorAt(fmt.Sprintf("bad character range %s-%s", tokString(tok), tokString(that)), tw+1+thw)
			}
			set = append(set, member{kind: memRange, lo: code1.lo, hi: code2.lo})
			continue
		}
		set = append(set, code1)
	}
	set = uniqMembers(set)
	if len(set) == 1 && set[0].kind == memLiteral {
		if negate {
			return &item{op: opNotLiteral, c: set[0].lo}
		}
		return &item{op: opLiteral, c: set[0].lo}
	}
	return &item{op: opIn, members: set, negate: negate}
}

func tokString(tok token) string {
	if tok.esc {
		return "\\" + string(tok.c)
	}
	return string(tok.c)
}

// parseRepeat turns the last item of s into a repeat; it returns an item
// to append when the brace is a literal.
func (p *parser) parseRepeat(c rune, s *seq) *item {
	t := p.t
	here := t.tell()
	lo, hi := 0, maxRepeat
	switch c {
	case '?':
		hi = 1
	case '+':
		lo = 1
	case '{':
		if t.is('}') {
			return &item{op: opLiteral, c: '{'}
		}
		los := t.getWhile(1<<30, isDigit)
		his := ""
		if t.match(',') {
			his = t.getWhile(1<<30, isDigit)
		} else {
			his = los
		}
		if !t.match('}') {
			t.seek(here)
			return &item{op: opLiteral, c: '{'}
		}
		if los != "" {
			lo = atoiSat(los)
			if lo >= maxRepeat {
				t.fail("the repetition number is too large", -1) // OverflowError
			}
		}
		if his != "" {
			hi = atoiSat(his)
			if hi >= maxRepeat {
				t.fail("the repetition number is too large", -1)
			}
			if hi < lo {
				t.errorAt("min repeat greater than max repeat", t.tell()-here)
			}
		}
	}
	n := len(*s)
	if n == 0 || (*s)[n-1].op == opAt {
		t.errorAt("nothing to repeat", t.tell()-here+1)
	}
	last := (*s)[n-1]
	if last.op == opRepeat {
		t.errorAt("multiple repeat", t.tell()-here+1)
	}
	body := seq{last}
	if last.op == opSubpattern && last.group == 0 && last.add == 0 && last.del == 0 {
		body = last.seq
	}
	mode := repeatGreedy
	if t.match('?') {
		mode = repeatLazy
	} else if t.match('+') {
		mode = repeatPossessive
	}
	(*s)[n-1] = &item{op: opRepeat, min: lo, max: hi, mode: mode, seq: body}
	return nil
}

func atoiSat(s string) int {
	if len(s) > 12 {
		return maxRepeat + 1
	}
	n, _ := strconv.Atoi(s)
	return n
}

// parseGroup parses what follows '('; it returns nil for comments and
// global flags, which add nothing.
func (p *parser) parseGroup(verbose *bool, nested int, first, hasItems bool) *item {
	t := p.t
	start := t.tell() - 1
	capture := true
	atomic := false
	name := ""
	hasName := false
	var add, del pyFlags
	if t.match('?') {
		tok := t.get()
		if tok.eof {
			t.errorAt("unexpected end of pattern", 0)
		}
		switch {
		case !tok.esc && tok.c == 'P':
			switch {
			case t.match('<'):
				name = t.getUntil('>', "group name")
				hasName = true
				p.checkGroupName(name, 1)
			case t.match('='):
				name = t.getUntil(')', "group name")
				p.checkGroupName(name, 1)
				gid, ok := p.names[name]
				if !ok {
					t.errorAt("unknown group name "+protocol.ReprString(name), len([]rune(name))+1)
				}
				if !p.checkGroup(gid) {
					t.errorAt("cannot refer to an open group", len([]rune(name))+1)
				}
				p.checkLookbehindGroup(gid)
				return &item{op: opGroupref, group: gid}
			default:
				c := t.get()
				if c.eof {
					t.errorAt("unexpected end of pattern", 0)
				}
				t.errorAt("unknown extension ?P"+tokString(c), tokLen(c)+2)
			}
		case !tok.esc && tok.c == ':':
			capture = false
		case !tok.esc && tok.c == '#':
			for {
				if t.next.eof {
					t.errorAt("missing ), unterminated comment", t.tell()-start)
				}
				if c := t.get(); !c.esc && c.c == ')' {
					break
				}
			}
			return nil
		case !tok.esc && (tok.c == '=' || tok.c == '!' || tok.c == '<'):
			c := tok.c
			behind := false
			saved := p.lookbehindGroups
			if c == '<' {
				n := t.get()
				if n.eof {
					t.errorAt("unexpected end of pattern", 0)
				}
				if n.esc || (n.c != '=' && n.c != '!') {
					t.errorAt("unknown extension ?<"+tokString(n), tokLen(n)+2)
				}
				c = n.c
				behind = true
				if saved < 0 {
					p.lookbehindGroups = p.groups()
				}
			}
			sub := p.parseSub(*verbose, nested+1)
			if behind && saved < 0 {
				p.lookbehindGroups = -1
			}
			if !t.match(')') {
				t.errorAt("missing ), unterminated subpattern", t.tell()-start)
			}
			return &item{op: opAssert, behind: behind, neg: c == '!', seq: sub}
		case !tok.esc && tok.c == '(':
			return p.parseConditional(verbose, nested, start)
		case !tok.esc && tok.c == '>':
			capture = false
			atomic = true
		case !tok.esc && (flagLetters[tok.c] != 0 || tok.c == '-'):
			a, d, global := p.parseFlags(tok.c)
			if global {
				if !first || hasItems {
					t.errorAt("global flags not at the start of the expression", t.tell()-start)
				}
				*verbose = p.flags&flagVerbose != 0
				return nil
			}
			add, del = a, d
			capture = false
		default:
			t.errorAt("unknown extension ?"+tokString(tok), tokLen(tok)+1)
		}
	}
	group := 0
	if capture {
		group = p.openGroup(name, hasName)
	}
	subVerbose := (*verbose || add&flagVerbose != 0) && del&flagVerbose == 0
	sub := p.parseSub(subVerbose, nested+1)
	if !t.match(')') {
		t.errorAt("missing ), unterminated subpattern", t.tell()-start)
	}
	if group > 0 {
		w := p.width(sub)
		p.widths[group] = &w
	}
	if atomic {
		return &item{op: opAtomic, seq: sub}
	}
	return &item{op: opSubpattern, group: group, add: add, del: del, seq: sub}
}

func tokLen(tok token) int {
	switch {
	case tok.eof:
		return 0
	case tok.esc:
		return 2
	}
	return 1
}

func (p *parser) parseConditional(verbose *bool, nested, start int) *item {
	t := p.t
	condName := t.getUntil(')', "group name")
	var gid int
	if isIdentifier(condName) {
		p.checkGroupName(condName, 1)
		g, ok := p.names[condName]
		if !ok {
			t.errorAt("unknown group name "+protocol.ReprString(condName), len([]rune(condName))+1)
		}
		gid = g
	} else {
		ok := condName != "" && len(condName) <= 12
		for _, c := range condName {
			ok = ok && isDigit(c)
		}
		if !ok {
			// Python's int() also takes signs, spaces, '_' and other
			// scripts' digits here, with a deprecation warning.
			t.errorAt("bad character in group name "+protocol.ReprString(condName), len([]rune(condName))+1)
		}
		gid, _ = strconv.Atoi(condName)
		if gid == 0 {
			t.errorAt("bad group number", len([]rune(condName))+1)
		}
		if gid >= maxGroups {
			t.errorAt(fmt.Sprintf("invalid group reference %d", gid), len([]rune(condName))+1)
		}
		if _, seen := p.grouprefPos[gid]; !seen {
			p.grouprefPos[gid] = t.tell() - len([]rune(condName)) - 1
		}
	}
	p.checkLookbehindGroup(gid)
	yes := p.parseSeq(verbose, nested+1, false)
	it := &item{op: opGroupExists, group: gid, seq: yes}
	if t.match('|') {
		it.no = p.parseSeq(verbose, nested+1, false)
		it.hasNo = true
		if t.is('|') {
			t.errorAt("conditional backref with more than two branches", 0)
		}
	}
	if !t.match(')') {
		t.errorAt("missing ), unterminated subpattern", t.tell()-start)
	}
	return it
}

// parseFlags parses (?flags) or (?flags-flags: after its first letter.
func (p *parser) parseFlags(c rune) (add, del pyFlags, global bool) {
	t := p.t
	tok := token{c: c}
	if c != '-' {
		for {
			f := flagLetters[tok.c]
			if tok.c == 'L' {
				t.errorAt("bad inline flags: cannot use 'L' flag with a str pattern", 0)
			}
			add |= f
			if f&typeFlags != 0 && add&typeFlags != f {
				t.errorAt("bad inline flags: flags 'a', 'u' and 'L' are incompatible", 0)
			}
			tok = t.get()
			if tok.eof {
				t.errorAt("missing -, : or )", 0)
			}
			if !tok.esc && strings.ContainsRune(")-:", tok.c) {
				break
			}
			if tok.esc || flagLetters[tok.c] == 0 {
				msg := "missing -, : or )"
				if !tok.esc && unicode.IsLetter(tok.c) {
					msg = "unknown flag"
				}
				t.errorAt(msg, tokLen(tok))
			}
		}
	}
	if tok.c == ')' {
		p.flags |= add
		return 0, 0, true
	}
	if add&globalFlags != 0 {
		t.errorAt("bad inline flags: cannot turn on global flag", 1)
	}
	if tok.c == '-' {
		tok = t.get()
		if tok.eof {
			t.errorAt("missing flag", 0)
		}
		if tok.esc || flagLetters[tok.c] == 0 {
			msg := "missing flag"
			if !tok.esc && unicode.IsLetter(tok.c) {
				msg = "unknown flag"
			}
			t.errorAt(msg, tokLen(tok))
		}
		for {
			f := flagLetters[tok.c]
			if f&typeFlags != 0 {
				t.errorAt("bad inline flags: cannot turn off flags 'a', 'u' and 'L'", 0)
			}
			del |= f
			tok = t.get()
			if tok.eof {
				t.errorAt("missing :", 0)
			}
			if !tok.esc && tok.c == ':' {
				break
			}
			if tok.esc || flagLetters[tok.c] == 0 {
				msg := "missing :"
				if !tok.esc && unicode.IsLetter(tok.c) {
					msg = "unknown flag"
				}
				t.errorAt(msg, tokLen(tok))
			}
		}
	}
	if del&globalFlags != 0 {
		t.errorAt("bad inline flags: cannot turn off global flag", 1)
	}
	if add&del != 0 {
		t.errorAt("bad inline flags: flag turned on and off", 1)
	}
	return add, del, false
}

var simpleEscapes = map[rune]rune{
	'a': '\a', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\\': '\\',
}

var categoryEscapes = map[rune]category{
	'd': catDigit, 'D': catNotDigit, 's': catSpace, 'S': catNotSpace,
	'w': catWord, 'W': catNotWord,
}

// numericEscape reads \x, \u, \U and \N; ok is false for other letters.
func (p *parser) numericEscape(c rune) (rune, bool) {
	t := p.t
	switch c {
	case 'x', 'u', 'U':
		n := map[rune]int{'x': 2, 'u': 4, 'U': 8}[c]
		h := t.getWhile(n, isHexDigit)
		if len(h) != n {
			t.errorAt(fmt.Sprintf("incomplete escape \\%c%s", c, h), len(h)+2)
		}
		v, _ := strconv.ParseUint(h, 16, 32)
		if v > maxRune {
			t.errorAt(fmt.Sprintf("bad escape \\%c%s", c, h), len(h)+2)
		}
		return rune(v), true
	case 'N':
		pos := t.tell() - 2
		if !t.match('{') {
			t.errorAt("missing {", 0)
		}
		t.getUntil('}', "character name")
		panic(parseError{&UnsupportedError{Construct: `\N{...} (named character)`, Pos: pos}})
	}
	return 0, false
}

// escape parses an escape outside a set (_escape).
func (p *parser) escape(c rune) *item {
	t := p.t
	switch c {
	case 'A':
		return &item{op: opAt, at: atBeginningString}
	case 'b':
		return &item{op: opAt, at: atBoundary}
	case 'B':
		return &item{op: opAt, at: atNonBoundary}
	case 'Z':
		return &item{op: opAt, at: atEndString}
	}
	if cat, ok := categoryEscapes[c]; ok {
		return &item{op: opIn, members: []member{{kind: memCategory, cat: cat}}}
	}
	if r, ok := simpleEscapes[c]; ok {
		return &item{op: opLiteral, c: r}
	}
	if r, ok := p.numericEscape(c); ok {
		return &item{op: opLiteral, c: r}
	}
	if c == '0' {
		o := t.getWhile(2, isOctDigit)
		v, _ := strconv.ParseUint("0"+o, 8, 32)
		return &item{op: opLiteral, c: rune(v)}
	}
	if isDigit(c) {
		esc := string(c)
		if !t.next.eof && !t.next.esc && isDigit(t.next.c) {
			esc += string(t.get().c)
			if isOctDigit(rune(esc[0])) && isOctDigit(rune(esc[1])) &&
				!t.next.eof && !t.next.esc && isOctDigit(t.next.c) {
				esc += string(t.get().c)
				v, _ := strconv.ParseUint(esc, 8, 32)
				if v > 0o377 {
					t.errorAt(fmt.Sprintf("octal escape value \\%s outside of range 0-0o377", esc), len(esc)+1)
				}
				return &item{op: opLiteral, c: rune(v)}
			}
		}
		g, _ := strconv.Atoi(esc)
		if g < p.groups() {
			if !p.checkGroup(g) {
				t.errorAt("cannot refer to an open group", len(esc)+1)
			}
			p.checkLookbehindGroup(g)
			return &item{op: opGroupref, group: g}
		}
		t.errorAt(fmt.Sprintf("invalid group reference %d", g), len(esc))
	}
	if isASCIILetter(c) {
		t.errorAt(fmt.Sprintf("bad escape \\%c", c), 2)
	}
	return &item{op: opLiteral, c: c}
}

// classEscape parses an escape inside a set (_class_escape); isIn is true
// for the category escapes, which cannot end a range.
func (p *parser) classEscape(c rune) (m member, isIn bool) {
	t := p.t
	if r, ok := simpleEscapes[c]; ok {
		return member{kind: memLiteral, lo: r}, false
	}
	if c == 'b' {
		return member{kind: memLiteral, lo: '\b'}, false
	}
	if cat, ok := categoryEscapes[c]; ok {
		return member{kind: memCategory, cat: cat}, true
	}
	if r, ok := p.numericEscape(c); ok {
		return member{kind: memLiteral, lo: r}, false
	}
	if isOctDigit(c) {
		o := t.getWhile(2, isOctDigit)
		v, _ := strconv.ParseUint(string(c)+o, 8, 32)
		if v > 0o377 {
			t.errorAt(fmt.Sprintf("octal escape value \\%c%s outside of range 0-0o377", c, o), len(o)+2)
		}
		return member{kind: memLiteral, lo: rune(v)}, false
	}
	if isDigit(c) || isASCIILetter(c) {
		t.errorAt(fmt.Sprintf("bad escape \\%c", c), 2)
	}
	return member{kind: memLiteral, lo: c}, false
}

// width is SubPattern.getwidth: the least and most code points s can
// match, saturated as CPython saturates them.
func (p *parser) width(s seq) width {
	lo, hi := 0, 0
	for _, it := range s {
		var i, j int
		switch it.op {
		case opBranch:
			i, j = maxRepeat-1, 0
			for _, a := range it.alts {
				w := p.width(a)
				i, j = min(i, w.lo), max(j, w.hi)
			}
		case opAtomic, opSubpattern:
			w := p.width(it.seq)
			i, j = w.lo, w.hi
		case opRepeat:
			w := p.width(it.seq)
			i, j = satMul(w.lo, it.min), satMul(w.hi, it.max)
		case opLiteral, opNotLiteral, opIn, opAny:
			i, j = 1, 1
		case opGroupref:
			w := p.widths[it.group]
			i, j = w.lo, w.hi
		case opGroupExists:
			w := p.width(it.seq)
			i, j = w.lo, w.hi
			if it.hasNo {
				n := p.width(it.no)
				i, j = min(i, n.lo), max(j, n.hi)
			} else {
				i = 0
			}
		}
		lo, hi = satAdd(lo, i), satAdd(hi, j)
	}
	return width{min(lo, maxRepeat-1), min(hi, maxRepeat)}
}

func satAdd(a, b int) int { return min(a+b, maxRepeat) }

func satMul(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > maxRepeat/b {
		return maxRepeat
	}
	return min(a*b, maxRepeat)
}
