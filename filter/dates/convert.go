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

// groupValue is one named group's text; ok is false when the group did not
// take part in the match.
type groupValue struct {
	key  string
	text []rune // a slice of the line
	ok   bool
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
}

// nowNaive is fail2ban's MyTime.now(): the local wall-clock time of the
// reference clock. Its fraction of a second never matters: fail2ban only
// asks whether a date of whole seconds is later than it.
func (c *convCtx) nowNaive() int64 {
	return c.local.localNaive(c.now().Unix()).seconds()
}

// fromFields converts named-group values as fail2ban's reGroupDictStrptime
// does. pGroup tells whether the template has an AM/PM group, pText and
// pOK its value.
func (c *convCtx) fromFields(vals []groupValue, pGroup bool, pText string, pOK bool) (time.Time, error) {
	var (
		year, month, day, julian, week, weekday opt
		weekStartsSunday                        bool
		hour, minute, second                    int64
		tzoffset                                opt // minutes
	)
	num := func(s []rune) (int64, error) {
		v, ok, big := pyInt(s)
		if !ok {
			return 0, badDate("invalid literal for int(): %q", string(s))
		}
		if big {
			return 0, lineFailed("integer out of range: %q", string(s))
		}
		return v, nil
	}
	for _, f := range vals {
		if !f.ok {
			continue
		}
		v := f.text
		switch f.key {
		case "y", "Y", "m", "d", "H", "I", "M", "S", "j", "U", "W", "w":
			n, err := num(v)
			if err != nil {
				return time.Time{}, err
			}
			switch f.key {
			case "y":
				if n <= 2000 {
					n += 2000
				}
				year = some(n)
			case "Y":
				year = some(n)
			case "m":
				month = some(n)
			case "d":
				day = some(n)
			case "H":
				hour = n
			case "I":
				hour = n
				if pGroup && !pOK {
					// fail2ban calls .lower() on the missing value.
					return time.Time{}, lineFailed("%%I without its %%p")
				}
				switch strings.ToLower(pText) {
				case "", "am":
					if hour == 12 {
						hour = 0
					}
				case "pm":
					if hour != 12 {
						hour += 12
					}
				}
			case "M":
				minute = n
			case "S":
				second = n
			case "j":
				julian = some(n)
			case "U", "W":
				week = some(n)
				weekStartsSunday = f.key == "U"
			case "w":
				n--
				if n < 0 {
					n = 6
				}
				weekday = some(n)
			}
		case "B", "b", "A", "a":
			list := monthNames
			switch f.key {
			case "b":
				list = monthAbbrs
			case "A":
				list = weekdayNames
			case "a":
				list = weekdayAbbrs
			}
			i, ok := indexOf(list, v)
			if !ok {
				return time.Time{}, badDate("%q is not in list", strings.ToLower(string(v)))
			}
			if f.key == "B" || f.key == "b" {
				month = some(int64(i))
			} else {
				weekday = some(int64(i))
			}
		case "f":
			// fail2ban ignores fractions of pattern dates.
		case "z", "Z":
			z := string(v)
			if z == "Z" || z == "UTC" || z == "GMT" {
				tzoffset = some(0)
				continue
			}
			m, err := fixedOffset(z)
			if err != nil {
				return time.Time{}, err
			}
			tzoffset = some(int64(m))
		}
	}

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
		year = some(naiveFromSeconds(now()).year)
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
		n := naiveFromSeconds(now())
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
	t, ok := c.local.mktime(naiveFromSeconds(res), c.guess)
	if !ok {
		return time.Time{}, lineFailed("mktime argument out of range")
	}
	return time.Unix(t, 0), nil
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
