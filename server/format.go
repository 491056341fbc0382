package server

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/banserver/banserver/jail"
)

// This file: values shown the way fail2ban shows them.

// result is a command's reply value, and whether the daemon stops after it.
type result struct {
	value any
	stop  bool
}

func ok(v any) (result, error) { return result{value: v}, nil }

// ok0 turns an error-only call into fail2ban's None reply.
func ok0(err error) (result, error) {
	if err != nil {
		return result{}, err
	}
	return ok(nil)
}

func prefixList(ps []netip.Prefix) []any {
	l := make([]any, len(ps))
	for i, p := range ps {
		l[i] = banText(p)
	}
	return l
}

// banText shows a ban as fail2ban shows its IPs: a single address bare, a
// network (an IPv6 prefix ban) in CIDR form.
func banText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// ignoreList lists ignore entries as fail2ban shows them: networks first,
// then single addresses, a single address without its /32 or /128.
func ignoreList(ps []netip.Prefix) []any {
	l := make([]any, 0, len(ps))
	for _, p := range ps {
		if !p.IsSingleIP() {
			l = append(l, p.String())
		}
	}
	for _, p := range ps {
		if p.IsSingleIP() {
			l = append(l, p.Addr().String())
		}
	}
	return l
}

func seconds(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return int64(d / time.Second)
}

// banWithTime formats one ban as fail2ban's `get JAIL banip --with-time`:
// "IP \tSTART + SECONDS = END", local time. A forever ban ends, as in
// fail2ban, at 0x7fffffff.
func banWithTime(b jail.Ban) string {
	const layout = "2006-01-02 15:04:05"
	end := time.Unix(0x7fffffff, 0)
	secs := int64(-1)
	if b.BanTime >= 0 {
		secs = int64(b.BanTime / time.Second)
		end = b.Start.Add(b.BanTime)
	}
	return fmt.Sprintf("%s \t%s + %d = %s", banText(b.Prefix), b.Start.Local().Format(layout), secs, end.Local().Format(layout))
}
