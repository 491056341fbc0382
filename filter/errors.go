package filter

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error New and Process return matches one of them
// with errors.Is.
var (
	// ErrSettings reports settings New refuses: a filter that cannot be
	// read, a regex that does not compile or has no failure id, a bad
	// datepattern, logtimezone, usedns or maxlines.
	ErrSettings = errors.New("filter: invalid settings")
	// ErrLine reports a line that failed as a whole (fail2ban's "Failed to
	// process line"): a regex that ran out of its budget (the error also
	// matches pyre.ErrBudget), a date fail2ban's detector raises on, a
	// cidr group that is not a number. The caller counts it and goes on.
	ErrLine = errors.New("filter: line failed")
)

// settingsError wraps err (which may be nil) as an ErrSettings error.
func settingsError(name, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrSettings, name, fmt.Sprintf(format, args...))
}

// lineError wraps err as an ErrLine error, keeping err reachable.
func lineError(name, what string, err error) error {
	return fmt.Errorf("%w: %s: %s: %w", ErrLine, name, what, err)
}
