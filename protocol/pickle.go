package protocol

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ReplyProtocol is the protocol AppendReply answers in when the request
// used protocol 3 or higher: every Python 3.4+ client reads it, and for
// the values fail2ban sends protocol 5 would differ only in its header.
const ReplyProtocol = 4

// batchSize matches Python's pickler, which splits APPENDS and SETITEMS
// into batches of 1000 so unpicklers never hold more on the stack.
const batchSize = 1000

// AppendReply appends the pickle of (code, v) — code 0 for a result, 1 for
// an exception — and the EndCommand terminator to dst. proto is the
// request's protocol: protocols 0..2 are answered in kind, the way Python
// 3's pickle with fix_imports writes them (builtins exceptions as
// exceptions.X, bytes through _codecs.encode), so Python 2 clients can
// read them; protocols 3 and up are answered in ReplyProtocol.
//
// v may be nil, bool, int, int32, int64, uint, uint32, uint64, float64,
// string, []byte, []string, []any, Tuple, []Tuple, Dict, *Exception, and
// any nesting of these up to MaxDepth; other types give ErrUnsupported and
// dst unchanged. Strings that are not valid UTF-8 are sent with U+FFFD
// for the bad bytes, as Python could not load them otherwise.
func AppendReply(dst []byte, proto int, code int, v any) ([]byte, error) {
	if proto < 0 {
		proto = 0
	}
	if proto > 2 {
		proto = ReplyProtocol
	}
	n := len(dst)
	dst, body := header(dst, proto)
	if proto < 2 {
		dst = append(dst, opMark)
	}
	dst = appendInt(dst, proto, int64(code))
	dst, err := appendValue(dst, proto, v, 0)
	if err != nil {
		return dst[:n], err
	}
	if proto < 2 {
		dst = append(dst, opTuple)
	} else {
		dst = append(dst, opTuple2)
	}
	return finish(dst, proto, body), nil
}

// AppendRequest appends a pickled request (a list of values as for
// AppendReply) plus EndCommand to dst, in protocol proto (2..5;
// fail2ban-client sends pickle.HIGHEST_PROTOCOL).
func AppendRequest(dst []byte, proto int, args []any) ([]byte, error) {
	if proto < 2 || proto > 5 {
		return dst, fmt.Errorf("%w: request protocol %d (want 2..5)", ErrUnsupported, proto)
	}
	n := len(dst)
	dst, body := header(dst, proto)
	dst, err := appendList(dst, proto, args, 0)
	if err != nil {
		return dst[:n], err
	}
	return finish(dst, proto, body), nil
}

// header writes PROTO (protocol 2+) and a FRAME placeholder (4+); body is
// where the framed bytes begin.
func header(dst []byte, proto int) ([]byte, int) {
	if proto >= 2 {
		dst = append(dst, opProto, byte(proto))
	}
	if proto >= 4 {
		dst = append(dst, opFrame, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	return dst, len(dst)
}

// finish writes STOP, fills in the frame length and adds the terminator.
func finish(dst []byte, proto, body int) []byte {
	dst = append(dst, opStop)
	if proto >= 4 {
		binary.LittleEndian.PutUint64(dst[body-8:body], uint64(len(dst)-body))
	}
	return append(dst, EndCommand...)
}

func appendValue(dst []byte, proto int, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, opNone), nil
	case bool:
		return appendBool(dst, proto, x), nil
	case int:
		return appendInt(dst, proto, int64(x)), nil
	case int32:
		return appendInt(dst, proto, int64(x)), nil
	case int64:
		return appendInt(dst, proto, x), nil
	case uint:
		return appendUint(dst, proto, uint64(x)), nil
	case uint32:
		return appendInt(dst, proto, int64(x)), nil
	case uint64:
		return appendUint(dst, proto, x), nil
	case float64:
		return appendFloat(dst, proto, x), nil
	case string:
		return appendString(dst, proto, x), nil
	case []byte:
		return appendBytes(dst, proto, x), nil
	}
	if depth >= MaxDepth {
		return dst, fmt.Errorf("%w: nesting deeper than %d", ErrUnsupported, MaxDepth)
	}
	switch x := v.(type) {
	case []any:
		return appendList(dst, proto, x, depth)
	case []string:
		return appendSeq(dst, proto, len(x), func(dst []byte, i int) ([]byte, error) {
			return appendString(dst, proto, x[i]), nil
		})
	case Tuple:
		return appendTuple(dst, proto, x, depth)
	case []Tuple:
		return appendSeq(dst, proto, len(x), func(dst []byte, i int) ([]byte, error) {
			return appendTuple(dst, proto, x[i], depth+1)
		})
	case Dict:
		return appendDict(dst, proto, x, depth)
	case *Exception:
		if x == nil {
			return append(dst, opNone), nil
		}
		return appendException(dst, proto, x, depth)
	}
	return dst, fmt.Errorf("%w: Go type %T", ErrUnsupported, v)
}

func appendList(dst []byte, proto int, x []any, depth int) ([]byte, error) {
	return appendSeq(dst, proto, len(x), func(dst []byte, i int) ([]byte, error) {
		return appendValue(dst, proto, x[i], depth+1)
	})
}

