package main

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/banserver/banserver/protocol"
)

// This file ports fail2ban 1.0.2's client/beautifier.py, with 1.1's
// additions for the commands 1.1 added (status --all, stats). Operators
// and their scripts grep fail2ban-client's output, so the text must match
// it byte for byte; compat/ proves it against the real fail2ban-client.

// errBeautify marks a reply whose shape the beautifier cannot render; Python
// would have raised inside Beautifier.beautify.
var errBeautify = errors.New("banctl: reply does not fit the command")

// beautify renders a successful reply to cmd as fail2ban-client prints it.
// When the reply does not have the shape the command implies, it returns
// errBeautify and the text fail2ban-client falls back to (the repr of the
// partial message followed by the repr of the reply).
func beautify(cmd []string, resp any) (string, error) {
	out, partial, err := beautifyValue(cmd, resp)
	if err != nil {
		if f, ok := partial.(fallback); ok {
			return protocol.Repr(f.msg) + protocol.Repr(f.resp), err
		}
		return protocol.Repr(partial) + protocol.Repr(resp), err
	}
	return pyStr(out), nil
}

// fallback is the partial message of a failure after Python rebound its
// response variable (status --all slices it), so that the fallback text
// shows the response as Python had it.
type fallback struct{ msg, resp any }

// beautifyValue returns the value Python would print. On failure it also
// returns the message as far as Python had built it, for the fallback.
func beautifyValue(inC []string, resp any) (out, partial any, err error) {
	arg := func(i int) string {
		if i < len(inC) {
			return inC[i]
		}
		return ""
	}
	if len(inC) == 0 {
		return resp, resp, nil
	}
	switch inC[0] {
	case "ping":
		s, ok := resp.(string)
		if !ok {
			return nil, resp, errBeautify
		}
		return "Server replied: " + s, nil, nil
	case "version":
		return resp, nil, nil
	case "start":
		return "Jail started", nil, nil
	case "stop":
		if resp == nil {
			if len(inC) == 1 {
				return "Shutdown successful", nil, nil
			}
			return "Jail stopped", nil, nil
		}
		return resp, nil, nil
	case "add":
		return concat("Added jail ", resp)
	case "flushlogs":
		return concat("logs: ", resp)
	case "echo":
		items, ok := strItems(resp)
		if !ok {
			return nil, resp, errBeautify
		}
		return strings.Join(items, " "), nil, nil
	case "status":
		return beautifyStatus(inC, resp)
	case "stats", "statistics":
		return beautifyStats(resp)
	case "cluster":
		return beautifyCluster(resp)
	}
	if len(inC) < 2 {
		return resp, nil, nil
	}
	switch inC[1] {
	case "syslogsocket":
		return concat("Current syslog socket is:\n`- ", resp)
	case "logtarget":
		return concat("Current logging target is:\n`- ", resp)
	case "loglevel":
		name := resp
		if n, ok := asInt(resp); ok {
			name = levelName(n)
		}
		return "Current logging level is " + protocol.Repr(name), nil, nil
	case "dbfile":
		if resp == nil {
			return "Database currently disabled", nil, nil
		}
		return concat("Current database file is:\n`- ", resp)
	case "dbpurgeage":
		if resp == nil {
			return "Database currently disabled", nil, nil
		}
		n, ok := asInt(resp)
		if !ok {
			if f, isF := resp.(float64); isF {
				n, ok = int64(f), true // %i truncates a float
			}
		}
		if !ok {
			return nil, "Current database purge age is:\n", errBeautify
		}
		return fmt.Sprintf("Current database purge age is:\n`- %dseconds", n), nil, nil
	}
	if len(inC) < 3 {
		return resp, nil, nil
	}
	switch inC[2] {
	case "logpath", "addlogpath", "dellogpath":
		return treeList(resp, "No file is currently monitored", "Current monitored log file(s):\n")
	case "logencoding":
		return concat("Current log encoding is set to:\n", resp)
	case "journalmatch", "addjournalmatch", "deljournalmatch":
		items, ok := seq(resp)
		if !ok {
			return nil, resp, errBeautify
		}
		if len(items) == 0 {
			return "No journal match filter set", nil, nil
		}
		parts := make([]string, 0, len(items))
		for _, it := range items {
			words, ok := strItems(it)
			if !ok {
				return nil, "Current match filter:\n", errBeautify
			}
			parts = append(parts, strings.Join(words, " "))
		}
		return "Current match filter:\n" + strings.Join(parts, " + "), nil, nil
	case "datepattern":
		const head = "Current date pattern set to: "
		if resp == nil {
			return head + "Not set/required", nil, nil
		}
		items, ok := seq(resp)
		if !ok || len(items) == 0 {
			return nil, head, errBeautify
		}
		if items[0] == nil {
			if len(items) < 2 {
				return nil, head, errBeautify
			}
			return head + pyStr(items[1]), nil, nil
		}
		// "%s (%s)" % response needs exactly a 2-tuple.
		if t, isT := resp.(protocol.Tuple); !isT || len(t) != 2 {
			return nil, head, errBeautify
		}
		return head + pyStr(items[0]) + " (" + pyStr(items[1]) + ")", nil, nil
	case "ignoreip", "addignoreip", "delignoreip":
		return treeList(resp, "No IP address/network is ignored", "These IP addresses/networks are ignored:\n")
	case "failregex", "addfailregex", "delfailregex",
		"ignoreregex", "addignoreregex", "delignoreregex":
		items, ok := strItems(resp)
		if !ok {
			return nil, resp, errBeautify
		}
		if len(items) == 0 {
			return "No regular expression is defined", nil, nil
		}
		var b strings.Builder
		b.WriteString("The following regular expression are defined:\n")
		for i, l := range items {
			prefix := "|- "
			if i == len(items)-1 {
				prefix = "`- "
			}
			fmt.Fprintf(&b, "%s[%d]: %s", prefix, i, l)
			if i < len(items)-1 {
				b.WriteByte('\n')
			}
		}
		return b.String(), nil, nil
	case "actions":
		return joinedList(resp, "No actions for jail "+inC[1],
			"The jail "+inC[1]+" has the following actions:\n")
	case "actionproperties", "actionmethods":
		if len(inC) < 4 {
			return nil, resp, errBeautify // inC[3] is an IndexError in Python
		}
		what := "properties"
		if inC[2] == "actionmethods" {
			what = "methods"
		}
		return joinedList(resp,
			fmt.Sprintf("No %s for jail %s action %s", what, inC[1], inC[3]),
			fmt.Sprintf("The jail %s action %s has the following %s:\n", inC[1], inC[3], what))
	case "banip":
		if inC[0] != "get" {
			return resp, nil, nil
		}
		list, isList := resp.([]any)
		if !isList {
			return resp, nil, nil
		}
		sep := " "
		if len(inC) > 3 {
			sep = arg(3)
		}
		if sep == "--with-time" {
			sep = "\n"
		}
		items, ok := strItems(list)
		if !ok {
			return nil, resp, errBeautify
		}
		return strings.Join(items, sep), nil, nil
	}
	return resp, nil, nil
}

