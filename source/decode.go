package source

import (
	"strings"
	"unicode/utf8"
)

// Encoding turns a line's bytes into text the way fail2ban's
// FileContainer.decode_line does: decode strictly, and on an error decode
// again with errors='replace' (each invalid sequence becomes U+FFFD).
type Encoding int

const (
	// EncodingUTF8 keeps valid UTF-8 as is and replaces each maximal
	// invalid subpart with one U+FFFD, exactly as Python's
	// bytes.decode("utf-8", "replace"). It is also "auto": fail2ban's auto
	// is the locale's preferred encoding, UTF-8 on the systems we run on.
	EncodingUTF8 Encoding = iota
	// EncodingLatin1 maps each byte to the code point of the same value
	// (never invalid).
	EncodingLatin1
	// EncodingASCII keeps bytes below 0x80 and replaces each other byte
	// with U+FFFD.
	EncodingASCII
)

// ParseEncoding reads a jail's logencoding: "auto", "utf-8", "latin-1",
// "ascii" and their Python aliases. Empty is auto.
func ParseEncoding(s string) (Encoding, error) {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
	switch n {
	case "", "auto", "utf-8", "utf8", "u8", "utf":
		return EncodingUTF8, nil
	case "latin-1", "latin1", "latin", "iso-8859-1", "iso8859-1", "8859", "cp819", "l1":
		return EncodingLatin1, nil
	case "ascii", "us-ascii", "646":
		return EncodingASCII, nil
	}
	return 0, errorf("%w: %q (auto, utf-8, latin-1, ascii)", ErrEncoding, s)
}

// String returns the Python codec name.
func (e Encoding) String() string {
	switch e {
	case EncodingLatin1:
		return "latin-1"
	case EncodingASCII:
		return "ascii"
	}
	return "utf-8"
}

// Decode returns b as text; replaced reports whether an invalid sequence
// was replaced (fail2ban's "Error decoding line" warning).
func (e Encoding) Decode(b []byte) (s string, replaced bool) {
	switch e {
	case EncodingLatin1:
		return decodeLatin1(b), false
	case EncodingASCII:
		return decodeASCII(b)
	}
	if utf8.Valid(b) {
		return string(b), false
	}
	return decodeUTF8Replace(b), true
}

func decodeLatin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func decodeASCII(b []byte) (string, bool) {
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	if i == len(b) {
		return string(b), false
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	sb.Write(b[:i])
	for _, c := range b[i:] {
		if c < utf8.RuneSelf {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(utf8.RuneError)
		}
	}
	return sb.String(), true
}

// decodeUTF8Replace decodes b as Python's decode("utf-8", "replace"): one
// U+FFFD per maximal subpart of an ill-formed sequence (Unicode 3.9, U+FFFD
// substitution of maximal subparts), which differs from Go's per-byte
// utf8.RuneError for truncated sequences ("\xe2\x82" is one U+FFFD).
func decodeUTF8Replace(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			sb.WriteByte(c)
			i++
			continue
		}
		if r, size := utf8.DecodeRune(b[i:]); r != utf8.RuneError || size > 1 {
			sb.Write(b[i : i+size])
			i += size
			continue
		}
		i += invalidPrefix(b[i:])
		sb.WriteRune(utf8.RuneError)
	}
	return sb.String()
}

// invalidPrefix returns the length of the maximal subpart at the start of
// b, which does not begin a valid sequence: the lead byte and the
// continuation bytes that were still allowed after it (at least 1).
func invalidPrefix(b []byte) int {
	lo, hi, need := byte(0x80), byte(0xBF), 0
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		lo, need = 0xA0, 2
	case c == 0xED:
		hi, need = 0x9F, 2
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		lo, need = 0x90, 3
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		hi, need = 0x8F, 3
	default: // 0x80-0xC1, 0xF5-0xFF: never a lead byte
		return 1
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b (a
// line cut at MaxLine in the middle of a character), so the cut does not
// add a U+FFFD of its own.
func trimPartialRune(b []byte) []byte {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			return b
		}
		if c >= 0xC0 { // a lead byte: is its sequence complete?
			if !utf8.FullRune(b[len(b)-k:]) {
				return b[:len(b)-k]
			}
			return b
		}
	}
	return b
}
