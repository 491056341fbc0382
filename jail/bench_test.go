package jail

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// benchManager returns a Manager on the real clock with one jail set up as
// a config file would (ignoreself on, a few ignoreip entries, two actions),
// except findtime 1ns: successive failures never fall within it, so every
// Attempt takes the counting path and none bans.
func benchManager(b *testing.B) *Manager {
	b.Helper()
	m := NewManager(Options{
		OnEvent:   func(Event) {},
		SelfAddrs: func() []netip.Addr { return []netip.Addr{mustAddr("198.51.100.1"), mustAddr("2001:db8::1")} },
	})
	err := m.Add(Config{
		Name: "php", MaxRetry: 5, FindTime: time.Second, BanTime: time.Hour, IgnoreSelf: true,
		IgnoreIP: []netip.Prefix{mustPrefix("203.0.113.0/24"), mustPrefix("2001:db8:ff::/48"), mustPrefix("192.0.2.200")},
		Actions:  []string{"route", "log"},
	})
	if err != nil {
		b.Fatal(err)
	}
	// findtime 1ns, below what Add takes (whole seconds): set inside.
	j := m.jails["php"]
	j.mu.Lock()
	j.cfg.FindTime = time.Nanosecond
	j.findTime.Store(int64(time.Nanosecond))
	j.mu.Unlock()
	return m
}

func BenchmarkAttempt(b *testing.B) {
	msgs := []string{"bad token"}
	b.Run("same", func(b *testing.B) {
		m := benchManager(b)
		a := mustAddr("192.0.2.1")
		b.ReportAllocs()
		for b.Loop() {
			if n, err := m.Attempt("php", a, msgs); n != 1 || err != nil {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("distinct100k", func(b *testing.B) {
		m := benchManager(b)
		pool := make([]netip.Addr, 100_000)
		for i := range pool {
			pool[i] = nthAddr(i)
		}
		for _, a := range pool { // warm: every address tracked
			m.Attempt("php", a, msgs)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Attempt("php", pool[i], msgs)
			if i++; i == len(pool) {
				i = 0
			}
		}
	})
	b.Run("flood", func(b *testing.B) {
		// Every address new, the table full: each Attempt evicts.
		m := benchManager(b)
		m.fails.max = 10_000
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Attempt("php", nthAddr(i), msgs)
			i++
		}
	})
}

func BenchmarkAttemptParallel(b *testing.B) {
	m := benchManager(b)
	msgs := []string{"bad token"}
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		base := int(next.Add(1)) * 1000
		i := 0
		for pb.Next() {
			m.Attempt("php", nthAddr(base+i%1000), msgs)
			i++
		}
	})
}

func BenchmarkBanUnban(b *testing.B) {
	m := benchManager(b)
	addrs := []netip.Addr{mustAddr("192.0.2.7")}
	b.ReportAllocs()
	for b.Loop() {
		if n, err := m.BanIP("php", addrs); n != 1 || err != nil {
			b.Fatal(n, err)
		}
		if n, err := m.UnbanIP("php", addrs, false); n != 1 || err != nil {
			b.Fatal(n, err)
		}
	}
}
