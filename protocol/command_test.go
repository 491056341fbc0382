package protocol

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name      string
		items     []any
		wantArgs  []string
		wantClass Class
		wantJail  string
		wantErr   error
	}{
		{name: "ping with float timeout", items: []any{"ping", 0.1}, wantArgs: []string{"ping", "0.1"}, wantClass: ClassRead},
		{name: "attempt", items: []any{"set", "api", "attempt", "192.0.2.1", "Incorrect token used."},
			wantArgs: []string{"set", "api", "attempt", "192.0.2.1", "Incorrect token used."}, wantClass: ClassReport, wantJail: "api"},
		{name: "banip", items: []any{"set", "api", "banip", "192.0.2.1"}, wantArgs: []string{"set", "api", "banip", "192.0.2.1"}, wantClass: ClassBan, wantJail: "api"},
		{name: "unbanip", items: []any{"set", "Api", "unbanip", "192.0.2.1"}, wantArgs: []string{"set", "Api", "unbanip", "192.0.2.1"}, wantClass: ClassUnban, wantJail: "Api"},
		{name: "unban all", items: []any{"unban", "--all"}, wantArgs: []string{"unban", "--all"}, wantClass: ClassUnban},
		{name: "set maxretry with an int", items: []any{"set", "api", "maxretry", int64(3)}, wantArgs: []string{"set", "api", "maxretry", "3"}, wantClass: ClassAdmin, wantJail: "api"},
		{name: "set loglevel is server-wide", items: []any{"set", "loglevel", "DEBUG"}, wantArgs: []string{"set", "loglevel", "DEBUG"}, wantClass: ClassAdmin},
		{name: "get loglevel", items: []any{"get", "loglevel"}, wantArgs: []string{"get", "loglevel"}, wantClass: ClassRead},
		{name: "get jail banned", items: []any{"get", "api", "banned"}, wantArgs: []string{"get", "api", "banned"}, wantClass: ClassRead, wantJail: "api"},
		{name: "status jail", items: []any{"status", "api", "short"}, wantArgs: []string{"status", "api", "short"}, wantClass: ClassRead, wantJail: "api"},
		{name: "stop server", items: []any{"stop"}, wantArgs: []string{"stop"}, wantClass: ClassAdmin},
		{name: "stop jail", items: []any{"stop", "api"}, wantArgs: []string{"stop", "api"}, wantClass: ClassAdmin, wantJail: "api"},
		{name: "python values", items: []any{"echo", true, false, nil, []byte("b"), 1.0, 1e-7, 1e16},
			wantArgs: []string{"echo", "True", "False", "None", "b", "1.0", "1e-07", "1e+16"}, wantClass: ClassRead},
		{name: "nested list", items: []any{"server-stream", []any{[]any{"start", "api"}}}, wantArgs: []string{"server-stream", ""}, wantClass: ClassAdmin},
		{name: "empty", items: []any{}, wantErr: ErrEmptyCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCommand(tt.items)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Args, tt.wantArgs) || c.Class != tt.wantClass || c.Jail != tt.wantJail {
				t.Errorf("got args %q class %v jail %q, want %q %v %q", c.Args, c.Class, c.Jail, tt.wantArgs, tt.wantClass, tt.wantJail)
			}
		})
	}
}

func TestParseClass(t *testing.T) {
	for _, c := range []Class{ClassRead, ClassReport, ClassBan, ClassUnban, ClassAdmin} {
		got, err := ParseClass(c.String())
		if err != nil || got != c {
			t.Errorf("ParseClass(%q) = %v, %v", c.String(), got, err)
		}
	}
	if _, err := ParseClass("root"); err == nil {
		t.Error("ParseClass(root) succeeded")
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add("set", "api", "attempt", "192.0.2.1")
	f.Add("get", "loglevel", "", "")
	f.Add("stop", "--all", "x", "y")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		cmd, err := ParseCommand([]any{a, b, c, d})
		if err != nil {
			t.Fatal(err)
		}
		if cmd.Class < ClassRead || cmd.Class > ClassAdmin {
			t.Fatalf("class %v out of range", cmd.Class)
		}
		// A set command that reports, bans or unbans addresses the jail it
		// names: access rules per jail depend on it.
		if a == "set" && (cmd.Class == ClassReport || cmd.Class == ClassBan || cmd.Class == ClassUnban) && cmd.Jail != b {
			t.Fatalf("set %q %q: class %v but jail %q", b, c, cmd.Class, cmd.Jail)
		}
		if cmd.Class == ClassRead && (a == "set" || a == "add" || a == "stop" || a == "start") {
			t.Fatalf("%q classed as read", a)
		}
	})
}
