package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/banserver/banserver/filter"
	"github.com/banserver/banserver/filter/pyre"
	"github.com/banserver/banserver/protocol"
)

// logSource yields the lines of LOG, numbered from 1, without their line
// ends; it holds one line at a time.
type logSource interface {
	each(fn func(num int, line string))
	close() error
}

// openLog is the LOG half of fail2ban-regex's start: a file when one
// exists at that path, else the argument is the log's text.
func (r *regexRun) openLog(arg string) (logSource, error) {
	if isRegular(arg) {
		f, err := os.Open(arg)
		if err != nil {
			return nil, &regexFail{err.Error()}
		}
		r.say("Use         log file : %s", arg)
		r.say("Use         encoding : %s", r.a.encoding)
		return &fileSource{f: f, latin1: encodingOf(r.a.encoding) == "latin-1"}, nil
	}
	if strings.HasPrefix(arg, "systemd-journal") {
		return nil, &regexFail{"LOG " + arg + ": the journal is not read by banctl regex; export it to a file (journalctl -o short-iso) and pass that"}
	}
	if r.engLines <= 1 && !strings.Contains(arg, "\n") {
		r.say("Use      single line : %s", shortStr(arg, 53))
		return textSource{arg}, nil
	}
	lines := strings.Split(arg, "\n")
	r.say("Use      multi line : %d line(s)", len(lines))
	for i, l := range lines {
		if i >= 5 {
			r.say("| ...")
			break
		}
		r.say("| %2.2s: %s", strconv.Itoa(i+1), shortStr(l, 53))
	}
	r.say("`-")
	return textSource(lines), nil
}

// textSource is LOG given as text: its lines.
type textSource []string

func (t textSource) each(fn func(int, string)) {
	for i, l := range t {
		fn(i+1, l)
	}
}

func (textSource) close() error { return nil }

// fileSource reads a log file as fail2ban's FileContainer does: lines end
// at "\n"; a last line without one is not read (fail2ban waits for the
// rest of it) unless it ends in "\r"; a line that is not valid UTF-8 is
// decoded with replacement characters.
type fileSource struct {
	f      *os.File
	latin1 bool
	err    error
}

func (s *fileSource) each(fn func(int, string)) {
	br := bufio.NewReaderSize(s.f, 256<<10)
	var long []byte
	num := 0
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, b...)
			continue
		}
		if long != nil {
			b = append(long, b...)
			long = nil
		}
		if err != nil {
			if err != io.EOF {
				s.err = err
				return
			}
			if len(b) > 0 && b[len(b)-1] == '\r' {
				num++
				fn(num, s.decode(b))
			}
			return
		}
		num++
		fn(num, s.decode(b))
	}
}

func (s *fileSource) decode(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1] // bytes.TrimRight(b, "\r\n"), for every line
	}
	if s.latin1 {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	}
	return pyre.Decode(b)
}

func (s *fileSource) close() error {
	if err := s.f.Close(); s.err == nil {
		s.err = err
	}
	return s.err
}

// trimLineEnd is strings.TrimRight(line, "\r\n"), for every line.
func trimLineEnd(line string) string {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	return line
}

// skipLine is process's test: fail2ban-regex skips empty lines and
// comments.
func skipLine(line string) bool { return line == "" || line[0] == '#' }

// process reads the lines for the report (Fail2banRegex.process).
func (r *regexRun) process(src logSource) error {
	src.each(func(num int, line string) {
		line = trimLineEnd(line)
		if skipLine(line) {
			return
		}
		r.testLine(num, line)
	})
	return src.close()
}

