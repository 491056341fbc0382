package main

import (
	"bytes"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/banserver/banserver/protocol"
)

// -o json prints one JSON value per run, for programs: the reply in the
// shape its command implies (JSON.md documents each), or an error object.
// The text output keeps fail2ban's shapes for people and their greps;
// here the Python pairs and preformatted lines become objects and fields.

// object is a JSON object that keeps its keys in order, as the server sent
// them (encoding/json's maps would sort them).
type object []field

type field struct {
	key   string
	value any
}

// resultJSON renders a successful reply to words. Times in `get JAIL banip
// --with-time` lines are read in loc, the zone the server wrote them in.
func resultJSON(words []string, v any, loc *time.Location) []byte {
	var b bytes.Buffer
	writeJSON(&b, shape(words, v, loc))
	return b.Bytes()
}

// errorJSON renders an error as {"error": {"type", "message"[, "args"]}}.
func errorJSON(e *cliError) []byte {
	o := object{{"type", e.typ}, {"message", e.msg}}
	if e.args != nil {
		o = append(o, field{"args", e.args})
	}
	var b bytes.Buffer
	writeJSON(&b, object{{"error", o}})
	return b.Bytes()
}

// shape picks the structured form of a reply by its command; a reply that
// does not have the shape the command implies falls back to the generic
// conversion (writeJSON) rather than to an error.
func shape(words []string, v any, loc *time.Location) any {
	arg := func(i int) string {
		if i < len(words) {
			return words[i]
		}
		return ""
	}
	var out any
	ok := false
	switch {
	case arg(0) == "status" && len(words) == 1:
		out, ok = statusShape(v)
	case arg(0) == "status" && arg(1) == "--all" && arg(2) == "stats",
		arg(0) == "stats", arg(0) == "statistics", arg(0) == "statistic":
		out, ok = statsShape(v)
	case arg(0) == "status" && arg(1) == "--all":
		out, ok = statusAllShape(v)
	case arg(0) == "status":
		out, ok = jailStatusShape(v)
	case arg(0) == "banned" && len(words) == 1:
		out, ok = bannedShape(v)
	case arg(0) == "banned":
		out, ok = bannedIPsShape(words[1:], v)
	case arg(0) == "get" && arg(2) == "banip" && arg(3) == "--with-time":
		out, ok = withTimeShape(v, loc)
	}
	if !ok {
		return v
	}
	return out
}

// pairs returns the (key, value) items of a list of 2-tuples or 2-lists
// whose keys are strings: the shape of fail2ban's status replies.
func pairs(v any) ([]field, bool) {
	items, ok := seq(v)
	if !ok {
		return nil, false
	}
	out := make([]field, len(items))
	for i, it := range items {
		kv, ok := seq(it)
		if !ok || len(kv) != 2 {
			return nil, false
		}
		k, ok := kv[0].(string)
		if !ok {
			return nil, false
		}
		out[i] = field{k, kv[1]}
	}
	return out, true
}

// statusShape: [("Number of jail", N), ("Jail list", "a, b")] ->
// {"jails": ["a", "b"], "count": N}.
func statusShape(v any) (any, bool) {
	ps, ok := pairs(v)
	if !ok {
		return nil, false
	}
	var count any
	var list string
	var haveCount, haveList bool
	for _, p := range ps {
		switch p.key {
		case "Number of jail":
			if _, isInt := asInt(p.value); !isInt {
				return nil, false
			}
			count, haveCount = p.value, true
		case "Jail list":
			list, haveList = p.value.(string)
			if !haveList {
				return nil, false
			}
		}
	}
	if !haveCount || !haveList {
		return nil, false
	}
	jails := []any{}
	if list != "" {
		for _, j := range strings.Split(list, ", ") {
			jails = append(jails, j)
		}
	}
	return object{{"jails", jails}, {"count", count}}, true
}

// statusAllShape: fail2ban 1.1's `status --all [FLAVOR]`, status's lines
// then a dict of each jail's status -> {"jails": [...], "count": N,
// "status": {"api": {"filter": {...}, "actions": {...}}, ...}}.
func statusAllShape(v any) (any, bool) {
	items, ok := seq(v)
	if !ok || len(items) == 0 {
		return nil, false
	}
	all, ok := items[len(items)-1].(protocol.Dict)
	if !ok {
		return nil, false
	}
	head, ok := statusShape(items[:len(items)-1])
	if !ok {
		return nil, false
	}
	jails := make(object, 0, len(all))
	for _, kv := range all {
		name, ok := kv.Key.(string)
		if !ok {
			return nil, false
		}
		st, ok := jailStatusShape(kv.Value)
		if !ok {
			return nil, false
		}
		jails = append(jails, field{name, st})
	}
	return append(head.(object), field{"status", jails}), true
}

