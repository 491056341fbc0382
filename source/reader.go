package source

import (
	"errors"
	"io"
	"os"
	"time"
)

// reader reads one open file: the file at a followed path, or a file
// rotated away from it and drained until it is quiet.
type reader struct {
	path      string // the followed path: Line.File, the Positions name
	f         *os.File
	id        fileID
	hash      string // firstLine's hash, "" until the first line is complete
	hashLen   int
	pos       int64 // start of the first line not yet delivered
	saved     int64 // pos when last saved
	savedHash string
	off       int64 // next byte to read: pos plus the pending partial line
	sp        *splitter
	grew      time.Time // (rotated) when it last had new bytes
	warned    bool      // a decode warning was logged for this file
}

// position is what Save records for r.
func (r *reader) position() Position {
	return Position{Dev: r.id.dev, Inode: r.id.ino, Hash: r.hash, Offset: r.pos}
}

// matches reports whether p was saved for the file r has open, as it is
// now: same device and inode, same first line, not shorter than p.Offset.
// A position without device and inode (imported from fail2ban's
// database, which keeps only firstlinemd5 and lastfilepos) is matched on
// the first line alone, as fail2ban does.
func (r *reader) matches(p Position, size int64) bool {
	if size < p.Offset || p.Offset < 0 {
		return false
	}
	if p.Dev == 0 && p.Inode == 0 {
		return p.Hash != "" && p.Hash == r.hash
	}
	if p.Dev != r.id.dev || p.Inode != r.id.ino {
		return false
	}
	if p.Hash == "" { // saved before the first line was complete
		return p.Offset == 0
	}
	return p.Hash == r.hash
}

// rewind restarts r at the beginning of its file (truncation).
func (r *reader) rewind() {
	r.pos, r.off, r.saved = 0, 0, -1
	r.hash, r.hashLen = "", 0
	r.sp.reset()
}

// read reads r's file from off, one buffer at a time, feeding the
// splitter and calling after (if not nil) once the lines of each buffer
// were emitted; it stops at the end of the file, at the first error, or
// after budget buffers (budget <= 0: no limit). It reports whether bytes
// were read and whether it stopped with more to read.
func (r *reader) read(buf []byte, budget int, emit func(piece) error, after func() error) (got, more bool, err error) {
	for i := 0; budget <= 0 || i < budget; i++ {
		n, rerr := r.f.ReadAt(buf, r.off)
		if n > 0 {
			got = true
			r.off += int64(n)
			if err := r.sp.feed(buf[:n], emit); err != nil {
				return got, false, err
			}
			if after != nil {
				if err := after(); err != nil {
					return got, false, err
				}
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return got, false, nil
			}
			return got, false, errorf("read %s: %w", r.path, rerr)
		}
	}
	return got, true, nil
}

func (r *reader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}
