// Package protoshim is a stand-in for the parts of
// github.com/banserver/banserver/protocol that the load generator and the
// floor server use, with the same names and signatures. It exists only so
// bench/ can be written and tested before protocol/ lands; once it has,
// imports switch to protocol and this package is deleted.
//
// It handles only what the benchmark sends and receives: lists of strings
// and ints as requests, (code, int|string) tuples as replies.
package protoshim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Wire markers, as in fail2ban's protocol.py.
const (
	EndCommand   = "<F2B_END_COMMAND>"
	CloseCommand = "<F2B_CLOSE_COMMAND>"
)

// Sentinel errors with the same meaning as protocol's.
var (
	ErrClose     = errors.New("protocol: close command")
	ErrTooLarge  = errors.New("protocol: message too large")
	ErrMalformed = errors.New("protocol: malformed pickle")
)

// Reader frames messages on EndCommand.
type Reader struct {
	r        io.Reader
	max      int
	buf      []byte
	start    int  // start of unconsumed bytes in buf
	scanned  int  // bytes after start already known not to hold a terminator start
	skipping bool // discarding a message over the cap until its terminator
}

// NewReader returns a Reader capping messages at maxSize bytes.
func NewReader(r io.Reader, maxSize int) *Reader {
	return &Reader{r: r, max: maxSize, buf: make([]byte, 0, 4096)}
}

// ReadMessage returns the next message without its terminator; the slice is
// valid until the next call.
func (r *Reader) ReadMessage() ([]byte, error) {
	end := []byte(EndCommand)
	for {
		data := r.buf[r.start:]
		if i := bytes.Index(data[r.scanned:], end); i >= 0 {
			msg := data[:r.scanned+i]
			r.start += r.scanned + i + len(end)
			r.scanned = 0
			if r.skipping {
				r.skipping = false
				return nil, ErrTooLarge
			}
			if string(msg) == CloseCommand {
				return nil, ErrClose
			}
			return msg, nil
		}
		if n := len(data) - len(end) + 1; n > r.scanned {
			r.scanned = n
		}
		if len(data) > r.max+len(end) {
			// Keep only a possible terminator prefix and skip on.
			keep := copy(r.buf, data[len(data)-len(end)+1:])
			r.buf, r.start, r.scanned = r.buf[:keep], 0, 0
			r.skipping = true
			continue
		}
		// Compact, then grow if full.
		if r.start > 0 {
			n := copy(r.buf, data)
			r.buf = r.buf[:n]
			r.start = 0
		}
		if len(r.buf) == cap(r.buf) {
			nb := make([]byte, len(r.buf), 2*cap(r.buf))
			copy(nb, r.buf)
			r.buf = nb
		}
		n, err := r.r.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		if err != nil {
			if n > 0 {
				continue
			}
			if err == io.EOF && len(r.buf) > r.start {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// AppendRequest appends a protocol-4 pickle of a list of strings and ints,
// plus EndCommand.
func AppendRequest(dst []byte, proto int, args []any) ([]byte, error) {
	if proto != 4 {
		return dst, fmt.Errorf("protoshim: only protocol 4, not %d", proto)
	}
	dst = append(dst, 0x80, 4, ']', '(')
	for _, a := range args {
		var err error
		if dst, err = appendValue(dst, a); err != nil {
			return dst, err
		}
	}
	dst = append(dst, 'e', '.')
	return append(dst, EndCommand...), nil
}

// AppendReply appends a protocol-4 pickle of (code, v) plus EndCommand.
func AppendReply(dst []byte, proto int, code int, v any) ([]byte, error) {
	dst = append(dst, 0x80, 4)
	var err error
	if dst, err = appendValue(dst, code); err != nil {
		return dst, err
	}
	if dst, err = appendValue(dst, v); err != nil {
		return dst, err
	}
	dst = append(dst, 0x86, '.') // TUPLE2 STOP
	return append(dst, EndCommand...), nil
}

func appendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		if len(v) < 256 {
			dst = append(dst, 0x8c, byte(len(v))) // SHORT_BINUNICODE
		} else {
			dst = append(dst, 'X') // BINUNICODE
			dst = binary.LittleEndian.AppendUint32(dst, uint32(len(v)))
		}
		return append(dst, v...), nil
	case int:
		return appendInt(dst, int64(v)), nil
	case int64:
		return appendInt(dst, v), nil
	}
	return dst, fmt.Errorf("protoshim: cannot pickle %T", v)
}

func appendInt(dst []byte, v int64) []byte {
	if v >= 0 && v < 256 {
		return append(dst, 'K', byte(v))
	}
	dst = append(dst, 'J') // BININT, int32 only here
	return binary.LittleEndian.AppendUint32(dst, uint32(int32(v)))
}

// DecodeReply reads the code of a reply: 0 or 1 from a (code, v) tuple,
// -1 for a bare string. v is always nil in the shim.
func DecodeReply(msg []byte) (code int, v any, err error) {
	p := msg
	if len(p) >= 2 && p[0] == 0x80 {
		p = p[2:]
	}
	if len(p) >= 9 && p[0] == 0x95 { // FRAME
		p = p[9:]
	}
	switch {
	case len(p) >= 2 && p[0] == 'K':
		return int(p[1]), nil, nil
	case len(p) >= 1 && (p[0] == 0x8c || p[0] == 'X'):
		return -1, nil, nil
	}
	return 0, nil, ErrMalformed
}
