package protocol

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestReaderReset: after Reset a Reader reads only the new stream, with
// the new cap, keeping a small buffer (no allocation for the next stream)
// and dropping one grown past a few KiB.
func TestReaderReset(t *testing.T) {
	tests := []struct {
		name     string
		first    string // read partly from the first stream
		max      int
		second   string
		want     []string
		wantErr  error
		keepsBuf bool
	}{
		{"small buffer kept", "a" + E + "left over, unread", 100, "b" + E + "c" + E, []string{"b", "c"}, io.EOF, true},
		{"new cap applies", "a" + E, 3, "abcd" + E + "x" + E, []string{"x"}, io.EOF, true},
		{"grown buffer dropped", strings.Repeat("y", 8<<10) + E, 1 << 20, "z" + E, []string{"z"}, io.EOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.first), 1<<20)
			if _, err := r.ReadMessage(); err != nil {
				t.Fatal(err)
			}
			old := r.buf
			r.Reset(strings.NewReader(tt.second), tt.max)
			if kept := len(old) > 0 && cap(r.buf) == cap(old) && &r.buf[:1][0] == &old[:1][0]; kept != tt.keepsBuf {
				t.Fatalf("buffer kept: %v, want %v", kept, tt.keepsBuf)
			}
			var got []string
			for {
				msg, err := r.ReadMessage()
				if errors.Is(err, ErrTooLarge) {
					continue
				}
				if err != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("error %v, want %v", err, tt.wantErr)
					}
					break
				}
				got = append(got, string(msg))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("messages %q, want %q", got, tt.want)
			}
		})
	}
}
