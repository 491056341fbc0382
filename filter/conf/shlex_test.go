package conf

import (
	"slices"
	"testing"
)

var shlexCases = []struct {
	name    string
	in      string
	want    []string
	wantErr bool
}{
	{name: "words", in: "_SYSTEMD_UNIT=sshd.service + _COMM=sshd", want: []string{"_SYSTEMD_UNIT=sshd.service", "+", "_COMM=sshd"}},
	{name: "spaces tabs", in: " a\t b  ", want: []string{"a", "b"}},
	{name: "single quotes", in: "'a b' c", want: []string{"a b", "c"}},
	{name: "double quotes escape", in: `"a \" b \\ c \n"`, want: []string{`a " b \ c \n`}},
	{name: "escape outside quotes", in: `a\ b \'c`, want: []string{"a b", "'c"}},
	{name: "empty quotes", in: `"" ''`, want: []string{"", ""}},
	{name: "quotes inside a word", in: `a"b c"d'e'`, want: []string{"ab cde"}},
	{name: "no escape in single quotes", in: `'a\'`, want: []string{`a\`}},
	{name: "empty", in: "", want: nil},
	{name: "unclosed double", in: `"abc`, wantErr: true},
	{name: "unclosed single", in: "x 'abc", wantErr: true},
	{name: "trailing escape", in: `abc\`, wantErr: true},
}

func TestShlexSplit(t *testing.T) {
	for _, c := range shlexCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := shlexSplit(c.in)
			if c.wantErr != (err != nil) || !slices.Equal(got, c.want) {
				t.Fatalf("shlexSplit(%q) = %q, %v; want %q (error %v)", c.in, got, err, c.want, c.wantErr)
			}
		})
	}
}

// TestOracleShlexSplit asks Python's shlex.split the same.
func TestOracleShlexSplit(t *testing.T) {
	py := needFail2ban(t)
	var cases []oracleCase
	for _, c := range shlexCases {
		cases = append(cases, oracleCase{Shlex: &c.in})
	}
	for i, want := range askOracle(t, py, cases) {
		c := shlexCases[i]
		got, err := shlexSplit(c.in)
		if (want.Error != "") != (err != nil) || !slices.Equal(got, want.Words) {
			t.Errorf("%s: shlexSplit(%q) = %q, %v; Python %q, %q", c.name, c.in, got, err, want.Words, want.Error)
		}
	}
}
