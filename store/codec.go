package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"
)

// The on-disk layout. Values are compact binary, not JSON: Live decodes a
// million of them at startup, and the fixed-offset times let it skip an
// ended ban without touching its matches.
//
// Key of a ban or a history entry, inside the jail's sub-bucket:
//
//	family (4 or 6) | address (4 or 16 bytes) | prefix bits
//
// so a cursor walks IPv4 before IPv6, then by address, then by length.
//
// Ban value, version 1:
//
//	0x01 | start (int64 BE, unix ns) | bantime (int64 BE, ns) |
//	count (uvarint) | n (uvarint) | n × (len (uvarint) | bytes)
//
// History value, version 1:
//
//	0x01 | last start (int64 BE) | last bantime (int64 BE) | count (uvarint)
const (
	banVersion  = 1
	histVersion = 1
	// banFixed is the length of a ban value's fixed part: version, start, bantime.
	banFixed = 1 + 8 + 8
	// maxCount bounds a decoded count so int arithmetic cannot overflow.
	maxCount = math.MaxInt32
)

// errBadRecord is wrapped by every decoding error; callers join it with
// ErrCorrupt.
var errBadRecord = errors.New("store: bad record")

// zeroTime is how a zero time.Time is stored: its UnixNano is undefined.
const zeroTime = math.MinInt64

func timeToNanos(t time.Time) int64 {
	if t.IsZero() {
		return zeroTime
	}
	return t.UnixNano()
}

func nanosToTime(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// prefixKey appends the key of p (already masked) to dst.
func prefixKey(dst []byte, p netip.Prefix) []byte {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		dst = append(dst, 4)
		dst = append(dst, b[:]...)
	} else {
		b := a.As16()
		dst = append(dst, 6)
		dst = append(dst, b[:]...)
	}
	return append(dst, byte(p.Bits()))
}

// decodeKey is the inverse of prefixKey.
func decodeKey(k []byte) (netip.Prefix, error) {
	var a netip.Addr
	switch {
	case len(k) == 6 && k[0] == 4:
		a = netip.AddrFrom4([4]byte(k[1:5]))
	case len(k) == 18 && k[0] == 6:
		a = netip.AddrFrom16([16]byte(k[1:17]))
	default:
		return netip.Prefix{}, fmt.Errorf("%w: key of %d bytes", errBadRecord, len(k))
	}
	bits := int(k[len(k)-1])
	if bits > a.BitLen() {
		return netip.Prefix{}, fmt.Errorf("%w: prefix length %d", errBadRecord, bits)
	}
	return netip.PrefixFrom(a, bits), nil
}

// appendBan appends the value of b (matches already capped) to dst.
func appendBan(dst []byte, b *Ban) []byte {
	dst = append(dst, banVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(timeToNanos(b.Start)))
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.BanTime))
	dst = binary.AppendUvarint(dst, uint64(max(b.Count, 0)))
	dst = binary.AppendUvarint(dst, uint64(len(b.Matches)))
	for _, m := range b.Matches {
		dst = binary.AppendUvarint(dst, uint64(len(m)))
		dst = append(dst, m...)
	}
	return dst
}

// banTimes reads the fixed part of a ban value: enough to tell whether the
// ban has ended without decoding the rest.
func banTimes(v []byte) (start, banTime int64, err error) {
	if len(v) < banFixed {
		return 0, 0, fmt.Errorf("%w: ban value of %d bytes", errBadRecord, len(v))
	}
	if v[0] != banVersion {
		return 0, 0, fmt.Errorf("%w: ban value version %d", errBadRecord, v[0])
	}
	return int64(binary.BigEndian.Uint64(v[1:9])), int64(binary.BigEndian.Uint64(v[9:17])), nil
}

// endNanos is the unix-ns end of a ban, and false when it never ends.
func endNanos(start, banTime int64) (int64, bool) {
	if banTime < 0 {
		return 0, false
	}
	if start == zeroTime {
		return math.MinInt64 + banTime, true
	}
	if start > math.MaxInt64-banTime {
		return math.MaxInt64, true
	}
	return start + banTime, true
}

// decodeBan fills b's Start, BanTime, Count and Matches from v. It never
// panics and never allocates more than len(v) bytes' worth of matches,
// whatever v holds: the file may be damaged.
func decodeBan(v []byte, b *Ban) error {
	start, banTime, err := banTimes(v)
	if err != nil {
		return err
	}
	rest := v[banFixed:]
	count, n := binary.Uvarint(rest)
	if n <= 0 || count > maxCount {
		return fmt.Errorf("%w: ban count", errBadRecord)
	}
	rest = rest[n:]
	nm, n := binary.Uvarint(rest)
	// Every match takes at least its length byte, so a count beyond the
	// remaining bytes is damage, not a reason to allocate.
	if n <= 0 || nm > uint64(len(rest)-n) {
		return fmt.Errorf("%w: match count", errBadRecord)
	}
	rest = rest[n:]
	var matches []string
	if nm > 0 {
		matches = make([]string, nm)
		// One string for all matches, sliced: one allocation instead of n.
		all := string(rest)
		off := 0
		for i := range matches {
			l, n := binary.Uvarint(rest[off:])
			if n <= 0 || l > uint64(len(rest)-off-n) {
				return fmt.Errorf("%w: match %d length", errBadRecord, i)
			}
			off += n
			matches[i] = all[off : off+int(l)]
			off += int(l)
		}
		rest = rest[off:]
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d trailing bytes in ban value", errBadRecord, len(rest))
	}
	b.Start = nanosToTime(start)
	b.BanTime = time.Duration(banTime)
	b.Count = int(count)
	b.Matches = matches
	return nil
}

// appendHistory appends the value of h to dst.
func appendHistory(dst []byte, h History) []byte {
	dst = append(dst, histVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(timeToNanos(h.LastStart)))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.LastBanTime))
	return binary.AppendUvarint(dst, uint64(max(h.Count, 0)))
}

// decodeHistory is the inverse of appendHistory; like decodeBan it never
// panics.
func decodeHistory(v []byte) (History, error) {
	if len(v) < 1+8+8+1 {
		return History{}, fmt.Errorf("%w: history value of %d bytes", errBadRecord, len(v))
	}
	if v[0] != histVersion {
		return History{}, fmt.Errorf("%w: history value version %d", errBadRecord, v[0])
	}
	count, n := binary.Uvarint(v[17:])
	if n <= 0 || count > maxCount || 17+n != len(v) {
		return History{}, fmt.Errorf("%w: history count", errBadRecord)
	}
	return History{
		Count:       int(count),
		LastStart:   nanosToTime(int64(binary.BigEndian.Uint64(v[1:9]))),
		LastBanTime: time.Duration(int64(binary.BigEndian.Uint64(v[9:17]))),
	}, nil
}
