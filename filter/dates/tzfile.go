package dates

import (
	"encoding/binary"
	"errors"
)

// Compiled zone files (TZif, RFC 8536), evaluated as the C library's
// __tzfile_compute does: before the first transition the first standard
// time type, after the last one the footer's POSIX rules (or the last
// type when there is no footer). Leap second records are ignored.

type ttInfo struct {
	offset int
	dst    bool
	abbr   string
	isStd  bool
	isUT   bool
}

type tzFile struct {
	trans  []int64
	idx    []uint8
	types  []ttInfo
	footer *posixTZ // nil: no footer, or an unusable one
	// names override the footer's zone names (posixrules used for a TZ
	// string without rules).
	stdName, dstName string
	renamed          bool
}

var errTZif = errors.New("not a TZif file")

func parseTZif(data []byte) (*tzFile, error) {
	const headerLen = 44
	readHeader := func(b []byte) (version byte, counts [6]int, ok bool) {
		if len(b) < headerLen || string(b[:4]) != "TZif" {
			return 0, counts, false
		}
		for i := range counts {
			counts[i] = int(binary.BigEndian.Uint32(b[20+4*i:]))
		}
		return b[4], counts, true
	}
	version, c, ok := readHeader(data)
	if !ok {
		return nil, errTZif
	}
	width := 4
	body := data[headerLen:]
	// counts: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
	if version != 0 {
		skip := c[3]*5 + c[4]*6 + c[5] + c[2]*8 + c[1] + c[0]
		if skip > len(body) {
			return nil, errTZif
		}
		body = body[skip:]
		if _, c, ok = readHeader(body); !ok {
			return nil, errTZif
		}
		body = body[headerLen:]
		width = 8
	}
	isut, isstd, leaps, timecnt, typecnt, charcnt := c[0], c[1], c[2], c[3], c[4], c[5]
	if isstd > typecnt || isut > typecnt || typecnt == 0 {
		return nil, errTZif
	}
	need := timecnt*(width+1) + typecnt*6 + charcnt + leaps*(width+4) + isstd + isut
	if need > len(body) {
		return nil, errTZif
	}
	f := &tzFile{trans: make([]int64, timecnt), idx: make([]uint8, timecnt), types: make([]ttInfo, typecnt)}
	p := 0
	for i := range f.trans {
		if width == 8 {
			f.trans[i] = int64(binary.BigEndian.Uint64(body[p:]))
		} else {
			f.trans[i] = int64(int32(binary.BigEndian.Uint32(body[p:])))
		}
		p += width
	}
	for i := range f.idx {
		f.idx[i] = body[p]
		if int(f.idx[i]) >= typecnt {
			return nil, errTZif
		}
		p++
	}
	abbrAt := p + typecnt*6
	chars := body[abbrAt : abbrAt+charcnt]
	for i := range f.types {
		t := &f.types[i]
		t.offset = int(int32(binary.BigEndian.Uint32(body[p:])))
		if body[p+4] > 1 || int(body[p+5]) > charcnt {
			return nil, errTZif
		}
		t.dst = body[p+4] == 1
		a := int(body[p+5])
		e := a
		for e < len(chars) && chars[e] != 0 {
			e++
		}
		t.abbr = string(chars[a:e])
		p += 6
	}
	p += charcnt + leaps*(width+4)
	for i := 0; i < isstd; i++ {
		f.types[i].isStd = body[p] != 0
		p++
	}
	for i := 0; i < isut; i++ {
		f.types[i].isUT = body[p] != 0
		p++
	}
	if width == 8 {
		rest := body[p:]
		if len(rest) >= 2 && rest[0] == '\n' {
			end := 1
			for end < len(rest) && rest[end] != '\n' {
				end++
			}
			if spec := string(rest[1:end]); spec != "" {
				pp := parsePOSIX(spec)
				f.footer = &pp.tz
			}
		}
	}
	return f, nil
}

func (f *tzFile) lookup(t int64) (string, int, bool) { return f.lookupIn(t, nil) }

// lookupIn is lookup with a cache of the footer's switches (nil: none).
func (f *tzFile) lookupIn(t int64, ys *yearSwitches) (string, int, bool) {
	n := len(f.trans)
	var ti ttInfo
	switch {
	case n == 0 || t < f.trans[0]:
		i := 0
		for i < len(f.types) && f.types[i].dst {
			i++
		}
		if i == len(f.types) {
			i = 0
		}
		ti = f.types[i]
	case t >= f.trans[n-1] && f.footer != nil:
		abbr, off, dst := f.footer.lookupIn(t, ys)
		if f.renamed {
			abbr = f.stdName
			if dst {
				abbr = f.dstName
			}
		}
		return abbr, off, dst
	default:
		lo, hi := 0, n
		for hi-lo > 1 {
			m := (lo + hi) / 2
			if t < f.trans[m] {
				hi = m
			} else {
				lo = m
			}
		}
		ti = f.types[f.idx[lo]]
	}
	return ti.abbr, ti.offset, ti.dst
}

// withRules adapts a posixrules zone file to a TZ string that names its
// zones and offsets but no switch rules, as the C library's
// __tzfile_default does: transitions keep their wall-clock time under the
// new offsets.
func (f *tzFile) withRules(std, dst string, stdOff, dstOff int) *tzFile {
	if len(f.types) < 2 {
		return nil
	}
	// The offsets the file's rules use: the latest standard and DST types
	// transitioned to.
	ruleStd, ruleDst := 0, 0
	if len(f.trans) == 0 {
		ruleStd, ruleDst = f.types[0].offset, f.types[0].offset
	} else {
		stdSet, dstSet := false, false
		for i := len(f.trans) - 1; i >= 0; i-- {
			ty := f.types[f.idx[i]]
			if !stdSet && !ty.dst {
				stdSet, ruleStd = true, ty.offset
			} else if !dstSet && ty.dst {
				dstSet, ruleDst = true, ty.offset
			}
			if stdSet && dstSet {
				break
			}
		}
		if !dstSet {
			ruleDst = ruleStd
		}
	}
	g := &tzFile{
		trans:   make([]int64, len(f.trans)),
		idx:     make([]uint8, len(f.idx)),
		footer:  f.footer,
		stdName: std, dstName: dst, renamed: true,
	}
	g.types = []ttInfo{{offset: stdOff, abbr: std}, {offset: dstOff, dst: true, abbr: dst}}
	wasDst := false
	for i, t := range f.trans {
		ty := f.types[f.idx[i]]
		if ty.dst {
			g.idx[i] = 1
		}
		switch {
		case ty.isUT:
		case wasDst && !ty.isStd:
			t += int64(dstOff - ruleDst)
		default:
			t += int64(stdOff - ruleStd)
		}
		g.trans[i] = t
		wasDst = ty.dst
	}
	return g
}
