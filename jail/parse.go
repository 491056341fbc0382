package jail

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Forever is the ban time of a ban that never expires (fail2ban's -1).
const Forever time.Duration = -time.Second

// ParseAddr parses a user-supplied address. IPv4 and IPv6 are accepted; an
// IPv4-mapped IPv6 address becomes plain IPv4 so both spellings share one
// ban. Zones are refused: a ban is about a host, not an interface. Anything
// else yields ErrInvalidAddress with the offending text quoted.
func ParseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: %q", ErrInvalidAddress, s)
	}
	return a.Unmap(), nil
}

// ParseIgnore parses an ignoreip entry: an address (becoming a /32 or /128)
// or a CIDR, in either prefix-length or dotted-mask form ("192.0.2.0/24",
// "192.0.2.0/255.255.255.0"). The result is masked to its canonical form and
// IPv4-mapped prefixes become IPv4. Host names, which fail2ban resolves, are
// refused with ErrInvalidAddress: resolving is not this package's business.
func ParseIgnore(s string) (netip.Prefix, error) {
	bad := fmt.Errorf("%w: %q", ErrInvalidAddress, s)
	addrPart, bitsPart, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addrPart)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, bad
	}
	bits := a.BitLen()
	if hasBits {
		if n, err := strconv.Atoi(bitsPart); err == nil && bitsPart != "" && bitsPart[0] != '+' && bitsPart[0] != '-' {
			bits = n
		} else if m, err := netip.ParseAddr(bitsPart); err == nil && a.Is4() && m.Is4() {
			bits = maskBits(m.As4())
		} else {
			return netip.Prefix{}, bad
		}
	}
	p, err := a.Prefix(bits)
	if err != nil || bits < 0 {
		return netip.Prefix{}, bad
	}
	return normPrefix(p), nil
}

// maskBits returns the length of a contiguous dotted netmask, or -1.
func maskBits(m [4]byte) int {
	v := uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
	ones := 0
	for v&0x80000000 != 0 {
		ones++
		v <<= 1
	}
	if v != 0 {
		return -1
	}
	return ones
}

// normPrefix masks p and turns an IPv4-mapped prefix into IPv4, so that the
// ignore check, which sees unmapped addresses, matches it.
func normPrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// Seconds per unit, as in fail2ban's MyTime.str2seconds (month = year/12,
// year = 365.25 days).
const (
	secMinute = 60
	secHour   = 60 * secMinute
	secDay    = 24 * secHour
	secWeek   = 7 * secDay
	secYear   = (365*3 + 366) * secDay / 4
	secMonth  = float64(secYear) / 12
)

// durationUnits maps every unit spelling str2seconds accepts (its regexps
// expanded; matched case-insensitively) to seconds.
var durationUnits = map[string]float64{
	"d": secDay, "dd": secDay, "da": secDay, "day": secDay, "days": secDay,
	"w": secWeek, "ww": secWeek, "we": secWeek, "wee": secWeek, "week": secWeek, "weeks": secWeek,
	"mo": secMonth, "mon": secMonth, "month": secMonth, "months": secMonth,
	"y": secYear, "yy": secYear, "ye": secYear, "yea": secYear, "year": secYear, "years": secYear,
	"s": 1, "ss": 1, "se": 1, "sec": 1, "second": 1, "seconds": 1,
	"m": secMinute, "mm": secMinute, "mi": secMinute, "min": secMinute, "minute": secMinute, "minutes": secMinute,
	"h": secHour, "hh": secHour, "ho": secHour, "hou": secHour, "hour": secHour, "hours": secHour,
}

// ParseDuration implements fail2ban's MyTime.str2seconds for the forms people
// write: plain or float seconds ("600", "0.5"), "-1" (Forever), unit
// suffixes short or long ("30m", "1h", "2mo", "1y", "30min", "2 days"),
// groups side by side or space separated, which add up ("1h30m", "1h 30m",
// "1d12h", "1h 30" = 3630s), and explicit + or - between groups
// ("1year-6mo"). fail2ban evaluates the rewritten text as Python; this is a
// small parser for the same language minus the rest of Python, including
// its accidents: "1h days" (which multiplies) and "2m." (a float glued to
// the unit's factor) are refused. Anything refused yields ErrInvalidValue.
// The result is seconds as a time.Duration.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%w: duration %q", ErrInvalidValue, s)
	i, n := 0, len(s)
	skipSpace := func() {
		for i < n && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	total := 0.0
	terms := 0
	// What the previous group left for str2seconds' digit-space-digit
	// join: whether it had a unit, whether its rewritten text ends in a
	// digit, and whether that digit was already eaten by a join from the
	// left (the regexp's matches do not overlap, so "1 2 3" is an error).
	unit, endDigit, eaten := false, false, false
	for {
		ws := i
		skipSpace()
		if i == n {
			break
		}
		sign := 1.0
		joined := false
		if s[i] == '+' || s[i] == '-' {
			// A binary operator, then any unary ones ("1--2", "+-1"), as
			// Python reads them.
			for i < n && (s[i] == '+' || s[i] == '-') {
				if s[i] == '-' {
					sign = -sign
				}
				i++
				skipSpace()
			}
		} else if terms > 0 {
			// Groups add up only where str2seconds joins them: a digit
			// after a space ("1 2") or after a unit ("1h30"); "1..5",
			// "1 .5" and "5. 1" are Python syntax errors.
			if !isDigit(s[i]) || !(unit || i > ws) || !endDigit || eaten {
				return 0, bad
			}
			joined = true
		}
		// number: digits [. digits] | . digits
		start := i
		for i < n && isDigit(s[i]) {
			i++
		}
		intDigits := i > start
		if i < n && s[i] == '.' {
			i++
			fs := i
			for i < n && isDigit(s[i]) {
				i++
			}
			// Python takes "1." and ".5" but not "."; and a unit right
			// after "." is not preceded by a digit or space, so str2seconds
			// leaves it alone and eval fails.
			if i == fs && (!intDigits || (i < n && isLetter(s[i]))) {
				return 0, bad
			}
		}
		if i == start {
			return 0, bad
		}
		if lit := s[start:i]; len(lit) > 1 && lit[0] == '0' && !strings.Contains(lit, ".") && strings.Trim(lit, "0") != "" {
			return 0, bad // Python 3 refuses "0600": leading zeros in an int
		}
		num, err := strconv.ParseFloat(s[start:i], 64)
		if err != nil {
			return 0, bad
		}
		numEnd := i
		skipSpace()
		ls := i
		for i < n && isLetter(s[i]) {
			i++
		}
		if i == ls {
			i = numEnd // no unit: leave the spaces to separate the next group
		}
		if i < n && s[i] == '_' { // \b in the Python regexp: "_" is a word character
			return 0, bad
		}
		mult := 1.0
		unit = i > ls
		if unit {
			u, ok := durationUnits[strings.ToLower(s[ls:i])]
			if !ok {
				return 0, bad
			}
			mult = u
		}
		total += sign * num * mult
		terms++
		endDigit = unit || isDigit(s[numEnd-1])
		eaten = joined && !unit && numEnd-start == 1
	}
	if terms == 0 {
		return 0, bad
	}
	ns := math.Round(total * float64(time.Second))
	if math.IsNaN(ns) || ns >= math.MaxInt64 || ns < math.MinInt64 {
		return 0, bad
	}
	return time.Duration(ns), nil
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
