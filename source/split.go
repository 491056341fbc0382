package source

import "bytes"

// DefaultMaxLine is the longest line delivered whole; the rest of a longer
// line, up to its newline, is skipped and the line counted as cut.
const DefaultMaxLine = 64 << 10

// piece is one line cut from the stream by a splitter.
type piece struct {
	b    []byte // the line without its newline, at most max bytes; valid until emit returns
	span int64  // bytes of the stream it covers, with the newline when it has one
	cut  bool   // the line was longer than max: b is its head
	drop bool   // not to be delivered (the tail of a line begun before the start point)
}

// splitter cuts a byte stream, fed in chunks of any size, into lines of at
// most max bytes. A line is complete at its '\n'; the bytes of a line not
// yet complete are kept (up to max) until the next feed or a flush.
type splitter struct {
	max  int
	buf  []byte // head of the pending line (at most max bytes) when it spans feeds
	n    int64  // bytes of the pending line seen so far, kept or skipped
	drop bool   // the pending line is not delivered (see piece.drop)
}

func newSplitter(max int) *splitter {
	return &splitter{max: max}
}

// feed splits p, calling emit for each line completed in it, and keeps the
// incomplete end. It stops at the first error from emit.
func (s *splitter) feed(p []byte, emit func(piece) error) error {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.keep(p)
			return nil
		}
		var pc piece
		pc.span = s.n + int64(i) + 1
		pc.cut = s.n+int64(i) > int64(s.max)
		pc.drop = s.drop
		switch {
		case s.drop:
		case s.n == 0: // the whole line is in p: no copy
			pc.b = p[:min(i, s.max)]
		default:
			s.buf = append(s.buf, p[:min(i, s.max-len(s.buf))]...)
			pc.b = s.buf
		}
		p = p[i+1:]
		err := emit(pc)
		s.reset()
		if err != nil {
			return err
		}
	}
	return nil
}

// keep adds bytes of the pending line.
func (s *splitter) keep(p []byte) {
	if !s.drop && len(s.buf) < s.max {
		s.buf = append(s.buf, p[:min(len(p), s.max-len(s.buf))]...)
	}
	s.n += int64(len(p))
}

// flush ends the pending line without a newline (a rotated file's last
// line) and reports it; ok is false when nothing is pending.
func (s *splitter) flush() (pc piece, ok bool) {
	if s.n == 0 {
		s.reset()
		return piece{}, false
	}
	pc = piece{span: s.n, cut: s.n > int64(s.max), drop: s.drop}
	if !s.drop {
		pc.b = s.buf
	}
	s.reset()
	return pc, true
}

// pending returns how many bytes of an incomplete line were fed.
func (s *splitter) pending() int64 { return s.n }

// dropFirst makes the next line (already begun before the start point)
// be skipped rather than delivered as a fragment.
func (s *splitter) dropFirst() { s.drop = true }

// reset forgets the pending line; buf's storage is reused.
func (s *splitter) reset() {
	s.buf = s.buf[:0]
	s.n = 0
	s.drop = false
}
