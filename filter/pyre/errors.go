package pyre

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; callers tell them apart with errors.Is.
var (
	// ErrSyntax means Python's re would refuse the pattern too.
	ErrSyntax = errors.New("pyre: syntax error")
	// ErrUnsupported means Python accepts the pattern but it uses a
	// construct pyre cannot translate with the same meaning.
	ErrUnsupported = errors.New("pyre: unsupported construct")
	// ErrEmpty means the pattern is empty or only white space, which
	// fail2ban refuses ("Cannot add empty regex").
	ErrEmpty = errors.New("pyre: empty regex")
	// ErrOption means an Options field has a value fail2ban does not know.
	ErrOption = errors.New("pyre: invalid option")
	// ErrBudget means a match ran out of its time or backtracking budget:
	// the line is neither a match nor a miss, and the caller counts it.
	ErrBudget = errors.New("pyre: match budget exhausted")
)

// SyntaxError is a pattern Python's re would refuse, with Python's message
// and position (in code points, as Python counts; -1 when Python gives
// none). It matches ErrSyntax.
type SyntaxError struct {
	Msg     string
	Pos     int
	Pattern string
}

func (e *SyntaxError) Error() string { return "pyre: " + e.PythonMessage() }

// PythonMessage is the text of the exception Python's re.compile raises.
func (e *SyntaxError) PythonMessage() string {
	if e.Pos < 0 {
		return e.Msg
	}
	rs := []rune(e.Pattern)
	if strings.ContainsRune(e.Pattern, '\n') && e.Pos <= len(rs) {
		line, col := 1, e.Pos+1
		for i, c := range rs[:e.Pos] {
			if c == '\n' {
				line++
				col = e.Pos - i
			}
		}
		return fmt.Sprintf("%s at position %d (line %d, column %d)", e.Msg, e.Pos, line, col)
	}
	return fmt.Sprintf("%s at position %d", e.Msg, e.Pos)
}

// Unwrap makes errors.Is(err, ErrSyntax) true.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// UnsupportedError names a construct Python accepts that pyre refuses.
// It matches ErrUnsupported.
type UnsupportedError struct {
	Construct string
	Pos       int
}

func (e *UnsupportedError) Error() string {
	if e.Pos < 0 {
		return "pyre: unsupported construct " + e.Construct
	}
	return fmt.Sprintf("pyre: unsupported construct %s at position %d", e.Construct, e.Pos)
}

// Unwrap makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }
