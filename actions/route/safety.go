package route

import (
	"fmt"
	"net/netip"
)

// Minimum prefix lengths: a ban wider than these is refused. A /16 of IPv4
// or a /32 of IPv6 is already a provider's whole allocation; anything wider
// is far more likely a typo (a missing /32) than a deliberate ban.
const (
	MinBits4 = 16
	MinBits6 = 32
)

// reserved are ranges no ban may touch: routing them away breaks the host
// itself (loopback, "this network", link-local neighbours and autoconfig,
// multicast for neighbour discovery, the limited broadcast) or makes no
// sense for a route (IPv4-mapped IPv6: the kernel routes those packets as
// IPv4). A ban overlapping any of them is refused.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("255.255.255.255/32"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("::ffff:0:0/96"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// Normalize returns p as the action routes it: an IPv4-mapped IPv6 prefix
// as IPv4, host bits cleared. An invalid prefix is refused.
func Normalize(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, fmt.Errorf("%w: invalid prefix %s", ErrRefused, p)
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%w: %s mixes IPv4-mapped and IPv6 space", ErrRefused, p)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Check refuses a (normalized) prefix that would be unsafe to route away:
// wider than MinBits4/MinBits6, overlapping loopback, unspecified,
// link-local, multicast, limited broadcast or IPv4-mapped space, or
// containing one of own (the namespace's own interface addresses: banning
// them could cut the host off from itself or from the operator who
// reaches it there). The jail refuses most of these too; this is the last
// line before the kernel.
func Check(p netip.Prefix, own []netip.Addr) error {
	min := MinBits6
	if p.Addr().Is4() {
		min = MinBits4
	}
	if p.Bits() < min {
		return fmt.Errorf("%w: %s is wider than /%d", ErrRefused, p, min)
	}
	for _, r := range reserved {
		if r.Overlaps(p) {
			return fmt.Errorf("%w: %s overlaps reserved range %s", ErrRefused, p, r)
		}
	}
	for _, a := range own {
		if p.Contains(a) {
			return fmt.Errorf("%w: %s contains this host's address %s", ErrRefused, p, a)
		}
	}
	return nil
}
