package protocol

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const E = EndCommand

type readResult struct {
	msg string
	err error
}

// readAll drains a Reader, stopping after the first io.EOF or non-protocol
// error.
func readAll(r *Reader) []readResult {
	var out []readResult
	for i := 0; i < 1000; i++ {
		msg, err := r.ReadMessage()
		out = append(out, readResult{string(msg), err})
		if err != nil && !errors.Is(err, ErrClose) && !errors.Is(err, ErrTooLarge) {
			break
		}
	}
	return out
}

func TestReadMessage(t *testing.T) {
	big := strings.Repeat("x", 100000)
	tests := []struct {
		name  string
		input string
		max   int
		want  []readResult
	}{
		{"several in one read", "a" + E + "bb" + E + "ccc" + E, 0,
			[]readResult{{"a", nil}, {"bb", nil}, {"ccc", nil}, {"", io.EOF}}},
		{"empty stream", "", 0, []readResult{{"", io.EOF}}},
		{"empty message", E + "a" + E, 0, []readResult{{"", nil}, {"a", nil}, {"", io.EOF}}},
		{"partial message at EOF", "a" + E + "ab", 0, []readResult{{"a", nil}, {"", io.ErrUnexpectedEOF}}},
		{"partial terminator at EOF", "a<F2B_END", 0, []readResult{{"", io.ErrUnexpectedEOF}}},
		{"terminator prefix inside message", "<F2B_END<F2B_END_COMMAND" + E, 0,
			[]readResult{{"<F2B_END<F2B_END_COMMAND", nil}, {"", io.EOF}}},
		{"close command", "a" + E + CloseCommand + E + "b" + E, 0,
			[]readResult{{"a", nil}, {"", ErrClose}, {"b", nil}, {"", io.EOF}}},
		{"close command text inside a message", "x" + CloseCommand + E, 0, []readResult{{"x" + CloseCommand, nil}, {"", io.EOF}}},
		{"exactly max", "0123456789" + E + "ok" + E, 10, []readResult{{"0123456789", nil}, {"ok", nil}, {"", io.EOF}}},
		{"max plus one then good", "0123456789A" + E + "ok" + E, 10,
			[]readResult{{"", ErrTooLarge}, {"ok", nil}, {"", io.EOF}}},
		{"far too large then good", big + E + "ok" + E, 1024,
			[]readResult{{"", ErrTooLarge}, {"ok", nil}, {"", io.EOF}}},
		{"two too large in a row", big + E + big + E + "ok" + E, 1024,
			[]readResult{{"", ErrTooLarge}, {"", ErrTooLarge}, {"ok", nil}, {"", io.EOF}}},
		{"too large at EOF", big, 1024, []readResult{{"", ErrTooLarge}, {"", io.EOF}}},
		{"big within a big cap", big + E, 200000, []readResult{{big, nil}, {"", io.EOF}}},
	}
	wrappers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"data with EOF", func(r io.Reader) io.Reader { return iotest.DataErrReader(iotest.OneByteReader(r)) }},
	}
	for _, tc := range tests {
		for _, w := range wrappers {
			t.Run(tc.name+"/"+w.name, func(t *testing.T) {
				got := readAll(NewReader(w.wrap(strings.NewReader(tc.input)), tc.max))
				if len(got) != len(tc.want) {
					t.Fatalf("got %d results %v, want %v", len(got), short(got), short(tc.want))
				}
				for i := range got {
					if got[i].msg != tc.want[i].msg || !errors.Is(got[i].err, tc.want[i].err) || (got[i].err == nil) != (tc.want[i].err == nil) {
						t.Fatalf("result %d = %v, want %v", i, short(got[i:i+1]), short(tc.want[i:i+1]))
					}
				}
			})
		}
	}
}

func short(rs []readResult) []readResult {
	out := make([]readResult, len(rs))
	for i, r := range rs {
		if len(r.msg) > 40 {
			r.msg = r.msg[:40] + "..."
		}
		out[i] = r
	}
	return out
}

func TestReadMessageReadError(t *testing.T) {
	r := NewReader(io.MultiReader(strings.NewReader("a"+E+"b"), iotest.ErrReader(iotest.ErrTimeout)), 0)
	if msg, err := r.ReadMessage(); err != nil || string(msg) != "a" {
		t.Fatalf("first = %q, %v", msg, err)
	}
	if _, err := r.ReadMessage(); !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
}

// TestReadMessageBufferBounded checks that a reader fed an endless message
// never holds much more than its cap.
func TestReadMessageBufferBounded(t *testing.T) {
	const max = 4096
	src := io.LimitReader(zeroReader{}, 10<<20)
	r := NewReader(src, max)
	_, err := r.ReadMessage()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if cap(r.buf) > max+len(E) {
		t.Fatalf("buffer grew to %d for a cap of %d", cap(r.buf), max)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestReadMessageReusesBuffer(t *testing.T) {
	msg := bytes.Repeat([]byte("m"), 100)
	stream := bytes.Repeat(append(msg, E...), 50)
	r := NewReader(bytes.NewReader(stream), 0)
	n := testing.AllocsPerRun(1, func() {
		r2 := *r
		r2.r = bytes.NewReader(stream)
		r2.start, r2.end, r2.scanned, r2.err = 0, 0, 0, nil
		for {
			if _, err := r2.ReadMessage(); err != nil {
				break
			}
		}
	})
	if n > 3 {
		t.Errorf("reading 50 messages allocates %v times", n)
	}
}
