package source

import (
	"strings"
)

// ParseJournalMatch reads a filter's journalmatch option as fail2ban does:
// each line is split like a shell command line (Python's shlex.split) and
// becomes one OR group; within a line, "+" separates OR groups and terms
// are ANDed (the same FIELD twice is ORed), as journalctl takes them. The
// result is the argument list for journalctl ("+" between groups).
func ParseJournalMatch(value string) ([]string, error) {
	var out []string
	for _, line := range strings.Split(value, "\n") {
		words, err := shlexSplit(line)
		if err != nil {
			return nil, errorf("%w: %q: %v", ErrMatch, line, err)
		}
		if len(words) == 0 {
			continue
		}
		if len(out) > 0 {
			out = append(out, "+")
		}
		out = append(out, words...)
	}
	if err := checkMatches(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkMatches refuses what journalctl (or sd_journal_add_match) would:
// a term that is not FIELD=value with FIELD of A-Z, 0-9 and _ not
// starting with a digit, and a "+" that does not separate two groups.
func checkMatches(ms []string) error {
	for i, m := range ms {
		if m == "+" {
			if i == 0 || i == len(ms)-1 || ms[i-1] == "+" {
				return errorf("%w: %q: \"+\" must separate two groups", ErrMatch, strings.Join(ms, " "))
			}
			continue
		}
		field, _, ok := strings.Cut(m, "=")
		if !ok || !validField(field) {
			return errorf("%w: %q (FIELD=value)", ErrMatch, m)
		}
	}
	return nil
}

func validField(f string) bool {
	if f == "" || len(f) > 64 || (f[0] >= '0' && f[0] <= '9') {
		return false
	}
	for _, c := range []byte(f) {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// shlexSplit splits s as Python's shlex.split (POSIX mode, no comments):
// blanks separate words; '...' is literal; in "..." a backslash escapes
// only " and \; elsewhere a backslash escapes any character.
func shlexSplit(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errorf("no escaped character")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errorf("no closing quotation")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errorf("no closing quotation")
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
