package dates

import (
	"errors"
	"fmt"
)

// Errors of datepattern compilation and zone parsing.
var (
	// ErrBadPattern: a datepattern fail2ban cannot compile (bad strftime
	// code, bad regular expression, duplicate template).
	ErrBadPattern = errors.New("dates: invalid date pattern")
	// ErrBadZone: a logtimezone or TZ value that cannot be used.
	ErrBadZone = errors.New("dates: invalid time zone")
)

// Errors of date conversion, reported in Found.Err. fail2ban treats the
// two differently, so the engine must too: see Found.
var (
	// ErrBadDate: the date text matched a template but is not a valid date
	// (fail2ban's ValueError: 31 February, hour 25, an unknown month name,
	// a lower-case zone name). fail2ban logs "findFailure failed to parse
	// timeText" and goes on with the line as if it had no date.
	ErrBadDate = errors.New("dates: invalid date")
	// ErrLineFailed: fail2ban raises something other than ValueError while
	// reading the date (an unknown upper-case zone abbreviation, a month
	// without a day, a date out of range, an empty match at the end of the
	// line); its filter then drops the whole line ("Failed to process
	// line") and counts an error.
	ErrLineFailed = errors.New("dates: line fails in fail2ban")
	// ErrBudget: a template search ran past SearchBudget; it comes wrapped
	// with ErrLineFailed, so the line is dropped and counted as an error.
	ErrBudget = errors.New("dates: date search ran out of time")
)

func badPattern(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadPattern}, args...)...)
}

func badZone(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadZone}, args...)...)
}

func badDate(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadDate}, args...)...)
}

func lineFailed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLineFailed}, args...)...)
}
