package pyre

import (
	"encoding/hex"
	"testing"
	"unicode/utf8"
)

var decodeCases = []struct {
	name string
	in   string
	want string
}{
	{"valid", "héllo 😀", "héllo 😀"},
	{"lone continuation", "a\x80b", "a\ufffdb"},
	{"two continuations", "a\x80\xbfb", "a\ufffd\ufffdb"},
	{"truncated 3-byte", "a\xe2\x82b", "a\ufffdb"},
	{"truncated 4-byte at the end", "a\xf0\x9f\x98", "a\ufffd"},
	{"overlong 2-byte", "\xc0\x80", "\ufffd\ufffd"},
	{"overlong 3-byte", "\xe0\x80\x80", "\ufffd\ufffd\ufffd"},
	{"surrogate", "\xed\xa0\x80", "\ufffd\ufffd\ufffd"},
	{"above U+10FFFF", "\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},
	{"F5", "\xf5\x80", "\ufffd\ufffd"},
	{"lead then ASCII", "\xe2(x", "\ufffd(x"},
	{"latin-1 line", "caf\xe9 for user root from 192.0.2.1", "caf\ufffd for user root from 192.0.2.1"},
}

func TestDecode(t *testing.T) {
	for _, c := range decodeCases {
		if got := Decode([]byte(c.in)); got != c.want {
			t.Errorf("%s: Decode(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

// TestDecodeOracle checks the table, and more, against Python's
// bytes.decode("utf-8", "replace").
func TestDecodeOracle(t *testing.T) {
	var in []string
	for _, c := range decodeCases {
		in = append(in, hex.EncodeToString([]byte(c.in)))
	}
	// Every lead byte followed by every interesting second byte.
	for lead := 0x80; lead <= 0xff; lead++ {
		for _, next := range []byte{0x00, 0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0} {
			in = append(in, hex.EncodeToString([]byte{byte(lead), next, 0x80, 0x80, 'z'}))
		}
	}
	var want []string
	oracle(t, "decode", in, &want)
	for i, h := range in {
		b, _ := hex.DecodeString(h)
		if got := Decode(b); got != want[i] {
			t.Errorf("Decode(%q) = %q, Python %q", b, got, want[i])
		}
	}
	t.Logf("%d byte strings decoded as Python does", len(in))
}

func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := Decode(b)
		if !utf8.ValidString(s) {
			t.Fatalf("Decode(%q) = %q is not valid UTF-8", b, s)
		}
		if utf8.ValidString(string(b)) && s != string(b) {
			t.Fatalf("Decode changed valid input %q to %q", b, s)
		}
	})
}