// statsShape: fail2ban 1.1's `stats`, {"api": ["polling", (0, 3), (1,
// 2)]} -> {"api": {"backend": "polling", "filter": {"currently_failed":
// 0, "total_failed": 3}, "actions": {"currently_banned": 1,
// "total_banned": 2}}}.
func statsShape(v any) (any, bool) {
	all, ok := v.(protocol.Dict)
	if !ok {
		return nil, false
	}
	out := make(object, 0, len(all))
	for _, kv := range all {
		name, ok := kv.Key.(string)
		if !ok {
			return nil, false
		}
		row, ok := seq(kv.Value)
		if !ok || len(row) != 3 {
			return nil, false
		}
		backend, ok := row[0].(string)
		if !ok {
			return nil, false
		}
		f, ok1 := seq(row[1])
		a, ok2 := seq(row[2])
		if !ok1 || !ok2 || len(f) != 2 || len(a) != 2 {
			return nil, false
		}
		out = append(out, field{name, object{
			{"backend", backend},
			{"filter", object{{"currently_failed", f[0]}, {"total_failed", f[1]}}},
			{"actions", object{{"currently_banned", a[0]}, {"total_banned", a[1]}}},
		}})
	}
	return out, true
}

// jailStatusShape: [("Filter", [("Currently failed", 0), ...]),
// ("Actions", [...])] -> {"filter": {"currently_failed": 0, ...},
// "actions": {...}}, every label in snake_case, "Banned IP list" as
// "banned". Labels the server adds (cymru's lists, banserver's "Action
// failures") come through the same way.
func jailStatusShape(v any) (any, bool) {
	sections, ok := pairs(v)
	if !ok || len(sections) == 0 {
		return nil, false
	}
	out := make(object, 0, len(sections))
	for _, s := range sections {
		var val any = s.value
		if lines, ok := pairs(s.value); ok {
			sub := make(object, len(lines))
			for i, l := range lines {
				sub[i] = field{statusKey(l.key), l.value}
			}
			val = sub
		}
		out = append(out, field{statusKey(s.key), val})
	}
	return out, true
}

// statusKey turns a status label into a JSON key: "Currently failed" ->
// "currently_failed"; "Banned IP list", the list itself, is "banned".
func statusKey(label string) string {
	if label == "Banned IP list" {
		return "banned"
	}
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(label) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
			continue
		}
		sep = true
	}
	if b.Len() == 0 {
		return label // no letters to name it by: keep it as sent
	}
	return b.String()
}

// bannedShape: [{"api": [ips]}, {"ssh": [ips]}] -> {"api": [ips], "ssh":
// [ips]}.
func bannedShape(v any) (any, bool) {
	items, ok := seq(v)
	if !ok {
		return nil, false
	}
	out := object{}
	for _, it := range items {
		d, ok := it.(protocol.Dict)
		if !ok {
			return nil, false
		}
		for _, kv := range d {
			jail, ok := kv.Key.(string)
			if !ok {
				return nil, false
			}
			out = append(out, field{jail, kv.Value})
		}
	}
	return out, true
}

// bannedIPsShape: `banned IP...` answers one list of jails per address, in
// the order asked: [["api"], []] -> {"192.0.2.1": ["api"], "192.0.2.2": []}.
func bannedIPsShape(ips []string, v any) (any, bool) {
	items, ok := seq(v)
	if !ok || len(items) != len(ips) {
		return nil, false
	}
	out := make(object, 0, len(ips))
	seen := make(map[string]bool, len(ips))
	for i, ip := range ips {
		if _, ok := seq(items[i]); !ok {
			return nil, false
		}
		if seen[ip] {
			continue // asked twice: the same answer, and keys must be unique
		}
		seen[ip] = true
		out = append(out, field{ip, items[i]})
	}
	return out, true
}

// withTimeRE is one line of `get JAIL banip --with-time`, as fail2ban's
// BanManager writes it: "IP \tSTART + SECONDS = END", local times.
var withTimeRE = regexp.MustCompile(`^(\S+) \t(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+ (-?\d+) = (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$`)

const withTimeLayout = "2006-01-02 15:04:05"

