package load

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/banserver/banserver/protocol"
)

// Commands the generator can send.
const (
	CmdAttempt = "attempt" // ["set", jail, "attempt", ip, match]: the PHP hot path
	CmdBanIP   = "banip"   // ["set", jail, "banip", ip]
	CmdPing    = "ping"    // ["ping"]
	CmdMix     = "mix"     // 8 attempts, 1 banip, 1 ping out of every 10
)

// ErrBadConfig reports flags or fields that cannot make a run.
var ErrBadConfig = errors.New("load: bad config")

// attemptMatch is the log line an attempt carries, as a PHP client would
// send with its attempt; fail2ban counts one failure per match.
const attemptMatch = "banbench: bad token"

// requestProto is the pickle protocol the requests are written with: what
// fail2ban-client on Python 3.8+ sends would be 5, PHP clients and most
// tools send 4; the server answers in kind.
const requestProto = 4

// ipv4DocRanges are the documentation ranges (RFC 5737) used first.
var ipv4DocRanges = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
}

// ipv4PoolMax is how many addresses the IPv4 documentation ranges give
// (hosts .1 to .254 of each /24).
const ipv4PoolMax = 3 * 254

// PoolAddr returns the i-th address of the pool: the IPv4 documentation
// ranges first, then 2001:db8::/32 (RFC 3849) for pools bigger than those.
func PoolAddr(i int) netip.Addr {
	if i < ipv4PoolMax {
		a := ipv4DocRanges[i/254].Addr().As4()
		a[3] = byte(i%254 + 1)
		return netip.AddrFrom4(a)
	}
	j := uint64(i - ipv4PoolMax + 1)
	// 2001:db8::/32; spread the index over the low 64 bits.
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	for k := 0; k < 8; k++ {
		b[15-k] = byte(j >> (8 * k))
	}
	return netip.AddrFrom16(b)
}

// BuildRequests pre-encodes one request per pool address (or one ping) so
// the timed loop only writes bytes. For CmdMix the pattern repeats every
// ten requests.
func BuildRequests(cmd, jail string, pool int) ([][]byte, error) {
	if pool < 1 {
		return nil, fmt.Errorf("%w: pool %d < 1", ErrBadConfig, pool)
	}
	n := pool
	switch cmd {
	case CmdPing:
		n = 1
	case CmdMix:
		// A multiple of ten so the mix holds however the index wraps.
		n = (pool + 9) / 10 * 10
	case CmdAttempt, CmdBanIP:
	default:
		return nil, fmt.Errorf("%w: unknown command %q", ErrBadConfig, cmd)
	}
	// One backing buffer for all requests: a million-address pool is one
	// allocation, and neighbouring requests share cache lines.
	ends := make([]int, n)
	buf := make([]byte, 0, n*64)
	for i := range ends {
		c := cmd
		if cmd == CmdMix {
			switch i % 10 {
			case 8:
				c = CmdBanIP
			case 9:
				c = CmdPing
			default:
				c = CmdAttempt
			}
		}
		var args []any
		ip := PoolAddr(i % pool).String()
		switch c {
		case CmdAttempt:
			args = []any{"set", jail, "attempt", ip, attemptMatch}
		case CmdBanIP:
			args = []any{"set", jail, "banip", ip}
		case CmdPing:
			args = []any{"ping"}
		}
		var err error
		if buf, err = protocol.AppendRequest(buf, requestProto, args); err != nil {
			return nil, fmt.Errorf("load: encode %s: %w", c, err)
		}
		// Offsets now, slices at the end: buf may still move as it grows.
		ends[i] = len(buf)
	}
	reqs := make([][]byte, n)
	start := 0
	for i, end := range ends {
		reqs[i] = buf[start:end:end]
		start = end
	}
	return reqs, nil
}

// BuildBanIPBatches pre-encodes banip requests carrying per addresses each,
// covering the pool once: request k bans pool addresses k*per to
// k*per+per-1.
func BuildBanIPBatches(jail string, pool, per int) ([][]byte, error) {
	if pool < 1 || per < 1 {
		return nil, fmt.Errorf("%w: pool %d, per %d", ErrBadConfig, pool, per)
	}
	var reqs [][]byte
	for start := 0; start < pool; start += per {
		args := []any{"set", jail, "banip"}
		for i := start; i < min(start+per, pool); i++ {
			args = append(args, PoolAddr(i).String())
		}
		req, err := protocol.AppendRequest(nil, requestProto, args)
		if err != nil {
			return nil, fmt.Errorf("load: encode banip: %w", err)
		}
		reqs = append(reqs, req)
	}
	return reqs, nil
}
