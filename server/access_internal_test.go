package server

import (
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
)

func TestGrantCheck(t *testing.T) {
	rules := []Rule{
		{UID: 33, GID: -1, Classes: []protocol.Class{protocol.ClassReport}, Jails: []string{"api"}},
		{UID: -1, GID: 200, Classes: []protocol.Class{protocol.ClassRead}, Jails: []string{AllJails}},
		{UID: -1, GID: 300, Classes: []protocol.Class{protocol.ClassBan}, Jails: []string{"api"}},
		{UID: -1, GID: 400, Classes: []protocol.Class{protocol.ClassRead, protocol.ClassAdmin}, Jails: []string{AllJails}},
	}
	www := Peer{UID: 33, GID: 33, PID: 1, Known: true}
	tests := []struct {
		name string
		peer Peer
		id   identity
		args []any
		want string // "" allowed, else part of the refusal
	}{
		{name: "root does all", peer: Peer{Known: true}, args: []any{"stop"}},
		{name: "self does all", peer: Peer{UID: 4242, Known: true}, args: []any{"unban", "--all"}},
		{name: "report on its jail", peer: www, args: []any{"set", "api", "attempt", "192.0.2.1"}},
		{name: "report elsewhere", peer: www, args: []any{"set", "web", "attempt", "192.0.2.1"}, want: "report commands on jail 'web'"},
		{name: "ban refused", peer: www, args: []any{"set", "api", "banip", "192.0.2.1"}, want: "uid 33 (www-data) may not use ban commands on jail 'api'"},
		{name: "ping open", peer: www, args: []any{"ping"}},
		{name: "version open", peer: www, args: []any{"version"}},
		{name: "status needs read on *", peer: www, args: []any{"status"}, want: "read commands that name no jail"},
		{name: "primary group grants read", peer: Peer{UID: 7, GID: 200, Known: true}, args: []any{"status"}},
		{name: "read on * covers jails", peer: Peer{UID: 7, GID: 200, Known: true}, args: []any{"get", "api", "banip"}},
		{name: "supplementary group grants ban", peer: Peer{UID: 8, GID: 8, Known: true}, id: identity{groups: []uint32{8, 300}}, args: []any{"set", "api", "banip", "192.0.2.1"}},
		{name: "unknown peer only pings", peer: Peer{}, args: []any{"set", "api", "attempt", "192.0.2.1"}, want: "an unknown peer"},
		{name: "unknown peer pings", peer: Peer{}, args: []any{"ping"}},
		{name: "admin may not move the log", peer: Peer{UID: 9, GID: 400, Known: true}, args: []any{"set", "logtarget", "/etc/cron.d/x"}, want: "uid 9 may not use set logtarget: only root"},
		{name: "admin may not move the syslog socket", peer: Peer{UID: 9, GID: 400, Known: true}, args: []any{"set", "syslogsocket", "/run/docker.sock"}, want: "may not use set syslogsocket"},
		{name: "admin reads the log target", peer: Peer{UID: 9, GID: 400, Known: true}, args: []any{"get", "logtarget"}},
		{name: "admin flushes the logs", peer: Peer{UID: 9, GID: 400, Known: true}, args: []any{"flushlogs"}},
		{name: "admin reloads", peer: Peer{UID: 9, GID: 400, Known: true}, args: []any{"reload"}},
		{name: "root moves the log", peer: Peer{Known: true}, args: []any{"set", "logtarget", "/var/log/banserver.log"}},
		{name: "self moves the log", peer: Peer{UID: 4242, Known: true}, args: []any{"set", "logtarget", "SYSLOG"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.peer.UID == 33 {
				tt.id.name = "www-data"
			}
			r, err := parseRequest(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			err = newGrant(rules, tt.peer, tt.id, 4242).check(&r)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want a refusal with %q", err, tt.want)
			}
		})
	}
}

func TestBucket(t *testing.T) {
	var b bucket
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if !b.take(now, 1, 3) {
			t.Fatalf("take %d within the burst refused", i)
		}
	}
	if b.take(now, 1, 3) {
		t.Fatal("take beyond the burst allowed")
	}
	if !b.take(now.Add(time.Second), 1, 3) {
		t.Fatal("take after a second's refill refused")
	}
}

// BenchmarkAccess is the cost the access check and the rate limit add to
// each attempt from a non-root peer: the grant's check, the uid bucket,
// and the per-command limits.
func BenchmarkAccess(b *testing.B) {
	// Never refuse: measure the path, not the refusal.
	s := New(Options{Limits: Limits{RatePerUID: 1e12, RateBurst: 1 << 30}})
	rules := []Rule{{UID: 33, GID: -1, Classes: []protocol.Class{protocol.ClassReport}, Jails: []string{"api"}}}
	g := newGrant(rules, Peer{UID: 33, GID: 33, Known: true}, identity{name: "www-data"}, 0)
	cs := &conn{grant: g, uid: &uidState{}, limited: true, set: s.settings()}
	r, _ := parseRequest([]any{"set", "api", "attempt", "2001:db8::1", "Incorrect token used."})
	b.ReportAllocs()
	for b.Loop() {
		if err := s.admit(cs, &r, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
