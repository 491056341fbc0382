package main

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/banserver/banserver/protocol"
)

// fail2ban-client prints replies with Python's print(), so every value that
// the beautifier passes through untouched must come out exactly as CPython's
// str() and repr() would write it. The functions below port those rules for
// the value types protocol.DecodeReply produces.

// pyStr is Python's str(v): strings as they are, exceptions as their
// message, everything else as repr.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case *protocol.Exception:
		return excStr(x)
	}
	return pyRepr(v)
}

// pyRepr is Python's repr(v).
func pyRepr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		b.WriteString(x.String())
	case float64:
		b.WriteString(floatRepr(x))
	case string:
		writeStrRepr(b, x)
	case []byte:
		writeBytesRepr(b, x)
	case protocol.Tuple:
		b.WriteByte('(')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		if len(x) == 1 {
			b.WriteByte(',') // (x,) is how Python tells a 1-tuple from parentheses
		}
		b.WriteByte(')')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeStrRepr(b, e)
		}
		b.WriteByte(']')
	case protocol.Dict:
		b.WriteByte('{')
		for i, kv := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, kv.Key)
			b.WriteString(": ")
			writeRepr(b, kv.Value)
		}
		b.WriteByte('}')
	case *protocol.Exception:
		b.WriteString(excName(x))
		b.WriteByte('(')
		for i, e := range x.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(')')
	default:
		// Not a type the codec produces; say what it is rather than guess.
		fmt.Fprintf(b, "<%T>", v)
	}
}

// excName is the class name without its module, as Python's repr shows it.
func excName(e *protocol.Exception) string {
	if i := strings.LastIndexByte(e.Class, '.'); i >= 0 {
		return e.Class[i+1:]
	}
	return e.Class
}

// excStr is Python's str(exception): "" without arguments, the argument's
// str with one (its repr for KeyError and its subclasses, which fail2ban's
// UnknownJailException is), the repr of the argument tuple otherwise.
func excStr(e *protocol.Exception) string {
	switch len(e.Args) {
	case 0:
		return ""
	case 1:
		if isKeyError(e) {
			return pyRepr(e.Args[0])
		}
		return pyStr(e.Args[0])
	}
	return pyRepr(protocol.Tuple(e.Args))
}

func isKeyError(e *protocol.Exception) bool {
	switch excName(e) {
	case "KeyError", "UnknownJailException":
		return true
	}
	return false
}

// floatRepr follows CPython's float_repr: the shortest digits that round
// trip, positional for exponents in [-4, 16), scientific with a signed
// two-digit exponent otherwise, and always a ".0" on integral values.
func floatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	var out string
	if exp < -4 || exp >= 16 {
		out = digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		es := strconv.Itoa(exp)
		if len(es) < 2 {
			es = "0" + es
		}
		out += "e" + sign + es
	} else if exp < 0 {
		out = "0." + strings.Repeat("0", -exp-1) + digits
	} else if len(digits) <= exp+1 {
		out = digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	} else {
		out = digits[:exp+1] + "." + digits[exp+1:]
	}
	if neg {
		out = "-" + out
	}
	return out
}

// pickQuote is CPython's choice: single quotes unless the text holds a
// single quote and no double quote.
func pickQuote(hasSingle, hasDouble bool) byte {
	if hasSingle && !hasDouble {
		return '"'
	}
	return '\''
}

func writeStrRepr(b *strings.Builder, s string) {
	q := pickQuote(strings.IndexByte(s, '\'') >= 0, strings.IndexByte(s, '"') >= 0)
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			// Not valid UTF-8: Python would hold a surrogate escape here.
			b.WriteString(`\udc` + strconv.FormatUint(uint64(s[i]), 16))
			i++
			continue
		}
		i += n
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			writeHexEscape(b, `\x`, uint64(r), 2)
		case r < 0x7f:
			b.WriteRune(r)
		case unicode.IsPrint(r):
			// Go's IsPrint and Python's isprintable agree: letters, marks,
			// numbers, punctuation, symbols and only the ASCII space.
			b.WriteRune(r)
		case r <= 0xff:
			writeHexEscape(b, `\x`, uint64(r), 2)
		case r <= 0xffff:
			writeHexEscape(b, `\u`, uint64(r), 4)
		default:
			writeHexEscape(b, `\U`, uint64(r), 8)
		}
	}
	b.WriteByte(q)
}

func writeBytesRepr(b *strings.Builder, p []byte) {
	s := string(p)
	q := pickQuote(strings.IndexByte(s, '\'') >= 0, strings.IndexByte(s, '"') >= 0)
	b.WriteString("b")
	b.WriteByte(q)
	for _, c := range p {
		switch {
		case c == q || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			writeHexEscape(b, `\x`, uint64(c), 2)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
}

func writeHexEscape(b *strings.Builder, prefix string, v uint64, width int) {
	h := strconv.FormatUint(v, 16)
	b.WriteString(prefix)
	b.WriteString(strings.Repeat("0", width-len(h)))
	b.WriteString(h)
}
