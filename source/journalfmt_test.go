package source

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// The wants follow fail2ban's FilterSystemd.formatJournalEntry.
func TestFormatEntry(t *testing.T) {
	const rt = `"__CURSOR":"c1","__REALTIME_TIMESTAMP":"1700000000123456","__MONOTONIC_TIMESTAMP":"5000000"`
	tests := []struct {
		name, json, want string
		time             int64 // µs
	}{
		{name: "syslog", json: `{` + rt + `,"_HOSTNAME":"web1","SYSLOG_IDENTIFIER":"sshd","_PID":"42","MESSAGE":"Failed password"}`,
			want: "web1 sshd[42]: Failed password", time: 1700000000123456},
		{name: "syslog pid first", json: `{` + rt + `,"_HOSTNAME":"h","SYSLOG_IDENTIFIER":"sshd","SYSLOG_PID":"7","_PID":"42","MESSAGE":"m"}`,
			want: "h sshd[7]: m", time: 1700000000123456},
		{name: "comm without identifier", json: `{` + rt + `,"_HOSTNAME":"h","_COMM":"sshd","MESSAGE":"m"}`,
			want: "h sshd: m", time: 1700000000123456},
		{name: "no host no ident", json: `{` + rt + `,"MESSAGE":"bare"}`, want: "bare", time: 1700000000123456},
		{name: "pid not a number", json: `{` + rt + `,"SYSLOG_IDENTIFIER":"x","SYSLOG_PID":"abc","MESSAGE":"m"}`,
			want: "x[abc]: m", time: 1700000000123456},
		{name: "pid hex", json: `{` + rt + `,"SYSLOG_IDENTIFIER":"x","SYSLOG_PID":"0x10","MESSAGE":"m"}`,
			want: "x[16]: m", time: 1700000000123456},
		{name: "kernel", json: `{` + rt + `,"_HOSTNAME":"h","SYSLOG_IDENTIFIER":"kernel","_SOURCE_MONOTONIC_TIMESTAMP":"12345678","MESSAGE":"oops"}`,
			want: "h kernel: [   12.345678] oops", time: 1700000000123456},
		{name: "kernel monotonic fallback", json: `{` + rt + `,"SYSLOG_IDENTIFIER":"kernel","MESSAGE":"oops"}`,
			want: "kernel: [    5.000000] oops", time: 1700000000123456},
		{name: "source realtime", json: `{` + rt + `,"_SOURCE_REALTIME_TIMESTAMP":"1600000000000001","MESSAGE":"m"}`,
			want: "m", time: 1600000000000001},
		{name: "newline", json: `{` + rt + `,"MESSAGE":"a\nb"}`, want: `a\nb`, time: 1700000000123456},
		{name: "binary message", json: `{` + rt + `,"MESSAGE":[98,97,100,32,255,10,120]}`, want: "bad \ufffd\\nx", time: 1700000000123456},
		{name: "several values", json: `{` + rt + `,"MESSAGE":["one","two",[116,104,114,101,101]]}`, want: "one two three", time: 1700000000123456},
		{name: "null message", json: `{` + rt + `,"SYSLOG_IDENTIFIER":"x","MESSAGE":null}`, want: "x: ", time: 1700000000123456},
		{name: "nul in message", json: `{` + rt + `,"MESSAGE":[97,0,98]}`, want: "a\x00b", time: 1700000000123456},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := formatEntry([]byte(tt.json), EncodingUTF8)
			if err != nil {
				t.Fatal(err)
			}
			if l.Text != tt.want || !l.Time.Equal(time.UnixMicro(tt.time)) || l.Cursor != "c1" {
				t.Errorf("got %q at %v (%q), want %q at %v", l.Text, l.Time.UnixMicro(), l.Cursor, tt.want, tt.time)
			}
		})
	}
	for _, bad := range []string{`not json`, `{"MESSAGE":"no time"}`} {
		if _, err := formatEntry([]byte(bad), EncodingUTF8); err == nil {
			t.Errorf("formatEntry(%q) accepted", bad)
		}
	}
}

