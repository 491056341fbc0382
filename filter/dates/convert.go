package dates

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Conversion of matched date text to an instant, as fail2ban's templates
// do it (DatePatternRegex with reGroupDictStrptime, DateEpoch, DateTai64n).

var (
	monthNames   = []string{"", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	monthAbbrs   = []string{"", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	weekdayNames = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	weekdayAbbrs = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
)

// indexOf finds Python's s.lower() in list.
func indexOf(list []string, s []rune) (int, bool) {
next:
	for i, v := range list {
		if len(v) != len(s) {
			continue
		}
		for j, r := range s {
			if unicode.ToLower(r) != rune(v[j]) {
				continue next
			}
		}
		return i, true
	}
	return 0, false
}

// opt is an optional integer (Python's None or a value).
type opt struct {
	v   int64
	set bool
}

func some(v int64) opt { return opt{v, true} }

// convCtx is what the conversion needs from the detector.
type convCtx struct {
	now     func() time.Time
	logZone *Zone // logtimezone, or nil
	local   *Zone
	guess   *int64 // the C library's mktime offset guess

	switches         yearSwitches // of local, for one year
	nowUnix, nowSecs int64        // the last nowNaive: its clock second and value
	nowFields        naive        // nowSecs broken down
	haveNow          bool
}

// nowNaive is fail2ban's MyTime.now(): the local wall-clock time of the
// reference clock. Its fraction of a second never matters: fail2ban only
// asks whether a date of whole seconds is later than it.
func (c *convCtx) nowNaive() int64 {
	u := c.now().Unix()
	if !c.haveNow || u != c.nowUnix {
		n := c.local.localNaiveIn(u, &c.switches)
		c.nowUnix, c.nowSecs, c.nowFields, c.haveNow = u, n.seconds(), n, true
	}
	return c.nowSecs
}

// dateFields are the values read from a date's groups so far: fail2ban's
// reGroupDictStrptime reads the groups in order (read), then makes the
// date (finish).
type dateFields struct {
	year, month, day, julian, week, weekday opt
	weekStartsSunday                        bool
	hour, minute, second                    int64
	tzoffset                                opt // minutes
}

// read reads the value v of the group named k (one of conversionKeys),
// as reGroupDictStrptime does, in the order of the groups.
func (df *dateFields) read(k byte, v []rune, pGroup bool, pText string, pOK bool) error {
	num := func(s []rune) (int64, error) {
		if v, ok := asciiInt(s); ok {
			return v, nil
		}
		v, ok, big := pyInt(s)
		if !ok {
			return 0, badDate("invalid literal for int(): %q", string(s))
		}
		if big {
			return 0, lineFailed("integer out of range: %q", string(s))
		}
		return v, nil
	}
	switch k {
	case 'y', 'Y', 'm', 'd', 'H', 'I', 'M', 'S', 'j', 'U', 'W', 'w':
		n, err := num(v)
		if err != nil {
			return err
		}
		switch k {
		case 'y':
			if n <= 2000 {
				n += 2000
			}
			df.year = some(n)
		case 'Y':
			df.year = some(n)
		case 'm':
			df.month = some(n)
		case 'd':
			df.day = some(n)
		case 'H':
			df.hour = n
		case 'I':
			df.hour = n
			if pGroup && !pOK {
				// fail2ban calls .lower() on the missing value.
				return lineFailed("%%I without its %%p")
			}
			switch strings.ToLower(pText) {
			case "", "am":
				if df.hour == 12 {
					df.hour = 0
				}
			case "pm":
				if df.hour != 12 {
					df.hour += 12
				}
			}
		case 'M':
			df.minute = n
		case 'S':
			df.second = n
		case 'j':
			df.julian = some(n)
		case 'U', 'W':
			df.week = some(n)
			df.weekStartsSunday = k == 'U'
		case 'w':
			n--
			if n < 0 {
				n = 6
			}
			df.weekday = some(n)
		}
	case 'B', 'b', 'A', 'a':
		list := monthNames
		switch k {
		case 'b':
			list = monthAbbrs
		case 'A':
			list = weekdayNames
		case 'a':
			list = weekdayAbbrs
		}
		i, ok := indexOf(list, v)
		if !ok {
			return badDate("%q is not in list", strings.ToLower(string(v)))
		}
		if k == 'B' || k == 'b' {
			df.month = some(int64(i))
		} else {
			df.weekday = some(int64(i))
		}
	case 'f':
		// fail2ban ignores fractions of pattern dates.
	case 'z', 'Z':
		m, err := zoneOffset(v)
		if err != nil {
			return err
		}
		df.tzoffset = some(int64(m))
	}
	return nil
}

// finish is the rest of reGroupDictStrptime: the date from its fields.
func (c *convCtx) finish(df *dateFields) (time.Time, error) {
	year, month, day, julian, week, weekday := df.year, df.month, df.day, df.julian, df.week, df.weekday
	weekStartsSunday, hour, minute, second, tzoffset := df.weekStartsSunday, df.hour, df.minute, df.second, df.tzoffset
	var nowSecs int64
	haveNow := false
	now := func() int64 {
		if !haveNow {
			nowSecs = c.nowNaive()
			haveNow = true
		}
		return nowSecs
	}
	assumeYear := false
	if !year.set {
		now()
		year = some(c.nowFields.year) // naiveFromSeconds(now()).year
		assumeYear = true
	}
	if !month.set || !day.set {
		if !julian.set && week.set && weekday.set {
			if year.v < 1 || year.v > 9999 {
				return time.Time{}, badDate("year %d is out of range", year.v)
			}
			julian = some(julianFromWeek(year.v, week.v, weekday.v, weekStartsSunday))
		}
		if julian.set {
			if year.v < 1 || year.v > 9999 {
				return time.Time{}, badDate("year %d is out of range", year.v)
			}
			ord := julian.v - 1 + daysFromCivil(year.v, 1, 1)
			if !naiveInRange(ord * secondsPerDay) {
				return time.Time{}, badDate("ordinal out of range")
			}
			y, m, d := civilFromDays(ord)
			year, month, day = some(y), some(m), some(d)
		}
	}
	assumeToday := false
	if !month.set && !day.set {
		now()
		n := c.nowFields // naiveFromSeconds(now())
		month, day = some(n.month), some(n.day)
		assumeToday = true
	}
	if !month.set || !day.set {
		return time.Time{}, lineFailed("a month without a day, or a day without a month")
	}
	dt := naive{year.v, month.v, day.v, hour, minute, second}
	if !dt.valid() {
		return time.Time{}, badDate("date out of range: %+v", dt)
	}
	res := dt.seconds()
	if !tzoffset.set && c.logZone != nil {
		tzoffset = some(int64(c.logZone.offset / 60))
	}
	if tzoffset.set {
		res -= tzoffset.v * 60
		if !naiveInRange(res) {
			return time.Time{}, lineFailed("date value out of range")
		}
	}
	// Comparisons with now are between naive values: fail2ban compares a
	// date moved to UTC (when it has a zone) with the local now.
	if assumeToday {
		// now has microseconds and the date none: at the same second the
		// date is not later.
		if res > now() {
			res -= secondsPerDay
			if !naiveInRange(res) {
				return time.Time{}, lineFailed("date value out of range")
			}
		}
	}
	if assumeYear {
		if res > now()+secondsPerDay {
			// the previous year, with the month and day of the text (not
			// of the date moved to UTC)
			n := naiveFromSeconds(res)
			n.year, n.month, n.day = year.v-1, month.v, day.v
			if !n.valid() {
				return time.Time{}, badDate("day is out of range for month")
			}
			res = n.seconds()
		}
	}
	if tzoffset.set {
		return time.Unix(res, 0), nil
	}
	// res is in range: naiveFromSeconds(res).seconds() == res.
	t, ok := c.local.mktimeSecs(res, c.guess, &c.switches)
	if !ok {
		return time.Time{}, lineFailed("mktime argument out of range")
	}
	return time.Unix(t, 0), nil
}

// asciiInt reads s when it is 1 to 9 ASCII digits, which is what pyInt
// would read; ok is false for anything else (pyInt decides then).
func asciiInt(s []rune) (int64, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	var v int64
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		v = v*10 + int64(r-'0')
	}
	return v, true
}

// zoneOffset is the offset in minutes of a %z or %Z value: 0 for Z, UTC
// and GMT, else fixedOffset's. An offset without abbreviation is read
// from the runes, without making a string.
func zoneOffset(v []rune) (int, error) {
	if runesAre(v, "Z") || runesAre(v, "UTC") || runesAre(v, "GMT") {
		return 0, nil
	}
	w := v
	if len(w) > 0 && w[len(w)-1] == '\n' {
		w = w[:len(w)-1] // as fixedOffset does
	}
	if len(w) > 0 && (w[0] == '+' || w[0] == '-') {
		// No abbreviation: fixedOffset reads the runes alone.
		if m, ok := parseOffsetRunes(w); ok {
			return m, nil
		}
	}
	return fixedOffset(string(v))
}

func runesAre(r []rune, s string) bool {
	if len(r) != len(s) {
		return false
	}
	for i, c := range r {
		if c != rune(s[i]) {
			return false
		}
	}
	return true
}

// julianFromWeek is the day of the year of a week number and weekday
// (Monday = 0), as Python's _strptime computes it.
func julianFromWeek(year, week, weekday int64, weekStartsSunday bool) int64 {
	first := (daysFromCivil(year, 1, 1) + 3) % 7 // Monday = 0
	if first < 0 {
		first += 7
	}
	if weekStartsSunday {
		first = (first + 1) % 7
		weekday = (weekday + 1) % 7
	}
	week0 := (7 - first) % 7
	if week == 0 {
		return 1 + weekday - first
	}
	return 1 + week0 + 7*(week-1) + weekday
}

// epochTime converts an epoch value as DateEpoch does: seconds with an
// optional fraction, or (long form) milli- or microseconds.
func epochTime(v string, long bool) time.Time {
	f := parseDecimal(v)
	if long && len(v) >= 13 {
		if len(v) >= 16 && !strings.Contains(v, ".") {
			f /= 1000000
		} else {
			f /= 1000
		}
	}
	return floatTime(f)
}

// parseDecimal reads digits with an optional fraction as Python's float().
func parseDecimal(v string) float64 {
	var ip, fp string = v, ""
	if i := strings.IndexByte(v, '.'); i >= 0 {
		ip, fp = v[:i], v[i+1:]
	}
	var digits []byte
	for _, s := range []string{ip, fp} {
		for _, r := range s {
			d, _ := digitValue(r)
			digits = append(digits, byte('0'+d))
		}
	}
	// Build "int.frac" in ASCII and let strconv round it like Python.
	s := string(digits[:len([]rune(ip))])
	if fp != "" {
		s += "." + string(digits[len([]rune(ip)):])
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// floatTime turns fail2ban's float seconds into a time, rounded to the
// microsecond (a float64 near 1e9 carries about 0.1 µs).
func floatTime(f float64) time.Time {
	sec := math.Floor(f)
	us := math.Round((f - sec) * 1e6)
	if us >= 1e6 {
		sec++
		us -= 1e6
	}
	return time.Unix(int64(sec), int64(us)*1000)
}
