package filter

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/banserver/banserver/filter/pyre"
	"github.com/banserver/banserver/testenv"
)

// regexCase is one CheckRegex call; want is the regex returned, wantErr a
// prefix of the refusal's message ("" when accepted).
type regexCase struct {
	name    string
	kind    RegexKind
	pattern string
	useDNS  string
	pref    string
	want    string
	wantErr string
}

var regexCases = []regexCase{
	{name: "host resolved", kind: RegexFail, pattern: "user john at <HOST>", useDNS: "warn",
		want: "user john at " + hostRE},
	{name: "host without dns", kind: RegexFail, pattern: "x <HOST>", useDNS: "no", want: "x " + addrRE},
	{name: "F-ID tag", kind: RegexFail, pattern: `^<F-ID>\S+</F-ID> x`, want: `^(?P<fid>\S+) x`},
	{name: "python fid group", kind: RegexFail, pattern: `^(?P<fid>\S+) x`, want: `^(?P<fid>\S+) x`},
	{name: "mlfid", kind: RegexFail, pattern: `^<F-MLFID>\S+</F-MLFID> x`, want: `^(?P<mlfid>\S+) x`},
	{name: "global flag kept at the start", kind: RegexFail, pattern: "(?i)^foo <ADDR>", want: "(?i)^foo " + addrRE},
	{name: "id group in the prefregex", kind: RegexFail, pattern: "^Failed for", pref: `^<F-MLFID>\S+</F-MLFID> <F-CONTENT>.+</F-CONTENT>$`, want: "^Failed for"},
	{name: "no host", kind: RegexFail, pattern: "No host regex", wantErr: "No failure-id group in 'No host regex'"},
	{name: "a number", kind: RegexFail, pattern: "654", wantErr: "No failure-id group in '654'"},
	{name: "prefregex without id does not help", kind: RegexFail, pattern: "x", pref: "^y <F-CONTENT>.+</F-CONTENT>", wantErr: "No failure-id group in 'x'"},
	{name: "empty", kind: RegexFail, pattern: "", wantErr: "Cannot add empty regex"},
	{name: "blank", kind: RegexIgnore, pattern: "   ", wantErr: "Cannot add empty regex"},
	{name: "unbalanced names the resolved regex", kind: RegexFail, pattern: "Invalid [regex <HOST>", useDNS: "warn",
		wantErr: "Unable to compile regular expression 'Invalid [regex " + hostRE + "':\nunbalanced parenthesis at position 104"},
	{name: "ignoreregex needs no id", kind: RegexIgnore, pattern: "user john", want: "user john"},
	{name: "ignoreregex resolves tags", kind: RegexIgnore, pattern: "from <HOST>", want: "from " + hostRE},
	{name: "ignoreregex bad", kind: RegexIgnore, pattern: "Invalid [regex", wantErr: "Unable to compile regular expression 'Invalid [regex':\nunterminated character set at position 8"},
	{name: "prefregex content", kind: RegexPref, pattern: "^Test <F-CONTENT>.+</F-CONTENT>$", want: "^Test (?P<content>.+)$"},
	{name: "prefregex bad", kind: RegexPref, pattern: "bad [", wantErr: "Unable to compile regular expression 'bad [':\nunterminated character set at position 4"},
}

// fail2ban's <HOST> and <ADDR> (failregex.py), as pyre resolves them.
const (
	addrRE = `\[?(?:(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})|(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)))\]?`
	hostRE = `(?:` + addrRE + `|(?P<dns>[\w\-.^_]*\w))`
)

func TestCheckRegex(t *testing.T) {
	for _, tt := range regexCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckRegex(tt.kind, tt.pattern, tt.useDNS, tt.pref)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var re *RegexError
			if !errors.As(err, &re) || !errors.Is(err, ErrSettings) || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("got %q, %v; want a RegexError starting %q", got, err, tt.wantErr)
			}
		})
	}
	if _, err := CheckRegex(RegexIgnore, "a(?<=a+)", "", ""); !errors.Is(err, pyre.ErrSyntax) && !errors.Is(err, pyre.ErrUnsupported) {
		t.Errorf("variable look-behind: %v, want the pyre error reachable", err)
	}
}

// oracleRegexScript compiles each case with fail2ban's own Regex and
// FailRegex and prints [regex, error message] for each.
const oracleRegexScript = `
import json, sys
from fail2ban.server.failregex import Regex, FailRegex, RegexException
out = []
for kind, pattern, usedns, pref in json.load(sys.stdin):
    try:
        if kind == 0:
            p = Regex(pref, useDns=usedns) if pref else None
            r = FailRegex(pattern, prefRegex=p, useDns=usedns)
        else:
            r = Regex(pattern, useDns=usedns)
        out.append([r.getRegex(), ""])
    except RegexException as e:
        out.append(["", str(e)])
print(json.dumps(out))
`

// TestCheckRegexOracle: CheckRegex answers what fail2ban's Regex and
// FailRegex answer, regex and message alike.
func TestCheckRegexOracle(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import fail2ban.server.failregex").Run(); err != nil {
		testenv.Missingf(t, "Debian's python3 with fail2ban is not installed: %v", err)
	}
	in := make([][4]any, len(regexCases))
	for i, tt := range regexCases {
		dns := tt.useDNS
		if dns == "" {
			dns = "yes"
		}
		in[i] = [4]any{int(tt.kind), tt.pattern, dns, tt.pref}
	}
	b, _ := json.Marshal(in)
	cmd := exec.Command(py, "-c", oracleRegexScript)
	cmd.Stdin = strings.NewReader(string(b))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var want [][2]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("python3 printed %q: %v", out, err)
	}
	for i, tt := range regexCases {
		got, err := CheckRegex(tt.kind, tt.pattern, tt.useDNS, tt.pref)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != want[i][0] || msg != want[i][1] {
			t.Errorf("%s: got %q, %q; fail2ban %q, %q", tt.name, got, msg, want[i][0], want[i][1])
		}
	}
}
