package dates

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// translatePy rewrites a regular expression in the syntax of Python 3.11's
// re module (str pattern) into regexp2's, keeping Python's meaning: named
// groups (?P<n>...) and references (?P=n); \w, \W, \b and \B over Python's
// word characters (letters, numbers and _); \s with Python's white space;
// \Z as the very end; {,n} as {0,n}; a { that starts no quantifier as a
// literal; global flags only at the start; the verbose flag applied here.
// It refuses what Python refuses where regexp2 would accept something else.
func translatePy(src string) (string, error) {
	t := &pyTranslator{src: []rune(src), names: map[string]int{}}
	t.flags = append(t.flags, pyFlags{})
	if err := t.run(); err != nil {
		return "", fmt.Errorf("%q: %w", src, err)
	}
	return t.out.String(), nil
}

type pyFlags struct{ verbose, ascii bool }

type pyGroup struct {
	number int // capturing group number, 0 for other groups
	flags  pyFlags
}

type pyTranslator struct {
	src     []rune
	i       int
	out     strings.Builder
	flags   []pyFlags // innermost last
	stack   []pyGroup
	groups  int
	closed  map[int]bool
	names   map[string]int
	condNum []int // numeric conditional references, checked at the end
	topItem bool  // something was parsed at the top level
	topAlt  bool  // the top level has a second alternative
	// skipItem: what was just parsed (global flags) is no item
	skipItem bool
}

func (t *pyTranslator) cur() pyFlags { return t.flags[len(t.flags)-1] }

func (t *pyTranslator) peekAt(k int) rune {
	if t.i+k < len(t.src) {
		return t.src[t.i+k]
	}
	return -1
}

func (t *pyTranslator) word() string {
	if t.cur().ascii {
		return "[a-zA-Z0-9_]"
	}
	return `[\p{L}\p{N}_]`
}

func (t *pyTranslator) run() error {
	t.closed = map[int]bool{}
	for t.i < len(t.src) {
		c := t.src[t.i]
		if t.cur().verbose {
			if pyIsSpace(c) {
				t.i++
				continue
			}
			if c == '#' {
				for t.i < len(t.src) && t.src[t.i] != '\n' {
					t.i++
				}
				continue
			}
		}
		var err error
		switch c {
		case '\\':
			err = t.escape()
		case '[':
			err = t.class()
		case '(':
			err = t.group()
		case ')':
			if len(t.stack) == 0 {
				return fmt.Errorf("unbalanced parenthesis")
			}
			g := t.stack[len(t.stack)-1]
			t.stack = t.stack[:len(t.stack)-1]
			t.flags = t.flags[:len(t.flags)-1]
			if g.number > 0 {
				t.closed[g.number] = true
			}
			t.out.WriteByte(')')
			t.i++
		case '{':
			t.brace()
		case '|':
			if len(t.stack) == 0 {
				t.topAlt = true
			}
			t.out.WriteByte('|')
			t.i++
		default:
			t.out.WriteRune(c)
			t.i++
		}
		if err != nil {
			return err
		}
		if t.skipItem {
			t.skipItem = false
		} else if len(t.stack) == 0 && c != '|' {
			t.topItem = true
		}
	}
	if len(t.stack) > 0 {
		return fmt.Errorf("missing ), unterminated subpattern")
	}
	for _, n := range t.condNum {
		if n > t.groups {
			return fmt.Errorf("invalid group reference %d", n)
		}
	}
	return nil
}

// brace handles {: a quantifier {m}, {m,}, {,n}, {m,n}, or a literal.
func (t *pyTranslator) brace() {
	j := t.i + 1
	lo, hi := "", ""
	for j < len(t.src) && t.src[j] >= '0' && t.src[j] <= '9' {
		lo += string(t.src[j])
		j++
	}
	comma := false
	if j < len(t.src) && t.src[j] == ',' {
		comma = true
		j++
		for j < len(t.src) && t.src[j] >= '0' && t.src[j] <= '9' {
			hi += string(t.src[j])
			j++
		}
	}
	if t.i+1 >= len(t.src) || t.src[t.i+1] == '}' || j >= len(t.src) || t.src[j] != '}' {
		t.out.WriteString(`\{`)
		t.i++
		return
	}
	if lo == "" {
		lo = "0"
	}
	t.out.WriteString("{" + lo)
	if comma {
		t.out.WriteString("," + hi)
	}
	t.out.WriteString("}")
	t.i = j + 1
}

// literal writes one literal character outside a class.
func (t *pyTranslator) literal(r rune) {
	switch {
	case r < 0x20 || r == 0x7f:
		fmt.Fprintf(&t.out, `\u%04x`, r)
	case r < 0x80 && strings.ContainsRune(`\.^$|?*+()[]{}# `, r):
		t.out.WriteByte('\\')
		t.out.WriteRune(r)
	default:
		t.out.WriteRune(r)
	}
}

