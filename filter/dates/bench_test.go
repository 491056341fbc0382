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
