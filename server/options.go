package server

import (
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/banserver/banserver/protocol"
)

// This file: fail2ban's NAME[opt=value, ...] syntax, which `add JAIL
// BACKEND` and `set logtarget` take.

var (
	// optionRE splits NAME[OPTIONS]: a name up to the first '[', then
	// optionally the options in brackets, then only white space.
	optionRE = regexp.MustCompile(`(?s)^([^\[]+)(?:\[(.*)\])?[\t\n\v\f\r ]*$`)
	// optionItemRE finds the options one at a time, as fail2ban's
	// helpers do: key=value, key="value" or key='value', separated by
	// commas (or "][" between groups); wrongA is garbage after a value,
	// wrongB text that is no option at all.
	optionItemRE = regexp.MustCompile(`(?s)[\t\n\v\f\r ]*([\p{L}\p{N}_\-.]+)=(?:"([^"]*)"|'([^']*)'|([^,\]]*))(?:,|\][\t\n\v\f\r ]*\[|$|(?P<wrongA>.+))|,?[\t\n\v\f\r ]*$|(?P<wrongB>.+)`)
)

// extractOptions splits fail2ban's NAME[opt=value, ...] into the name and
// whether it carried options, with fail2ban's ValueErrors for what its
// helpers.extractOptions refuses ("unexpected option syntax", "expected
// option, wrong syntax at 0: x"). The options themselves are checked for
// syntax only: banserver has no use for them yet.
func extractOptions(s string) (name string, err error) {
	m := optionRE.FindStringSubmatchIndex(s)
	if m == nil {
		return "", valueError("unexpected option syntax")
	}
	name = s[m[2]:m[3]]
	if m[4] < 0 {
		return name, nil
	}
	opts := s[m[4]:m[5]]
	wrongA, wrongB := 2*optionItemRE.SubexpIndex("wrongA"), 2*optionItemRE.SubexpIndex("wrongB")
	for _, im := range optionItemRE.FindAllStringSubmatchIndex(opts, -1) {
		if at := im[wrongA]; at >= 0 {
			return "", valueError(fmt.Sprintf("unexpected syntax at %d after option %s: %s",
				utf8.RuneCountInString(opts[:at]), protocol.ReprString(opts[im[2]:im[3]]), prefix(opts[at:], 25)))
		}
		if at := im[wrongB]; at >= 0 {
			return "", valueError(fmt.Sprintf("expected option, wrong syntax at %d: %s",
				utf8.RuneCountInString(opts[:at]), prefix(opts[at:], 25)))
		}
	}
	return name, nil
}

// prefix is Python's s[0:n], in characters.
func prefix(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

func valueError(msg string) error {
	return &protocol.Exception{Class: protocol.ClassValueError, Args: []any{msg}}
}
