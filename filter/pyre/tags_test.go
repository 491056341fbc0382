package pyre

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestTags(t *testing.T) {
	for _, c := range []struct {
		name, pattern, usedns, want string
	}{
		{"HOST", `<HOST>`, "", tagHost},
		{"HOST with usedns no", `<HOST>`, "no", tagAddr},
		{"HOST with usedns raw", `<HOST>`, "raw", tagHost},
		{"ADDR", `from <ADDR>$`, "", `from ` + tagAddr + `$`},
		{"IP4, IP6, DNS", `<IP4>|<IP6>|<DNS>`, "", tagIP4 + `|` + tagIP6 + `|` + tagDNS},
		{"CIDR and SUBNET", `<ADDR>/<CIDR> <SUBNET>`, "", tagAddr + `/` + tagCIDR + ` ` + tagSubnet},
		{"self-closing F- forms", `<F-IP4/><F-DNS/><F-SUBNET/>`, "", tagIP4 + tagDNS + tagSubnet},
		{"F-ID and F-PORT", `<F-ID/>:<F-PORT/>`, "", `(?P<fid>\S+):(?P<fport>\w+)`},
		{"custom field", `user=<F-USER>\S+</F-USER>`, "", `user=(?P<user>\S+)`},
		{"ID and PORT fields map to fid, fport", `<F-ID>\d+</F-ID> <F-PORT>\d+</F-PORT>`, "", `(?P<fid>\d+) (?P<fport>\d+)`},
		{"alt and tuple names", `<F-ALT_USER1>a</F-ALT_USER1><F-TUPLE_ID_2>b</F-TUPLE_ID_2>`, "", `(?P<alt_user1>a)(?P<tuple_id_2>b)`},
		{"closing a tag never opened", `x</F-USER>`, "", `x</F-USER>`},
		{"self-closing custom tag stays", `<F-USER/>`, "", `<F-USER/>`},
		{"lower-case F- tag stays", `<F-user>x</F-user>`, "", `<F-user>x</F-user>`},
		{"unknown tag stays", `<FOO> <foo-bar>`, "", `<FOO> <foo-bar>`},
		{"SKIPLINES are numbered", `a<SKIPLINES>b<SKIPLINES>c`, "",
			`a\n(?P<skiplines0>(?:(?:.*\n)*?))b\n(?P<skiplines1>(?:(?:.*\n)*?))c`},
		{"a tag in a tag", `<<HOST>>`, "", `<` + tagHost + `>`},
		{"global flags become local", `((?i)abc)(?:(?m)x)`, "", `(?i:abc)(?m:x)`},
		{"escaped paren is left", `\((?i)x)`, "", `\((?i)x)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Compile(c.pattern, Options{UseDNS: c.usedns})
			var got string
			if err != nil {
				if !errors.Is(err, ErrSyntax) {
					t.Fatal(err)
				}
				got = globalToLocalFlags(resolveTags(c.pattern, strings.ToLower(c.usedns)))
			} else {
				got = r.String()
			}
			if got != c.want {
				t.Errorf("got\n  %s\nwant\n  %s", got, c.want)
			}
		})
	}
}

type tagQuery struct {
	Pattern   string `json:"pattern"`
	UseDNS    string `json:"usedns"`
	Multiline bool   `json:"multiline,omitempty"`
	Subject   string `json:"subject,omitempty"`
}

type tagAnswer struct {
	Regex  string             `json:"regex"`
	Error  string             `json:"error"`
	Names  []string           `json:"names"`
	Fields map[string]*string `json:"fields"`
}

// tagPatterns are patterns that exercise the tags, beyond the stock
// filters' own.
var tagPatterns = []string{
	`<HOST>`, `<ADDR> <IP4> <IP6> <DNS> <CIDR> <SUBNET>`,
	`<F-IP4/> <F-IP6/> <F-ADDR/> <F-DNS/> <F-CIDR/> <F-SUBNET/> <F-ID/> <F-PORT/>`,
	`<F-USER>\S+</F-USER> </F-NOPE> <F-USER/> <F-user>x</F-user> <UNKNOWN> <é> <> <<HOST>>`,
	`<F-MLFID>\d+</F-MLFID> <F-ALT_USER1>a</F-ALT_USER1> <F-TUPLE_ID_2>b</F-TUPLE_ID_2>`,
	`a<SKIPLINES>b<SKIPLINES>c`, `((?i)abc)(?:(?im)x)\((?i)y)`, `<F-A-B>x</F-A-B>`,
	`   `, `<F-X>`, `<F-ID>x</F-ID></F-ID>`,
}

// TestTagsOracle resolves the tags of every stock filter's regexes and of
// tagPatterns under each usedns, and compares with fail2ban's
// Regex(...)._regex (or its refusal).
func TestTagsOracle(t *testing.T) {
	c := loadCorpus(t)
	raws := slices.Clone(tagPatterns)
	for _, p := range c.Patterns {
		raws = append(raws, p.Raw)
	}
	slices.Sort(raws)
	raws = slices.Compact(raws)
	var qs []tagQuery
	for _, raw := range raws {
		for _, dns := range []string{"yes", "warn", "no", "raw"} {
			qs = append(qs, tagQuery{Pattern: raw, UseDNS: dns})
		}
	}
	var answers []tagAnswer
	oracle(t, "tags", qs, &answers)
	for i, q := range qs {
		a := answers[i]
		r, err := Compile(q.Pattern, Options{UseDNS: q.UseDNS})
		switch {
		case a.Error != "" && err == nil:
			t.Errorf("%q (usedns %s): fail2ban refuses it (%s), pyre compiles %q", q.Pattern, q.UseDNS, a.Error, r)
		case a.Error == "" && err != nil:
			t.Errorf("%q (usedns %s): pyre refuses it (%v), fail2ban compiles %q", q.Pattern, q.UseDNS, err, a.Regex)
		case err == nil && r.String() != a.Regex:
			t.Errorf("%q (usedns %s):\n  pyre     %q\n  fail2ban %q", q.Pattern, q.UseDNS, r, a.Regex)
		case err == nil && !slices.Equal(sortedNames(r), a.Names):
			t.Errorf("%q: groups %v, fail2ban %v", q.Pattern, sortedNames(r), a.Names)
		}
	}
	t.Logf("%d patterns x 4 usedns values compared with fail2ban's Regex", len(raws))
}

func sortedNames(r *Regex) []string {
	n := r.GroupNames()
	slices.Sort(n)
	if n == nil {
		n = []string{}
	}
	return n
}

// fieldCases are matches whose ticket fields show fail2ban's group merge.
var fieldCases = []struct {
	name, pattern, subject string
	want                   map[string]string
}{
	{"address", `from <HOST>( port <F-PORT/>)?`, "from 192.0.2.1 port 22",
		map[string]string{"ip4": "192.0.2.1", "fport": "22"}},
	{"groups that did not take part are left out", `from <HOST>`, "from host.example",
		map[string]string{"dns": "host.example"}},
	{"alt fills an empty field", `^ruser=<F-ALT_USER>\S*</F-ALT_USER> rhost=<HOST>(?:\s+user=<F-USER>\S*</F-USER>)?$`,
		"ruser=bob rhost=192.0.2.1 user=", map[string]string{"alt_user": "bob", "user": "bob", "ip4": "192.0.2.1"}},
	{"alt does not replace a value", `^ruser=<F-ALT_USER>\S*</F-ALT_USER> rhost=<HOST>(?:\s+user=<F-USER>\S*</F-USER>)?$`,
		"ruser=bob rhost=192.0.2.1 user=root", map[string]string{"alt_user": "bob", "user": "root", "ip4": "192.0.2.1"}},
	{"alt with a number suffix", `<F-ALT_USER_1>\w+</F-ALT_USER_1> <F-ALT_USER_2>\w+</F-ALT_USER_2>`,
		"a b", map[string]string{"alt_user_1": "a", "alt_user_2": "b", "user": "a"}},
	{"alt without underscore before the number", `<F-ALT_USER1>\w+</F-ALT_USER1>`,
		"a", map[string]string{"alt_user1": "a", "user1": "a"}},
	{"empty capture stays", `u=<F-USER>\S*</F-USER>;`, "u=;", map[string]string{"user": ""}},
	{"tuple with id", `^\s*<F-ID/> <F-TUPLE_ID>\S+</F-TUPLE_ID>`, "192.0.2.1 192.0.2.2",
		map[string]string{"fid": "('192.0.2.1', '192.0.2.2')", "tuple_id": "192.0.2.2"}},
	{"tuple, id in the middle", `^\s*<F-TUPLE_ID_1>\S+</F-TUPLE_ID_1> <F-ID/> <F-TUPLE_ID_2>\S+</F-TUPLE_ID_2>`,
		"left 192.0.2.3 right", map[string]string{"fid": "('192.0.2.3', 'left', 'right')",
			"tuple_id_1": "left", "tuple_id_2": "right"}},
	{"tuple without the field", `<F-TUPLE_X>\S+</F-TUPLE_X>`, "it's",
		map[string]string{"x": `(None, "it's")`, "tuple_x": "it's"}},
}

func TestFields(t *testing.T) {
	for _, c := range fieldCases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Compile(c.pattern, Options{})
			if err != nil {
				t.Fatal(err)
			}
			m, err := r.Search(c.subject)
			if err != nil || m == nil {
				t.Fatalf("no match: %v", err)
			}
			if got := m.Fields(); !maps.Equal(got, c.want) {
				t.Errorf("Fields() = %v, want %v", got, c.want)
			}
		})
	}
}

// TestFieldsOracle compares Fields with fail2ban's Regex.getGroups (less
// its None values, which a FailTicket drops).
func TestFieldsOracle(t *testing.T) {
	var qs []tagQuery
	for _, c := range fieldCases {
		qs = append(qs, tagQuery{Pattern: c.pattern, UseDNS: "yes", Subject: c.subject})
	}
	var answers []tagAnswer
	oracle(t, "tags", qs, &answers)
	for i, c := range fieldCases {
		want := map[string]string{}
		for k, v := range answers[i].Fields {
			if v != nil {
				want[k] = *v
			}
		}
		if !maps.Equal(want, c.want) {
			t.Errorf("%s: fail2ban's fields %v, the table's %v", c.name, want, c.want)
		}
	}
}

func TestMergeFields(t *testing.T) {
	r, _ := Compile(`user (?P<user>\S+)( from <HOST>)?`, Options{})
	m, _ := r.Search("user bob")
	got := m.MergeFields(map[string]string{"ip4": "192.0.2.9", "daemon": "sshd"})
	// fail2ban: preGroups.copy().update(failGroups): the None of ip4 in
	// the failregex overrides the prefregex's, and the ticket drops it.
	want := map[string]string{"user": "bob", "daemon": "sshd"}
	if !maps.Equal(got, want) {
		t.Errorf("MergeFields = %v, want %v", got, want)
	}
}

func TestSkippedLines(t *testing.T) {
	r, err := Compile(`^a<SKIPLINES>c$`, Options{Multiline: true})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := r.Search("a\nb1\nb2\nc\n")
	if m == nil {
		t.Fatal("no match")
	}
	if got := m.SkippedLines(); !slices.Equal(got, []string{"b1", "b2"}) {
		t.Errorf("SkippedLines = %q", got)
	}
}