// beautifyStatus renders "status", "status JAIL [FLAVOR]" and fail2ban
// 1.1's "status --all [FLAVOR]" as the |- `- trees fail2ban-client draws.
func beautifyStatus(inC []string, resp any) (out, partial any, err error) {
	var lines []string
	fail := func() (any, any, error) {
		p := make([]any, len(lines))
		for i, l := range lines {
			p[i] = l
		}
		return nil, p, errBeautify
	}
	// Python appends the heading, then walks the reply with indexing that
	// also works on strings; a reply of the wrong shape fails part way, and
	// the fallback text shows how far it got. pyItems and pyIndex keep
	// those semantics.
	if len(inC) > 1 && inC[1] != "--all" {
		lines = append(lines, "Status for the jail: "+inC[1])
		if !jailStat(&lines, resp, "") {
			return fail()
		}
		return strings.Join(lines, "\n"), nil, nil
	}
	var jstat any
	if len(inC) > 1 {
		// --all: the last item is a dict of each jail's status; Python
		// takes response[-1] and response[:-1], which a dict (or anything
		// but a list, tuple or string) fails.
		items, ok := seq(resp)
		if s, isStr := resp.(string); isStr {
			for _, r := range s {
				items = append(items, string(r))
			}
			ok = true
		}
		if !ok || len(items) == 0 {
			return nil, resp, errBeautify
		}
		jstat = items[len(items)-1]
		switch x := resp.(type) {
		case string:
			r := []rune(x)
			resp = string(r[:len(r)-1])
		case protocol.Tuple:
			resp = x[:len(x)-1]
		default:
			resp = items[:len(items)-1]
		}
		fail = func() (any, any, error) {
			p := make([]any, len(lines))
			for i, l := range lines {
				p[i] = l
			}
			return nil, fallback{p, resp}, errBeautify
		}
	}
	lines = append(lines, "Status")
	top, ok := pyItems(resp)
	if !ok {
		return fail()
	}
	more := pyTrue(jstat)
	for n, r1 := range top {
		name, ok := pyIndex(r1, 0)
		if !ok {
			return fail()
		}
		val, ok := pyIndex(r1, 1)
		if !ok {
			return fail()
		}
		lines = append(lines, branch(!more && n == len(top)-1)+" "+pyStr(name)+":\t"+statusValue(val))
	}
	if !more {
		return strings.Join(lines, "\n"), nil, nil
	}
	lines = append(lines, "`- Status for the jails:")
	all, ok := jstat.(protocol.Dict)
	if !ok {
		return fail() // jstat.items(): only a dict has them
	}
	for i, kv := range all {
		last := i == len(all)-1
		lines = append(lines, "   "+branch(last)+" Jail: "+pyStr(kv.Key))
		pref := "   |  "
		if last {
			pref = "      "
		}
		if !jailStat(&lines, kv.Value, pref) {
			return fail()
		}
	}
	return strings.Join(lines, "\n"), nil, nil
}

