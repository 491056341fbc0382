package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

var (
	endCommand   = []byte(EndCommand)
	closeCommand = []byte(CloseCommand)
)

// minBuf is the first buffer size; most requests are under 200 bytes.
const minBuf = 512

// Reader frames EndCommand-terminated messages from a stream.
type Reader struct {
	r   io.Reader
	max int
	buf []byte
	// buf[start:end] is unread; buf[start:start+scanned] is known to
	// hold no complete terminator, so searches resume near its end.
	start, end, scanned int
	err                 error // sticky error from r
}

// NewReader returns a Reader on r that refuses messages longer than
// maxSize bytes (terminator excluded). maxSize <= 0 means 1 MiB.
func NewReader(r io.Reader, maxSize int) *Reader {
	if maxSize <= 0 {
		maxSize = 1 << 20
	}
	return &Reader{r: r, max: maxSize}
}

// maxKeptBuf is the largest buffer Reset keeps for the next stream: a
// reader that grew for one large message gives that memory back.
const maxKeptBuf = 4 << 10

// Reset makes the Reader read a new stream r with the cap maxSize, as
// NewReader does, keeping its buffer (when not larger than a few KiB) so
// that a server reusing Readers across connections allocates none.
func (r *Reader) Reset(rd io.Reader, maxSize int) {
	if maxSize <= 0 {
		maxSize = 1 << 20
	}
	buf := r.buf
	if cap(buf) > maxKeptBuf {
		buf = nil
	}
	*r = Reader{r: rd, max: maxSize, buf: buf}
}

// ReadMessage returns the next message without its terminator. The slice
// is valid until the next call. It returns io.EOF at a clean end between
// messages, io.ErrUnexpectedEOF for a partial message at EOF, ErrClose for
// the close command, and ErrTooLarge when a message exceeds maxSize: the
// reader has then discarded bytes up to the next terminator (or EOF), so
// the connection can carry on with the next message.
func (r *Reader) ReadMessage() ([]byte, error) {
	discarding := false
	for {
		if i := r.search(); i >= 0 {
			msg := r.buf[r.start : r.start+i]
			r.start += i + len(endCommand)
			r.scanned = 0
			if discarding || len(msg) > r.max {
				return nil, fmt.Errorf("%w (over %d bytes)", ErrTooLarge, r.max)
			}
			if bytes.Equal(msg, closeCommand) {
				return nil, ErrClose
			}
			return msg, nil
		}
		if r.end-r.start >= r.max+len(endCommand) {
			// No terminator among max+len(terminator) bytes: the message
			// is too long whatever follows. Keep only a tail that could
			// begin a terminator and skip the rest.
			discarding = true
			keep := len(endCommand) - 1
			r.start = r.end - keep
			r.scanned = 0
		}
		if r.err != nil {
			n := r.end - r.start
			r.start, r.end, r.scanned = 0, 0, 0
			switch {
			case discarding:
				return nil, fmt.Errorf("%w (over %d bytes, then %v)", ErrTooLarge, r.max, r.err)
			case r.err != io.EOF:
				return nil, fmt.Errorf("protocol: read: %w", r.err)
			case n == 0:
				return nil, io.EOF
			}
			return nil, io.ErrUnexpectedEOF
		}
		r.fill()
	}
}

// Buffered reports whether a complete message (or the close command) is
// already buffered: the next ReadMessage then returns it without reading.
// A server that answers pipelined requests can hold its replies until
// this is false and write them together.
func (r *Reader) Buffered() bool {
	return r.end > r.start && r.search() >= 0
}

// search returns the offset of the terminator from r.start, or -1.
func (r *Reader) search() int {
	from := r.scanned - (len(endCommand) - 1)
	if from < 0 {
		from = 0
	}
	i := bytes.Index(r.buf[r.start+from:r.end], endCommand)
	if i < 0 {
		r.scanned = r.end - r.start
		return -1
	}
	return from + i
}

// fill reads once into the free space, first compacting and growing the
// buffer (never beyond what the cap needs).
func (r *Reader) fill() {
	if r.start > 0 {
		n := copy(r.buf, r.buf[r.start:r.end])
		r.start, r.end = 0, n
	}
	if r.end == len(r.buf) {
		limit := r.max + len(endCommand)
		size := 2 * len(r.buf)
		if size < minBuf {
			size = minBuf
		}
		if size > limit {
			size = limit
		}
		if size <= len(r.buf) {
			size = len(r.buf) + minBuf // cannot happen while under the cap
		}
		nb := make([]byte, size)
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := r.r.Read(r.buf[r.end:])
		if n < 0 || n > len(r.buf)-r.end {
			r.err = errors.New("protocol: reader returned invalid count")
			return
		}
		r.end += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}