func TestParseJournalMatch(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      bool
	}{
		{name: "sshd", in: "_SYSTEMD_UNIT=sshd.service + _COMM=sshd", want: []string{"_SYSTEMD_UNIT=sshd.service", "+", "_COMM=sshd"}},
		{name: "lines are OR groups", in: "_SYSTEMD_UNIT=a.service\n\n_COMM=b", want: []string{"_SYSTEMD_UNIT=a.service", "+", "_COMM=b"}},
		{name: "quotes", in: `MESSAGE="a b" _COMM='c d' X=e\ f`, want: []string{"MESSAGE=a b", "_COMM=c d", "X=e f"}},
		{name: "escaped quote", in: `X="a\"b\n"`, want: []string{`X=a"b\n`}},
		{name: "empty", in: "", want: nil},
		{name: "not a match", in: "sshd", err: true},
		{name: "lower-case field", in: "_comm=sshd", err: true},
		{name: "leading plus", in: "+ _COMM=sshd", err: true},
		{name: "double plus", in: "A=1 + + B=2", err: true},
		{name: "unclosed quote", in: `A="x`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJournalMatch(tt.in)
			if tt.err {
				if !errors.Is(err, ErrMatch) {
					t.Fatalf("err = %v, want ErrMatch", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// FuzzJournalEntry checks formatEntry on any input: no panic, valid UTF-8
// without a newline.
func FuzzJournalEntry(f *testing.F) {
	f.Add([]byte(`{"__REALTIME_TIMESTAMP":"1","MESSAGE":[1,2,255],"SYSLOG_IDENTIFIER":"kernel"}`))
	f.Add([]byte(`{"__REALTIME_TIMESTAMP":"1","MESSAGE":["a",[10],null]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := formatEntry(b, EncodingUTF8)
		if err != nil {
			return
		}
		for _, c := range l.Text {
			if c == '\n' {
				t.Fatalf("newline in %q", l.Text)
			}
		}
	})
}

// FuzzParseJournalMatch checks any journalmatch either fails with ErrMatch
// or gives terms journalctl takes.
func FuzzParseJournalMatch(f *testing.F) {
	f.Add("_SYSTEMD_UNIT=sshd.service + _COMM=sshd")
	f.Add("A=\"b c\"\nD='e'\\")
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseJournalMatch(s)
		if err != nil {
			if !errors.Is(err, ErrMatch) {
				t.Fatalf("error %v is not ErrMatch", err)
			}
			return
		}
		if err := checkMatches(ms); err != nil {
			t.Fatalf("ParseJournalMatch gave %q: %v", ms, err)
		}
	})
}

func TestJournalArgs(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		stored *Position
		since  time.Time
		want   string // the start argument
	}{
		{name: "cursor", stored: &Position{Cursor: "c", Time: now}, since: now.Add(-time.Hour), want: "--after-cursor=c"},
		{name: "cursor older than since", stored: &Position{Cursor: "c", Time: now.Add(-2 * time.Hour)}, since: now.Add(-time.Hour), want: "--since=" + sinceArg(now.Add(-time.Hour))},
		{name: "cursor without since", stored: &Position{Cursor: "c", Time: now.Add(-2 * time.Hour)}, want: "--after-cursor=c"},
		{name: "since", since: time.UnixMicro(1700000000000001), want: "--since=@1700000000.000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pos := &MemoryPositions{}
			if tt.stored != nil {
				pos.Save(DefaultJournalName, *tt.stored)
			}
			j, err := NewJournal(JournalOptions{Journalctl: "sh", Positions: pos, Since: tt.since, Matches: []string{"_COMM=sshd"}})
			if err != nil {
				t.Fatal(err)
			}
			st := j.startState()
			args := j.args(st)
			if !slices.Contains(args, tt.want) || args[len(args)-1] != "_COMM=sshd" || !slices.Contains(args, "--merge") {
				t.Fatalf("args %q lack %q", args, tt.want)
			}
		})
	}
}
