package jail

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// nthAddr6 returns a distinct address of 2001:db8::/32 for i, as banbench's
// pools run into IPv6 after their few IPv4 networks.
func nthAddr6(i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
}

// memInUse returns the bytes of live heap after a full collection, and
// those the jails mapped outside it.
func memInUse() (heap, mapped int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), mappedBytes.Load()
}

// banMemory builds n bans (half IPv4, half IPv6) in a new Manager, per
// addresses a BanIP as a client's banip sends them, with OnEvent set as
// the daemon sets it, and returns the bytes per ban in the heap and
// mapped outside it, and the Manager (kept alive by the caller).
func banMemory(tb testing.TB, n, per int) (heap, mapped float64, m *Manager) {
	tb.Helper()
	heap0, mapped0 := memInUse()
	m = NewManager(Options{OnEvent: func(Event) {}, SelfAddrs: func() []netip.Addr { return nil }})
	if err := m.Add(Config{Name: "api", MaxRetry: 10, FindTime: 30 * time.Minute, BanTime: time.Hour}); err != nil {
		tb.Fatal(err)
	}
	batch := make([]netip.Addr, 0, per)
	for i := range n {
		a := nthAddr(i / 2)
		if i%2 == 1 {
			a = nthAddr6(i / 2)
		}
		batch = append(batch, a)
		if len(batch) == per || i == n-1 {
			if got, err := m.BanIP("api", batch); err != nil || got != len(batch) {
				tb.Fatalf("BanIP: %d of %d, %v", got, len(batch), err)
			}
			batch = batch[:0]
		}
	}
	if c := m.Counters(); len(c) != 1 || c[0].Banned != n {
		tb.Fatalf("counters %+v, want %d banned", c, n)
	}
	heap1, mapped1 := memInUse()
	return float64(heap1-heap0) / float64(n), float64(mapped1-mapped0) / float64(n), m
}

// TestBanMemory bounds the heap a live ban holds (the entry, its expiry
// order, its key), so a regression of the compact representation fails.
func TestBanMemory(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("heap figures are meaningless under -race; slow in -short")
	}
	const limit = 100 // bytes per ban, heap and mapped; 80 on a 64-bit Unix, 230 before it
	heap, mapped, m := banMemory(t, 200_000, 1)
	t.Logf("bytes per ban: %.1f heap, %.1f mapped", heap, mapped)
	if heap+mapped > limit {
		t.Errorf("%.1f bytes per ban (%.1f heap, %.1f mapped), want at most %d", heap+mapped, heap, mapped, limit)
	}
	runtime.KeepAlive(m)
}

// BenchmarkBanMemory reports the memory per ban with a million bans
// built one address per banip, and 1000 per banip (bulk lists).
func BenchmarkBanMemory(b *testing.B) {
	for _, per := range []int{1, 1000} {
		b.Run(map[int]string{1: "1M/per1", 1000: "1M/per1000"}[per], func(b *testing.B) {
			var heap, mapped float64
			for b.Loop() {
				var m *Manager
				heap, mapped, m = banMemory(b, 1_000_000, per)
				runtime.KeepAlive(m)
			}
			b.ReportMetric(heap, "heapB/ban")
			b.ReportMetric(mapped, "mappedB/ban")
			b.ReportMetric(heap+mapped, "B/ban")
		})
	}
}
