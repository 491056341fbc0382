package conf

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseSpec splits a jail's filter setting, such as
// "sshd[mode=aggressive, port=22]", into the filter's name and its
// options, as fail2ban's extractOptions (helpers.py) does: options are
// name=value, name="value" or name='value', separated by commas or by
// "][" (sshd[a=1][b=2]); names and values are trimmed, a later name
// replaces an earlier one. The name is everything before the first '['
// (untrimmed, as fail2ban keeps it). Errors match ErrSyntax.
func ParseSpec(spec string) (name string, opts map[string]string, err error) {
	bad := func(msg string) (string, map[string]string, error) {
		return "", nil, &Error{Msg: "filter " + strconv.Quote(spec) + ": " + msg, Err: ErrSyntax}
	}
	open := strings.IndexByte(spec, '[')
	if open == 0 || spec == "" {
		return bad("no filter name before the options")
	}
	opts = map[string]string{}
	if open < 0 {
		return spec, opts, nil
	}
	name, rest := spec[:open], spec[open:]
	closing := strings.LastIndexByte(rest, ']')
	if closing < 0 || strings.TrimFunc(rest[closing+1:], isSpace) != "" {
		return bad("options must end with ']'")
	}
	s := rest[1:closing]
	for pos := 0; pos < len(s); {
		// an option: \s*([\w\-_\.]+)=
		j := skipSpace(s, pos)
		k := j
		for k < len(s) {
			r, n := utf8.DecodeRuneInString(s[k:])
			if r != '-' && r != '.' && !isWord(r) {
				break
			}
			k += n
		}
		if k == j || k >= len(s) || s[k] != '=' {
			// the end: ,?\s*$
			e := pos
			if e < len(s) && s[e] == ',' {
				e++
			}
			if skipSpace(s, e) == len(s) {
				break
			}
			return bad("expected name=value at " + strconv.Itoa(pos) + ": " + quote(s[pos:]))
		}
		key := s[j:k]
		j = k + 1
		var val string
		quoted := false
		if j < len(s) && (s[j] == '"' || s[j] == '\'') {
			if end := strings.IndexByte(s[j+1:], s[j]); end >= 0 {
				val, j, quoted = s[j+1:j+1+end], j+1+end+1, true
			}
		}
		if !quoted {
			end := strings.IndexAny(s[j:], ",]")
			if end < 0 {
				end = len(s) - j
			}
			val, j = s[j:j+end], j+end
		}
		// the separator: , or ]\s*[ or the end
		switch {
		case j < len(s) && s[j] == ',':
			j++
		case j < len(s) && s[j] == ']' && skipSpace(s, j+1) < len(s) && s[skipSpace(s, j+1)] == '[':
			j = skipSpace(s, j+1) + 1
		case j == len(s) || (j == len(s)-1 && s[j] == '\n'):
			j = len(s)
		default:
			return bad("unexpected text after option " + strconv.Quote(key) + ": " + quote(s[j:]))
		}
		opts[key] = strip(val)
		pos = j
	}
	return name, opts, nil
}

// skipSpace returns the index of the first non-space rune of s at or
// after i.
func skipSpace(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isSpace(r) {
			break
		}
		i += n
	}
	return i
}
