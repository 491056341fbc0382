package jail

import "net/netip"

// unbannable says why addr can never be banned, or "" when it can: a ban
// of it would cut the host off from itself or its neighbours, or names no
// single attacker. Attempt does not count such an address, BanIP refuses
// it, Restore drops it; the route action refuses the same ranges again,
// as the last check before the kernel.
func unbannable(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast():
		return "multicast"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the limited broadcast address"
	case a.Is4() && a.As4()[0] == 0:
		return "in 0.0.0.0/8 (this network)"
	}
	return ""
}
