package route

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// pipe adds and deletes routes on a raw NETLINK_ROUTE socket, many requests
// per write: a window of messages goes to the kernel in one sendto, which
// rtnetlink processes one after the other, and their acks come back in a
// few recvfroms. Against one request and one ack per round trip through
// vishvananda/netlink this cuts the syscalls per route from two to a
// fraction and the allocations to none (see BenchmarkBanBatch). Dumps and
// the address list stay on the netlink.Handle, where the library parses
// them.
type pipe struct {
	fd   int
	seq  uint32
	wbuf []byte
	rbuf []byte
}

// window is how many requests are in flight at once. Each ack is 36 bytes
// (NETLINK_CAP_ACK leaves the request out of it), so a window's acks fit
// the receive buffer many times over.
const window = 256

// ioTimeout bounds one read or write on the socket. The kernel answers a
// window in well under a millisecond; seconds mean something is wrong.
const ioTimeout = 5 * time.Second

// rcvBuf is the receive buffer asked for: 4 KiB of skb per ack in flight.
const rcvBuf = window * 4096

// rtmsgLen etc. are the fixed sizes of the messages the pipe writes.
const (
	nlmsgLen = unix.SizeofNlMsghdr // 16
	rtmsgLen = unix.SizeofRtMsg    // 12
	rtaLen   = unix.SizeofRtAttr   // 4
	maxMsg   = nlmsgLen + rtmsgLen + rtaLen + 16 + rtaLen + 4
)

// openPipe opens the socket in the namespace at nsPath ("" is the
// process's own).
func openPipe(nsPath string) (*pipe, error) {
	fd, err := socketIn(nsPath)
	if err != nil {
		return nil, fmt.Errorf("route: netlink socket: %w", err)
	}
	p := &pipe{fd: fd, wbuf: make([]byte, 0, window*maxMsg), rbuf: make([]byte, 64<<10)}
	// Acks without the echoed request; no extended-ack strings to parse.
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1); err != nil {
		p.close()
		return nil, fmt.Errorf("route: NETLINK_CAP_ACK: %w", err)
	}
	// Room for a window of acks: the kernel charges each ack's whole skb
	// (about a kilobyte), not its 36 bytes, against the receive buffer, and
	// drops what does not fit (ENOBUFS). FORCE needs CAP_NET_ADMIN, which
	// changing routes needs anyway.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf); err != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
	}
	// A lost ack must not wedge the action (and the queue behind it) for
	// ever: reads and writes give up after ioTimeout with EAGAIN.
	tv := unix.NsecToTimeval(ioTimeout.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		p.close()
		return nil, fmt.Errorf("route: bind netlink: %w", err)
	}
	return p, nil
}

// socketIn creates the socket on a thread that entered the namespace. The
// thread is locked and, should it fail to return to its own namespace,
// left locked so the runtime discards it with the goroutine rather than
// run other goroutines in the wrong namespace.
func socketIn(nsPath string) (int, error) {
	mk := func() (int, error) {
		return unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	}
	if nsPath == "" {
		return mk()
	}
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{-1, err}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(nsPath)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{-1, err}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			ch <- result{-1, err}
			return
		}
		fd, err := mk()
		if err := netns.Set(orig); err != nil {
			if fd >= 0 {
				unix.Close(fd)
			}
			ch <- result{-1, fmt.Errorf("return to own namespace: %w", err)}
			return // the thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

func (p *pipe) close() {
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
}

// routeMsg describes the routes the pipe writes: all share table, protocol
// and type.
type routeMsg struct {
	table int
	proto uint8
	typ   uint8
}

// do sends one request of kind (RTM_NEWROUTE or RTM_DELROUTE) per prefix
// and sets errs[i] to the kernel's answer to ps[i]: nil or an errno. The
// returned error is for the socket itself; the requests not answered keep
// the errs entries they had, so callers preset them to errNoAnswer.
func (p *pipe) do(kind uint16, m routeMsg, ps []netip.Prefix, errs []error) error {
	flags := uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK)
	if kind == unix.RTM_NEWROUTE {
		flags |= unix.NLM_F_CREATE | unix.NLM_F_EXCL
	}
	for start := 0; start < len(ps); start += window {
		end := min(start+window, len(ps))
		first := p.seq + 1
		b := p.wbuf[:0]
		for _, pr := range ps[start:end] {
			p.seq++
			b = appendRoute(b, kind, flags, p.seq, m, pr)
		}
		// write, not sendto: an unconnected netlink socket sends to the
		// kernel by default, and read/write skip the per-call sockaddr.
		if _, err := unix.Write(p.fd, b); err != nil {
			return fmt.Errorf("route: netlink send: %w", err)
		}
		if err := p.acks(first, errs[start:end]); err != nil {
			return err
		}
	}
	return nil
}

