package conf

import (
	"strings"
	"unicode"
)

// The helpers below give Go strings the meaning Python 3's str methods and
// re classes give them, since fail2ban's reader is built on those.

// isSpace reports whether Python's str.isspace (and re's \s) holds for r:
// Go's unicode.IsSpace plus the four information separators.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// isWord reports whether r is in Python re's \w for str patterns.
func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// strip is Python's str.strip().
func strip(s string) string { return strings.TrimFunc(s, isSpace) }

// rstrip is Python's str.rstrip().
func rstrip(s string) string { return strings.TrimRightFunc(s, isSpace) }

// lower is Python's str.lower() as configparser's optionxform uses it.
func lower(s string) string { return strings.ToLower(s) }

// pyJoin is Python's os.path.join(a, b): no cleaning, an absolute b wins.
func pyJoin(a, b string) string {
	if strings.HasPrefix(b, "/") {
		return b
	}
	if a == "" || strings.HasSuffix(a, "/") {
		return a + b
	}
	return a + "/" + b
}

// pyDirname is Python's os.path.dirname.
func pyDirname(p string) string {
	i := strings.LastIndexByte(p, '/') + 1
	head := p[:i]
	if head != "" && strings.Trim(head, "/") != "" {
		head = strings.TrimRight(head, "/")
	}
	return head
}

// pySplitextRoot is the root os.path.splitext(p) returns: p without its
// extension, where leading dots of the base name start no extension.
func pySplitextRoot(p string) string {
	sep := strings.LastIndexByte(p, '/')
	dot := strings.LastIndexByte(p, '.')
	if dot > sep {
		// the dot must follow some character of the base name other than dots
		for i := sep + 1; i < dot; i++ {
			if p[i] != '.' {
				return p[:dot]
			}
		}
	}
	return p
}

// pyInt is Python's int(s) for a str, for ASCII digits: surrounding
// whitespace, a sign, single underscores between digits.
func pyInt(s string) (int, bool) {
	s = strip(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	prevDigit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' && prevDigit && i+1 < len(s):
			prevDigit = false
		case c >= '0' && c <= '9':
			if n > (1<<31)/10 {
				return 0, false // far beyond any line count: refuse rather than wrap
			}
			n = n*10 + int(c-'0')
			prevDigit = true
		default:
			return 0, false
		}
	}
	if !prevDigit {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}
