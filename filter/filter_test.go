package filter

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/filter/dates"
	"github.com/banserver/banserver/filter/pyre"
)

// unitNow is the clock of the unit tables: 30 s after the dates of their
// lines.
var unitNow = time.Date(2021, 6, 11, 17, 0, 30, 0, time.UTC)

// step is one line fed to a filter and the failures it must give, each
// summarised by describe.
type step struct {
	line string
	t    time.Time // the source's time; zero: the line's date
	want []string
}

// describe summarises a failure: regex index, host, time (UTC, "-" for
// none), the number of matched lines, user and users, and the NoFail and
// Pending flags.
func describe(f Failure) string {
	ts := "-"
	if !f.Time.IsZero() {
		ts = f.Time.UTC().Format("15:04:05")
	}
	s := fmt.Sprintf("%d %s %s m=%d", f.Regex, f.Host, ts, len(f.Matches))
	var extra []string
	for k, v := range f.Fields {
		switch k {
		case "user", "users", "ip", "content":
			extra = append(extra, fmt.Sprintf("%s=%v", k, v))
		}
	}
	sort.Strings(extra)
	for _, e := range extra {
		s += " " + e
	}
	if f.NoFail {
		s += " nofail"
	}
	if f.Pending {
		s += " pending"
	}
	return s
}

func runSteps(t *testing.T, s Settings, steps []step) {
	t.Helper()
	if s.Now == nil {
		s.Now = func() time.Time { return unitNow }
	}
	if s.Local == nil {
		s.Local = dates.UTC
	}
	f, err := New(s)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for i, st := range steps {
		got, err := f.Process(st.line, st.t)
		if err != nil {
			t.Fatalf("line %d %q: %v", i, st.line, err)
		}
		var gs []string
		for _, g := range got {
			gs = append(gs, describe(g))
		}
		if strings.Join(gs, "\n") != strings.Join(st.want, "\n") {
			t.Errorf("line %d %q:\n got %q\nwant %q", i, st.line, gs, st.want)
		}
	}
}

// processTest is a filter and the lines fed to it, with the failures
// fail2ban gives for them (TestOracle checks them against fail2ban).
type processTest struct {
	name  string
	s     Settings
	steps []step
}