// classLiteral writes one literal character inside a class.
func (t *pyTranslator) classLiteral(r rune) {
	switch {
	case r < 0x20 || r == 0x7f:
		fmt.Fprintf(&t.out, `\u%04x`, r)
	case r < 0x80 && strings.ContainsRune(`\[]^-`, r):
		t.out.WriteByte('\\')
		t.out.WriteRune(r)
	default:
		t.out.WriteRune(r)
	}
}

func isOct(r rune) bool { return r >= '0' && r <= '7' }

func hexValue(rs []rune) (rune, bool) {
	v, err := strconv.ParseUint(string(rs), 16, 32)
	if err != nil || v > unicode.MaxRune {
		return 0, false
	}
	return rune(v), true
}

// numericEscape reads \x, \u, \U and octal escapes at t.i (the backslash);
// ok is false when the escape is none of them.
func (t *pyTranslator) numericEscape(inClass bool) (r rune, ok bool, err error) {
	c := t.peekAt(1)
	width := map[rune]int{'x': 2, 'u': 4, 'U': 8}[c]
	if width > 0 {
		if t.i+2+width > len(t.src) {
			return 0, false, fmt.Errorf(`incomplete escape \%c`, c)
		}
		v, good := hexValue(t.src[t.i+2 : t.i+2+width])
		if !good {
			return 0, false, fmt.Errorf(`bad escape \%c`, c)
		}
		t.i += 2 + width
		return v, true, nil
	}
	if c == '0' || (inClass && isOct(c)) {
		j := t.i + 2
		for j < len(t.src) && j < t.i+4 && isOct(t.src[j]) {
			j++
		}
		v, _ := strconv.ParseUint(string(t.src[t.i+1:j]), 8, 32)
		if v > 0o377 {
			return 0, false, fmt.Errorf("octal escape value outside of range 0-0o377")
		}
		t.i = j
		return rune(v), true, nil
	}
	return 0, false, nil
}