// appendSeq writes a list the way Python's save_list does: protocol 0
// appends item by item, later protocols batch items with APPENDS.
func appendSeq(dst []byte, proto, n int, item func([]byte, int) ([]byte, error)) ([]byte, error) {
	var err error
	if proto == 0 {
		dst = append(dst, opMark, opList)
		for i := 0; i < n; i++ {
			if dst, err = item(dst, i); err != nil {
				return dst, err
			}
			dst = append(dst, opAppend)
		}
		return dst, nil
	}
	dst = append(dst, opEmptyList)
	for start := 0; start < n; start += batchSize {
		end := min(start+batchSize, n)
		if end-start == 1 {
			if dst, err = item(dst, start); err != nil {
				return dst, err
			}
			dst = append(dst, opAppend)
			continue
		}
		dst = append(dst, opMark)
		for i := start; i < end; i++ {
			if dst, err = item(dst, i); err != nil {
				return dst, err
			}
		}
		dst = append(dst, opAppends)
	}
	return dst, nil
}

func appendTuple(dst []byte, proto int, x Tuple, depth int) ([]byte, error) {
	if depth >= MaxDepth {
		return dst, fmt.Errorf("%w: nesting deeper than %d", ErrUnsupported, MaxDepth)
	}
	var err error
	if len(x) == 0 {
		if proto == 0 {
			return append(dst, opMark, opTuple), nil
		}
		return append(dst, opEmptyTuple), nil
	}
	short := proto >= 2 && len(x) <= 3
	if !short {
		dst = append(dst, opMark)
	}
	for _, it := range x {
		if dst, err = appendValue(dst, proto, it, depth+1); err != nil {
			return dst, err
		}
	}
	if short {
		return append(dst, opTuple1+byte(len(x)-1)), nil
	}
	return append(dst, opTuple), nil
}

func appendDict(dst []byte, proto int, x Dict, depth int) ([]byte, error) {
	var err error
	pair := func(dst []byte, kv KV) ([]byte, error) {
		if dst, err = appendValue(dst, proto, kv.Key, depth+1); err != nil {
			return dst, err
		}
		return appendValue(dst, proto, kv.Value, depth+1)
	}
	if proto == 0 {
		dst = append(dst, opMark, opDict)
		for _, kv := range x {
			if dst, err = pair(dst, kv); err != nil {
				return dst, err
			}
			dst = append(dst, opSetItem)
		}
		return dst, nil
	}
	dst = append(dst, opEmptyDict)
	for start := 0; start < len(x); start += batchSize {
		end := min(start+batchSize, len(x))
		if end-start == 1 {
			if dst, err = pair(dst, x[start]); err != nil {
				return dst, err
			}
			dst = append(dst, opSetItem)
			continue
		}
		dst = append(dst, opMark)
		for _, kv := range x[start:end] {
			if dst, err = pair(dst, kv); err != nil {
				return dst, err
			}
		}
		dst = append(dst, opSetItems)
	}
	return dst, nil
}

// appendException writes cls(*args) as Python's BaseException.__reduce__
// does: the class as a global, the args tuple, REDUCE.
func appendException(dst []byte, proto int, e *Exception, depth int) ([]byte, error) {
	i := strings.LastIndexByte(e.Class, '.')
	if i <= 0 || i == len(e.Class)-1 {
		return dst, fmt.Errorf("%w: exception class %q is not module.Name", ErrUnsupported, e.Class)
	}
	module, name := e.Class[:i], e.Class[i+1:]
	if !isIdent(name) || strings.ContainsAny(module, "\n\x00") {
		return dst, fmt.Errorf("%w: exception class %q", ErrUnsupported, e.Class)
	}
	dst = appendGlobal(dst, proto, module, name)
	dst, err := appendTuple(dst, proto, Tuple(e.Args), depth)
	if err != nil {
		return dst, err
	}
	return append(dst, opReduce), nil
}

// appendGlobal names a class; protocols below 3 use Python 2 names as
// Python 3's fix_imports does (builtins exceptions live in "exceptions",
// other builtins in "__builtin__").
func appendGlobal(dst []byte, proto int, module, name string) []byte {
	if proto < 3 && module == "builtins" {
		module = "__builtin__"
		if isExceptionName(name) {
			module = "exceptions"
		}
	}
	if proto >= 4 {
		dst = appendString(dst, proto, module)
		dst = appendString(dst, proto, name)
		return append(dst, opStackGlobal)
	}
	dst = append(dst, opGlobal)
	dst = append(dst, module...)
	dst = append(dst, '\n')
	dst = append(dst, name...)
	return append(dst, '\n')
}

func appendBool(dst []byte, proto int, b bool) []byte {
	switch {
	case proto >= 2 && b:
		return append(dst, opNewTrue)
	case proto >= 2:
		return append(dst, opNewFalse)
	case b:
		return append(dst, "I01\n"...)
	}
	return append(dst, "I00\n"...)
}

