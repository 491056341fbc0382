package dates

import (
	"strings"
	"time"
)

// A Zone turns instants into local wall-clock time and back. It is either a
// fixed offset (a logtimezone, see ParseZone) or a zone as the C library
// reads a TZ value (see ZoneFromTZ and LocalZone): a POSIX rule string or a
// compiled zone file. Zones are immutable and safe for concurrent use.
type Zone struct {
	name   string
	fixed  bool
	offset int // seconds east of UTC, fixed zones
	posix  *posixTZ
	file   *tzFile
}

// String returns the text the zone was made from.
func (z *Zone) String() string { return z.name }

// Fixed reports whether the zone is a fixed offset (a logtimezone), and
// the offset in seconds east of UTC.
func (z *Zone) Fixed() (offset int, ok bool) { return z.offset, z.fixed }

// Lookup returns the abbreviation, the offset east of UTC in seconds and
// whether daylight saving time is in effect at t, as localtime(3) would.
func (z *Zone) Lookup(t time.Time) (abbr string, offset int, dst bool) {
	return z.lookup(t.Unix())
}

func (z *Zone) lookup(t int64) (abbr string, offset int, dst bool) { return z.lookupIn(t, nil) }

// lookupIn is lookup with a cache of the zone's switches (nil: none).
func (z *Zone) lookupIn(t int64, ys *yearSwitches) (abbr string, offset int, dst bool) {
	switch {
	case z.fixed:
		return z.name, z.offset, false
	case z.file != nil:
		return z.file.lookupIn(t, ys)
	case z.posix != nil:
		return z.posix.lookupIn(t, ys)
	}
	return "UTC", 0, false
}

// UTC is the zone of coordinated universal time.
var UTC = &Zone{name: "UTC", fixed: true}

// ParseZone reads a logtimezone value as fail2ban's validateTimeZone does:
// an optional zone abbreviation from fail2ban's table (1 or 3 to 5 upper-case
// letters: UTC, GMT, Z, CET, CEST, EST, ...) followed by an optional offset
// [+-]hh, [+-]hhmm or [+-]hh:mm that is added to it: "UTC", "UTC+0400",
// "+0100", "CET+01", "CEST-01". The result is a fixed offset; "CET" does not
// switch to summer time. The empty string is UTC, as in fail2ban.
func ParseZone(s string) (*Zone, error) {
	minutes, err := fixedOffset(s)
	if err != nil {
		return nil, badZone("logtimezone %q: %v", s, err)
	}
	return &Zone{name: s, fixed: true, offset: minutes * 60}, nil
}

// fixedOffset converts a zone abbreviation with optional offset to minutes
// east of UTC, as fail2ban's zone2offset does for a string. A value of the
// wrong form is ErrBadDate (fail2ban's ValueError); a well-formed
// abbreviation fail2ban does not know is ErrLineFailed (its KeyError).
func fixedOffset(s string) (int, error) {
	// Python's $ also matches before a final newline.
	s = strings.TrimSuffix(s, "\n")
	letters := 0
	for letters < len(s) && s[letters] >= 'A' && s[letters] <= 'Z' {
		letters++
	}
	switch letters {
	case 0, 1, 3, 4, 5:
	default:
		return 0, badDate("unknown or unsupported time zone %q", s)
	}
	abbr, rest := s[:letters], []rune(s[letters:])
	off := 0
	if len(rest) > 0 {
		v, ok := parseOffsetRunes(rest)
		if !ok {
			return 0, badDate("unknown or unsupported time zone %q", s)
		}
		off = v
	}
	base, known := zoneAbbrevs[abbr]
	if abbr == "" {
		base, known = 0, true
	}
	if !known {
		return 0, lineFailed("unknown time zone abbreviation %q", abbr)
	}
	return base + off, nil
}

// parseOffsetRunes reads [+-][01]d, [+-][01]ddd or [+-][01]d:dd (d any
// Unicode decimal digit) to minutes, the whole input.
func parseOffsetRunes(r []rune) (int, bool) {
	if len(r) < 3 || (r[0] != '+' && r[0] != '-') || (r[1] != '0' && r[1] != '1') {
		return 0, false
	}
	sign := 1
	if r[0] == '-' {
		sign = -1
	}
	h1, _ := digitValue(r[1])
	h2, ok := digitValue(r[2])
	if !ok {
		return 0, false
	}
	hours := h1*10 + h2
	var mm []rune
	switch {
	case len(r) == 3:
		return sign * hours * 60, true
	case len(r) == 5:
		mm = r[3:5]
	case len(r) == 6 && r[3] == ':':
		mm = r[4:6]
	default:
		return 0, false
	}
	m1, ok1 := digitValue(mm[0])
	m2, ok2 := digitValue(mm[1])
	if !ok1 || !ok2 {
		return 0, false
	}
	return sign * (hours*60 + m1*10 + m2), true
}