// withTimeShape parses every --with-time line into {"address", "start",
// "start_unix", "bantime", "end", "end_unix"}; a negative bantime is a ban
// without end (fail2ban's -1), whose end and end_unix are null.
func withTimeShape(v any, loc *time.Location) (any, bool) {
	items, ok := seq(v)
	if !ok {
		return nil, false
	}
	out := make([]any, len(items))
	for i, it := range items {
		line, ok := it.(string)
		if !ok {
			return nil, false
		}
		m := withTimeRE.FindStringSubmatch(line)
		if m == nil {
			return nil, false
		}
		secs, err := strconv.ParseInt(m[3], 10, 64)
		if err != nil {
			return nil, false
		}
		start, ok := banStart(m[2], m[4], secs, loc)
		if !ok {
			return nil, false
		}
		o := object{
			{"address", m[1]},
			{"start", start.Format(time.RFC3339)},
			{"start_unix", start.Unix()},
			{"bantime", secs},
		}
		if secs < 0 {
			o = append(o, field{"end", nil}, field{"end_unix", nil})
		} else {
			end, ok := banEnd(start, secs, loc)
			if !ok {
				return nil, false
			}
			o = append(o, field{"end", end.Format(time.RFC3339)}, field{"end_unix", end.Unix()})
		}
		out[i] = o
	}
	return out, true
}

// banStart reads a ban's local start time. A wall-clock time in the hour a
// daylight-saving change repeats is ambiguous; the end time settles it:
// of the candidate instants, the one that is bantime before the written
// end wins.
func banStart(startText, endText string, secs int64, loc *time.Location) (time.Time, bool) {
	start, err := time.ParseInLocation(withTimeLayout, startText, loc)
	if err != nil {
		return time.Time{}, false
	}
	if secs < 0 {
		return start, true
	}
	for _, shift := range []time.Duration{0, -time.Hour, time.Hour} {
		c := start.Add(shift)
		if c.Format(withTimeLayout) != startText {
			continue
		}
		if end, ok := banEnd(c, secs, loc); ok && end.Format(withTimeLayout) == endText {
			return c, true
		}
	}
	return start, true
}

// banEnd is start + secs, unless that overflows.
func banEnd(start time.Time, secs int64, loc *time.Location) (time.Time, bool) {
	s := start.Unix()
	if secs > math.MaxInt64-s {
		return time.Time{}, false
	}
	return time.Unix(s+secs, 0).In(loc), true
}

// writeJSON is the generic conversion, and writes the shaped values too:
// None null, bool, int and float as JSON literals (a float that is not
// finite as the string "NaN", "Infinity" or "-Infinity"), str and bytes as
// strings, lists, tuples and sets as arrays, a dict as an object in its
// order when every key is a string (else as an array of [key, value]
// pairs: JSON keys are strings, and reordering would lose what Python
// sent), an exception as {"type", "message", "args"}.
func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		if x == nil {
			b.WriteString("null")
			return
		}
		b.WriteString(x.String())
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString(`"NaN"`) // JSON has no NaN or infinities
		case math.IsInf(x, 1):
			b.WriteString(`"Infinity"`)
		case math.IsInf(x, -1):
			b.WriteString(`"-Infinity"`)
		default:
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case string:
		writeJSONString(b, x)
	case []byte:
		writeJSONString(b, string(x))
	case []any:
		writeJSONArray(b, x)
	case protocol.Tuple:
		writeJSONArray(b, x)
	case object:
		b.WriteByte('{')
		for i, f := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, f.key)
			b.WriteByte(':')
			writeJSON(b, f.value)
		}
		b.WriteByte('}')
	case protocol.Dict:
		o := make(object, len(x))
		for i, kv := range x {
			k, ok := kv.Key.(string)
			if !ok {
				pairs := make([]any, len(x))
				for i, kv := range x {
					pairs[i] = []any{kv.Key, kv.Value}
				}
				writeJSONArray(b, pairs)
				return
			}
			o[i] = field{k, kv.Value}
		}
		writeJSON(b, o)
	case *protocol.Exception:
		if x == nil {
			b.WriteString("null")
			return
		}
		args := x.Args
		if args == nil {
			args = []any{}
		}
		writeJSON(b, object{{"type", x.Name()}, {"message", excStr(x)}, {"args", args}})
	default:
		writeJSONString(b, protocol.Repr(v))
	}
}

func writeJSONArray(b *bytes.Buffer, items []any) {
	b.WriteByte('[')
	for i, e := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(b, e)
	}
	b.WriteByte(']')
}

// writeJSONString writes s as a JSON string. Unlike encoding/json it
// leaves <, > and & alone (this is a terminal, not HTML) and allocates
// nothing; bad UTF-8 becomes U+FFFD as there.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString(`\ufffd`)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
}
