package dates

import (
	"fmt"
	"testing"
)

// Find on typical lines, after the detector has settled (its template
// order adapted), as in a running jail.
func BenchmarkFind(b *testing.B) {
	local, err := ZoneFromTZ(testTZ)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name, pattern string
		lines         []string
	}{
		{"syslog/default", "", []string{
			"Aug 14 11:59:58 host sshd[1234]: Failed password for invalid user admin from 192.0.2.1 port 4242 ssh2",
			"Aug 14 11:59:59 host sshd[1234]: Connection closed by 192.0.2.1 port 4242 [preauth]",
		}},
		{"syslog/{^LN-BEG}", "{^LN-BEG}", []string{
			"Aug 14 11:59:58 host sshd[1234]: Failed password for invalid user admin from 192.0.2.1 port 4242 ssh2",
			"Aug 14 11:59:59 host sshd[1234]: Connection closed by 192.0.2.1 port 4242 [preauth]",
		}},
		{"iso8601/^{DATE}", "^{DATE}", []string{
			"2005-08-14 11:59:58,123 fail2ban.filter [1]: INFO [sshd] Found 192.0.2.1",
			"2005-08-14T11:59:59.123456+02:00 nginx: client 192.0.2.1 denied",
		}},
		{"iso8601/pattern", "^%Y-%m-%d %H:%M:%S", []string{
			"2005-08-14 11:59:58 fail2ban.filter [1]: INFO [sshd] Found 192.0.2.1",
		}},
		{"apache/default", "", []string{
			`192.0.2.1 - - [14/Aug/2005:11:59:58 +0200] "GET /wp-login.php HTTP/1.1" 404 209 "-" "Mozilla/5.0"`,
		}},
		{"nodate/default", "", []string{
			"a line without any date in it, only text, 192.0.2.1 and some numbers 12345",
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			d, err := New(Options{Pattern: c.pattern, Local: local, Now: fixedNow(testNow)})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < 100; i++ {
				d.Find(c.lines[i%len(c.lines)])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok := d.Find(c.lines[i%len(c.lines)]); !ok && c.name != "nodate/default" {
					b.Fatal(fmt.Sprint("no date in ", c.lines[i%len(c.lines)]))
				}
			}
		})
	}
}

// BenchmarkFindFast compares Find with the hand-written matchers (fast)
// and with regexp2 alone (regexp2) on lines whose dates vary over the
// year, the day and the clock, as in a real log.
func BenchmarkFindFast(b *testing.B) {
	local, err := ZoneFromTZ(testTZ)
	if err != nil {
		b.Fatal(err)
	}
	iso := func(i int) string {
		return fmt.Sprintf("2021-%02d-%02d%c%02d:%02d:%02d 192.0.2.%d - Incorrect token used. (more info here ...)",
			1+i%12, 1+i%28, " T"[i%2], i%24, i*7%60, i*13%60, 1+i%250)
	}
	syslog := func(i int) string {
		return fmt.Sprintf("%s %2d %02d:%02d:%02d host sshd[1234]: Failed password for invalid user admin from 192.0.2.%d port 22 ssh2",
			monthsShort[i%12], 1+i%28, i%24, i*7%60, i*13%60, 1+i%250)
	}
	for _, c := range []struct {
		name, pattern string
		line          func(int) string
	}{
		{"iso8601/^{DATE}", "^{DATE}", iso},
		{"iso8601/{^LN-BEG}", "{^LN-BEG}", iso},
		{"iso8601/default", "", iso},
		{"syslog/{^LN-BEG}", "{^LN-BEG}", syslog},
		{"syslog/default", "", syslog},
	} {
		lines := make([]string, 1000)
		for i := range lines {
			lines[i] = c.line(i)
		}
		for _, mode := range []string{"fast", "regexp2"} {
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				d, err := New(Options{Pattern: c.pattern, Local: local, Now: fixedNow(testNow)})
				if err != nil {
					b.Fatal(err)
				}
				d.noFast = mode == "regexp2"
				for _, l := range lines {
					if f, ok := d.Find(l); !ok || f.Err != nil {
						b.Fatalf("%q: %+v", l, f)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					d.Find(lines[i%len(lines)])
				}
			})
		}
	}
}
