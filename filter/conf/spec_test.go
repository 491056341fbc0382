package conf

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

var specCases = []struct {
	name     string
	spec     string
	wantName string
	want     map[string]string
	wantErr  bool
}{
	{name: "bare name", spec: "sshd", wantName: "sshd", want: map[string]string{}},
	{name: "one option", spec: "sshd[mode=aggressive]", wantName: "sshd", want: map[string]string{"mode": "aggressive"}},
	{name: "two options", spec: "sshd[mode=aggressive, port=22]", wantName: "sshd", want: map[string]string{"mode": "aggressive", "port": "22"}},
	{name: "quoted values", spec: `sshd[mode="a, b", x='y]z']`, wantName: "sshd", want: map[string]string{"mode": "a, b", "x": "y]z"}},
	{name: "option groups", spec: "sshd[a=1][b=2]", wantName: "sshd", want: map[string]string{"a": "1", "b": "2"}},
	{name: "option groups with space", spec: "sshd[a=1] \n[b=2]", wantName: "sshd", want: map[string]string{"a": "1", "b": "2"}},
	{name: "empty options", spec: "sshd[]", wantName: "sshd", want: map[string]string{}},
	{name: "empty value", spec: "sshd[a=]", wantName: "sshd", want: map[string]string{"a": ""}},
	{name: "trailing comma", spec: "sshd[a=1, ]", wantName: "sshd", want: map[string]string{"a": "1"}},
	{name: "later wins", spec: "sshd[a=1, a=2]", wantName: "sshd", want: map[string]string{"a": "2"}},
	{name: "value trimmed", spec: "sshd[a= 1 , b=2 ]", wantName: "sshd", want: map[string]string{"a": "1", "b": "2"}},
	{name: "name chars", spec: "sshd[a.b-c_d=1]", wantName: "sshd", want: map[string]string{"a.b-c_d": "1"}},
	{name: "multi-line", spec: "sshd[a=1,\n  b=\"x\ny\"]", wantName: "sshd", want: map[string]string{"a": "1", "b": "x\ny"}},
	{name: "name keeps space", spec: "sshd [a=1]", wantName: "sshd ", want: map[string]string{"a": "1"}},
	{name: "space after options", spec: "sshd[a=1]  ", wantName: "sshd", want: map[string]string{"a": "1"}},
	{name: "unclosed quote is a bare value", spec: `sshd[a="x, b=2]`, wantName: "sshd", want: map[string]string{"a": `"x`, "b": "2"}},
	{name: "space before equals", spec: "sshd[a = 1]", wantErr: true},
	{name: "double comma", spec: "sshd[a=1,,b=2]", wantErr: true},
	{name: "no name", spec: "[a=1]", wantErr: true},
	{name: "empty", spec: "", wantErr: true},
	{name: "unclosed", spec: "sshd[a=1", wantErr: true},
	{name: "text after options", spec: "sshd[a=1]x", wantErr: true},
	{name: "text after quoted value", spec: `sshd[a="x"y]`, wantErr: true},
	{name: "bracket inside bare value", spec: "sshd[a=[x]]", wantErr: true},
	{name: "no equals", spec: "sshd[aggressive]", wantErr: true},
}

func TestParseSpec(t *testing.T) {
	for _, c := range specCases {
		t.Run(c.name, func(t *testing.T) {
			name, opts, err := ParseSpec(c.spec)
			if c.wantErr {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("ParseSpec(%q) = %q, %v, %v; want an error matching ErrSyntax", c.spec, name, opts, err)
				}
				return
			}
			if err != nil || name != c.wantName || !maps.Equal(opts, c.want) {
				t.Fatalf("ParseSpec(%q) = %q, %v, %v; want %q, %v", c.spec, name, opts, err, c.wantName, c.want)
			}
		})
	}
}

// TestOracleParseSpec asks fail2ban's extractOptions the same.
func TestOracleParseSpec(t *testing.T) {
	py := needFail2ban(t)
	var cases []oracleCase
	for _, c := range specCases {
		cases = append(cases, oracleCase{Spec: &c.spec})
	}
	for i, want := range askOracle(t, py, cases) {
		c := specCases[i]
		name, opts, err := ParseSpec(c.spec)
		switch {
		case want.Error != "" && err != nil:
		case want.Error != "" || err != nil:
			t.Errorf("%s: ParseSpec(%q): %v; fail2ban: %q", c.name, c.spec, err, want.Error)
		case name != want.Name || !maps.Equal(opts, want.Opts):
			t.Errorf("%s: ParseSpec(%q) = %q, %v; fail2ban %q, %v", c.name, c.spec, name, opts, want.Name, want.Opts)
		}
	}
}

// FuzzParseSpec: no panic, errors are ErrSyntax, and what parses parses
// again the same once written back in the dialect's quoting.
func FuzzParseSpec(f *testing.F) {
	for _, c := range specCases {
		f.Add(c.spec)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		name, opts, err := ParseSpec(spec)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("ParseSpec(%q): %v does not match ErrSyntax", spec, err)
			}
			return
		}
		if name == "" {
			t.Fatalf("ParseSpec(%q): empty name", spec)
		}
		var b strings.Builder
		b.WriteString(name)
		if len(opts) > 0 {
			b.WriteString("[")
			for i, k := range slices.Sorted(maps.Keys(opts)) {
				v, q := opts[k], `"`
				if strings.Contains(v, q) {
					if q = "'"; strings.Contains(v, q) {
						return // not writable in the dialect's quoting
					}
				}
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(k + "=" + q + v + q)
			}
			b.WriteString("]")
		}
		name2, opts2, err := ParseSpec(b.String())
		if err != nil || name2 != name || !maps.Equal(opts, opts2) {
			t.Fatalf("ParseSpec(%q) = %q, %q; written back as %q it reads %q, %q, %v", spec, name, opts, b.String(), name2, opts2, err)
		}
	})
}