// testLine is Fail2banRegex.testRegex and the counting process does
// after it.
func (r *regexRun) testLine(num int, line string) {
	var before []filter.BufferedLine
	full := false
	if r.engLines > 1 {
		before = r.flt.Buffered()
		full = len(before) >= r.engLines
	}
	fs, err := r.flt.ProcessTrace(line, time.Time{}, &r.tr)
	if err != nil {
		// fail2ban-regex stops on such a line (an exception); banctl
		// says so, counts it missed and goes on.
		r.lineErrors++
		fmt.Fprintf(r.stderr, "banctl: regex: line %d: %v\n", num, err)
		r.lines.missed++
		r.lines.tested++
		if !r.a.printNoMissed && (r.a.printAllMissed || r.lines.missed <= r.maxPrint+1) {
			r.lines.missedLines = append(r.lines.missedLines, line)
		}
		return
	}
	ret, isIgnored := 0, false
	for _, f := range fs {
		st := &r.fail[f.Regex]
		st.hits++
		if r.a.verbose > 0 {
			st.ips = append(st.ips, ipHit{host: f.Host, t: f.Time, multi: ret > 1})
		}
		if f.NoFail {
			isIgnored = true
		} else {
			ret++
		}
	}
	if r.pref != "" {
		matched, groups := r.lastPrefMatched, r.lastPrefGroups
		if r.tr.PrefSearched {
			matched, groups = r.tr.PrefMatched, r.tr.PrefGroups
			r.lastPrefMatched, r.lastPrefGroups = matched, groups
		}
		if matched {
			r.prefMatched++
			if r.a.verbose > 0 {
				if len(r.prefGroups) < r.maxPrint {
					r.prefGroups = append(r.prefGroups, groups)
				} else if len(r.prefGroups) == r.maxPrint {
					r.prefGroups = append(r.prefGroups, "...")
				}
			}
		}
	}
	for _, j := range r.tr.IgnoreHits {
		// fail2ban-regex counts by the filter's index in its own list,
		// which an IGNOREREGEX argument replaces (and a hit beyond it
		// fails there).
		if j < len(r.ignore) {
			r.ignore[j].hits++
		}
	}
	ls := &r.lines
	if r.engLines > 1 {
		after := r.flt.Buffered()
		if full {
			before = before[1:]
		}
		for _, bl := range before {
			if slices.Contains(after, bl) {
				continue
			}
			// An earlier line this one's match took from the buffer: it
			// was missed, now it is matched.
			joined := bl.Before + bl.Date + bl.After
			if i := slices.Index(ls.missedLines, joined); i >= 0 {
				ls.missedLines = slices.Delete(ls.missedLines, i, i+1)
			}
			if r.a.printAllMatched {
				ls.matchedLines = append(ls.matchedLines, joined)
			}
			ls.matched++
			ls.missed--
		}
	}
	switch {
	case isIgnored || len(r.tr.IgnoreHits) > 0:
		ls.ignored++
		if !r.a.printNoIgnored && (r.a.printAllIgnored || ls.ignored <= r.maxPrint+1) {
			ls.ignoredLines = append(ls.ignoredLines, line)
		}
	case ret > 0:
		ls.matched++
		if r.a.printAllMatched {
			ls.matchedLines = append(ls.matchedLines, line)
		}
	default:
		ls.missed++
		if !r.a.printNoMissed && (r.a.printAllMissed || ls.missed <= r.maxPrint+1) {
			ls.missedLines = append(ls.missedLines, line)
		}
	}
	ls.tested++
}

// pprintList is fail2ban-regex's pprint_list.
func (r *regexRun) pprintList(l []string, header string) {
	if len(l) == 0 {
		return
	}
	s := ""
	if header != "" {
		s = "|- " + header + "\n"
	}
	r.say("%s", s+"|  "+strings.Join(l, "\n|  ")+"\n`-")
}

// printStats is Fail2banRegex.printStats.
func (r *regexRun) printStats() {
	r.say("")
	r.say("Results")
	r.say("=======")
	if r.pref != "" {
		out := []string{r.pref}
		if r.a.verbose > 0 {
			for _, g := range r.prefGroups {
				out = append(out, "    "+g)
			}
		}
		r.say("\nPrefregex: %d total", r.prefMatched)
		r.pprintList(out, "")
	}
	r.printRegexes("Failregex", r.fail)
	r.printRegexes("Ignoreregex", r.ignore)

	r.say("\nDate template hits:")
	var out []string
	for _, h := range r.flt.DateHits() {
		if r.a.verbose > 0 || h.Hits > 0 {
			out = append(out, fmt.Sprintf("[%d] %s", h.Hits, h.Name))
		}
	}
	r.pprintList(out, "[# of hits] date format")

	ls := &r.lines
	r.say("\nLines: %d lines, %d ignored, %d matched, %d missed", ls.tested, ls.ignored, ls.matched, ls.missed)
	r.say("[processed in %.2f sec]", r.elapsed.Seconds())
	r.say("")
	if r.a.printAllMatched {
		r.printLines("matched", ls.matched, ls.matchedLines, true)
	}
	if !r.a.printNoIgnored {
		r.printLines("ignored", ls.ignored, ls.ignoredLines, r.a.printAllIgnored)
	}
	if !r.a.printNoMissed {
		r.printLines("missed", ls.missed, ls.missedLines, r.a.printAllMissed)
	}
}

