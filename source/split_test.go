package source

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// splitAll feeds data to a splitter in chunks of the given sizes (cycled)
// and returns what it emitted, then what a flush gives.
func splitAll(max int, data []byte, chunks []int, dropFirst bool) (lines []piece, flushed *piece) {
	s := newSplitter(max)
	if dropFirst {
		s.dropFirst()
	}
	emit := func(pc piece) error {
		pc.b = bytes.Clone(pc.b)
		lines = append(lines, pc)
		return nil
	}
	for i := 0; len(data) > 0; i++ {
		n := len(data)
		if len(chunks) > 0 {
			n = min(n, max1(chunks[i%len(chunks)]))
		}
		if err := s.feed(data[:n], emit); err != nil {
			panic(err)
		}
		data = data[n:]
	}
	if pc, ok := s.flush(); ok {
		pc.b = bytes.Clone(pc.b)
		flushed = &pc
	}
	return lines, flushed
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func TestSplitter(t *testing.T) {
	tests := []struct {
		name      string
		max       int
		in        string
		chunks    []int
		dropFirst bool
		want      []string // "text" or "text|cut" or "|drop"
		flushed   string   // "" when nothing pending
	}{
		{name: "simple", max: 100, in: "a\nbb\n", want: []string{"a", "bb"}},
		{name: "empty lines", max: 100, in: "\n\nx\n", want: []string{"", "", "x"}},
		{name: "partial last line waits", max: 100, in: "a\nhalf", want: []string{"a"}, flushed: "half"},
		{name: "split across feeds", max: 100, in: "hello world\nbye\n", chunks: []int{1}, want: []string{"hello world", "bye"}},
		{name: "crlf kept for decoding", max: 100, in: "a\r\nb\n", want: []string{"a\r", "b"}},
		{name: "exactly max", max: 4, in: "abcd\nx\n", want: []string{"abcd", "x"}},
		{name: "over max one feed", max: 4, in: "abcdefgh\nx\n", want: []string{"abcd|cut", "x"}},
		{name: "over max many feeds", max: 4, in: "abcdefgh\nx\n", chunks: []int{3}, want: []string{"abcd|cut", "x"}},
		{name: "over max pending", max: 4, in: "abcdefgh", flushed: "abcd|cut"},
		{name: "nul bytes", max: 100, in: "a\x00b\n\x00\x00\n", want: []string{"a\x00b", "\x00\x00"}},
		{name: "invalid utf-8 kept", max: 100, in: "\xff\xfe\n", want: []string{"\xff\xfe"}},
		{name: "drop first", max: 100, in: "tail of old\nnew\n", dropFirst: true, want: []string{"|drop", "new"}},
		{name: "drop first in chunks", max: 3, in: "tail of old\nnew\n", chunks: []int{2}, dropFirst: true, want: []string{"|drop", "new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, fl := splitAll(tt.max, []byte(tt.in), tt.chunks, tt.dropFirst)
			var got []string
			var span int64
			for _, l := range lines {
				got = append(got, show(l))
				span += l.span
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("lines = %q, want %q", got, tt.want)
			}
			gotFl := ""
			if fl != nil {
				gotFl = show(*fl)
				span += fl.span
			}
			if gotFl != tt.flushed {
				t.Errorf("flushed = %q, want %q", gotFl, tt.flushed)
			}
			if span != int64(len(tt.in)) {
				t.Errorf("spans add up to %d, want %d", span, len(tt.in))
			}
		})
	}
}

func show(p piece) string {
	switch {
	case p.drop:
		return "|drop"
	case p.cut:
		return string(p.b) + "|cut"
	}
	return string(p.b)
}

func TestSplitterEmitError(t *testing.T) {
	s := newSplitter(10)
	boom := errors.New("boom")
	n := 0
	err := s.feed([]byte("a\nb\nc\n"), func(piece) error {
		n++
		if n == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 2 {
		t.Fatalf("feed = %v after %d lines, want boom after 2", err, n)
	}
}

// FuzzLineSplit checks the splitter against a plain model (split the whole
// input at '\n', cut each line at max) whatever the chunking: partial
// lines, caps, invalid UTF-8 and NULs alike, and that decoding any line
// gives valid UTF-8.
func FuzzLineSplit(f *testing.F) {
	f.Add([]byte("a\nbb\nccc"), uint8(4), []byte{1, 2, 3}, false)
	f.Add([]byte("abcdefgh\n\x00\x00\xff\n\xe2\x82\n"), uint8(3), []byte{5}, false)
	f.Add([]byte("partial line without end"), uint8(8), []byte{}, true)
	f.Add([]byte("\r\n\r\r\n"), uint8(1), []byte{1}, false)
	f.Fuzz(func(t *testing.T, data []byte, max uint8, chunkBytes []byte, dropFirst bool) {
		m := int(max%64) + 1
		var chunks []int
		for _, c := range chunkBytes {
			chunks = append(chunks, int(c))
		}
		lines, fl := splitAll(m, data, chunks, dropFirst)

		// The model.
		parts := bytes.Split(data, []byte{'\n'})
		last := parts[len(parts)-1]
		parts = parts[:len(parts)-1]
		if len(lines) != len(parts) {
			t.Fatalf("%d lines, want %d", len(lines), len(parts))
		}
		var span int64
		for i, p := range parts {
			l := lines[i]
			span += l.span
			if l.span != int64(len(p))+1 {
				t.Fatalf("line %d spans %d, want %d", i, l.span, len(p)+1)
			}
			if dropFirst && i == 0 {
				if !l.drop {
					t.Fatalf("first line not dropped")
				}
				continue
			}
			if l.drop {
				t.Fatalf("line %d dropped", i)
			}
			want, cut := p, false
			if len(want) > m {
				want, cut = want[:m], true
			}
			if !bytes.Equal(l.b, want) || l.cut != cut {
				t.Fatalf("line %d = %q cut=%v, want %q cut=%v", i, l.b, l.cut, want, cut)
			}
			for _, enc := range []Encoding{EncodingUTF8, EncodingLatin1, EncodingASCII} {
				s, _ := enc.Decode(l.b)
				if !utf8.ValidString(s) {
					t.Fatalf("%s decode of %q not valid UTF-8", enc, l.b)
				}
			}
		}
		if len(last) == 0 {
			if fl != nil {
				t.Fatalf("flush gave %q with nothing pending", fl.b)
			}
		} else {
			if fl == nil {
				t.Fatalf("flush gave nothing, want %q", last)
			}
			span += fl.span
			if fl.drop != (dropFirst && len(parts) == 0) {
				t.Fatalf("flush drop = %v", fl.drop)
			}
			if !fl.drop && !bytes.Equal(fl.b, last[:min(len(last), m)]) {
				t.Fatalf("flushed %q, want prefix of %q", fl.b, last)
			}
		}
		if span != int64(len(data)) {
			t.Fatalf("spans add up to %d, want %d", span, len(data))
		}
		if strings.Contains(string(data), "\n") && len(lines) == 0 {
			t.Fatal("no line from data with a newline")
		}
	})
}
