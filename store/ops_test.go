package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOps: what each kind of change leaves of the live bans, the history
// and the kernel records.
func TestOps(t *testing.T) {
	h := time.Hour
	prolong := func(jail, prefix string, start time.Time, banTime time.Duration, count int) Change {
		c := ban(jail, prefix, start, banTime, count)
		c.Op = OpProlong
		return c
	}
	forgive := func(jail, prefix string) Change {
		return Change{Op: OpForgive, Ban: Ban{Jail: jail, Prefix: mustPrefix(prefix)}}
	}
	tests := []struct {
		name     string
		changes  []Change
		wantLive []string
		wantHist string // History("php", 192.0.2.1)
	}{
		{
			name:     "prolong replaces the ban, keeps the count",
			changes:  []Change{ban("php", "192.0.2.1", t0, h, 1), prolong("php", "192.0.2.1", t0, 3*h, 1)},
			wantLive: []string{`php 192.0.2.1/32 start=2026-01-02T03:04:05Z bantime=3h0m0s count=1 matches=[]`},
			wantHist: "count=1 last=2026-01-02T03:04:05Z bantime=3h0m0s",
		},
		{
			name:     "prolong of a second ban keeps its count",
			changes:  []Change{ban("php", "192.0.2.1", t0, h, 1), ban("php", "192.0.2.1", t0.Add(h), h, 2), prolong("php", "192.0.2.1", t0.Add(h), 2*h, 2)},
			wantLive: []string{`php 192.0.2.1/32 start=2026-01-02T04:04:05Z bantime=2h0m0s count=2 matches=[]`},
			wantHist: "count=2 last=2026-01-02T04:04:05Z bantime=2h0m0s",
		},
		{
			name:     "unban keeps the history",
			changes:  []Change{ban("php", "192.0.2.1", t0, h, 1), unban("php", "192.0.2.1")},
			wantHist: "count=1 last=2026-01-02T03:04:05Z bantime=1h0m0s",
		},
		{
			name:     "forgive drops the ban and its history, not the neighbour's",
			changes:  []Change{ban("php", "192.0.2.1", t0, h, 1), ban("php", "192.0.2.2", t0, h, 1), forgive("php", "192.0.2.1")},
			wantLive: []string{`php 192.0.2.2/32 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=[]`},
			wantHist: "none",
		},
		{
			name:     "forget drops the jail, not another jail",
			changes:  []Change{ban("php", "192.0.2.1", t0, h, 1), ban("ssh", "192.0.2.1", t0, h, 1), {Op: OpForget, Ban: Ban{Jail: "php"}}},
			wantLive: []string{`ssh 192.0.2.1/32 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=[]`},
			wantHist: "none",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTest(t, Options{})
			// Queued, History already sees it; committed, the same.
			seq := d.PutAll(tt.changes)
			if seq == 0 {
				t.Fatal("PutAll refused the changes")
			}
			hq, err := d.History("php", mustPrefix("192.0.2.1"))
			if err != nil {
				t.Fatal(err)
			}
			if err := d.WaitFor(context.Background(), seq); err != nil {
				t.Fatal(err)
			}
			hc, err := d.History("php", mustPrefix("192.0.2.1"))
			if err != nil {
				t.Fatal(err)
			}
			if histString(hq) != tt.wantHist || histString(hc) != tt.wantHist {
				t.Errorf("history queued %s, committed %s, want %s", histString(hq), histString(hc), tt.wantHist)
			}
			live, err := d.Live("", t0)
			if err != nil {
				t.Fatal(err)
			}
			if got := banStrings(live); !slices.Equal(got, tt.wantLive) {
				t.Errorf("live %q, want %q", got, tt.wantLive)
			}
		})
	}
}

// TestKernelStates: recorded states are listed until dropped.
func TestKernelStates(t *testing.T) {
	d := openTest(t, Options{})
	putWait(t, d,
		Change{Op: OpKernelUse, State: "blackhole[netns=/run/netns/a, protocol=244, table=254]"},
		Change{Op: OpKernelUse, State: "nftables[netns=, table=banserver]"},
		Change{Op: OpKernelUse, State: "nftables[netns=, table=banserver]"},
	)
	got, err := d.KernelStates()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"blackhole[netns=/run/netns/a, protocol=244, table=254]", "nftables[netns=, table=banserver]"}
	if !slices.Equal(got, want) {
		t.Fatalf("KernelStates = %q, want %q", got, want)
	}
	putWait(t, d, Change{Op: OpKernelDrop, State: want[0]})
	if got, _ := d.KernelStates(); !slices.Equal(got, want[1:]) {
		t.Fatalf("after drop: %q, want %q", got, want[1:])
	}
}

// TestPutAllInvalid: one invalid change refuses the whole group.
func TestPutAllInvalid(t *testing.T) {
	d := openTest(t, Options{})
	if seq := d.PutAll([]Change{ban("php", "192.0.2.1", t0, time.Hour, 1), ban("", "192.0.2.2", t0, time.Hour, 1)}); seq != 0 {
		t.Fatalf("PutAll with an invalid change = %d, want 0", seq)
	}
	putWait(t, d, ban("php", "192.0.2.3", t0, time.Hour, 1))
	live, _ := d.Live("", t0)
	if len(live) != 1 || live[0].Prefix != mustPrefix("192.0.2.3") {
		t.Fatalf("live %q: the refused group left something", banStrings(live))
	}
}

// TestMaxMatchLen: stored matches are cut to MaxMatchLen bytes, so a
// client's long messages cannot grow the file faster than bans do.
func TestMaxMatchLen(t *testing.T) {
	d := openTest(t, Options{MaxMatchLen: 16, MaxMatches: 2})
	long := strings.Repeat("x", 60<<10)
	putWait(t, d, ban("php", "192.0.2.1", t0, time.Hour, 1, "a", long, long))
	live, err := d.Live("php", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || !slices.Equal(live[0].Matches, []string{strings.Repeat("x", 16), strings.Repeat("x", 16)}) {
		t.Fatalf("matches %q, want the last 2, cut to 16 bytes", live[0].Matches)
	}
}

// TestPositions: a log source's position is kept until forgotten, and
// listed by prefix.
func TestPositions(t *testing.T) {
	d := openTest(t, Options{})
	putWait(t, d,
		Change{Op: OpPosition, State: "api\x00/var/log/app.log", Data: []byte("ino=5 off=100")},
		Change{Op: OpPosition, State: "api\x00/var/log/app.log", Data: []byte("ino=5 off=200")},
		Change{Op: OpPosition, State: "sshd\x00journal", Data: []byte("cursor=s=1")},
	)
	got, err := d.Positions("api\x00")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || string(got["api\x00/var/log/app.log"]) != "ino=5 off=200" {
		t.Fatalf("Positions(api) = %q", got)
	}
	putWait(t, d, Change{Op: OpPosition, State: "api\x00/var/log/app.log"})
	if got, _ := d.Positions(""); len(got) != 1 || string(got["sshd\x00journal"]) != "cursor=s=1" {
		t.Fatalf("after forgetting api's: %q", got)
	}
}
