package main

import (
	"flag"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/banserver/banserver/daemon"
)

// TestUsage keeps --help (and so banserver(8)) listing every option with
// its placeholder, in 80 columns, in the shape packaging/mangen reads.
func TestUsage(t *testing.T) {
	var o daemon.Options
	fs, _, _ := newFlags(&o)
	var b strings.Builder
	usage(&b, fs)
	text := b.String()
	tests := []struct{ name, want string }{
		{name: "synopsis", want: "Usage: banserver [--config FILE]"},
		{name: "config", want: "\n  --config FILE "},
		{name: "socket", want: "\n  --socket PATH "},
		{name: "db", want: "\n  --db PATH "},
		{name: "check-config", want: "\n  --check-config "},
		{name: "version", want: "\n  --version "},
		{name: "help", want: "\n  -h, --help "},
		{name: "sighup", want: "\n  SIGHUP "},
		{name: "options heading", want: "\nOptions:\n  --"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(text, tc.want) {
				t.Errorf("--help lacks %q", tc.want)
			}
		})
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(text, "\n  --"+f.Name+" ") {
			t.Errorf("--help does not list --%s", f.Name)
		}
	})
	for i, l := range strings.Split(text, "\n") {
		if utf8.RuneCountInString(l) > 80 {
			t.Errorf("--help line %d is %d columns: %q", i+1, utf8.RuneCountInString(l), l)
		}
	}
}
