package main

import (
	"bytes"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/banserver/banserver/protocol"
)

// replyJSON renders a decoded reply for -o json:
//
//	{"code":0,"result":...}
//	{"code":1,"error":{"class":"...","message":"..."}}
//	{"code":-1,"error":{"class":"","message":"ERROR: ..."}}
//
// Tuples become arrays; a Dict becomes an object with its keys in order when
// every key is a string, else an array of [key, value] pairs, since JSON
// keys must be strings and reordering would lose what Python sent.
func replyJSON(code int, v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"code":`)
	b.WriteString(strconv.Itoa(code))
	switch code {
	case 0:
		b.WriteString(`,"result":`)
		writeJSON(&b, v)
	default:
		class, msg := "", pyStr(v)
		if e, ok := v.(*protocol.Exception); ok {
			class, msg = e.Class, jsonExcMessage(e)
		}
		b.WriteString(`,"error":{"class":`)
		writeJSONString(&b, class)
		b.WriteString(`,"message":`)
		writeJSONString(&b, msg)
		b.WriteString(`}`)
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		b.WriteString(x.String())
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString(`"NaN"`) // JSON has no NaN or infinities
		case math.IsInf(x, 1):
			b.WriteString(`"Infinity"`)
		case math.IsInf(x, -1):
			b.WriteString(`"-Infinity"`)
		default:
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case string:
		writeJSONString(b, x)
	case []byte:
		writeJSONString(b, string(x))
	case []any:
		writeJSONArray(b, x)
	case protocol.Tuple:
		writeJSONArray(b, x)
	case protocol.Dict:
		allStrings := true
		for _, kv := range x {
			if _, ok := kv.Key.(string); !ok {
				allStrings = false
				break
			}
		}
		if !allStrings {
			pairs := make([]any, len(x))
			for i, kv := range x {
				pairs[i] = []any{kv.Key, kv.Value}
			}
			writeJSONArray(b, pairs)
			return
		}
		b.WriteByte('{')
		for i, kv := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, kv.Key.(string))
			b.WriteByte(':')
			writeJSON(b, kv.Value)
		}
		b.WriteByte('}')
	case *protocol.Exception:
		b.WriteString(`{"class":`)
		writeJSONString(b, x.Class)
		b.WriteString(`,"message":`)
		writeJSONString(b, jsonExcMessage(x))
		b.WriteString(`}`)
	default:
		writeJSONString(b, pyRepr(v))
	}
}

// jsonExcMessage is Python's str(exception), except that a KeyError's
// single argument is not quoted: str(UnknownJailException('x')) is "'x'",
// and a script wants the jail's name, not its repr.
func jsonExcMessage(e *protocol.Exception) string {
	if len(e.Args) == 1 {
		return pyStr(e.Args[0])
	}
	return excStr(e)
}

func writeJSONArray(b *bytes.Buffer, items []any) {
	b.WriteByte('[')
	for i, e := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(b, e)
	}
	b.WriteByte(']')
}

// writeJSONString writes s as a JSON string. Unlike encoding/json it
// leaves <, > and & alone (this is a terminal, not HTML) and allocates
// nothing; bad UTF-8 becomes U+FFFD as there.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString(`\ufffd`)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
}
