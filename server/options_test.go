package server

import (
	"testing"

	"github.com/banserver/banserver/protocol"
)

// TestExtractOptions: what fail2ban 1.0.2's helpers.extractOptions makes
// of each text (measured with Debian's python3: the name, or the repr of
// its ValueError).
func TestExtractOptions(t *testing.T) {
	tests := []struct{ in, want string }{
		{"polling", "polling"},
		{"polling[a=1 x]", "polling"},
		{"polling[a=1, b=\"x\"] x", "ValueError('unexpected option syntax')"},
		{"polling[a=1, b=\"x,y\"][c='z']", "polling"},
		{"p[a=\"1\" x]", "ValueError(\"unexpected syntax at 5 after option 'a':  x\")"},
		{"p[a=1,,b=2]", "ValueError('expected option, wrong syntax at 4: ,b=2')"},
		{"p[=1]", "ValueError('expected option, wrong syntax at 0: =1')"},
		{"p[a=1]]", "ValueError(\"unexpected syntax at 3 after option 'a': ]\")"},
		{"p[a=1\n]", "p"},
		{"p[ a = 1 ]", "ValueError('expected option, wrong syntax at 0:  a = 1 ')"},
		{"p[a=1,]", "p"},
		{"p[,a=1]", "ValueError('expected option, wrong syntax at 0: ,a=1')"},
		{"p[a=1] [b=2]", "p"},
		{"p[a-b.c=1]", "p"},
		{"p[é=1]", "p"},
		{"p[a=1;b]", "p"},
		{"p[]", "p"},
		{"[x]", "ValueError('unexpected option syntax')"},
		{"", "ValueError('unexpected option syntax')"},
		{"polling ", "polling "},
		{"STDOUT[format=\"%(message)s\"]", "STDOUT"},
		{"p[x=\"0123456789012345678901234567890123456789\" y]", "ValueError(\"unexpected syntax at 44 after option 'x':  y\")"},
		{"p[0123456789012345678901234567890123456789]", "ValueError('expected option, wrong syntax at 0: 0123456789012345678901234')"},
	}
	for _, tt := range tests {
		name, err := extractOptions(tt.in)
		got := name
		if err != nil {
			got = protocol.Repr(err)
		}
		if got != tt.want {
			t.Errorf("extractOptions(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