// jailStat appends one jail's status tree to lines, each line prefixed
// with pref; false when the reply does not have the shape (lines then
// hold what Python would have appended before it failed).
func jailStat(lines *[]string, resp any, pref string) bool {
	top, ok := pyItems(resp)
	if !ok {
		return false
	}
	for n, r1 := range top {
		last1 := n == len(top)-1
		name, ok := pyIndex(r1, 0)
		if !ok {
			return false
		}
		*lines = append(*lines, pref+branch(last1)+" "+pyStr(name))
		val, ok := pyIndex(r1, 1)
		if !ok {
			return false
		}
		indent := pref + "|  "
		if last1 {
			indent = pref + "   "
		}
		sub, ok := pyItems(val)
		if !ok {
			return false
		}
		for m, r2 := range sub {
			k, ok1 := pyIndex(r2, 0)
			v, ok2 := pyIndex(r2, 1)
			if !ok1 || !ok2 {
				return false
			}
			*lines = append(*lines, indent+branch(m == len(sub)-1)+" "+pyStr(k)+":\t"+statusValue(v))
		}
	}
	return true
}

// pyTrue is Python's truth of a value.
func pyTrue(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case *big.Int:
		return x != nil && x.Sign() != 0
	case string:
		return x != ""
	case []byte:
		return len(x) > 0
	case []any:
		return len(x) > 0
	case protocol.Tuple:
		return len(x) > 0
	case protocol.Dict:
		return len(x) > 0
	}
	return true
}

// utf8Stdout says whether stdout takes UTF-8, as Python decides it for
// fail2ban-client's stats table (box-drawing characters, else ASCII): from
// the locale, LC_ALL, else LC_CTYPE, else LANG. Python reads the C and
// POSIX locales (and none) as UTF-8; a locale without a codeset
// ("en_US") is Latin-1 in glibc.
var utf8Stdout = localeUTF8(os.Getenv)

func localeUTF8(getenv func(string) string) bool {
	loc := ""
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if loc = getenv(k); loc != "" {
			break
		}
	}
	if loc == "" || loc == "C" || loc == "POSIX" {
		return true
	}
	_, codeset, ok := strings.Cut(loc, ".")
	codeset, _, _ = strings.Cut(codeset, "@")
	codeset = strings.ToLower(strings.ReplaceAll(codeset, "-", ""))
	return ok && codeset == "utf8"
}

// statsChars are the table's characters: vertical rule, horizontal rule,
// heading join, heading cross, middle cross, bottom join, cell rule, cell
// line; ASCII, then UTF-8's box drawing.
var statsChars = [2][8]string{
	{"|", "-", "|", "x", "x", "-", "|", "-"},
	{"\u2551", "\u2550", "\u255F", "\u256B", "\u256C", "\u2569", "\u2502", "\u2500"},
}

