package dates

// POSIX TZ strings (std offset [dst [offset] [,start[/time],end[/time]]]),
// read and evaluated with the GNU C library's rules, which fail2ban gets
// through time.mktime and datetime.fromtimestamp: names of 3 or more
// letters or <quoted>, offsets [+-]hh[:mm[:ss]] west of UTC (hours capped
// at 24), a DST offset one hour ahead of standard time by default, rules
// Jn (1..365, 29 February never counted), n (0..365) and Mm.w.d, switch
// times 02:00:00 by default (any hours, negative allowed), and the year of
// a switch taken from the UTC date of the instant.

type ruleKind uint8

const (
	ruleJulian0 ruleKind = iota // n: zero-based day of year, leap day counted
	ruleJulian1                 // Jn: 1..365, leap day never counted
	ruleMonth                   // Mm.w.d
)

// posixRule is one switch: to DST (start) or back (end).
type posixRule struct {
	kind    ruleKind
	m, n, d int
	secs    int // local time of day of the switch
}

// posixTZ is a parsed TZ string. offsets are seconds east of UTC.
type posixTZ struct {
	stdName, dstName string
	stdOff, dstOff   int
	start, end       posixRule
}

// posixParse holds the outcome of reading a TZ string.
type posixParse struct {
	tz posixTZ
	// complete: the whole string was valid, DST rules included when there
	// is a DST name.
	complete bool
	// noRules: there is a DST zone but no rules; the C library then takes
	// the switch dates from the posixrules zone file.
	noRules bool
}

type tzScanner struct {
	s string
	i int
}

