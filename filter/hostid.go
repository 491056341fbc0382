package filter

import (
	"net/netip"
	"strings"
)

// fail2ban's IPAddr cidr arguments: raw text, unspecified (parse, accept
// a /plen suffix), IPv4 only, IPv6 only.
const (
	cidrRaw    = -2
	cidrUnspec = -1
	famIPv4    = cidrRaw - 2  // CIDR_RAW - AF_INET
	famIPv6    = cidrRaw - 10 // CIDR_RAW - AF_INET6
)

// hostID is a failure id as fail2ban's IPAddr holds it: the text it came
// from, and the address or network when the text is one.
type hostID struct {
	raw    string
	prefix netip.Prefix // invalid when the text is no address (or raw)
	isRaw  bool         // kept as text (CIDR_RAW): compared as text
}

// String is fail2ban's str(IPAddr): the address in canonical form with a
// /plen suffix for a network, or the raw text.
func (h hostID) String() string {
	if !h.prefix.IsValid() {
		return h.raw
	}
	a, bits := h.prefix.Addr(), h.prefix.Bits()
	if bits > 0 && bits < a.BitLen() {
		return h.prefix.String()
	}
	// Most ids are matched in canonical form: the text then is the answer.
	var b [64]byte
	if c := a.AppendTo(b[:0]); string(c) == h.raw {
		return h.raw
	}
	return a.String()
}

// makeHostID is fail2ban's IPAddr(text, cidr).
func makeHostID(text string, cidr int) hostID {
	h := hostID{raw: text}
	if cidr == cidrRaw {
		h.isRaw = true
		return h
	}
	ipstr := text
	v4, v6 := true, true
	switch {
	case cidr == famIPv4:
		v6, cidr = false, cidrUnspec
	case cidr == famIPv6:
		v4, cidr = false, cidrUnspec
	case cidr == cidrUnspec:
		// Brackets of [ipv6] and a /plen or /mask suffix.
		if len(ipstr) > 2 && ipstr[0] == '[' && ipstr[len(ipstr)-1] == ']' {
			ipstr = ipstr[1 : len(ipstr)-1]
		}
		if i := strings.IndexByte(ipstr, '/'); i >= 0 {
			plen, ok := parsePlen(ipstr[i+1:])
			if !ok {
				// fail2ban raises: the text stays an unparsed id.
				return h
			}
			ipstr, cidr = ipstr[:i], plen
		}
	}
	a, err := netip.ParseAddr(ipstr)
	if err != nil || a.Zone() != "" || (a.Is4() && !v4) || (a.Is6() && !v6) {
		return h
	}
	bits := a.BitLen()
	if cidr >= 0 {
		if cidr < bits {
			bits = cidr
		}
	} else if a.Is4In6() {
		// An IPv4-mapped IPv6 address is the IPv4 address.
		a = a.Unmap()
		bits = 32
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return h
	}
	h.prefix = p
	return h
}

// parsePlen reads a prefix length, or a netmask in address form as
// fail2ban's masktoplen does.
func parsePlen(s string) (int, bool) {
	if strings.ContainsAny(s, ".:") {
		m, err := netip.ParseAddr(s)
		if err != nil {
			return 0, false
		}
		b := m.AsSlice()
		n := 0
		for _, x := range b {
			for x&0x80 != 0 {
				n++
				x <<= 1
			}
			if x != 0 {
				break
			}
		}
		return n, true
	}
	return atoiPy(s)
}

// atoiPy is Python's int(s) for the decimal texts a cidr group holds:
// surrounding white space allowed, an optional sign, digits and single
// underscores between digits.
func atoiPy(s string) (int, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	n := 0
	prevDigit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n > 1<<30 {
				return 0, false
			}
			n = n*10 + int(c-'0')
			prevDigit = true
		case c == '_' && prevDigit && i+1 < len(s):
			prevDigit = false
		default:
			return 0, false
		}
	}
	if !prevDigit {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// plainAddr is fail2ban's IPAddr.searchIP followed by a validity check:
// the text is an IPv4 address, or an IPv6 address in optional brackets.
func plainAddr(text string) (netip.Addr, bool) {
	s := text
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	if a.Is4In6() {
		a = a.Unmap()
	}
	return a, true
}
