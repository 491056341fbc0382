package filter

import (
	"errors"
	"fmt"

	"github.com/banserver/banserver/filter/pyre"
)

// This file: one regex checked as fail2ban checks a regex a client adds
// (set JAIL addfailregex, addignoreregex, prefregex).

// RegexKind says which of a jail's regexes a pattern is.
type RegexKind int

// The kinds of a jail's regexes.
const (
	// RegexFail, a failregex, needs a failure-id group (<HOST>, <ADDR>,
	// <F-ID>, <F-MLFID>...), of its own or in the prefregex.
	RegexFail RegexKind = iota
	RegexIgnore
	RegexPref
)

// RegexError is fail2ban's refusal of a regex (its RegexException), with
// fail2ban's message. It matches ErrSettings, and the pyre error behind it
// (pyre.ErrSyntax, pyre.ErrUnsupported, pyre.ErrEmpty) when there is one.
type RegexError struct {
	Msg string
	Err error // the pyre error, or nil
}

func (e *RegexError) Error() string { return e.Msg }

// Unwrap makes errors.Is match ErrSettings and the pyre error.
func (e *RegexError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrSettings}
	}
	return []error{ErrSettings, e.Err}
}

// CheckRegex compiles pattern as fail2ban's Regex (FailRegex for a
// failregex) does when a client adds it, for a jail with usedns useDNS
// ("" is yes, as pyre takes it) and prefregex prefRegex ("" for none). It
// returns the regex fail2ban keeps and answers (Regex._regex): its tags
// resolved (Regex._resolveHostTag) and its global flags made local. A
// refusal is a *RegexError with fail2ban's message: "Cannot add empty
// regex", "No failure-id group in '...'", "Unable to compile regular
// expression '...':\n..." (Python's re message, or what pyre cannot run).
func CheckRegex(kind RegexKind, pattern, useDNS, prefRegex string) (string, error) {
	o := pyre.Options{UseDNS: useDNS}
	r, err := pyre.Compile(pattern, o)
	if err != nil {
		return "", regexError(pattern, err)
	}
	if kind != RegexFail || hasIDGroup(r) {
		return r.String(), nil
	}
	if prefRegex != "" {
		if p, err := pyre.Compile(prefRegex, o); err == nil && hasIDGroup(p) {
			return r.String(), nil
		}
	}
	return "", &RegexError{Msg: fmt.Sprintf("No failure-id group in '%s'", r.String())}
}

// regexError words a pyre error as fail2ban's RegexException.
func regexError(pattern string, err error) error {
	if errors.Is(err, pyre.ErrEmpty) {
		return &RegexError{Msg: "Cannot add empty regex", Err: err}
	}
	if errors.Is(err, pyre.ErrOption) {
		return &RegexError{Msg: err.Error(), Err: err}
	}
	var se *pyre.SyntaxError
	if errors.As(err, &se) {
		// fail2ban names the regex as compiled: its tags resolved.
		if se.Pattern != "" {
			pattern = se.Pattern
		}
		return &RegexError{Msg: fmt.Sprintf("Unable to compile regular expression '%s':\n%s", pattern, se.PythonMessage()), Err: err}
	}
	return &RegexError{Msg: fmt.Sprintf("Unable to compile regular expression '%s':\n%v (Python accepts it; banserver's regex engine does not)", pattern, err), Err: err}
}