func (sc *tzScanner) peek() byte {
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

func isAlphaASCII(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigitASCII(c byte) bool { return c >= '0' && c <= '9' }
func isCSpace(c byte) bool     { return c == ' ' || c >= '\t' && c <= '\r' }

// name reads a zone name: 3 or more letters, or <...> of 3 or more
// letters, digits, + and -.
func (sc *tzScanner) name() (string, bool) {
	j := sc.i
	for j < len(sc.s) && isAlphaASCII(sc.s[j]) {
		j++
	}
	if j-sc.i >= 3 {
		n := sc.s[sc.i:j]
		sc.i = j
		return n, true
	}
	if sc.peek() != '<' {
		return "", false
	}
	j = sc.i + 1
	for j < len(sc.s) && (isAlphaASCII(sc.s[j]) || isDigitASCII(sc.s[j]) || sc.s[j] == '+' || sc.s[j] == '-') {
		j++
	}
	if j >= len(sc.s) || sc.s[j] != '>' || j-(sc.i+1) < 3 {
		return "", false
	}
	n := sc.s[sc.i+1 : j]
	sc.i = j + 1
	return n, true
}

// scanUnsigned reads what scanf's %hu reads at s[i:]: optional white space, an
// optional sign and decimal digits, as an unsigned short (wrapping).
func scanUnsigned(s string, i int) (v int, next int, ok bool) {
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	j := i
	var u uint64
	for j < len(s) && isDigitASCII(s[j]) {
		if u < 1<<60 {
			u = u*10 + uint64(s[j]-'0')
		} else {
			u = ^uint64(0) // strtoul saturates
		}
		j++
	}
	if j == i {
		return 0, i, false
	}
	if neg {
		u = -u
	}
	return int(uint16(u)), j, true
}

// scanHMS reads "%hu%n:%hu%n:%hu%n" as sscanf does: the number of fields read
// and the position after the last one read.
func scanHMS(s string, i int, h, m, sec *int) (fields, next int) {
	next = i
	v, j, ok := scanUnsigned(s, i)
	if !ok {
		return 0, next
	}
	*h, next, fields = v, j, 1
	if j >= len(s) || s[j] != ':' {
		return fields, next
	}
	v, j, ok = scanUnsigned(s, j+1)
	if !ok {
		return fields, next
	}
	*m, next, fields = v, j, 2
	if j >= len(s) || s[j] != ':' {
		return fields, next
	}
	v, j, ok = scanUnsigned(s, j+1)
	if !ok {
		return fields, next
	}
	*sec, next, fields = v, j, 3
	return fields, next
}

// offset reads an offset; which is 0 for standard time, 1 for DST.
func (sc *tzScanner) offset(p *posixTZ, which int) bool {
	c := sc.peek()
	if which == 0 && (c == 0 || c != '+' && c != '-' && !isDigitASCII(c)) {
		return false
	}
	sign := -1
	if c == '+' || c == '-' {
		if c == '-' {
			sign = 1
		}
		sc.i++
	}
	var h, m, s int
	n, next := scanHMS(sc.s, sc.i, &h, &m, &s)
	if n == 0 {
		if which == 0 {
			p.stdOff = 0
			return false
		}
		p.dstOff = p.stdOff + 3600
		return true
	}
	v := sign * (min(s, 59) + min(m, 59)*60 + min(h, 24)*3600)
	if which == 0 {
		p.stdOff = v
	} else {
		p.dstOff = v
	}
	sc.i = next
	return true
}

// rule reads one switch rule into r; which is 0 for the start of DST.
func (sc *tzScanner) rule(r *posixRule, which int) bool {
	if sc.peek() == ',' {
		sc.i++
	}
	c := sc.peek()
	switch {
	case c == 'J' || isDigitASCII(c):
		r.kind = ruleJulian0
		if c == 'J' {
			r.kind = ruleJulian1
			sc.i++
			if !isDigitASCII(sc.peek()) {
				return false
			}
		}
		j := sc.i
		var d uint64
		for j < len(sc.s) && isDigitASCII(sc.s[j]) {
			if d < 1<<40 {
				d = d*10 + uint64(sc.s[j]-'0')
			}
			j++
		}
		if d > 365 || (r.kind == ruleJulian1 && d == 0) {
			return false
		}
		r.d = int(d)
		sc.i = j
	case c == 'M':
		// Like sscanf("M%hu.%hu.%hu"), fields are stored as they are read,
		// so a malformed rule leaves a partial one behind, as in the C
		// library.
		r.kind = ruleMonth
		fields := [3]*int{&r.m, &r.n, &r.d}
		j := sc.i + 1
		for k, f := range fields {
			if k > 0 {
				if j >= len(sc.s) || sc.s[j] != '.' {
					return false
				}
				j++
			}
			v, next, ok := scanUnsigned(sc.s, j)
			if !ok {
				return false
			}
			*f, j = v, next
		}
		if r.m < 1 || r.m > 12 || r.n < 1 || r.n > 5 || r.d > 6 {
			return false
		}
		sc.i = j
	case c == 0:
		// The C library's default: the United States rules since 2007.
		r.kind = ruleMonth
		if which == 0 {
			r.m, r.n, r.d = 3, 2, 0
		} else {
			r.m, r.n, r.d = 11, 1, 0
		}
	default:
		return false
	}
	switch sc.peek() {
	case 0, ',':
		r.secs = 2 * 3600
	case '/':
		sc.i++
		if sc.peek() == 0 {
			return false
		}
		neg := sc.peek() == '-'
		if neg {
			sc.i++
		}
		h, m, s := 2, 0, 0
		_, next := scanHMS(sc.s, sc.i, &h, &m, &s)
		sc.i = next
		r.secs = h*3600 + m*60 + s
		if neg {
			r.secs = -r.secs
		}
	default:
		return false
	}
	return true
}

// parsePOSIX reads a TZ string as the C library's __tzset_parse_tz does,
// including its partial results on malformed input.
func parsePOSIX(s string) posixParse {
	var out posixParse
	p := &out.tz
	sc := &tzScanner{s: s}
	name, ok := sc.name()
	if !ok {
		return out
	}
	p.stdName = name
	if !sc.offset(p, 0) {
		return out
	}
	if sc.peek() == 0 {
		p.dstName, p.dstOff = p.stdName, p.stdOff
		out.complete = true
		return out
	}
	if name, ok := sc.name(); ok {
		p.dstName = name
		sc.offset(p, 1)
		rest := sc.s[sc.i:]
		if rest == "" || rest == "," {
			out.noRules = true
		}
	}
	if sc.rule(&p.start, 0) {
		if sc.rule(&p.end, 1) {
			out.complete = p.dstName != "" && sc.i == len(sc.s)
		}
	}
	return out
}

// switchTime is the instant of a switch in the given year, as the C
// library's compute_change finds it; off is the offset in effect before
// the switch.
func switchTime(r posixRule, year int64, off int) int64 {
	var t int64
	if year > 1970 {
		t = ((year-1970)*365 + (year-1)/4 - 1970/4 - ((year-1)/100 - 1970/100) + ((year-1)/400 - 1970/400)) * secondsPerDay
	}
	switch r.kind {
	case ruleJulian1:
		t += int64(r.d-1) * secondsPerDay
		if r.d >= 60 && isLeap(year) {
			t += secondsPerDay
		}
	case ruleJulian0:
		t += int64(r.d) * secondsPerDay
	case ruleMonth:
		if r.m < 1 || r.m > 12 {
			// Only a malformed rule left behind by a failed parse has
			// such a month; the C library then reads outside its tables.
			r.m = 1
		}
		before := int64(0)
		for m := int64(1); m < int64(r.m); m++ {
			before += daysIn(year, m)
		}
		t += before * secondsPerDay
		// Zeller's congruence: day of the week of the first of the month.
		m1 := (r.m+9)%12 + 1
		yy0 := year
		if r.m <= 2 {
			yy0--
		}
		yy1, yy2 := yy0/100, yy0%100
		dow := ((26*int64(m1)-2)/10 + 1 + yy2 + yy2/4 + yy1/4 - 2*yy1) % 7
		if dow < 0 {
			dow += 7
		}
		d := int64(r.d) - dow
		if d < 0 {
			d += 7
		}
		dim := daysIn(year, int64(r.m))
		for i := 1; i < r.n; i++ {
			if d+7 >= dim {
				break
			}
			d += 7
		}
		t += d * secondsPerDay
	}
	return t - int64(off) + int64(r.secs)
}

func (p *posixTZ) lookup(t int64) (string, int, bool) { return p.lookupIn(t, nil) }

// yearSwitches keeps the switches of a POSIX zone in one year, for a
// Detector's conversions (one at a time), which mostly fall in the same
// year: the switches are computed once per year, not per lookup.
type yearSwitches struct {
	p        *posixTZ
	from, to int64 // the year (UTC)
	c0, c1   int64 // the switches to DST and back
}

// lookupIn is lookup with a cache of the switches (nil: none).
func (p *posixTZ) lookupIn(t int64, ys *yearSwitches) (string, int, bool) {
	var c0, c1 int64
	if ys != nil && ys.p == p && t >= ys.from && t < ys.to {
		c0, c1 = ys.c0, ys.c1
	} else {
		year, _, _ := civilFromDays(floorDiv(t, secondsPerDay))
		c0 = switchTime(p.start, year, p.stdOff)
		c1 = switchTime(p.end, year, p.dstOff)
		if ys != nil {
			*ys = yearSwitches{p, daysFromCivil(year, 1, 1) * secondsPerDay, daysFromCivil(year+1, 1, 1) * secondsPerDay, c0, c1}
		}
	}
	var dst bool
	if c0 > c1 {
		dst = t < c1 || t >= c0
	} else {
		dst = t >= c0 && t < c1
	}
	if dst {
		return p.dstName, p.dstOff, true
	}
	return p.stdName, p.stdOff, false
}
