package conf

import "errors"

// errShlex* are the two ways shlex.split refuses its input.
var (
	errNoClosingQuote = errors.New("no closing quotation")
	errNoEscaped      = errors.New("no escaped character")
)

// shlexSplit is Python's shlex.split(s) (POSIX mode, no comments), which
// fail2ban applies to each journalmatch line: words split at spaces, tabs
// and newlines; '...' quotes literally; "..." quotes with \" and \\
// escapes; \ outside quotes escapes any character; a pair of quotes
// with nothing between them is an empty word.
func shlexSplit(s string) ([]string, error) {
	const (
		stWhite = iota
		stWord
		stSingle
		stDouble
		stEscape
	)
	isWhite := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	var (
		out     []string
		tok     []byte
		quoted  bool
		state   = stWhite
		escBack int // the state an escape returns to
	)
	emit := func() {
		out = append(out, string(tok))
		tok, quoted = nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case stWhite:
			switch {
			case isWhite(c):
			case c == '\\':
				escBack, state = stWord, stEscape
			case c == '\'':
				state = stSingle
			case c == '"':
				state = stDouble
			default:
				tok = append(tok, c)
				state = stWord
			}
		case stWord:
			switch {
			case isWhite(c):
				state = stWhite
				if len(tok) > 0 || quoted {
					emit()
				}
			case c == '\'':
				state = stSingle
			case c == '"':
				state = stDouble
			case c == '\\':
				escBack, state = stWord, stEscape
			default:
				tok = append(tok, c)
			}
		case stSingle, stDouble:
			quoted = true
			switch {
			case (state == stSingle && c == '\'') || (state == stDouble && c == '"'):
				state = stWord
			case state == stDouble && c == '\\':
				escBack, state = stDouble, stEscape
			default:
				tok = append(tok, c)
			}
		case stEscape:
			if escBack == stDouble && c != '\\' && c != '"' {
				tok = append(tok, '\\')
			}
			tok = append(tok, c)
			state = escBack
		}
	}
	switch state {
	case stSingle, stDouble:
		return nil, errNoClosingQuote
	case stEscape:
		return nil, errNoEscaped
	}
	if len(tok) > 0 || quoted {
		emit()
	}
	return out, nil
}
