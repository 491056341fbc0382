package server

import (
	"context"
	"net/netip"
	"testing"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
)

// TestAttemptAllocs pins the allocations of one request on the per-request
// path, from the framed message to the encoded reply (handle: decode,
// parse, access check and rate limit, the command, the reply, the
// counters), so that a regression fails `make test` with no timing
// assertion. The two are protocol.DecodeWords': the message as one string
// and the words' slice. The jail's own (the failure's entry) are
// amortised away: one address, fewer attempts than maxretry.
func TestAttemptAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are exact only without -race; make test also runs without it")
	}
	m := jail.NewManager(jail.Options{SelfAddrs: func() []netip.Addr { return nil }})
	if err := m.Add(jail.Config{Name: "api", MaxRetry: jail.MaxRetryLimit, FindTime: 1800e9, BanTime: 3600e9}); err != nil {
		t.Fatal(err)
	}
	if err := m.Start("api"); err != nil {
		t.Fatal(err)
	}
	// Never refuse on rate: measure the path, not the refusal.
	s := New(Options{Jails: m, Limits: Limits{RatePerUID: 1e12, RateBurst: 1 << 30}})
	root := &conn{grant: newGrant(nil, Peer{Known: true}, identity{}, 0), uid: &uidState{}, set: s.settings()}
	rules := []Rule{{UID: 33, GID: -1, Classes: []protocol.Class{protocol.ClassReport}, Jails: []string{"api"}}}
	www := &conn{grant: newGrant(rules, Peer{UID: 33, GID: 33, Known: true}, identity{name: "www-data"}, 0), uid: &uidState{}, limited: true, set: s.settings()}

	tests := []struct {
		name string
		cs   *conn
		args []any
		want float64
	}{
		{"attempt as root", root, []any{"set", "api", "attempt", "2001:db8::1", "Incorrect token used."}, 2},
		{"attempt as www-data, rate limited", www, []any{"set", "api", "attempt", "2001:db8::2", "Incorrect token used."}, 2},
		{"attempt, no message", root, []any{"set", "api", "attempt", "192.0.2.7"}, 2},
		{"ping", www, []any{"ping"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, proto := range []int{2, 4} {
				msg, err := protocol.AppendRequest(nil, proto, tt.args)
				if err != nil {
					t.Fatal(err)
				}
				msg = msg[:len(msg)-len(protocol.EndCommand)]
				out := make([]byte, 0, 256)
				ctx := context.Background()
				n := testing.AllocsPerRun(100, func() {
					var stop bool
					out, stop, _ = s.handle(ctx, tt.cs, out[:0], msg)
					if stop || len(out) == 0 {
						t.Fatal("no reply")
					}
				})
				if code, v, err := protocol.DecodeReply(out[:len(out)-len(protocol.EndCommand)]); err != nil || code != 0 || v == nil {
					t.Fatalf("protocol %d: reply %q: %d, %v, %v", proto, out, code, v, err)
				}
				t.Logf("protocol %d: %v allocations", proto, n)
				if n > tt.want {
					t.Errorf("protocol %d: one request allocates %v times, want <= %v", proto, n, tt.want)
				}
			}
		})
	}
}
