package protocol

import (
	"encoding/binary"
	"unicode/utf8"
)

// DecodeWords is the fast path for the requests nearly every client sends:
// a flat, non-empty list of str, as fail2ban-client (protocol 4 and 5,
// with FRAME and MEMOIZE), the PHP client (protocol 2, BINUNICODE) and
// AppendRequest write it. It returns the strings, which are what Decode
// would return for the message, and the protocol; ok is false for any
// other message, which the caller then gives to Decode (and which may
// well be valid: memo GETs, numbers, nested lists...).
//
// It recognises a strict subset of what Decode accepts: optional PROTO
// (0..5) first, optional FRAME right after it, EMPTY_LIST, then groups of
// either MARK, strings, APPENDS or one string and APPEND, then STOP as the
// last byte; a MEMOIZE or BINPUT (its key within the message size) may
// follow the list and any string. Strings are SHORT_BINUNICODE or
// BINUNICODE holding valid UTF-8. Nothing else is accepted, so a message
// it takes passes every check of Check, and its result is Decode's
// without the boxing of each string into an interface: the strings share
// one allocation, the slice is the other.
func DecodeWords(msg []byte) (words []string, proto int, ok bool) {
	_, n, proto, ok := scanWords(msg, nil, "")
	if !ok || n == 0 {
		return nil, proto, false
	}
	words, _, _, _ = scanWords(msg, make([]string, 0, n), string(msg))
	return words, proto, true
}

// scanWords walks msg as DecodeWords describes. With str == "" it only
// validates and counts the strings; otherwise it appends them, as
// substrings of str (msg as a string), to words.
func scanWords(msg []byte, words []string, str string) (_ []string, n, proto int, ok bool) {
	p := 0
	if len(msg) >= 2 && msg[0] == opProto {
		if msg[1] > 5 {
			return nil, 0, 0, false
		}
		proto = int(msg[1])
		p = 2
		if len(msg)-p >= 9 && msg[p] == opFrame {
			if binary.LittleEndian.Uint64(msg[p+1:p+9]) > uint64(len(msg)-p-9) {
				return nil, 0, proto, false
			}
			p += 9
		}
	}
	// memo skips a MEMOIZE or a BINPUT whose key Check takes.
	memo := func() {
		switch {
		case p < len(msg) && msg[p] == opMemoize:
			p++
		case p+1 < len(msg) && msg[p] == opBinPut && int(msg[p+1]) < len(msg):
			p += 2
		}
	}
	// word reads one string at p, and the memo op after it.
	word := func() bool {
		var size uint64
		switch {
		case p+1 < len(msg) && msg[p] == opShortBinUnicode:
			size = uint64(msg[p+1])
			p += 2
		case p+4 < len(msg) && msg[p] == opBinUnicode:
			size = uint64(binary.LittleEndian.Uint32(msg[p+1 : p+5]))
			p += 5
		default:
			return false
		}
		if size > uint64(len(msg)-p) {
			return false
		}
		b := msg[p : p+int(size)]
		if !utf8.Valid(b) {
			return false
		}
		if str != "" {
			words = append(words, str[p:p+int(size)])
		}
		p += int(size)
		n++
		memo()
		return true
	}
	if p >= len(msg) || msg[p] != opEmptyList {
		return nil, 0, proto, false
	}
	p++
	memo()
	for p < len(msg) {
		switch msg[p] {
		case opStop:
			return words, n, proto, p == len(msg)-1
		case opMark:
			p++
			k := 0
			for p < len(msg) && msg[p] != opAppends {
				if !word() {
					return nil, 0, proto, false
				}
				// The list and the marked items share the stack.
				if k++; k+1 >= MaxStack {
					return nil, 0, proto, false
				}
			}
			if p >= len(msg) {
				return nil, 0, proto, false
			}
			p++ // APPENDS
		default:
			if !word() || p >= len(msg) || msg[p] != opAppend {
				return nil, 0, proto, false
			}
			p++
		}
	}
	return nil, 0, proto, false
}