func processTests() []processTest {
	mlfid := []string{
		`^ \[<F-MLFID>\d+</F-MLFID>\] <F-NOFAIL>connect</F-NOFAIL> from <ADDR>$`,
		`^ \[<F-MLFID>\d+</F-MLFID>\] auth failed for <F-USER>\S+</F-USER>$`,
		`^ \[<F-MLFID>\d+</F-MLFID>\] <F-MLFFORGET>closed</F-MLFFORGET>$`,
		`^ \[<F-MLFID>\d+</F-MLFID>\] <F-MLFGAINED>accepted</F-MLFGAINED> for <F-USER>\S+</F-USER>$`,
	}
	return []processTest{
		{
			name: "date cut out of the line",
			s: Settings{DatePattern: `^%Y-%m-%d %H:%M:%S`,
				FailRegex: []string{`^ <HOST> bad$`, `17:00:01 <HOST>`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 192.0.2.1 bad", want: []string{"0 192.0.2.1 17:00:01 m=1"}},
				{line: "2021-06-11 17:00:02 192.0.2.1 good"},
			},
		},
		{
			name: "date inside the line",
			s:    Settings{FailRegex: []string{`^host: fail from <HOST>$`, `^host: \[\] fail from <HOST>$`}},
			steps: []step{
				{line: "host: [2021-06-11 17:00:05] fail from 192.0.2.7", want: []string{"1 192.0.2.7 17:00:05 m=1"}},
			},
		},
		{
			name: "last date reused within a minute",
			s:    Settings{FailRegex: []string{`fail from <HOST>`}},
			steps: []step{
				{line: "2021-06-11 17:00:00 start"},
				{line: "fail from 192.0.2.1", want: []string{"0 192.0.2.1 17:00:00 m=1"}},
			},
		},
		{
			name: "last date too old",
			s:    Settings{FailRegex: []string{`fail from <HOST>`}},
			steps: []step{
				{line: "2021-06-11 16:58:00 start"},
				{line: "fail from 192.0.2.1", want: []string{"0 192.0.2.1 - m=1"}},
			},
		},
		{
			name: "journal time",
			s:    Settings{DatePattern: "{NONE}", FailRegex: []string{`^2021-06-11 fail from <HOST>$`}},
			steps: []step{
				{line: "2021-06-11 fail from 192.0.2.1", t: unitNow.Add(-time.Second), want: []string{"0 192.0.2.1 17:00:29 m=1"}},
			},
		},
		{
			name: "datepattern NONE gives now",
			s:    Settings{DatePattern: "{NONE}", FailRegex: []string{`^fail from <HOST>$`}},
			steps: []step{
				{line: "fail from 192.0.2.1", want: []string{"0 192.0.2.1 17:00:30 m=1"}},
			},
		},
		{
			name: "prefregex content",
			s: Settings{PrefRegex: `^ \S+ app\[\d+\]: <F-CONTENT>.+</F-CONTENT>$`,
				FailRegex: []string{`^fail from <ADDR>$`, `^bad user <F-USER>\S+</F-USER> from <ADDR>$`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 host app[1]: fail from 192.0.2.1", want: []string{"0 192.0.2.1 17:00:01 m=1"}},
				{line: "2021-06-11 17:00:02 host app[1]: bad user bob from 192.0.2.2", want: []string{"1 192.0.2.2 17:00:02 m=1 user=bob"}},
				{line: "2021-06-11 17:00:03 host other[1]: fail from 192.0.2.1"},
				{line: "2021-06-11 17:00:04 fail from 192.0.2.1"},
			},
		},
		{
			name: "first failregex wins",
			s:    Settings{FailRegex: []string{`from <ADDR>`, `fail from <ADDR>`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 fail from 192.0.2.1", want: []string{"0 192.0.2.1 17:00:01 m=1"}},
			},
		},
		{
			name: "check all regexes",
			s:    Settings{FailRegex: []string{`from <ADDR>`, `fail from <ADDR>`}, CheckAllRegex: true},
			steps: []step{
				{line: "2021-06-11 17:00:01 fail from 192.0.2.1", want: []string{"0 192.0.2.1 17:00:01 m=1", "1 192.0.2.1 17:00:01 m=1"}},
			},
		},
		{
			name: "ignoreregex",
			s:    Settings{FailRegex: []string{`fail from <ADDR>`}, IgnoreRegex: []string{`from 192\.0\.2\.9\b`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 fail from 192.0.2.9"},
				{line: "2021-06-11 17:00:02 fail from 192.0.2.1", want: []string{"0 192.0.2.1 17:00:02 m=1"}},
			},
		},
		{
			name: "maxlines buffer",
			s: Settings{MaxLines: 3,
				FailRegex: []string{`^ conn (?P<c>\d+) from <ADDR>\n(?:.*\n)*? conn (?P=c) failed$`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 conn 1 from 192.0.2.1"},
				{line: "2021-06-11 17:00:02 conn 2 from 192.0.2.2"},
				{line: "2021-06-11 17:00:03 conn 1 failed", want: []string{"0 192.0.2.1 17:00:03 m=3"}},
				// The matched lines left the buffer: conn 1 is gone.
				{line: "2021-06-11 17:00:04 conn 1 failed"},
			},
		},
		{
			name: "maxlines skiplines",
			s: Settings{MaxLines: 3,
				FailRegex: []string{`^ conn (?P<c>\d+) from <ADDR><SKIPLINES> conn (?P=c) failed$`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 conn 1 from 192.0.2.1"},
				{line: "2021-06-11 17:00:02 conn 2 from 192.0.2.2"},
				{line: "2021-06-11 17:00:03 conn 1 failed", want: []string{"0 192.0.2.1 17:00:03 m=2"}},
				// The skipped line stays in the buffer.
				{line: "2021-06-11 17:00:04 conn 2 failed", want: []string{"0 192.0.2.2 17:00:04 m=2"}},
			},
		},
		{
			name: "maxlines window",
			s: Settings{MaxLines: 2,
				FailRegex: []string{`^ conn (?P<c>\d+) from <ADDR>\n(?:.*\n)*? conn (?P=c) failed$`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 conn 1 from 192.0.2.1"},
				{line: "2021-06-11 17:00:02 conn 2 from 192.0.2.2"},
				{line: "2021-06-11 17:00:03 conn 1 failed"},
			},
		},
		{
			name: "mlfid session",
			s:    Settings{FailRegex: mlfid},
			steps: []step{
				{line: "2021-06-11 17:00:01 [7] connect from 192.0.2.1"},
				{line: "2021-06-11 17:00:02 [7] auth failed for alice", want: []string{"1 192.0.2.1 17:00:02 m=2 user=alice users=[alice]"}},
				{line: "2021-06-11 17:00:03 [7] auth failed for alice", want: []string{"1 192.0.2.1 17:00:03 m=1 user=alice users=[alice]"}},
				{line: "2021-06-11 17:00:04 [7] auth failed for bob", want: []string{"1 192.0.2.1 17:00:04 m=1 user=bob users=[alice bob]"}},
				// The session ends with its last failure again.
				{line: "2021-06-11 17:00:05 [7] closed", want: []string{"2 192.0.2.1 17:00:05 m=1 user=bob users=[alice bob]"}},
				// The session is forgotten: no id any more.
				{line: "2021-06-11 17:00:06 [7] auth failed for alice"},
			},
		},
		{
			name: "mlfid gained",
			s:    Settings{FailRegex: mlfid},
			steps: []step{
				{line: "2021-06-11 17:00:01 [8] connect from 192.0.2.2"},
				{line: "2021-06-11 17:00:02 [8] accepted for alice"},
				// A session closed without F-NOFAIL is a failure (fail2ban's
				// sshd marks its closing lines F-NOFAIL too).
				{line: "2021-06-11 17:00:03 [8] closed", want: []string{"2 192.0.2.2 17:00:03 m=3 user=alice users=[alice]"}},
			},
		},
		{
			name: "mlfid pending until the id",
			s:    Settings{FailRegex: mlfid},
			steps: []step{
				{line: "2021-06-11 17:00:01 [9] auth failed for carol"},
				{line: "2021-06-11 17:00:02 [9] connect from 192.0.2.3", want: []string{"0 192.0.2.3 17:00:02 m=2 user=carol users=[carol]"}},
			},
		},
		{
			name: "mlfid check all returns nofail and pending",
			s:    Settings{FailRegex: mlfid, CheckAllRegex: true},
			steps: []step{
				{line: "2021-06-11 17:00:01 [5] auth failed for dave", want: []string{"1  17:00:01 m=1 user=dave users=[dave] pending"}},
				{line: "2021-06-11 17:00:02 [5] connect from 192.0.2.5", want: []string{"0 192.0.2.5 17:00:02 m=2 user=dave users=[dave]"}},
				{line: "2021-06-11 17:00:03 [6] connect from 192.0.2.6", want: []string{"0 192.0.2.6 17:00:03 m=0 nofail"}},
			},
		},
		{
			name: "failure id and address",
			s:    Settings{FailRegex: []string{`session <F-ID>\S+</F-ID> from <ADDR>`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 session abc from 192.0.2.1", want: []string{"0 abc 17:00:01 m=1 ip=192.0.2.1"}},
			},
		},
		{
			name: "cidr",
			s:    Settings{FailRegex: []string{`net <ADDR>/<CIDR>`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 net 192.0.2.77/24", want: []string{"0 192.0.2.0/24 17:00:01 m=1"}},
				{line: "2021-06-11 17:00:02 net 2001:db8::1/64", want: []string{"0 2001:db8::/64 17:00:02 m=1"}},
			},
		},
		{
			name: "mapped IPv6 is IPv4",
			s:    Settings{FailRegex: []string{`from <ADDR>$`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 from ::ffff:192.0.2.1", want: []string{"0 192.0.2.1 17:00:01 m=1"}},
			},
		},
		{
			name: "host name unresolved without a resolver",
			s:    Settings{FailRegex: []string{`from <HOST>$`}},
			steps: []step{
				{line: "2021-06-11 17:00:01 from bad.example.com", want: []string{"0 bad.example.com 17:00:01 m=1"}},
			},
		},
		{
			name: "host name with usedns no",
			s:    Settings{FailRegex: []string{`from <HOST>$`, `name <DNS>$`}, UseDNS: "no"},
			steps: []step{
				{line: "2021-06-11 17:00:01 from bad.example.com"},
				{line: "2021-06-11 17:00:02 name bad.example.com"},
			},
		},
	}
}

func TestProcess(t *testing.T) {
	for _, tt := range processTests() {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, tt.s, tt.steps) })
	}
}

func TestProcessResolve(t *testing.T) {
	s := Settings{
		FailRegex: []string{`from <HOST>$`},
		Now:       func() time.Time { return unitNow },
		Local:     dates.UTC,
		Resolve: func(h string) []netipAddr {
			if h == "two.example.com" {
				return []netipAddr{mustAddr("192.0.2.1"), mustAddr("2001:db8::1")}
			}
			return nil
		},
	}
	f, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		line string
		want []string
	}{
		{name: "two addresses", line: "2021-06-11 17:00:01 from two.example.com", want: []string{"192.0.2.1", "2001:db8::1"}},
		{name: "none", line: "2021-06-11 17:00:02 from none.example.com"},
		{name: "an address is not resolved", line: "2021-06-11 17:00:03 from 192.0.2.9", want: []string{"192.0.2.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.Process(tt.line, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			var hosts []string
			for _, g := range got {
				if !g.Addr.IsValid() || g.Addr.Addr().String() != g.Host {
					t.Errorf("host %q, addr %v", g.Host, g.Addr)
				}
				hosts = append(hosts, g.Host)
			}
			if strings.Join(hosts, ",") != strings.Join(tt.want, ",") {
				t.Errorf("hosts %q, want %q", hosts, tt.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
		want string // in the error
	}{
		{name: "no failregex", s: Settings{}, want: "no failregex"},
		{name: "bad regex", s: Settings{FailRegex: []string{`(<HOST>`}}, want: `failregex 0 "(<HOST>"`},
		{name: "no failure id", s: Settings{FailRegex: []string{`^fail$`}}, want: "no failure-id group"},
		{name: "id from prefregex", s: Settings{PrefRegex: `^<F-MLFID>\d+</F-MLFID> <F-CONTENT>.*</F-CONTENT>`, FailRegex: []string{`^fail$`}}},
		{name: "bad ignoreregex", s: Settings{FailRegex: []string{`<HOST>`}, IgnoreRegex: []string{`[`}}, want: "ignoreregex 0"},
		{name: "bad prefregex", s: Settings{FailRegex: []string{`<HOST>`}, PrefRegex: `)`}, want: "prefregex"},
		{name: "bad usedns", s: Settings{FailRegex: []string{`<HOST>`}, UseDNS: "maybe"}, want: "usedns"},
		{name: "bad maxlines", s: Settings{FailRegex: []string{`<HOST>`}, MaxLines: -1}, want: "maxlines"},
		{name: "bad logtimezone", s: Settings{FailRegex: []string{`<HOST>`}, LogTimeZone: "Mars/Base"}, want: "logtimezone"},
		{name: "bad datepattern", s: Settings{FailRegex: []string{`<HOST>`}, DatePattern: `%Y-%Q`}, want: "datepattern"},
		{name: "unknown filter", s: Settings{Name: "no-such-filter", Dirs: []string{t.TempDir()}}, want: "no-such-filter"},
		{name: "bad filter spec", s: Settings{Name: "sshd[mode=", Dirs: []string{t.TempDir()}}, want: "sshd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.s)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrSettings) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v; want an ErrSettings error with %q", err, tt.want)
			}
		})
	}
}

func TestProcessBudget(t *testing.T) {
	f, err := New(Settings{
		FailRegex: []string{`^(?=(a|aa)+b)x|<HOST>`},
		Budget:    time.Millisecond,
		Now:       func() time.Time { return unitNow },
		Local:     dates.UTC,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Process(strings.Repeat("a", 5000), time.Time{})
	if !errors.Is(err, ErrLine) || !errors.Is(err, pyre.ErrBudget) {
		t.Fatalf("Process: %v; want ErrLine and pyre.ErrBudget", err)
	}
	// The filter goes on.
	got, err := f.Process("2021-06-11 17:00:01 192.0.2.1", time.Time{})
	if err != nil || len(got) != 1 || got[0].Host != "192.0.2.1" {
		t.Fatalf("after the budget error: %v, %v", got, err)
	}
}
