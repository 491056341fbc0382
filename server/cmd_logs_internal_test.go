package server

import (
	"strings"
	"testing"

	"github.com/banserver/banserver/protocol"
)

// TestLogCommandAccess: the log setters are admin commands, the getters
// reads; addlogpath, which makes the daemon open and read a file of the
// client's choosing with its own rights, is for root and the daemon's
// user only, as the log target is.
func TestLogCommandAccess(t *testing.T) {
	rules := []Rule{
		{UID: -1, GID: 200, Classes: []protocol.Class{protocol.ClassRead}, Jails: []string{AllJails}},
		{UID: -1, GID: 400, Classes: []protocol.Class{protocol.ClassRead, protocol.ClassAdmin}, Jails: []string{AllJails}},
	}
	reader := Peer{UID: 7, GID: 200, Known: true}
	admin := Peer{UID: 9, GID: 400, Known: true}
	tests := []struct {
		name string
		peer Peer
		args []any
		want string // "" allowed, else part of the refusal
	}{
		{name: "admin may not add a log path", peer: admin, args: []any{"set", "sshd", "addlogpath", "/etc/shadow"}, want: "uid 9 may not use set <JAIL> addlogpath: only root"},
		{name: "root adds a log path", peer: Peer{Known: true}, args: []any{"set", "sshd", "addlogpath", "/var/log/auth.log"}},
		{name: "self adds a log path", peer: Peer{UID: 4242, Known: true}, args: []any{"set", "sshd", "addlogpath", "/var/log/auth.log"}},
		{name: "admin removes a log path", peer: admin, args: []any{"set", "sshd", "dellogpath", "/var/log/auth.log"}},
		{name: "admin adds a failregex", peer: admin, args: []any{"set", "sshd", "addfailregex", "x <HOST>"}},
		{name: "admin multi-sets failregexes", peer: admin, args: []any{"multi-set", "sshd", "addfailregex", []any{"x <HOST>"}}},
		{name: "admin sets the journal match", peer: admin, args: []any{"set", "sshd", "addjournalmatch", "_COMM=sshd"}},
		{name: "reader may not set a datepattern", peer: reader, args: []any{"set", "sshd", "datepattern", "Epoch"}, want: "admin commands on jail 'sshd'"},
		{name: "reader may not multi-set", peer: reader, args: []any{"multi-set", "sshd", "addfailregex", []any{"x <HOST>"}}, want: "admin commands on jail 'sshd'"},
		{name: "reader gets the log paths", peer: reader, args: []any{"get", "sshd", "logpath"}},
		{name: "reader gets the failregex", peer: reader, args: []any{"get", "sshd", "failregex"}},
		{name: "reader gets the journal match", peer: reader, args: []any{"get", "sshd", "journalmatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRequest(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			err = newGrant(rules, tt.peer, identity{}, 4242).check(&r)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want a refusal with %q", err, tt.want)
			}
		})
	}
	// Every getter is a read, no setter is.
	for _, c := range commands {
		verb, _, _ := strings.Cut(c.name, " ")
		if (verb == "get") != (c.class == protocol.ClassRead) && (verb == "get" || verb == "set" || verb == "multi-set") {
			t.Errorf("row %q has class %v", c.name, c.class)
		}
	}
}
