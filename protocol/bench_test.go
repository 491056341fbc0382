package protocol

import (
	"bytes"
	"testing"
)

// attemptMsg is pickle.dumps(["set","api","attempt","192.0.2.7",
// "Incorrect token used."], 4) as python3 writes it, memo ops included.
const attemptMsg = "\x80\x04\x95?\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x03set\x94\x8c\x03api\x94\x8c\x07attempt\x94\x8c\t192.0.2.7\x94\x8c\x15Incorrect token used.\x94e."

func TestAttemptMsgIsPython(t *testing.T) {
	got := pyPickles(t, 4, []string{`["set","api","attempt","192.0.2.7","Incorrect token used."]`})[0]
	if string(got) != attemptMsg {
		t.Fatalf("python3 pickles the attempt as %q", got)
	}
}

// loopReader replays a buffer forever.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}

func BenchmarkReadMessage(b *testing.B) {
	stream := bytes.Repeat([]byte(attemptMsg+EndCommand), 64)
	r := NewReader(&loopReader{data: stream}, 1<<16)
	b.SetBytes(int64(len(attemptMsg) + len(EndCommand)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	msg := []byte(attemptMsg)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Check(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	msg := []byte(attemptMsg)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendReply(b *testing.B) {
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = AppendReply(dst[:0], 4, 0, int64(1)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendReplyException(b *testing.B) {
	dst := make([]byte, 0, 256)
	exc := &Exception{ClassUnknownJail, []any{"nojail"}}
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = AppendReply(dst[:0], 4, 1, exc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHotPath is one attempt end to end: frame, decode, answer.
func BenchmarkHotPath(b *testing.B) {
	stream := bytes.Repeat([]byte(attemptMsg+EndCommand), 64)
	r := NewReader(&loopReader{data: stream}, 1<<16)
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		msg, err := r.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		_, proto, err := Decode(msg)
		if err != nil {
			b.Fatal(err)
		}
		if dst, err = AppendReply(dst[:0], proto, 0, int64(1)); err != nil {
			b.Fatal(err)
		}
	}
}
