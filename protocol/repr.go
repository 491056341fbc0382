package protocol

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Repr returns Python's repr() of v, for the values Decode and DecodeReply
// produce and AppendReply accepts: nil (None), bool, the Go integer types
// and *big.Int (int), float64 (float, as PyFloat), string (str), []byte
// (bytes), []any and []string (list), Tuple and []Tuple, Dict (in its
// order) and *Exception (as Python shows an exception: "ValueError('x')",
// with the class's module left off). fail2ban prints replies, requests and
// error messages with repr, and clients compare those texts byte for byte.
//
// A type outside that list has no Python form; it is written as
// "<Go type T>" rather than guessed at.
func Repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

// ReprString returns Python's repr() of the str s: single quotes unless s
// holds a single quote and no double quote, backslash escapes for the
// quote, backslashes, \t, \n, \r and the characters Python does not count
// as printable. Bytes that are not UTF-8 are written as Python shows the
// surrogates its surrogateescape handler reads them into (\udcXX).
func ReprString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	writeStrRepr(&b, s)
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
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint32:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case *big.Int:
		if x == nil {
			b.WriteString("None")
			return
		}
		b.WriteString(x.String())
	case float64:
		b.WriteString(PyFloat(x))
	case string:
		writeStrRepr(b, x)
	case []byte:
		writeBytesRepr(b, x)
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
	case Tuple:
		writeTupleRepr(b, x)
	case []Tuple:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeTupleRepr(b, e)
		}
		b.WriteByte(']')
	case Dict:
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
	case *Exception:
		if x == nil {
			b.WriteString("None") // as AppendReply sends it
			return
		}
		b.WriteString(x.Name())
		b.WriteByte('(')
		for i, e := range x.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(')')
	default:
		fmt.Fprintf(b, "<Go type %T>", v)
	}
}

func writeTupleRepr(b *strings.Builder, x Tuple) {
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
}

// Name is the exception's class name without its module, as Python's
// repr and tracebacks show it: "UnknownJailException" for
// "fail2ban.exceptions.UnknownJailException".
func (e *Exception) Name() string {
	if i := strings.LastIndexByte(e.Class, '.'); i >= 0 {
		return e.Class[i+1:]
	}
	return e.Class
}

// pickQuote is CPython's choice of quote for str and bytes reprs: single
// quotes unless the text holds a single quote and no double quote.
func pickQuote(s string) byte {
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		return '"'
	}
	return '\''
}

func writeStrRepr(b *strings.Builder, s string) {
	q := pickQuote(s)
	b.WriteByte(q)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
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
			case c < 0x20 || c == 0x7f:
				writeHexEscape(b, `\x`, uint32(c), 2)
			default:
				b.WriteByte(c)
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			// Not UTF-8: Python's surrogateescape reads the byte as the
			// lone surrogate U+DC80..U+DCFF, which repr escapes.
			writeHexEscape(b, `\u`, 0xdc00+uint32(c), 4)
			i++
			continue
		}
		i += n
		switch {
		case unicode.IsPrint(r):
			// Go's IsPrint and Python's str.isprintable draw the same
			// line (letters, marks, numbers, punctuation, symbols, and
			// of the spaces only U+0020); they can differ only on
			// characters one Unicode version has and the other lacks.
			b.WriteString(s[i-n : i])
		case r <= 0xff:
			writeHexEscape(b, `\x`, uint32(r), 2)
		case r <= 0xffff:
			writeHexEscape(b, `\u`, uint32(r), 4)
		default:
			writeHexEscape(b, `\U`, uint32(r), 8)
		}
	}
	b.WriteByte(q)
}

func writeBytesRepr(b *strings.Builder, p []byte) {
	q := pickQuote(string(p))
	b.WriteByte('b')
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
			writeHexEscape(b, `\x`, uint32(c), 2)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
}

// writeHexEscape writes prefix and v in width lower-case hex digits.
func writeHexEscape(b *strings.Builder, prefix string, v uint32, width int) {
	const hex = "0123456789abcdef"
	b.WriteString(prefix)
	for shift := (width - 1) * 4; shift >= 0; shift -= 4 {
		b.WriteByte(hex[v>>uint(shift)&0xf])
	}
}
