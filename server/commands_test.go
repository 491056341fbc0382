package server

import (
	"strings"
	"testing"

	"github.com/banserver/banserver/protocol"
)

// TestParseRequest: each command gets its row's access class and the jail
// it names; commands the table lacks are admin (a get is a read).
func TestParseRequest(t *testing.T) {
	tests := []struct {
		name      string
		items     []any
		wantRow   string // "" for no row
		wantClass protocol.Class
		wantJail  string
	}{
		{name: "ping", items: []any{"ping", 0.1}, wantRow: "ping", wantClass: protocol.ClassRead},
		{name: "attempt", items: []any{"set", "api", "attempt", "192.0.2.1", "Incorrect token used."}, wantRow: "set <JAIL> attempt", wantClass: protocol.ClassReport, wantJail: "api"},
		{name: "banip", items: []any{"set", "api", "banip", "192.0.2.1"}, wantRow: "set <JAIL> banip", wantClass: protocol.ClassBan, wantJail: "api"},
		{name: "unbanip keeps the jail's case", items: []any{"set", "Api", "unbanip", "192.0.2.1"}, wantRow: "set <JAIL> unbanip", wantClass: protocol.ClassUnban, wantJail: "Api"},
		{name: "unban all", items: []any{"unban", "--all"}, wantRow: "unban", wantClass: protocol.ClassUnban},
		{name: "set maxretry", items: []any{"set", "api", "maxretry", int64(3)}, wantRow: "set <JAIL> maxretry", wantClass: protocol.ClassAdmin, wantJail: "api"},
		{name: "set loglevel is server-wide", items: []any{"set", "loglevel", "DEBUG"}, wantRow: "set loglevel", wantClass: protocol.ClassAdmin},
		{name: "get loglevel", items: []any{"get", "loglevel"}, wantRow: "get loglevel", wantClass: protocol.ClassRead},
		{name: "get jail banned", items: []any{"get", "api", "banned"}, wantRow: "get <JAIL> banned", wantClass: protocol.ClassRead, wantJail: "api"},
		{name: "bantime option", items: []any{"set", "api", "bantime.factor", "2"}, wantRow: "set <JAIL> bantime.*", wantClass: protocol.ClassAdmin, wantJail: "api"},
		{name: "status", items: []any{"status"}, wantRow: "status", wantClass: protocol.ClassRead},
		{name: "status jail", items: []any{"status", "api", "short"}, wantRow: "status <JAIL>", wantClass: protocol.ClassRead, wantJail: "api"},
		{name: "stop server", items: []any{"stop"}, wantRow: "stop", wantClass: protocol.ClassAdmin},
		{name: "stop jail", items: []any{"stop", "api"}, wantRow: "stop <JAIL>", wantClass: protocol.ClassAdmin, wantJail: "api"},
		{name: "stop all names no jail", items: []any{"stop", "--all"}, wantRow: "stop --all", wantClass: protocol.ClassAdmin},
		{name: "add", items: []any{"add", "web", "polling"}, wantRow: "add <JAIL>", wantClass: protocol.ClassAdmin, wantJail: "web"},
		{name: "echo", items: []any{"echo", true, nil}, wantRow: "echo", wantClass: protocol.ClassRead},
		{name: "status all is read, on no jail", items: []any{"status", "--all", "short"}, wantRow: "status --all", wantClass: protocol.ClassRead},
		{name: "stats", items: []any{"stats", "x"}, wantRow: "stats", wantClass: protocol.ClassRead},
		{name: "reload is admin, on no jail", items: []any{"reload", "api"}, wantRow: "reload", wantClass: protocol.ClassAdmin},
		{name: "sleep", items: []any{"sleep", "0.1"}, wantRow: "sleep", wantClass: protocol.ClassRead},
		{name: "flushlogs", items: []any{"flushlogs"}, wantRow: "flushlogs", wantClass: protocol.ClassAdmin},
		{name: "set logtarget is server-wide", items: []any{"set", "logtarget", "STDERR"}, wantRow: "set logtarget", wantClass: protocol.ClassAdmin},
		{name: "get syslogsocket", items: []any{"get", "syslogsocket"}, wantRow: "get syslogsocket", wantClass: protocol.ClassRead},
		{name: "set allowipv6", items: []any{"set", "allowipv6", "auto"}, wantRow: "set allowipv6", wantClass: protocol.ClassAdmin},
		{name: "unknown command", items: []any{"server-stream", []any{[]any{"start", "api"}}}, wantClass: protocol.ClassAdmin},
		{name: "unknown set on a jail names it", items: []any{"set", "api", "logpath", "/x"}, wantClass: protocol.ClassAdmin, wantJail: "api"},
		{name: "unknown get is a read", items: []any{"get", "api", "nosuch"}, wantClass: protocol.ClassRead, wantJail: "api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRequest(tt.items)
			if err != nil {
				t.Fatal(err)
			}
			row := ""
			if r.row != nil {
				row = r.row.name
			}
			if row != tt.wantRow || r.class != tt.wantClass || r.jail != tt.wantJail {
				t.Errorf("row %q class %v jail %q, want %q %v %q", row, r.class, r.jail, tt.wantRow, tt.wantClass, tt.wantJail)
			}
		})
	}
}

// TestCommandTable checks every row is complete and reachable: a handler,
// a class, and its name selects it.
func TestCommandTable(t *testing.T) {
	help := helpLines()
	if len(help) != len(commands) {
		t.Fatalf("help has %d lines for %d commands", len(help), len(commands))
	}
	for i, c := range commands {
		if c.run == nil || c.class < protocol.ClassRead || c.class > protocol.ClassAdmin {
			t.Errorf("row %q: handler %v, class %v", c.name, c.run != nil, c.class)
		}
		words := strings.Fields(strings.ReplaceAll(c.name, "*", "x"))
		if got := rowName(words); byName[got] != &commands[i] {
			t.Errorf("row %q: its own words select %q", c.name, got)
		}
		if c.min < len(words) {
			t.Errorf("row %q: min %d is fewer than its name's %d words", c.name, c.min, len(words))
		}
		if !strings.HasPrefix(help[i].(string), strings.ReplaceAll(c.name, ".*", ".<OPT>")) {
			t.Errorf("help line %q does not start with the row's name %q", help[i], c.name)
		}
	}
}

// FuzzRequest: whatever the words, the class is a real one, and a set
// that reports, bans or unbans names the jail it acts on, since access
// rules per jail depend on it.
func FuzzRequest(f *testing.F) {
	f.Add("set", "api", "attempt", "192.0.2.1")
	f.Add("get", "loglevel", "", "")
	f.Add("stop", "--all", "x", "y")
	f.Add("set", "api", "bantime.increment", "true")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		r, err := parseRequest([]any{a, b, c, d})
		if err != nil {
			t.Fatal(err)
		}
		if r.class < protocol.ClassRead || r.class > protocol.ClassAdmin {
			t.Fatalf("class %v out of range", r.class)
		}
		if a == "set" && (r.class == protocol.ClassReport || r.class == protocol.ClassBan || r.class == protocol.ClassUnban) && r.jail != b {
			t.Fatalf("set %q %q: class %v but jail %q", b, c, r.class, r.jail)
		}
		if r.class == protocol.ClassRead && (a == "set" || a == "add" || a == "stop" || a == "start") {
			t.Fatalf("%q classed as read", a)
		}
		if n := r.addressCount(); n < 0 || n > 4 {
			t.Fatalf("address count %d of 4 words", n)
		}
	})
}
