package route

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/banserver/banserver/actions"
)

// benchTargets returns n distinct host targets: IPv6 from 2001:db8:100::/48
// (the IPv4 documentation ranges hold only 762 usable hosts), or all of
// those IPv4 hosts.
func benchTargets(n int, v4 bool) []actions.Target {
	var ts []actions.Target
	if v4 {
		for _, r := range []string{"198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24"} {
			for a := netip.MustParsePrefix(r).Addr().Next(); netip.MustParsePrefix(r).Contains(a); a = a.Next() {
				if a.String() != "192.0.2.254" && a.As4()[3] != 255 {
					ts = append(ts, actions.Target{Jail: "bench", Prefix: netip.PrefixFrom(a, 32)})
				}
			}
		}
		return ts
	}
	base := netip.MustParseAddr("2001:db8:100::").As16()
	for i := range n {
		b := base
		binary.BigEndian.PutUint64(b[8:], uint64(i+1))
		ts = append(ts, actions.Target{Jail: "bench", Prefix: netip.PrefixFrom(netip.AddrFrom16(b), 128)})
	}
	return ts
}

// BenchmarkBanBatch adds a batch of routes per op in a namespace, then
// (untimed) removes them again.
func BenchmarkBanBatch(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
		v4   bool
	}{
		{name: "v6-10000", n: 10000},
		{name: "v4-762", v4: true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			n := newNS(b)
			a := newAction(b, n, Options{})
			ts := benchTargets(bc.n, bc.v4)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := a.BanBatch(ctx, ts); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := a.UnbanBatch(ctx, ts); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(len(ts)*b.N)/b.Elapsed().Seconds(), "routes/s")
		})
	}
}

// BenchmarkUnbanBatch removes a batch of routes per op; adding them is untimed.
func BenchmarkUnbanBatch(b *testing.B) {
	ctx := context.Background()
	n := newNS(b)
	a := newAction(b, n, Options{})
	ts := benchTargets(10000, false)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if err := a.BanBatch(ctx, ts); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := a.UnbanBatch(ctx, ts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ts)*b.N)/b.Elapsed().Seconds(), "routes/s")
}

// BenchmarkPipe measures the raw pipelined socket alone, without the
// action's bookkeeping: what the kernel allows.
func BenchmarkPipe(b *testing.B) {
	n := newNS(b)
	p, err := openPipe(n.path)
	if err != nil {
		b.Fatal(err)
	}
	defer p.close()
	ts := benchTargets(10000, false)
	ps := make([]netip.Prefix, len(ts))
	for i, t := range ts {
		ps[i] = t.Prefix
	}
	errs := make([]error, len(ps))
	m := routeMsg{table: 254, proto: DefaultProtocol, typ: uint8(Blackhole)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := p.do(unix.RTM_NEWROUTE, m, ps, errs); err != nil {
			b.Fatal(err)
		}
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := p.do(unix.RTM_DELROUTE, m, ps, errs); err != nil {
			b.Fatal(err)
		}
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(len(ps)*b.N)/b.Elapsed().Seconds(), "routes/s")
}
