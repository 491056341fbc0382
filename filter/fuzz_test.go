package filter

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/filter/dates"
)

// fuzzSettings are the filters FuzzProcess feeds: the unit tables' inline
// ones (prefregex, multi-line with SKIPLINES, F-MLFID sessions, datepattern)
// and, when fail2ban is installed, Debian's sshd filter.
func fuzzSettings() []Settings {
	now := func() time.Time { return unitNow }
	mlfid := []string{
		`^ \[<F-MLFID>\d+</F-MLFID>\] <F-NOFAIL>connect</F-NOFAIL> from <ADDR>$`,
		`^ \[<F-MLFID>\d+</F-MLFID>\] auth failed for <F-USER>\S+</F-USER>$`,
		`^ \[<F-MLFID>\d+</F-MLFID>\] <F-MLFFORGET>closed</F-MLFFORGET>$`,
		`^ \[<F-MLFID>\d+</F-MLFID>\] <F-MLFGAINED>accepted</F-MLFGAINED> for <F-USER>\S+</F-USER>$`,
	}
	out := []Settings{
		{FailRegex: mlfid},
		{FailRegex: mlfid, CheckAllRegex: true, MaxLines: 2},
		{MaxLines: 3, FailRegex: []string{`^ conn (?P<c>\d+) from <HOST><SKIPLINES> conn (?P=c) failed$`, `net <ADDR>/<CIDR>`, `<F-ID>\S+</F-ID> from <ADDR>`}, IgnoreRegex: []string{`192\.0\.2\.9`}},
		{PrefRegex: `^ \S+ app\[\d+\]: <F-CONTENT>.+</F-CONTENT>$`, FailRegex: []string{`^fail from <ADDR>$`, `^bad user <F-ALT_USER>\S+</F-ALT_USER> from <HOST>$`}},
		{DatePattern: `^{DATE}`, FailRegex: []string{`^\s*<ADDR>\s+\S+\s+Incorrect token used\.`}, UseDNS: "no"},
	}
	if _, err := os.Stat(f2bFilterDir); err == nil {
		out = append(out, Settings{Name: "sshd[mode=aggressive]", Dirs: []string{f2bFilterDir}})
	}
	for i := range out {
		out[i].Now = now
		out[i].Local = dates.UTC
		out[i].Budget = 50 * time.Millisecond
	}
	return out
}

// FuzzProcess feeds any text, one line per new line, to each fuzz filter:
// no panic, no hang (the budget), errors only for lines (ErrLine), and
// failures that are well formed.
func FuzzProcess(f *testing.F) {
	for _, s := range []string{
		"2021-06-11 17:00:01 [7] connect from 192.0.2.1\n2021-06-11 17:00:02 [7] auth failed for alice\n2021-06-11 17:00:05 [7] closed",
		"2021-06-11 17:00:01 conn 1 from 192.0.2.1\n2021-06-11 17:00:02 conn 2 from 192.0.2.2\n2021-06-11 17:00:03 conn 1 failed",
		"2021-06-11 17:00:01 host app[1]: bad user bob from 192.0.2.2",
		"2021-06-11T17:00:03 192.0.2.1 - Incorrect token used. (more info here ...)",
		"Jun 11 17:00:03 host sshd[123]: Failed password for invalid user admin from 192.0.2.1 port 22 ssh2",
		"Jun 11 17:00:03 host sshd[123]: Connection closed by 2001:db8::1 port 22 [preauth]",
		"net ::ffff:192.0.2.1/120",
		"x from [2001:db8::1]",
		"\xff\xfe bad utf-8 \xc3",
	} {
		f.Add(s)
	}
	settings := fuzzSettings()
	filters := make([]*Filter, len(settings))
	for i, s := range settings {
		flt, err := New(s)
		if err != nil {
			f.Fatalf("New: %v", err)
		}
		filters[i] = flt
	}
	f.Fuzz(func(t *testing.T, text string) {
		for i, s := range settings {
			flt := filters[i]
			flt.Reset()
			lines := strings.Split(text, "\n")
			if len(lines) > 16 {
				lines = lines[:16]
			}
			for _, line := range lines {
				got, err := flt.Process(line, time.Time{})
				if err != nil {
					if !errors.Is(err, ErrLine) {
						t.Fatalf("Process(%q): %v, not an ErrLine", line, err)
					}
					continue
				}
				n := len(flt.FailRegex())
				for _, g := range got {
					if g.Regex < 0 || g.Regex >= n {
						t.Fatalf("Process(%q): regex %d of %d", line, g.Regex, n)
					}
					if (g.Host == "") != g.Pending && !g.Pending {
						// An empty F-ID is possible; an empty address is not.
						if g.Addr.IsValid() {
							t.Fatalf("Process(%q): empty host with address %v", line, g.Addr)
						}
					}
					if (g.NoFail || g.Pending) && !s.CheckAllRegex {
						t.Fatalf("Process(%q): no-failure or pending without CheckAllRegex: %+v", line, g)
					}
				}
			}
		}
	})
}
