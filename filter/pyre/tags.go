package pyre

import (
	"strings"
	"unicode"
)

// fail2ban's address expressions, as its failregex.py builds them: the
// translated patterns must be the very strings fail2ban compiles, so that
// String() is fail2ban's Regex._regex and the group names agree.
const (
	reIP4  = `(?:\d{1,3}\.){3}\d{1,3}`
	reIP6  = `(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)`
	tagIP4 = `(?:::f{4,6}:)?(?P<ip4>` + reIP4 + `)`
	tagIP6 = `(?P<ip6>` + reIP6 + `)`
	tagDNS = `(?P<dns>[\w\-.^_]*\w)`

	tagAddr   = `\[?(?:` + tagIP4 + `|` + tagIP6 + `)\]?`
	tagHost   = `(?:` + tagAddr + `|` + tagDNS + `)`
	tagCIDR   = `(?P<cidr>\d+)`
	tagSubnet = `\[?(?:` + tagIP4 + `|` + tagIP6 + `)(?:/` + tagCIDR + `)?\]?`
)

// staticTags are the tags (and self-closing F- forms) with a fixed
// expansion.
var staticTags = map[string]string{
	"IP4": tagIP4, "F-IP4/": tagIP4,
	"IP6": tagIP6, "F-IP6/": tagIP6,
	"ADDR": tagAddr, "F-ADDR/": tagAddr,
	"CIDR": tagCIDR, "F-CIDR/": tagCIDR,
	"SUBNET": tagSubnet, "F-SUBNET/": tagSubnet,
	"DNS": tagDNS, "F-DNS/": tagDNS,
	"F-ID/":   `(?P<fid>\S+)`,
	"F-PORT/": `(?P<fport>\w+)`,
}

// tagOption maps an F- tag name to its group name: lowercase, with id and
// port becoming fail2ban's fid and fport.
func tagOption(tag string) string {
	t := pyLowerString(tag)
	switch t {
	case "id":
		return "fid"
	case "port":
		return "fport"
	}
	return t
}

// pyLowerString is str.lower(): Go's ToLower but for U+0130, whose full
// lowercase is two code points.
func pyLowerString(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "\u0130", "i\u0307"))
}

func isTagChar(c rune) bool {
	return c == '-' || c == '_' || unicode.IsLetter(c) || unicode.IsNumber(c)
}

// resolveTags replaces fail2ban's tags as Regex._resolveHostTag does:
// <HOST> by address-or-name (address only with usedns "no"), <ADDR>,
// <IP4>, <IP6>, <DNS>, <CIDR>, <SUBNET> and their self-closing F- forms,
// <F-ID/>, <F-PORT/>, <SKIPLINES> (numbered skiplinesN groups), and
// <F-NAME>...</F-NAME> pairs (F- then upper-case letters, digits, '_' or
// '-') as named groups. A closing tag that was never opened, a
// self-closing custom tag and any other tag stay as they are.
func resolveTags(pattern, useDNS string) string {
	var b strings.Builder
	open := map[string]bool{}
	skip := 0
	rs := []rune(pattern)
	last := 0
	for i := 0; i < len(rs); i++ {
		if rs[i] != '<' {
			continue
		}
		j := i + 1
		if j < len(rs) && rs[j] == '/' {
			j++
		}
		k := j
		for k < len(rs) && isTagChar(rs[k]) {
			k++
		}
		if k == j {
			continue
		}
		if k < len(rs) && rs[k] == '/' {
			k++
		}
		if k >= len(rs) || rs[k] != '>' {
			continue
		}
		tag := string(rs[i : k+1])
		b.WriteString(string(rs[last:i]))
		b.WriteString(substTag(tag, useDNS, open, &skip))
		last = k + 1
		i = k
	}
	b.WriteString(string(rs[last:]))
	return b.String()
}

func substTag(tag, useDNS string, open map[string]bool, skip *int) string {
	tn := tag[1 : len(tag)-1]
	switch tn {
	case "HOST":
		if useDNS == "no" {
			return tagAddr
		}
		return tagHost
	case "SKIPLINES":
		n := *skip
		*skip++
		return `\n(?P<skiplines` + itoa(n) + `>(?:(?:.*\n)*?))`
	}
	if s, ok := staticTags[tn]; ok {
		return s
	}
	closing := strings.HasPrefix(tn, "/")
	name, ok := strings.CutPrefix(strings.TrimPrefix(tn, "/"), "F-")
	if !ok || name == "" {
		return tag
	}
	for _, c := range name {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return tag
		}
	}
	if closing {
		if open[name] {
			return ")"
		}
		return tag
	}
	open[name] = true
	return "(?P<" + tagOption(name) + ">"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

// globalToLocalFlags rewrites "((?i)" and "(?:(?i)" into "(?i:", as
// fail2ban does before compiling (R_GLOB2LOCFLAGS), so that a filter's
// global flags become local to the group that holds them.
func globalToLocalFlags(pattern string) string {
	rs := []rune(pattern)
	var b strings.Builder
	last := 0
	for i := 0; i < len(rs); i++ {
		if rs[i] != '(' || i > 0 && rs[i-1] == '\\' {
			continue
		}
		try := func(k int) (end int, flagsEnd int, ok bool) {
			if k+1 >= len(rs) || rs[k] != '(' || rs[k+1] != '?' {
				return 0, 0, false
			}
			m := k + 2
			for m < len(rs) && 'a' <= rs[m] && rs[m] <= 'z' {
				m++
			}
			if m == k+2 || m >= len(rs) || rs[m] != ')' {
				return 0, 0, false
			}
			return m + 1, m, true
		}
		start := i + 1
		end, fe, ok := 0, 0, false
		if i+2 < len(rs) && rs[i+1] == '?' && rs[i+2] == ':' {
			end, fe, ok = try(i + 3)
			if ok {
				start = i + 3
			}
		}
		if !ok {
			end, fe, ok = try(i + 1)
		}
		if !ok {
			continue
		}
		b.WriteString(string(rs[last:i]))
		b.WriteString(string(rs[start:fe]))
		b.WriteByte(':')
		last = end
		i = end - 1
	}
	b.WriteString(string(rs[last:]))
	return b.String()
}