func (t *pyTranslator) escape() error {
	c := t.peekAt(1)
	if c < 0 {
		return fmt.Errorf("bad escape (end of pattern)")
	}
	ascii := t.cur().ascii
	if r, ok, err := t.numericEscape(false); err != nil || ok {
		if ok {
			t.literal(r)
		}
		return err
	}
	switch {
	case c >= '1' && c <= '9':
		j := t.i + 2
		if j < len(t.src) && t.src[j] >= '0' && t.src[j] <= '9' {
			if isOct(c) && isOct(t.src[j]) && j+1 < len(t.src) && isOct(t.src[j+1]) {
				v, _ := strconv.ParseUint(string(t.src[t.i+1:j+2]), 8, 32)
				if v > 0o377 {
					return fmt.Errorf("octal escape value outside of range 0-0o377")
				}
				t.literal(rune(v))
				t.i = j + 2
				return nil
			}
			j++
		}
		n, _ := strconv.Atoi(string(t.src[t.i+1 : j]))
		if n > t.groups {
			return fmt.Errorf("invalid group reference %d", n)
		}
		if !t.closed[n] {
			return fmt.Errorf("cannot refer to an open group")
		}
		fmt.Fprintf(&t.out, `\k<%d>`, n)
		t.i = j
		return nil
	case c == 'd' && ascii:
		t.out.WriteString("[0-9]")
	case c == 'D' && ascii:
		t.out.WriteString("[^0-9]")
	case c == 'd', c == 'D':
		t.out.WriteString(`\` + string(c))
	case c == 's' && ascii:
		t.out.WriteString(`[ \t\n\r\f\v]`)
	case c == 'S' && ascii:
		t.out.WriteString(`[^ \t\n\r\f\v]`)
	case c == 's':
		t.out.WriteString(`[\s\x1c-\x1f]`)
	case c == 'S':
		t.out.WriteString(`[^\s\x1c-\x1f]`)
	case c == 'w':
		t.out.WriteString(t.word())
	case c == 'W':
		t.out.WriteString("[^" + t.word()[1:])
	case c == 'b':
		w := t.word()
		t.out.WriteString("(?:(?<=" + w + ")(?!" + w + ")|(?<!" + w + ")(?=" + w + "))")
	case c == 'B':
		w := t.word()
		t.out.WriteString("(?:(?<=" + w + ")(?=" + w + ")|(?<!" + w + ")(?!" + w + "))")
	case c == 'A':
		t.out.WriteString(`\A`)
	case c == 'Z':
		t.out.WriteString(`\z`)
	case strings.ContainsRune("afnrtv", c):
		t.out.WriteString(`\` + string(c))
	case c < 0x80 && (unicode.IsLetter(c) || unicode.IsDigit(c)):
		return fmt.Errorf(`bad escape \%c`, c)
	default:
		t.literal(c)
	}
	t.i += 2
	return nil
}

// classEscape reads an escape inside a class; single is set when it
// stands for one character (usable in a range).
func (t *pyTranslator) classEscape() (text string, single rune, isSingle bool, err error) {
	c := t.peekAt(1)
	if c < 0 {
		return "", 0, false, fmt.Errorf("bad escape (end of pattern)")
	}
	if r, ok, err := t.numericEscape(true); err != nil || ok {
		return "", r, ok, err
	}
	ascii := t.cur().ascii
	t.i += 2
	switch {
	case c == 'd' && ascii:
		return "0-9", 0, false, nil
	case c == 's' && ascii:
		return `\x20\t\n\r\f\v`, 0, false, nil
	case c == 'w' && ascii:
		return "a-zA-Z0-9_", 0, false, nil
	case c == 'd', c == 'D', c == 'S', c == 'W':
		// \D, \S and \W inside a class keep regexp2's meaning, which is
		// Python's for all but rare characters.
		return `\` + string(c), 0, false, nil
	case c == 's':
		return `\s\x1c-\x1f`, 0, false, nil
	case c == 'w':
		return `\p{L}\p{N}_`, 0, false, nil
	case c == 'b':
		return "", '\b', true, nil
	case c == 'a':
		return "", '\a', true, nil
	case c == 'f':
		return "", '\f', true, nil
	case c == 'n':
		return "", '\n', true, nil
	case c == 'r':
		return "", '\r', true, nil
	case c == 't':
		return "", '\t', true, nil
	case c == 'v':
		return "", '\v', true, nil
	case c < 0x80 && (unicode.IsLetter(c) || unicode.IsDigit(c)):
		return "", 0, false, fmt.Errorf(`bad escape \%c`, c)
	}
	return "", c, true, nil
}

func (t *pyTranslator) class() error {
	start := t.i
	t.i++
	t.out.WriteByte('[')
	if t.peekAt(0) == '^' {
		t.out.WriteByte('^')
		t.i++
	}
	items := 0
	for {
		if t.i >= len(t.src) {
			return fmt.Errorf("unterminated character set at position %d", start)
		}
		c := t.src[t.i]
		if c == ']' && items > 0 {
			t.i++
			break
		}
		var text string
		var lo rune
		single := true
		if c == '\\' {
			var err error
			text, lo, single, err = t.classEscape()
			if err != nil {
				return err
			}
		} else {
			lo = c
			t.i++
		}
		items++
		if t.peekAt(0) == '-' {
			that := t.peekAt(1)
			if that < 0 {
				return fmt.Errorf("unterminated character set at position %d", start)
			}
			if that == ']' {
				t.i++
				if single {
					t.classLiteral(lo)
				} else {
					t.out.WriteString(text)
				}
				t.out.WriteString(`\-`)
				continue
			}
			t.i++
			var hi rune
			hiSingle := true
			if that == '\\' {
				var err error
				_, hi, hiSingle, err = t.classEscape()
				if err != nil {
					return err
				}
			} else {
				hi = that
				t.i++
			}
			if !single || !hiSingle || hi < lo {
				return fmt.Errorf("bad character range")
			}
			t.classLiteral(lo)
			t.out.WriteByte('-')
			t.classLiteral(hi)
			continue
		}
		if single {
			t.classLiteral(lo)
		} else {
			t.out.WriteString(text)
		}
	}
	t.out.WriteByte(']')
	return nil
}

func isPyIdentifier(s string) bool {
	for i, r := range s {
		if r == '_' || unicode.IsLetter(r) || (i > 0 && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Pc, r))) {
			continue
		}
		return false
	}
	return s != ""
}

func (t *pyTranslator) until(stop rune) (string, bool) {
	j := t.i
	for j < len(t.src) && t.src[j] != stop {
		j++
	}
	if j >= len(t.src) {
		return "", false
	}
	s := string(t.src[t.i:j])
	t.i = j + 1
	return s, true
}

func (t *pyTranslator) push(number int, f pyFlags) {
	t.stack = append(t.stack, pyGroup{number: number, flags: f})
	t.flags = append(t.flags, f)
}

func (t *pyTranslator) group() error {
	if t.peekAt(1) != '?' {
		t.groups++
		t.push(t.groups, t.cur())
		t.out.WriteByte('(')
		t.i++
		return nil
	}
	c := t.peekAt(2)
	switch {
	case c == 'P':
		switch t.peekAt(3) {
		case '<':
			t.i += 4
			name, ok := t.until('>')
			if !ok || !isPyIdentifier(name) {
				return fmt.Errorf("bad character in group name %q", name)
			}
			if _, dup := t.names[name]; dup {
				return fmt.Errorf("redefinition of group name %q", name)
			}
			t.groups++
			t.names[name] = t.groups
			t.push(t.groups, t.cur())
			t.out.WriteString("(?<" + name + ">")
			return nil
		case '=':
			t.i += 4
			name, ok := t.until(')')
			n, known := t.names[name]
			if !ok || !known {
				return fmt.Errorf("unknown group name %q", name)
			}
			if !t.closed[n] {
				return fmt.Errorf("cannot refer to an open group")
			}
			t.out.WriteString(`\k<` + name + ">")
			return nil
		}
		return fmt.Errorf("unknown extension ?P%c", t.peekAt(3))
	case c == ':' || c == '=' || c == '!' || c == '>':
		t.push(0, t.cur())
		t.out.WriteString("(?" + string(c))
		t.i += 3
		return nil
	case c == '<':
		d := t.peekAt(3)
		if d != '=' && d != '!' {
			return fmt.Errorf("unknown extension ?<%c", d)
		}
		t.push(0, t.cur())
		t.out.WriteString("(?<" + string(d))
		t.i += 4
		return nil
	case c == '#':
		t.i += 3
		if _, ok := t.until(')'); !ok {
			return fmt.Errorf("missing ), unterminated comment")
		}
		return nil
	case c == '(':
		t.i += 3
		cond, ok := t.until(')')
		if !ok {
			return fmt.Errorf("missing ), unterminated name")
		}
		if isPyIdentifier(cond) {
			if _, known := t.names[cond]; !known {
				return fmt.Errorf("unknown group name %q", cond)
			}
		} else {
			n, err := strconv.Atoi(cond)
			if err != nil || n < 0 || strings.ContainsAny(cond, "+-") {
				return fmt.Errorf("bad character in group name %q", cond)
			}
			if n == 0 {
				return fmt.Errorf("bad group number")
			}
			t.condNum = append(t.condNum, n)
		}
		t.push(0, t.cur())
		t.out.WriteString("(?(" + cond + ")")
		return nil
	case c >= 0 && strings.ContainsRune("aiLmsux-", c):
		return t.flagGroup()
	}
	return fmt.Errorf("unknown extension ?%c", c)
}

// flagGroup handles (?flags) and (?flags-flags:...).
func (t *pyTranslator) flagGroup() error {
	j := t.i + 2
	var on, off string
	f := t.cur()
	for j < len(t.src) && strings.ContainsRune("aiLmsux", t.src[j]) {
		on += string(t.src[j])
		j++
	}
	scoped := false
	if j < len(t.src) && t.src[j] == '-' {
		j++
		for j < len(t.src) && strings.ContainsRune("imsx", t.src[j]) {
			off += string(t.src[j])
			j++
		}
		if off == "" {
			return fmt.Errorf("missing flag")
		}
		if j >= len(t.src) || t.src[j] != ':' {
			return fmt.Errorf("missing :")
		}
	}
	if j >= len(t.src) || (t.src[j] != ')' && t.src[j] != ':') {
		return fmt.Errorf("missing -, : or )")
	}
	scoped = t.src[j] == ':'
	if strings.ContainsRune(on, 'L') {
		return fmt.Errorf("bad inline flags: cannot use 'L' flag with a str pattern")
	}
	if strings.ContainsRune(on, 'a') && strings.ContainsRune(on, 'u') {
		return fmt.Errorf("bad inline flags: flags 'a', 'u' and 'L' are incompatible")
	}
	keep := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			if strings.ContainsRune("ims", r) {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	if strings.ContainsRune(on, 'x') {
		f.verbose = true
	}
	if strings.ContainsRune(off, 'x') {
		f.verbose = false
	}
	if strings.ContainsRune(on, 'a') {
		f.ascii = true
	}
	if strings.ContainsRune(on, 'u') {
		f.ascii = false
	}
	t.i = j + 1
	if !scoped {
		if len(t.stack) > 0 || t.topItem || t.topAlt {
			return fmt.Errorf("global flags not at the start of the expression")
		}
		t.flags[0] = f
		if k := keep(on); k != "" {
			t.out.WriteString("(?" + k + ")")
		}
		// Global flags are no item of the expression.
		t.skipItem = true
		return nil
	}
	t.push(0, f)
	k, ko := keep(on), keep(off)
	switch {
	case k == "" && ko == "":
		t.out.WriteString("(?:")
	case ko == "":
		t.out.WriteString("(?" + k + ":")
	default:
		t.out.WriteString("(?" + k + "-" + ko + ":")
	}
	return nil
}
