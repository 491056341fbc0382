package route

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/banserver/banserver/actions"
)

func TestParseOptions(t *testing.T) {
	saved := rtTablesFiles
	rtTablesFiles = func() []string { return []string{"testdata/no-such-file", "testdata/rt_tables"} }
	t.Cleanup(func() { rtTablesFiles = saved })

	base := Options{Type: Blackhole, Table: 254, Protocol: DefaultProtocol}
	with := func(f func(*Options)) Options { o := base; f(&o); return o }
	tests := []struct {
		name    string
		action  string
		opts    map[string]string
		want    Options
		wantErr error
	}{
		{name: "defaults", action: "blackhole", want: base},
		{name: "unreachable", action: "unreachable", want: with(func(o *Options) { o.Type = Unreachable })},
		{name: "prohibit", action: "prohibit", want: with(func(o *Options) { o.Type = Prohibit })},
		{name: "table number", action: "blackhole", opts: map[string]string{"table": "100"}, want: with(func(o *Options) { o.Table = 100 })},
		{name: "table above 255", action: "blackhole", opts: map[string]string{"table": "4294967295"}, want: with(func(o *Options) { o.Table = 4294967295 })},
		{name: "table main", action: "blackhole", opts: map[string]string{"table": "main"}, want: base},
		{name: "table local", action: "blackhole", opts: map[string]string{"table": "local"}, want: with(func(o *Options) { o.Table = 255 })},
		{name: "table default", action: "blackhole", opts: map[string]string{"table": "default"}, want: with(func(o *Options) { o.Table = 253 })},
		{name: "table from rt_tables", action: "blackhole", opts: map[string]string{"table": "bans"}, want: with(func(o *Options) { o.Table = 100 })},
		{name: "table from rt_tables in hex", action: "blackhole", opts: map[string]string{"table": "bans-hex"}, want: with(func(o *Options) { o.Table = 1000 })},
		{name: "protocol", action: "blackhole", opts: map[string]string{"protocol": "241"}, want: with(func(o *Options) { o.Protocol = 241 })},
		{name: "netns path", action: "blackhole", opts: map[string]string{"netns": "/run/netns/edge"}, want: with(func(o *Options) { o.NetNS = "/run/netns/edge" })},
		{name: "netns name", action: "blackhole", opts: map[string]string{"netns": "edge"}, want: with(func(o *Options) { o.NetNS = "/run/netns/edge" })},
		{name: "all three", action: "prohibit", opts: map[string]string{"table": "7", "protocol": "250", "netns": "edge"},
			want: Options{Type: Prohibit, Table: 7, Protocol: 250, NetNS: "/run/netns/edge"}},

		{name: "unknown action", action: "route", wantErr: actions.ErrUnknownAction},
		{name: "unknown option", action: "blackhole", opts: map[string]string{"port": "22"}, wantErr: actions.ErrBadOptions},
		{name: "fail2ban's blocktype is not ours", action: "blackhole", opts: map[string]string{"blocktype": "prohibit"}, wantErr: actions.ErrBadOptions},
		{name: "table zero", action: "blackhole", opts: map[string]string{"table": "0"}, wantErr: actions.ErrBadOptions},
		{name: "table named zero in rt_tables", action: "blackhole", opts: map[string]string{"table": "zero"}, wantErr: actions.ErrBadOptions},
		{name: "table unspec", action: "blackhole", opts: map[string]string{"table": "unspec"}, wantErr: actions.ErrBadOptions},
		{name: "table unknown name", action: "blackhole", opts: map[string]string{"table": "nope"}, wantErr: actions.ErrBadOptions},
		{name: "table negative", action: "blackhole", opts: map[string]string{"table": "-1"}, wantErr: actions.ErrBadOptions},
		{name: "table too big", action: "blackhole", opts: map[string]string{"table": "4294967296"}, wantErr: actions.ErrBadOptions},
		{name: "table empty", action: "blackhole", opts: map[string]string{"table": ""}, wantErr: actions.ErrBadOptions},
		{name: "protocol static", action: "blackhole", opts: map[string]string{"protocol": "4"}, wantErr: actions.ErrBadOptions},
		{name: "protocol kernel", action: "blackhole", opts: map[string]string{"protocol": "2"}, wantErr: actions.ErrBadOptions},
		{name: "protocol zero", action: "blackhole", opts: map[string]string{"protocol": "0"}, wantErr: actions.ErrBadOptions},
		{name: "protocol too big", action: "blackhole", opts: map[string]string{"protocol": "256"}, wantErr: actions.ErrBadOptions},
		{name: "protocol name", action: "blackhole", opts: map[string]string{"protocol": "static"}, wantErr: actions.ErrBadOptions},
		{name: "netns relative", action: "blackhole", opts: map[string]string{"netns": "run/netns/x"}, wantErr: actions.ErrBadOptions},
		{name: "netns dotdot", action: "blackhole", opts: map[string]string{"netns": ".."}, wantErr: actions.ErrBadOptions},
		{name: "netns unclean", action: "blackhole", opts: map[string]string{"netns": "/run/netns/../x"}, wantErr: actions.ErrBadOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOptions(tc.action, tc.opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("parseOptions = %+v, %v; want %v", got, err, tc.wantErr)
				}
				if _, err := Factory(tc.action, nil)("spec", tc.opts); !errors.Is(err, tc.wantErr) {
					t.Fatalf("Factory = %v; want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("parseOptions = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRegistry: the registry's spec parsing hands the options through.
func TestRegistry(t *testing.T) {
	reg := actions.NewRegistry()
	reg.Register("blackhole", Factory("blackhole", nil))
	_, err := reg.Lookup("blackhole[table=100, blocktype=unreachable]")
	if !errors.Is(err, actions.ErrBadOptions) || !strings.Contains(err.Error(), "blocktype") {
		t.Fatalf("Lookup = %v, want ErrBadOptions naming blocktype", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{name: "protocol static", o: Options{Protocol: 4}},
		{name: "protocol 256", o: Options{Protocol: 256}},
		{name: "negative protocol", o: Options{Protocol: -1}},
		{name: "negative table", o: Options{Table: -1}},
		{name: "unicast type", o: Options{Type: 1}},
		{name: "missing netns", o: Options{NetNS: "/run/netns/banserver-test-no-such-ns"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if a, err := New("x", tc.o); err == nil {
				a.Close(t.Context(), false)
				t.Fatalf("New(%+v) succeeded", tc.o)
			}
		})
	}
}

func TestNormalizeCheck(t *testing.T) {
	own := []netip.Addr{netip.MustParseAddr("192.0.2.254"), netip.MustParseAddr("2001:db8:ffff::1")}
	tests := []struct {
		name    string
		in      netip.Prefix
		want    netip.Prefix // after Normalize
		refused bool         // by Check, or by Normalize when want is invalid
	}{
		{name: "v4 host", in: pfx("198.51.100.7"), want: pfx("198.51.100.7")},
		{name: "v6 host", in: pfx("2001:db8::7"), want: pfx("2001:db8::7")},
		{name: "v6 /64 with host bits", in: pfx("2001:db8:1::abcd/64"), want: pfx("2001:db8:1::/64")},
		{name: "v4 /16 is the widest", in: pfx("198.51.0.0/16"), want: pfx("198.51.0.0/16")},
		{name: "v6 /32 is the widest", in: pfx("2001:db8::/32"), want: pfx("2001:db8::/32"), refused: true}, // holds own
		{name: "v6 /32 without own", in: pfx("2001:db9::/32"), want: pfx("2001:db9::/32")},
		{name: "mapped host", in: pfx("::ffff:198.51.100.7"), want: pfx("198.51.100.7")},
		{name: "mapped /120", in: pfx("::ffff:198.51.100.0/120"), want: pfx("198.51.100.0/24")},
		{name: "mapped /95", in: pfx("::ffff:0:0/95"), refused: true},
		{name: "next to mapped", in: pfx("::fffe:0:0/95"), want: pfx("::fffe:0:0/95"), refused: true},
		{name: "invalid", in: netip.Prefix{}, refused: true},
		{name: "v4 /15", in: pfx("198.50.0.0/15"), want: pfx("198.50.0.0/15"), refused: true},
		{name: "v6 /31", in: pfx("2001:db8::/31"), want: pfx("2001:db8::/31"), refused: true},
		{name: "own v4", in: pfx("192.0.2.254"), want: pfx("192.0.2.254"), refused: true},
		{name: "own v4 /16", in: pfx("192.0.0.0/16"), want: pfx("192.0.0.0/16"), refused: true},
		{name: "own v6 /64", in: pfx("2001:db8:ffff::/64"), want: pfx("2001:db8:ffff::/64"), refused: true},
		{name: "neighbour of own v4", in: pfx("192.0.2.253"), want: pfx("192.0.2.253")},
		{name: "loopback", in: pfx("127.0.0.53"), want: pfx("127.0.0.53"), refused: true},
		{name: "this network", in: pfx("0.1.2.3"), want: pfx("0.1.2.3"), refused: true},
		{name: "link-local", in: pfx("169.254.169.254"), want: pfx("169.254.169.254"), refused: true},
		{name: "multicast v4", in: pfx("239.1.1.1"), want: pfx("239.1.1.1"), refused: true},
		{name: "multicast v6", in: pfx("ff05::2"), want: pfx("ff05::2"), refused: true},
		{name: "link-local v6", in: pfx("fe80::1:2"), want: pfx("fe80::1:2"), refused: true},
		{name: "v6 unspecified", in: pfx("::"), want: pfx("::"), refused: true},
		{name: "v6 loopback", in: pfx("::1"), want: pfx("::1"), refused: true},
		{name: "v6 /32 with loopback", in: pfx("::/32"), want: pfx("::/32"), refused: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if !tc.want.IsValid() {
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("Normalize(%s) = %s, %v; want ErrRefused", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Normalize(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
			}
			err = Check(got, own)
			if tc.refused != errors.Is(err, ErrRefused) {
				t.Fatalf("Check(%s) = %v, want refused %v", got, err, tc.refused)
			}
		})
	}
}

func TestCanChangeRoutes(t *testing.T) {
	tests := []struct {
		name   string
		status string
		want   bool
		reason string
	}{
		{name: "root", status: "testdata/status-root", want: true},
		{name: "CAP_NET_ADMIN alone", status: "testdata/status-netadmin", want: true},
		{name: "user", status: "testdata/status-user", reason: "CAP_NET_ADMIN is not in the effective"},
		{name: "root without CAP_NET_ADMIN", status: "testdata/status-dropped", reason: "CAP_NET_ADMIN is not in the effective"},
		{name: "no CapEff line", status: "testdata/status-nocap", reason: "no CapEff"},
		{name: "no status file", status: "testdata/no-such-file", reason: "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := canChangeRoutes(tc.status)
			if ok != tc.want || !strings.Contains(reason, tc.reason) || (ok && reason != "") {
				t.Fatalf("canChangeRoutes = %v, %q; want %v, %q", ok, reason, tc.want, tc.reason)
			}
		})
	}
	// The real one agrees with what this process can do.
	if ok, reason := CanChangeRoutes(); ok == (reason != "") {
		t.Errorf("CanChangeRoutes = %v, %q: a reason only when not", ok, reason)
	}
}
