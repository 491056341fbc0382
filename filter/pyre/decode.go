package pyre

import (
	"strings"
	"unicode/utf8"
)

// Decode is Python's bytes.decode("utf-8", "replace"), which fail2ban
// falls back to when a log line is not valid UTF-8: each maximal invalid
// subsequence becomes one U+FFFD (Go's conversions make one per byte).
// A valid line is returned as it is. Offsets in a Match are offsets in
// the decoded string.
func Decode(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	out.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			out.WriteByte(c)
			i++
			continue
		}
		n, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case 0xC2 <= c && c <= 0xDF:
			n = 1
		case c == 0xE0:
			n, lo = 2, 0xA0
		case 0xE1 <= c && c <= 0xEC, c == 0xEE, c == 0xEF:
			n = 2
		case c == 0xED:
			n, hi = 2, 0x9F
		case c == 0xF0:
			n, lo = 3, 0x90
		case 0xF1 <= c && c <= 0xF3:
			n = 3
		case c == 0xF4:
			n, hi = 3, 0x8F
		default: // a continuation byte or C0, C1, F5..FF: never valid
			out.WriteRune(utf8.RuneError)
			i++
			continue
		}
		j := i + 1
		ok := true
		for k := 0; k < n; k++ {
			if j >= len(b) {
				ok = false
				break
			}
			x := b[j]
			if k == 0 && (x < lo || x > hi) || k > 0 && (x < 0x80 || x > 0xBF) {
				ok = false
				break
			}
			j++
		}
		if ok {
			out.Write(b[i:j])
		} else {
			// The lead byte and the continuation bytes that fit so far
			// are one maximal subpart.
			out.WriteRune(utf8.RuneError)
		}
		i = j
	}
	return out.String()
}
