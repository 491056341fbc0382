package dates

// Naive (zone-less) date and time arithmetic, as Python's datetime does it
// on the proleptic Gregorian calendar. A naive date-time is kept as the
// seconds since 1970-01-01 00:00:00 of the same calendar, as if it were UTC.

const secondsPerDay = 86400

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var monthDays = [13]int64{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(y, m int64) int64 {
	if m == 2 && isLeap(y) {
		return 29
	}
	return monthDays[m]
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// naive is a broken-down date and time without zone.
type naive struct {
	year, month, day, hour, minute, second int64
}

func (n naive) seconds() int64 {
	return daysFromCivil(n.year, n.month, n.day)*secondsPerDay + n.hour*3600 + n.minute*60 + n.second
}

func naiveFromSeconds(s int64) naive {
	days := floorDiv(s, secondsPerDay)
	rem := s - days*secondsPerDay
	y, m, d := civilFromDays(days)
	return naive{y, m, d, rem / 3600, rem / 60 % 60, rem % 60}
}

// Python's datetime range: year 1 to 9999.
var (
	minNaive = daysFromCivil(1, 1, 1) * secondsPerDay
	maxNaive = daysFromCivil(9999, 12, 31)*secondsPerDay + secondsPerDay - 1
)

func naiveInRange(s int64) bool { return s >= minNaive && s <= maxNaive }

// valid reports whether Python's datetime() accepts the fields.
func (n naive) valid() bool {
	return n.year >= 1 && n.year <= 9999 && n.month >= 1 && n.month <= 12 &&
		n.day >= 1 && n.day <= daysIn(n.year, n.month) &&
		n.hour >= 0 && n.hour < 24 && n.minute >= 0 && n.minute < 60 &&
		n.second >= 0 && n.second < 60
}