// beautifyStats renders fail2ban 1.1's `stats` reply, {jail: [backend,
// (cur, tot failed), (cur, tot banned)]}, as its client's table.
func beautifyStats(resp any) (out, partial any, err error) {
	if !pyTrue(resp) {
		return "No jails found.", nil, nil
	}
	all, ok := resp.(protocol.Dict)
	if !ok {
		return nil, resp, errBeautify
	}
	// Every row must have six cells: the name, the backend and the four
	// numbers, however the two pairs split them.
	rows := make([][]string, 0, len(all))
	for _, kv := range all {
		backend, ok1 := pyIndex(kv.Value, 0)
		f, ok2 := pyIndex(kv.Value, 1)
		a, ok3 := pyIndex(kv.Value, 2)
		if !ok1 || !ok2 || !ok3 {
			return nil, resp, errBeautify
		}
		fs, ok2 := pyItems(f)
		as, ok3 := pyItems(a)
		if !ok2 || !ok3 || len(fs)+len(as) != 4 {
			return nil, resp, errBeautify
		}
		row := []string{pyStr(kv.Key), pyStr(backend)}
		for _, c := range append(fs, as...) {
			row = append(row, pyStr(c))
		}
		rows = append(rows, row)
	}
	ct := statsChars[0]
	if utf8Stdout {
		ct = statsChars[1]
	}
	minLens := [6]int{8, 8, 3, 3, 3, 3}
	var lens [6]int
	for i := range lens {
		lens[i] = minLens[i]
		for _, r := range rows {
			lens[i] = max(lens[i], utf8.RuneCountInString(r[i]))
		}
	}
	// %-Ns for the two names, %Ns for the numbers.
	cells := func(c [6]string) string {
		f := make([]string, 6)
		for i := range f {
			if i < 2 {
				f[i] = padRight(c[i], lens[i])
			} else {
				f[i] = padLeft(c[i], lens[i])
			}
		}
		sep := " " + ct[0] + " "
		return f[0] + sep + f[1] + sep + f[2] + " " + ct[6] + " " + f[3] + sep + f[4] + " " + ct[6] + " " + f[5]
	}
	tlens := [4]int{lens[0], lens[1], 3 + lens[2] + lens[3], 3 + lens[4] + lens[5]}
	rule := func(fill, cross string) string {
		parts := make([]string, len(tlens))
		for i, n := range tlens {
			parts[i] = strings.Repeat(fill, n)
		}
		return fill + strings.Join(parts, fill+cross+fill) + fill
	}
	sep := " " + ct[0] + " "
	ret := []string{
		" " + padRight("", lens[0]) + sep + padRight("", lens[1]) + sep + padRight("Filter", tlens[2]) + sep + padRight("Actions", tlens[3]),
		" " + padRight("Jail", lens[0]) + sep + padRight("Backend", lens[1]) + " " + ct[2] + ct[7] +
			strings.Repeat(ct[7], tlens[2]) + ct[7] + ct[3] + ct[7] + strings.Repeat(ct[7], tlens[3]) + ct[7],
		" " + cells([6]string{"", "", "cur", "tot", "cur", "tot"}),
		rule(ct[1], ct[4]),
	}
	for _, r := range rows {
		ret = append(ret, " "+cells([6]string(r)))
	}
	ret = append(ret, rule(ct[1], ct[5]))
	return strings.Join(ret, "\n"), nil, nil
}

// padRight and padLeft are Python's "%-Ns" and "%Ns": padded to n
// characters.
func padRight(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

func padLeft(s string, n int) string {
	return strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) + s
}

// beautifyCluster renders banserver's `cluster` reply, (name, value)
// pairs, as the tree status draws; a reply of another shape is printed
// as it is.
func beautifyCluster(resp any) (out, partial any, err error) {
	items, ok := resp.([]any)
	if !ok {
		return resp, nil, nil
	}
	lines := []string{"Cluster"}
	for n, it := range items {
		name, ok1 := pyIndex(it, 0)
		val, ok2 := pyIndex(it, 1)
		if !ok1 || !ok2 {
			return resp, nil, nil
		}
		lines = append(lines, branch(n == len(items)-1)+" "+pyStr(name)+":\t"+statusValue(val))
	}
	return strings.Join(lines, "\n"), nil, nil
}

func branch(last bool) string {
	if last {
		return "`-"
	}
	return "|-"
}

