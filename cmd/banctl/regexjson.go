package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/banserver/banserver/filter"
)

// processJSON is banctl regex -o json: one object per line of LOG (see
// JSON.md), the failures found as fail2ban's daemon finds them (the first
// failregex that matches; F-NOFAIL and lines still waiting for their
// F-MLFID session's id are no failures).
func (r *regexRun) processJSON(src logSource) error {
	var b bytes.Buffer
	tr := filter.Trace{TimeOnly: true}
	src.each(func(num int, line string) {
		line = strings.TrimRight(line, "\r\n")
		b.Reset()
		if skipLine(line) {
			writeRegexJSON(&b, num, nil, time.Time{}, "")
			r.w.Write(b.Bytes())
			return
		}
		fs, err := r.flt.ProcessTrace(line, time.Time{}, &tr)
		msg := ""
		if err != nil {
			r.lineErrors++
			msg = err.Error()
		}
		found := fs[:0]
		for _, f := range fs {
			if !f.NoFail && !f.Pending {
				found = append(found, f)
			}
		}
		writeRegexJSON(&b, num, found, tr.Time, msg)
		r.w.Write(b.Bytes())
	})
	return src.close()
}

// writeRegexJSON writes one line's object and a new line.
func writeRegexJSON(b *bytes.Buffer, num int, fs []filter.Failure, t time.Time, errMsg string) {
	b.WriteString(`{"line": `)
	b.WriteString(strconv.Itoa(num))
	b.WriteString(`, "match": `)
	b.WriteString(strconv.FormatBool(len(fs) > 0))
	b.WriteString(`, "count": `)
	b.WriteString(strconv.Itoa(len(fs)))
	if len(fs) == 0 {
		b.WriteString(`, "host": null, "address": null, "time": `)
		writeUnix(b, t)
		b.WriteString(`, "fields": {}`)
	} else {
		f := fs[0]
		b.WriteString(`, "host": `)
		writeJSONString(b, f.Host)
		b.WriteString(`, "address": `)
		if a := f.Addr; a.IsValid() {
			s := a.String()
			if a.Bits() == a.Addr().BitLen() {
				s = a.Addr().String()
			}
			writeJSONString(b, s)
		} else {
			b.WriteString("null")
		}
		b.WriteString(`, "time": `)
		writeUnix(b, f.Time)
		b.WriteString(`, "fields": `)
		writeFields(b, f)
	}
	if errMsg != "" {
		b.WriteString(`, "error": `)
		writeJSONString(b, errMsg)
	}
	b.WriteString("}\n")
}

// writeUnix writes t as Unix seconds (a fraction when it has one), or
// null for no time.
func writeUnix(b *bytes.Buffer, t time.Time) {
	switch {
	case t.IsZero():
		b.WriteString("null")
	case t.Nanosecond() == 0:
		b.WriteString(strconv.FormatInt(t.Unix(), 10))
	default:
		b.WriteString(strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', -1, 64))
	}
}

// writeFields writes a failure's ticket data, its keys sorted: the
// strings its regexes captured, users as a list (an F-MLFID session's
// users), and attempts: the lines the failure is made of (a session's
// lines, the lines a multi-line failregex spanned, else 1).
func writeFields(b *bytes.Buffer, f filter.Failure) {
	keys := make([]string, 0, len(f.Fields)+1)
	for k := range f.Fields {
		keys = append(keys, k)
	}
	if _, ok := f.Fields["attempts"]; !ok {
		keys = append(keys, "attempts")
	}
	slices.Sort(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		writeJSONString(b, k)
		b.WriteString(": ")
		switch v := f.Fields[k].(type) {
		case string:
			writeJSONString(b, v)
		case []string:
			b.WriteByte('[')
			for j, s := range v {
				if j > 0 {
					b.WriteString(", ")
				}
				writeJSONString(b, s)
			}
			b.WriteByte(']')
		case nil:
			b.WriteString(strconv.Itoa(f.Attempts()))
		default:
			writeJSONString(b, fmt.Sprint(v))
		}
	}
	b.WriteByte('}')
}