// printRegexes is printStats's print_failregexes.
func (r *regexRun) printRegexes(title string, stats []regexStat) {
	total := 0
	var out []string
	for i, st := range stats {
		total += st.hits
		if st.hits > 0 || r.a.verbose > 0 {
			out = append(out, fmt.Sprintf("%2d) [%d] %s", i+1, st.hits, st.re))
		}
		if r.a.verbose > 0 {
			for _, ip := range st.ips {
				host := ip.host
				if host == "" {
					host = "None"
				}
				multi := ""
				if ip.multi {
					multi = " (multiple regex matched)"
				}
				out = append(out, fmt.Sprintf("    %s  %s%s", host, r.ctime(ip.t), multi))
			}
		}
	}
	r.say("\n%s: %d total", title, total)
	r.pprintList(out, " #) [# of hits] regular expression")
}

// ctime is time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(t)); a
// failure without a time shows the current one, as localtime(None) does.
func (r *regexRun) ctime(t time.Time) string {
	if t.IsZero() {
		t = r.clock()
	}
	_, off, _ := r.local.Lookup(t)
	return t.In(time.FixedZone("", off)).Format("Mon Jan 02 15:04:05 2006")
}

// printLines is Fail2banRegex.printLines.
func (r *regexRun) printLines(kind string, n int, lines []string, all bool) {
	if n == 0 {
		return
	}
	header := strings.ToUpper(kind[:1]) + kind[1:] + " line(s):"
	if n < r.maxPrint || all {
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = pyRstrip(l)
		}
		r.pprintList(out, header)
		return
	}
	r.say("%s too many to print.  Use --print-all-%s to print all %d lines", header, kind, n)
}

// pyRstrip is Python's str.rstrip(): trailing whitespace as Python counts
// it (str.isspace).
func pyRstrip(s string) string {
	return strings.TrimRightFunc(s, pyIsSpace)
}

func pyIsSpace(c rune) bool {
	switch {
	case c >= '\t' && c <= '\r', c >= 0x1c && c <= 0x20, c == 0x85, c == 0xa0, c == 0x1680,
		c >= 0x2000 && c <= 0x200a, c == 0x2028, c == 0x2029, c == 0x202f, c == 0x205f, c == 0x3000:
		return true
	}
	return false
}

// processOut is fail2ban-regex's -o TOKEN: for each line with failures,
// what the token names of each (_prepaireOutput).
func (r *regexRun) processOut(src logSource) error {
	tok := r.a.out
	src.each(func(num int, line string) {
		line = trimLineEnd(line)
		if skipLine(line) {
			return
		}
		fs, err := r.flt.Process(line, time.Time{})
		if err != nil {
			r.lineErrors++
			fmt.Fprintf(r.stderr, "banctl: regex: line %d: %v\n", num, err)
			return
		}
		for _, f := range fs {
			if f.NoFail || f.Pending {
				continue
			}
			switch tok {
			case "id", "fid":
				writeLine(r.w, f.Host)
			case "ip":
				if ip, ok := f.Fields["ip"].(string); ok {
					writeLine(r.w, ip)
				} else {
					writeLine(r.w, f.Host)
				}
			case "msg":
				for _, m := range f.Matches {
					writeLine(r.w, m)
				}
			default:
				switch v := f.Fields[tok].(type) {
				case string:
					writeLine(r.w, v)
				case []string:
					writeLine(r.w, pySetRepr(v))
				default:
					writeLine(r.w, "None")
				}
			}
		}
	})
	return src.close()
}

// pySetRepr is the repr of a Python set of strings, its items sorted
// (Python's own order depends on string hashing).
func pySetRepr(items []string) string {
	if len(items) == 0 {
		return "set()"
	}
	out := make([]string, len(items))
	for i, u := range slices.Sorted(slices.Values(items)) {
		out[i] = protocol.ReprString(u)
	}
	return "{" + strings.Join(out, ", ") + "}"
}
