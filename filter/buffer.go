package filter

import (
	"strings"

	"github.com/banserver/banserver/filter/pyre"
)

// tupleLine is a line cut around its date, fail2ban's (before, date,
// after) tuple: regexes see before+after, the matched lines of a ticket
// are the three joined.
type tupleLine struct {
	pre, date, post string
	// whole is pre+date+post when the line was cut around its own date
	// (the line as read), "" when not known.
	whole string
}

// text is the line as regexes see it, without its date.
func (t tupleLine) text() string { return t.pre + t.post }

// full is the whole line, as fail2ban keeps it in a ticket's matches.
func (t tupleLine) full() string {
	if t.whole != "" {
		return t.whole
	}
	return t.pre + t.date + t.post
}

// joinLines is fail2ban's Regex._tupleLinesBuf: each line without its
// date, each followed by a new line.
func joinLines(lines []tupleLine) string {
	if len(lines) == 1 {
		return lines[0].pre + lines[0].post + "\n"
	}
	n := 0
	for _, l := range lines {
		n += len(l.pre) + len(l.post) + 1
	}
	var b strings.Builder
	b.Grow(n)
	for _, l := range lines {
		b.WriteString(l.pre)
		b.WriteString(l.post)
		b.WriteByte('\n')
	}
	return b.String()
}

// found is one successful search of a buffer: the match and the buffer's
// lines split into those the match spans (less the lines <SKIPLINES>
// took) and the others, as fail2ban's Regex.search computes them.
type found struct {
	m         *pyre.Match
	matched   []tupleLine
	unmatched []tupleLine
}

// search runs r on buf, the joined form of org (or of a buffer that
// replaced it, as prefregex's content does), and splits org by the lines
// the match spans. ok is false when r does not match. With a single line
// the matched lines are org itself, not a copy.
func search(r *pyre.Regex, buf string, org []tupleLine) (f found, ok bool, err error) {
	m, err := r.Search(buf)
	if err != nil || m == nil {
		return found{}, false, err
	}
	return split(m, buf, org), true, nil
}

// split is search's answer for the match m of a regex on buf.
func split(m *pyre.Match, buf string, org []tupleLine) (f found) {
	f.m = m
	if len(org) <= 1 {
		f.matched = org
		return f
	}
	s, e := m.Span()
	// Start of the first line the match is on.
	lineStart := 0
	if i := strings.LastIndexByte(buf[:min(s+1, len(buf))], '\n'); i >= 0 {
		lineStart = i + 1
	}
	// End of the last line the match is on (after its new line). Python's
	// str.index with a start of -1 (an empty match at 0) searches from the
	// last character, which is always the buffer's final new line.
	lineEnd := len(buf)
	if e > 0 {
		if i := strings.IndexByte(buf[e-1:], '\n'); i >= 0 {
			lineEnd = e - 1 + i + 1
		}
	}
	c1 := strings.Count(buf[:lineStart], "\n")
	c2 := strings.Count(buf[:lineEnd], "\n")
	f.matched = pySlice(org, c1, c2)
	f.unmatched = pySlice(org, 0, c1)
	if skipped := m.SkippedLines(); len(skipped) > 0 {
		n := 0
		for _, sl := range skipped {
			for k := n; k < len(f.matched); k++ {
				if f.matched[k].text() == sl {
					f.unmatched = append(f.unmatched, f.matched[k])
					f.matched = append(f.matched[:k:k], f.matched[k+1:]...)
					n = k
					break
				}
			}
		}
	}
	f.unmatched = append(f.unmatched, pySlice(org, c2, len(org))...)
	return f
}

// pySlice is Python's l[i:j] for 0 <= i, j: a copy, the bounds clamped.
func pySlice(l []tupleLine, i, j int) []tupleLine {
	i, j = min(i, len(l)), min(j, len(l))
	if i >= j {
		return nil
	}
	return append([]tupleLine(nil), l[i:j]...)
}