// statusValue joins a list with spaces (only a list: Python tests
// isinstance(v, list), so a tuple prints as its repr).
func statusValue(v any) string {
	if list, ok := v.([]any); ok {
		parts := make([]string, len(list))
		for i, e := range list {
			parts[i] = pyStr(e)
		}
		return strings.Join(parts, " ")
	}
	return pyStr(v)
}

// treeList renders a list of strings one per line with |- and `-.
func treeList(resp any, empty, head string) (any, any, error) {
	items, ok := strItems(resp)
	if !ok {
		return nil, resp, errBeautify
	}
	if len(items) == 0 {
		return empty, nil, nil
	}
	var b strings.Builder
	b.WriteString(head)
	for _, s := range items[:len(items)-1] {
		b.WriteString("|- " + s + "\n")
	}
	b.WriteString("`- " + items[len(items)-1])
	return b.String(), nil, nil
}

// joinedList renders a list of strings joined by ", " under a heading.
func joinedList(resp any, empty, head string) (any, any, error) {
	items, ok := strItems(resp)
	if !ok {
		return nil, resp, errBeautify
	}
	if len(items) == 0 {
		return empty, nil, nil
	}
	return head + strings.Join(items, ", "), nil, nil
}

// concat is Python's "prefix" + response, which only works on a str.
func concat(prefix string, resp any) (any, any, error) {
	s, ok := resp.(string)
	if !ok {
		return nil, resp, errBeautify
	}
	return prefix + s, nil, nil
}

// pyItems is Python's iteration: a list's or tuple's items, a string's
// characters, a dict's keys.
func pyItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, true
	case protocol.Dict:
		out := make([]any, len(x))
		for i, kv := range x {
			out[i] = kv.Key
		}
		return out, true
	}
	return seq(v)
}

// pyIndex is Python's v[i] on a list, tuple or string.
func pyIndex(v any, i int) (any, bool) {
	if s, ok := v.(string); ok {
		r := []rune(s)
		if i < len(r) {
			return string(r[i]), true
		}
		return nil, false
	}
	items, ok := seq(v)
	if !ok || i >= len(items) {
		return nil, false
	}
	return items[i], true
}

// seq returns the items of a list or tuple.
func seq(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case protocol.Tuple:
		return []any(x), true
	}
	return nil, false
}

// strItems returns the items of a list or tuple of strings; like Python's
// str.join, a plain string counts as the sequence of its characters.
func strItems(v any) ([]string, bool) {
	if s, ok := v.(string); ok {
		out := make([]string, 0, len(s))
		for _, r := range s {
			out = append(out, string(r))
		}
		return out, true
	}
	items, ok := seq(v)
	if !ok {
		return nil, false
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	}
	return 0, false
}

// levelName is logging.getLevelName as fail2ban's client sets it up: the
// standard names, fail2ban's own (MSG, TRACE, HEAVY, NOTICE) and "#NN-Lev."
// for the other numbers below 50.
func levelName(n int64) string {
	switch n {
	case 0:
		return "NOTSET"
	case 5:
		return "HEAVY"
	case 7:
		return "TRACE"
	case 10:
		return "DEBUG"
	case 18:
		return "MSG"
	case 20:
		return "INFO"
	case 25:
		return "NOTICE"
	case 30:
		return "WARNING"
	case 40:
		return "ERROR"
	case 50:
		return "CRITICAL"
	}
	if n > 0 && n < 50 {
		return fmt.Sprintf("#%02d-Lev.", n)
	}
	return fmt.Sprintf("Level %d", n)
}

// beautifyError renders an exception reply as fail2ban-client prints it.
// banctl prints its own one-line errors instead (errors.go); the port stays,
// checked against fail2ban's with the rest, as the reference for how
// fail2ban-client words each exception.
func beautifyError(exc any) string {
	e, ok := exc.(*protocol.Exception)
	if !ok {
		return pyStr(exc)
	}
	first := ""
	if len(e.Args) > 0 {
		first = pyStr(e.Args[0])
	}
	switch e.Name() {
	case "UnknownJailException":
		return "Sorry but the jail '" + first + "' does not exist"
	case "IndexError":
		return "Sorry but the command is invalid"
	case "DuplicateJailException":
		return "The jail '" + first + "' already exists"
	}
	return excStr(e)
}
