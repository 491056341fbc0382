package conf

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors; every error Read and ParseSpec return matches one of
// them with errors.Is.
var (
	// ErrNotFound reports a filter, an include or a file that does not
	// exist or cannot be read.
	ErrNotFound = errors.New("conf: not found")
	// ErrSyntax reports text that is not fail2ban's configuration dialect:
	// a line that is no section, option or continuation, a duplicate
	// section or option in one file, a bad %-reference, a bad filter
	// specification, a bad journalmatch quoting, a bad maxlines.
	ErrSyntax = errors.New("conf: syntax error")
	// ErrInterpolation reports a %(name)s or <name> reference that cannot
	// be resolved: a missing option, a loop, too deep a nesting, a value
	// grown too large.
	ErrInterpolation = errors.New("conf: interpolation error")
)

// Error is one problem of a filter file: where it is and what is wrong.
type Error struct {
	// File is the file the problem is in, "" when no file is known (a
	// value passed from the jail).
	File string
	// Line is the problem's line in File, 0 when unknown.
	Line int
	// Section and Option name the value, when there is one.
	Section, Option string
	// Msg says what is wrong.
	Msg string
	// Err is ErrNotFound, ErrSyntax or ErrInterpolation.
	Err error
}

// Error formats the problem as "conf: FILE:LINE: [SECTION] OPTION: MSG".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("conf: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Section != "" {
		b.WriteString("[" + e.Section + "] ")
	}
	if e.Option != "" {
		b.WriteString(e.Option + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }
