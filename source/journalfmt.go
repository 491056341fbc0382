package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// journalFields are the fields journalctl is asked for (--output-fields);
// it adds __CURSOR, __REALTIME_TIMESTAMP, __MONOTONIC_TIMESTAMP and
// _BOOT_ID to every entry.
var journalFields = []string{
	"_HOSTNAME", "SYSLOG_IDENTIFIER", "_COMM", "SYSLOG_PID", "_PID", "MESSAGE",
	"_SOURCE_REALTIME_TIMESTAMP", "_SOURCE_MONOTONIC_TIMESTAMP",
}

// jsonEntry is one line of journalctl -o json. A field is a string, null
// (too large without --all), an array of numbers (bytes that are not
// printable UTF-8), or an array of those (a field with several values).
type jsonEntry struct {
	Cursor          string          `json:"__CURSOR"`
	Realtime        json.RawMessage `json:"__REALTIME_TIMESTAMP"`
	Monotonic       json.RawMessage `json:"__MONOTONIC_TIMESTAMP"`
	SourceRealtime  json.RawMessage `json:"_SOURCE_REALTIME_TIMESTAMP"`
	SourceMonotonic json.RawMessage `json:"_SOURCE_MONOTONIC_TIMESTAMP"`
	Hostname        json.RawMessage `json:"_HOSTNAME"`
	Identifier      json.RawMessage `json:"SYSLOG_IDENTIFIER"`
	Comm            json.RawMessage `json:"_COMM"`
	SyslogPID       json.RawMessage `json:"SYSLOG_PID"`
	PID             json.RawMessage `json:"_PID"`
	Message         json.RawMessage `json:"MESSAGE"`
}

// formatEntry turns one JSON entry into a Line as fail2ban's
// FilterSystemd.formatJournalEntry does: "HOST IDENT[PID]: MESSAGE"
// (IDENT from SYSLOG_IDENTIFIER, else _COMM; PID from SYSLOG_PID, else
// _PID; "kernel:" followed by the monotonic time as "[%12.6f]"), the
// values of a field with several joined by a space, newlines in the result
// written as \n; Time is _SOURCE_REALTIME_TIMESTAMP, else
// __REALTIME_TIMESTAMP.
func formatEntry(data []byte, enc Encoding) (Line, error) {
	var e jsonEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return Line{}, errorf("journal entry: %w", err)
	}
	var elems []string
	if v := first(e.Hostname, enc); v != "" {
		elems = append(elems, v)
	}
	ident := first(e.Identifier, enc)
	if ident == "" {
		ident = first(e.Comm, enc)
	}
	if ident != "" {
		pid := first(e.SyslogPID, enc)
		if pid == "" {
			pid = first(e.PID, enc)
		}
		if pid != "" {
			ident += "[" + pidString(pid) + "]"
		}
		ident += ":"
		elems = append(elems, ident)
		if ident == "kernel:" {
			us, ok := micros(e.SourceMonotonic)
			if !ok {
				us, _ = micros(e.Monotonic)
			}
			elems = append(elems, fmt.Sprintf("[%12.6f]", float64(us)/1e6))
		}
	}
	elems = append(elems, strings.Join(values(e.Message, enc), " "))
	text := strings.ReplaceAll(strings.Join(elems, " "), "\n", `\n`)

	us, ok := micros(e.SourceRealtime)
	if !ok {
		if us, ok = micros(e.Realtime); !ok {
			return Line{}, errorf("journal entry without __REALTIME_TIMESTAMP")
		}
	}
	return Line{Text: text, Time: time.UnixMicro(us), Cursor: e.Cursor}, nil
}

// values decodes a field's values.
func values(raw json.RawMessage, enc Encoding) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' { // absent or null
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		return []string{s}
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) != nil || len(arr) == 0 {
		return nil
	}
	if t := bytes.TrimSpace(arr[0]); len(t) > 0 && t[0] != '"' && t[0] != '[' && t[0] != 'n' {
		// One value given as its bytes.
		var bs []int
		if json.Unmarshal(raw, &bs) != nil {
			return nil
		}
		b := make([]byte, len(bs))
		for i, c := range bs {
			b[i] = byte(c)
		}
		s, _ := enc.Decode(b)
		return []string{s}
	}
	var out []string
	for _, a := range arr {
		out = append(out, values(a, enc)...)
	}
	return out
}

// first returns a field's first value ("" when it has none): fail2ban
// expects one value for all fields but MESSAGE.
func first(raw json.RawMessage, enc Encoding) string {
	if vs := values(raw, enc); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// micros reads a timestamp field (microseconds, as a decimal string).
func micros(raw json.RawMessage) (int64, bool) {
	v := first(raw, EncodingUTF8)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// pidString formats a PID as fail2ban's "[%i]" % int(v, 0): the integer
// when the value reads as one, else the value as it is.
func pidString(v string) string {
	t := strings.TrimSpace(v)
	if t != "" && strings.Trim(t, "0") == "" {
		return "0"
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil && len(t) > 2 && t[0] == '0' && strings.ContainsRune("xXoObB", rune(t[1])) {
		n, err = strconv.ParseInt(t, 0, 64)
	}
	if err != nil || (len(t) > 1 && t[0] == '0' && !strings.ContainsRune("xXoObB", rune(t[1]))) {
		return v // Python's int("0123", 0) fails too
	}
	return strconv.FormatInt(n, 10)
}
