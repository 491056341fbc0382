package jail

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestUnbannable: addresses a ban would make no sense for, or that would
// cut the host off, are refused by BanIP with the reason, and not counted
// by Attempt. Before, the jail banned them and the route action refused
// each five times, slowing every real ban behind them.
func TestUnbannable(t *testing.T) {
	tests := []struct {
		addr, why string
	}{
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"255.255.255.255", "broadcast"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"169.254.10.1", "link-local"},
		{"fe80::1", "link-local"},
		{"0.1.2.3", "0.0.0.0/8"},
		{"127.0.0.1", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.add(t, Config{Name: "j", MaxRetry: 1})
			n, err := f.m.BanIP("j", []netip.Addr{mustAddr("192.0.2.1"), mustAddr(tt.addr)})
			if n != 0 || !errors.Is(err, ErrInvalidAddress) || !strings.Contains(err.Error(), tt.why) {
				t.Fatalf("BanIP(%s) = %d, %v; want ErrInvalidAddress naming %q", tt.addr, n, err, tt.why)
			}
			if n, err := f.m.Attempt("j", mustAddr(tt.addr), nil); n != 0 || err != nil {
				t.Fatalf("Attempt(%s) = %d, %v; want 0, not counted", tt.addr, n, err)
			}
			if bans, _ := f.m.BanList("j"); len(bans) != 0 {
				t.Fatalf("bans: %+v", bans)
			}
			if got := f.m.Restore; got == nil {
				t.Fatal("no Restore")
			}
			if n, _ := f.m.Restore("j", []Ban{{Prefix: netip.PrefixFrom(mustAddr(tt.addr).Unmap(), mustAddr(tt.addr).Unmap().BitLen()), Start: epoch, BanTime: Forever}}); n != 0 {
				t.Fatalf("Restore brought back a ban of %s", tt.addr)
			}
		})
	}
	// Ordinary documentation addresses are bannable.
	for _, s := range []string{"192.0.2.1", "198.51.100.7", "2001:db8::1"} {
		if why := unbannable(mustAddr(s)); why != "" {
			t.Errorf("unbannable(%s) = %q", s, why)
		}
	}
}

// TestNameLimit: a jail name the store cannot key is refused at Add,
// naming the limit; before, the jail existed and its bans were lost.
func TestNameLimit(t *testing.T) {
	f := newFixture(t, Options{})
	long := strings.Repeat("j", MaxNameLen+1)
	if err := f.m.Add(DefaultConfig(long)); !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "at most 255") {
		t.Fatalf("Add of a %d-byte name: %v", len(long), err)
	}
	f.add(t, DefaultConfig(strings.Repeat("j", MaxNameLen)))
}

// TestWholeSeconds: findtime and bantime are whole seconds from 1 up, or
// -1; 0.4 was accepted and read back as 0.
func TestWholeSeconds(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j"})
	for _, tt := range []struct {
		in   string
		want string // "" ok, else part of the error
	}{
		{"0.4", "bantime 0.4: want whole seconds"},
		{"1.5", "bantime 1.5: want whole seconds"},
		{"-60", "bantime -60: want whole seconds"},
		{"0", "bantime 0: want whole seconds"},
		{"-1", ""},
		{"1", ""},
		{"1h", ""},
	} {
		d, err := ParseDuration(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		err = f.m.SetBanTime("j", d)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("bantime %s: %v", tt.in, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("bantime %s: %v, want an error with %q", tt.in, err, tt.want)
		}
		if err := f.m.SetFindTime("j", d); (err == nil) != (tt.want == "") {
			t.Errorf("findtime %s: %v", tt.in, err)
		}
	}
}
