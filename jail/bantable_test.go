package jail

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestBanTableRandom runs random inserts, removals and ban time changes on
// a banTable beside a plain map and checks after each that every ban is
// found where the map says, nothing else is, and the expiry heap is in
// order with every entry knowing its place.
func TestBanTableRandom(t *testing.T) {
	for _, tt := range []struct {
		name string
		keys int // distinct prefixes drawn from
		ops  int
	}{
		{name: "few keys, many collisions", keys: 40, ops: 20_000},
		{name: "grow past pages and shrink", keys: 3 * pageSize, ops: 60_000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tt.keys)))
			tab := &banTable{pages: &pageList{}}
			tab.index.reset(0)
			defer tab.release()
			want := map[netip.Prefix]Ban{}
			seq := uint64(0)
			base := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
			prefix := func(n int) netip.Prefix {
				if n%3 == 0 {
					return netip.PrefixFrom(nthAddr6(n), 64).Masked()
				}
				return netip.PrefixFrom(nthAddr(n), 32)
			}
			for op := range tt.ops {
				p := prefix(rng.IntN(tt.keys))
				i, found := tab.find(p)
				if _, ok := want[p]; ok != found {
					t.Fatalf("op %d: find(%v) = %v, want %v", op, p, found, ok)
				}
				// Grow for the first half, then mostly remove.
				grow := op < tt.ops/2
				switch r := rng.IntN(10); {
				case !found && (grow || r < 3):
					bt := time.Duration(1+rng.IntN(1000)) * time.Second
					if rng.IntN(10) == 0 {
						bt = Forever
					}
					seq++
					b := Ban{Addr: p.Addr(), Prefix: p, Start: base.Add(time.Duration(rng.IntN(1e6))), BanTime: bt, Count: 1 + rng.IntN(3)}
					if rng.IntN(4) == 0 {
						b.Matches = []string{"m"}
					}
					tab.insert(tab.entry(&b, seq), b.Matches)
					want[p] = b
				case found && r < 2:
					b := want[p]
					b.BanTime = time.Duration(1+rng.IntN(2000)) * time.Second
					if r == 0 {
						b.BanTime = Forever
					}
					tab.setBanTime(i, b.BanTime)
					want[p] = b
				case found:
					if _, ms := tab.remove(i); len(ms) != len(want[p].Matches) {
						t.Fatalf("op %d: removed %v with matches %q, want %q", op, p, ms, want[p].Matches)
					}
					delete(want, p)
				}
				if op == tt.ops-1 {
					t.Logf("end: %d bans, %d index slots, %d pages", tab.len(), len(tab.index.slots), len(tab.pages.p))
				}
				if op%97 == 0 || op == tt.ops-1 {
					checkTable(t, tab, want)
				}
			}
		})
	}
}

func checkTable(t *testing.T, tab *banTable, want map[netip.Prefix]Ban) {
	t.Helper()
	if tab.len() != len(want) {
		t.Fatalf("len %d, want %d", tab.len(), len(want))
	}
	for p, b := range want {
		i, ok := tab.find(p)
		if !ok {
			t.Fatalf("%v not found", p)
		}
		got := tab.ban(i)
		if got.Prefix != b.Prefix || got.Addr != b.Addr || got.Start != b.Start || got.BanTime != b.BanTime || got.Count != b.Count || len(got.Matches) != len(b.Matches) {
			t.Fatalf("ban %+v, want %+v", got, b)
		}
	}
	used := 0
	for _, v := range tab.index.slots {
		if v != 0 {
			used++
		}
	}
	if used != len(want) {
		t.Fatalf("index holds %d entries, want %d", used, len(want))
	}
	inHeap := 0
	for i := range tab.n {
		e := tab.at(i)
		if e.forever() != (e.hpos < 0) {
			t.Fatalf("entry %d forever %v at heap position %d", i, e.forever(), e.hpos)
		}
		if e.hpos >= 0 {
			inHeap++
			if tab.heap[e.hpos] != i {
				t.Fatalf("entry %d at heap position %d holding %d", i, e.hpos, tab.heap[e.hpos])
			}
		}
	}
	if inHeap != len(tab.heap) {
		t.Fatalf("%d entries in a heap of %d", inHeap, len(tab.heap))
	}
	for k := 1; k < len(tab.heap); k++ {
		if tab.less(k, (k-1)/2) {
			t.Fatalf("heap out of order at %d", k)
		}
	}
	if len(tab.matches) > len(want) {
		t.Fatalf("%d message lists for %d bans", len(tab.matches), len(want))
	}
}