// appendInt follows Python's save_long: BININT1/BININT2/BININT when they
// fit (protocol 1+), LONG1 from protocol 2, text INT/LONG before.
func appendInt(dst []byte, proto int, v int64) []byte {
	if proto >= 1 {
		switch {
		case v >= 0 && v <= 0xff:
			return append(dst, opBinInt1, byte(v))
		case v >= 0 && v <= 0xffff:
			return append(dst, opBinInt2, byte(v), byte(v>>8))
		case v >= math.MinInt32 && v <= math.MaxInt32:
			return binary.LittleEndian.AppendUint32(append(dst, opBinInt), uint32(int32(v)))
		}
	}
	if proto >= 2 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		n := 8
		// Minimal two's complement: drop sign-extension bytes.
		for n > 1 {
			hi, next := b[n-1], b[n-2]
			if (hi == 0 && next&0x80 == 0) || (hi == 0xff && next&0x80 != 0) {
				n--
				continue
			}
			break
		}
		dst = append(dst, opLong1, byte(n))
		return append(dst, b[:n]...)
	}
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		dst = strconv.AppendInt(append(dst, opInt), v, 10)
		return append(dst, '\n')
	}
	dst = strconv.AppendInt(append(dst, opLong), v, 10)
	return append(dst, 'L', '\n')
}

func appendUint(dst []byte, proto int, v uint64) []byte {
	if v <= math.MaxInt64 {
		return appendInt(dst, proto, int64(v))
	}
	if proto >= 2 {
		// Needs a ninth, zero byte to stay positive.
		dst = append(dst, opLong1, 9)
		dst = binary.LittleEndian.AppendUint64(dst, v)
		return append(dst, 0)
	}
	dst = strconv.AppendUint(append(dst, opLong), v, 10)
	return append(dst, 'L', '\n')
}

func appendFloat(dst []byte, proto int, f float64) []byte {
	if proto >= 1 {
		return binary.BigEndian.AppendUint64(append(dst, opBinFloat), math.Float64bits(f))
	}
	// Python's loads feeds this to float(), which takes Go's shortest
	// form, "+Inf" and "NaN" alike.
	dst = strconv.AppendFloat(append(dst, opFloat), f, 'g', -1, 64)
	return append(dst, '\n')
}

func appendString(dst []byte, proto int, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	switch {
	case proto == 0:
		return appendRawUnicodeEscape(append(dst, opUnicode), s)
	case proto >= 4 && len(s) < 256:
		dst = append(dst, opShortBinUnicode, byte(len(s)))
	case uint64(len(s)) <= math.MaxUint32:
		dst = binary.LittleEndian.AppendUint32(append(dst, opBinUnicode), uint32(len(s)))
	default:
		dst = binary.LittleEndian.AppendUint64(append(dst, opBinUnicode8), uint64(len(s)))
	}
	return append(dst, s...)
}

// appendRawUnicodeEscape writes a protocol-0 UNICODE argument as Python 3
// does: backslash, NUL, LF, CR and ^Z as \u escapes, other code points
// below 256 as Latin-1 bytes, the rest as \uXXXX or \UXXXXXXXX.
func appendRawUnicodeEscape(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for _, r := range s {
		switch {
		case r == '\\' || r == 0 || r == '\n' || r == '\r' || r == 0x1a:
			dst = append(dst, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		case r < 0x100:
			dst = append(dst, byte(r))
		case r < 0x10000:
			dst = append(dst, '\\', 'u', hex[r>>12], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			dst = append(dst, '\\', 'U')
			for sh := 28; sh >= 0; sh -= 4 {
				dst = append(dst, hex[r>>sh&0xf])
			}
		}
	}
	return append(dst, '\n')
}

// appendBytes writes bytes with the protocol 3+ opcodes, and before that
// as Python 3 does for Python 2 readers: _codecs.encode(latin1 text,
// "latin1"), or __builtin__.bytes() when empty.
func appendBytes(dst []byte, proto int, b []byte) []byte {
	switch {
	case proto >= 3 && len(b) < 256:
		dst = append(dst, opShortBinBytes, byte(len(b)))
	case proto >= 3 && uint64(len(b)) <= math.MaxUint32:
		dst = binary.LittleEndian.AppendUint32(append(dst, opBinBytes), uint32(len(b)))
	case proto >= 4:
		dst = binary.LittleEndian.AppendUint64(append(dst, opBinBytes8), uint64(len(b)))
	case len(b) == 0:
		dst = appendGlobal(dst, proto, "builtins", "bytes")
		if proto == 0 {
			dst = append(dst, opMark, opTuple)
		} else {
			dst = append(dst, opEmptyTuple)
		}
		return append(dst, opReduce)
	default:
		dst = appendGlobal(dst, proto, "_codecs", "encode")
		if proto < 2 {
			dst = append(dst, opMark)
		}
		var sb strings.Builder
		sb.Grow(2 * len(b))
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
		dst = appendString(dst, proto, sb.String())
		dst = appendString(dst, proto, "latin1")
		if proto < 2 {
			dst = append(dst, opTuple)
		} else {
			dst = append(dst, opTuple2)
		}
		return append(dst, opReduce)
	}
	return append(dst, b...)
}