// acks reads one ack per request of the window whose first sequence number
// is first, into errs.
func (p *pipe) acks(first uint32, errs []error) error {
	got := 0
	for got < len(errs) {
		n, err := unix.Read(p.fd, p.rbuf)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			// ENOBUFS: acks were dropped; EAGAIN: none came within
			// ioTimeout. Either way the requests' fate is unknown.
			if errors.Is(err, unix.EAGAIN) {
				return fmt.Errorf("route: netlink receive: %d answers missing after %v: %w", len(errs)-got, ioTimeout, err)
			}
			return fmt.Errorf("route: netlink receive: %w", err)
		}
		b := p.rbuf[:n]
		for len(b) >= nlmsgLen {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < nlmsgLen || l > len(b) {
				return fmt.Errorf("route: netlink: bad message length %d", l)
			}
			typ := binary.NativeEndian.Uint16(b[4:6])
			seq := binary.NativeEndian.Uint32(b[8:12])
			if typ == unix.NLMSG_ERROR && l >= nlmsgLen+4 && seq-first < uint32(len(errs)) {
				if e := int32(binary.NativeEndian.Uint32(b[nlmsgLen:])); e != 0 {
					errs[seq-first] = syscall.Errno(-e)
				} else {
					errs[seq-first] = nil
				}
				got++
			}
			b = b[min(nlmAlign(l), len(b)):]
		}
	}
	return nil
}

// errNoAnswer marks a request the kernel did not answer (the socket failed first).
var errNoAnswer = errors.New("route: no answer from the kernel")

func nlmAlign(n int) int { return (n + 3) &^ 3 }

// appendRoute appends one route request: nlmsghdr, rtmsg, RTA_DST and
// RTA_TABLE (the attribute carries tables above 255; rtm_table holds the
// low ones too, as iproute2 writes them).
func appendRoute(b []byte, kind, flags uint16, seq uint32, m routeMsg, pr netip.Prefix) []byte {
	addr := pr.Addr()
	alen, family := 4, uint8(unix.AF_INET)
	if addr.Is6() {
		alen, family = 16, unix.AF_INET6
	}
	total := nlmsgLen + rtmsgLen + rtaLen + alen + rtaLen + 4
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, uint32(total))
	b = ne.AppendUint16(b, kind)
	b = ne.AppendUint16(b, flags)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0) // port id: the kernel fills in ours
	table := uint8(unix.RT_TABLE_UNSPEC)
	if m.table < 256 {
		table = uint8(m.table)
	}
	b = append(b, family, uint8(pr.Bits()), 0, 0, table, m.proto, unix.RT_SCOPE_UNIVERSE, m.typ)
	b = ne.AppendUint32(b, 0) // rtm_flags
	b = ne.AppendUint16(b, uint16(rtaLen+alen))
	b = ne.AppendUint16(b, unix.RTA_DST)
	if alen == 4 {
		a := addr.As4()
		b = append(b, a[:]...)
	} else {
		a := addr.As16()
		b = append(b, a[:]...)
	}
	b = ne.AppendUint16(b, rtaLen+4)
	b = ne.AppendUint16(b, unix.RTA_TABLE)
	b = ne.AppendUint32(b, uint32(m.table))
	return b
}
