package source

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// The wants are Python 3's bytes.decode(enc, "replace"), which fail2ban's
// FileContainer.decode_line falls back to.
func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		enc      Encoding
		in, want string
		replaced bool
	}{
		{name: "utf-8 valid", enc: EncodingUTF8, in: "sshd[1]: Failed for ünïcode", want: "sshd[1]: Failed for ünïcode"},
		{name: "utf-8 truncated 3-byte", enc: EncodingUTF8, in: "a\xe2\x82b", want: "a\ufffdb", replaced: true},
		{name: "utf-8 truncated at end", enc: EncodingUTF8, in: "\xe2\x82", want: "\ufffd", replaced: true},
		{name: "utf-8 truncated 4-byte", enc: EncodingUTF8, in: "\xf0\x9f\x98", want: "\ufffd", replaced: true},
		{name: "utf-8 surrogate", enc: EncodingUTF8, in: "\xed\xa0\x80x", want: "\ufffd\ufffd\ufffdx", replaced: true},
		{name: "utf-8 overlong", enc: EncodingUTF8, in: "\xc0\xaf", want: "\ufffd\ufffd", replaced: true},
		{name: "utf-8 bad bytes", enc: EncodingUTF8, in: "\xff\xfe", want: "\ufffd\ufffd", replaced: true},
		{name: "utf-8 above U+10FFFF", enc: EncodingUTF8, in: "\xf4\x90\x80\x80", want: "\ufffd\ufffd\ufffd\ufffd", replaced: true},
		{name: "utf-8 overlong 3-byte", enc: EncodingUTF8, in: "\xe0\x80\x80", want: "\ufffd\ufffd\ufffd", replaced: true},
		{name: "utf-8 literal U+FFFD", enc: EncodingUTF8, in: "x\ufffdy", want: "x\ufffdy"},
		{name: "utf-8 nul", enc: EncodingUTF8, in: "ok\x00nul", want: "ok\x00nul"},
		{name: "latin-1", enc: EncodingLatin1, in: "caf\xe9 \xff", want: "café ÿ"},
		{name: "latin-1 ascii", enc: EncodingLatin1, in: "plain", want: "plain"},
		{name: "ascii", enc: EncodingASCII, in: "a\xe2\x82b", want: "a\ufffd\ufffdb", replaced: true},
		{name: "ascii clean", enc: EncodingASCII, in: "abc", want: "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, replaced := tt.enc.Decode([]byte(tt.in))
			if got != tt.want || replaced != tt.replaced {
				t.Errorf("Decode(%q) = %q, %v; want %q, %v", tt.in, got, replaced, tt.want, tt.replaced)
			}
		})
	}
}

func TestParseEncoding(t *testing.T) {
	tests := []struct {
		in   string
		want Encoding
		err  bool
	}{
		{in: "", want: EncodingUTF8},
		{in: "auto", want: EncodingUTF8},
		{in: "UTF-8", want: EncodingUTF8},
		{in: "utf_8", want: EncodingUTF8},
		{in: "Latin-1", want: EncodingLatin1},
		{in: "ISO-8859-1", want: EncodingLatin1},
		{in: "ascii", want: EncodingASCII},
		{in: "utf-16le", err: true},
		{in: "koi8-r", err: true},
	}
	for _, tt := range tests {
		got, err := ParseEncoding(tt.in)
		if tt.err {
			if !errors.Is(err, ErrEncoding) {
				t.Errorf("ParseEncoding(%q) err = %v, want ErrEncoding", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseEncoding(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestTrimPartialRune(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", "abc"},
		{"ab\xe2\x82", "ab"},
		{"ab\xe2", "ab"},
		{"ab\xe2\x82\xac", "ab\xe2\x82\xac"},
		{"ab\xf0\x9f\x98", "ab"},
		{"\x80\x80\x80\x80", "\x80\x80\x80\x80"},
	}
	for _, tt := range tests {
		if got := string(trimPartialRune([]byte(tt.in))); got != tt.want {
			t.Errorf("trimPartialRune(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzDecode checks that decoding always gives valid UTF-8, that valid
// input is kept as is, and that replaced is reported exactly when the
// input was not valid.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("a\xe2\x82b\xff\x00"))
	f.Add([]byte("\xf4\x90\x80\x80\xed\xa0\x80"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, replaced := EncodingUTF8.Decode(b)
		if !utf8.ValidString(s) {
			t.Fatalf("not valid: %q", s)
		}
		if replaced == utf8.Valid(b) {
			t.Fatalf("replaced = %v for %q", replaced, b)
		}
		if !replaced && s != string(b) {
			t.Fatalf("valid input changed")
		}
		if l, _ := EncodingLatin1.Decode(b); utf8.RuneCountInString(l) != len(b) {
			t.Fatalf("latin-1 gave %d runes for %d bytes", utf8.RuneCountInString(l), len(b))
		}
	})
}
