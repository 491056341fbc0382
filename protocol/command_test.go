package protocol

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name     string
		items    []any
		wantArgs []string
		wantErr  error
	}{
		{name: "ping with float timeout", items: []any{"ping", 0.1}, wantArgs: []string{"ping", "0.1"}},
		{name: "attempt", items: []any{"set", "api", "attempt", "192.0.2.1", "Incorrect token used."},
			wantArgs: []string{"set", "api", "attempt", "192.0.2.1", "Incorrect token used."}},
		{name: "set maxretry with an int", items: []any{"set", "api", "maxretry", int64(3)}, wantArgs: []string{"set", "api", "maxretry", "3"}},
		{name: "python values", items: []any{"echo", true, false, nil, []byte("b"), 1.0, 1e-7, 1e16},
			wantArgs: []string{"echo", "True", "False", "None", "b", "1.0", "1e-07", "1e+16"}},
		{name: "nested list", items: []any{"server-stream", []any{[]any{"start", "api"}}}, wantArgs: []string{"server-stream", ""}},
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
			if !reflect.DeepEqual(c.Args, tt.wantArgs) {
				t.Errorf("got args %q, want %q", c.Args, tt.wantArgs)
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
		// Strings pass through as they are: the words are what the client
		// sent, whatever the server later makes of them.
		if !reflect.DeepEqual(cmd.Args, []string{a, b, c, d}) || cmd.Nested != nil {
			t.Fatalf("ParseCommand(%q %q %q %q) = %q %v", a, b, c, d, cmd.Args, cmd.Nested)
		}
	})
}
