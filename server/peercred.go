package server

import (
	"errors"
	"fmt"
	"net"
	"os/user"
	"strconv"
	"sync"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// ErrNoPeerCred reports a connection whose peer the kernel cannot name:
// not a Unix socket. Such a peer gets only what any peer may do.
var ErrNoPeerCred = errors.New("server: no peer credentials")

// Peer is the process at the other end of a connection, as the kernel
// recorded it when the client connected (SO_PEERCRED): it cannot be forged
// by the client, unlike anything it sends.
type Peer struct {
	UID, GID uint32
	PID      int32
	// Known is false when the kernel could not say; UID and GID are then
	// meaningless and no rule matches.
	Known bool
}

// PeerOf reads the peer credentials of a Unix socket connection. It uses
// the connection's own descriptor through SyscallConn rather than File,
// which would dup it and switch it to blocking mode.
func PeerOf(c net.Conn) (Peer, error) {
	return new(peerReader).peerOf(c)
}

// peerReader reads peer credentials; a session keeps one, so that reading
// a connection's costs no allocation but the runtime's raw connection
// (GetsockoptUcred returns its result in a new Ucred, and a closure given
// to Control escapes).
type peerReader struct {
	ctl  func(fd uintptr) // r.read, bound once
	cred unix.Ucred
	err  error
}

// peerOf is PeerOf.
func (r *peerReader) peerOf(c net.Conn) (Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, fmt.Errorf("%w: %T", ErrNoPeerCred, c)
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("server: peer credentials: %w", err)
	}
	if r.ctl == nil {
		r.ctl = r.read
	}
	r.cred, r.err = unix.Ucred{}, nil
	if err := rc.Control(r.ctl); err != nil {
		return Peer{}, fmt.Errorf("server: peer credentials: %w", err)
	}
	if r.err != nil {
		return Peer{}, fmt.Errorf("server: peer credentials: %w", r.err)
	}
	return Peer{UID: r.cred.Uid, GID: r.cred.Gid, PID: r.cred.Pid, Known: true}, nil
}

// read is getsockopt(SO_PEERCRED) on fd into r.cred.
func (r *peerReader) read(fd uintptr) {
	n := uint32(unix.SizeofUcred)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_PEERCRED,
		uintptr(unsafe.Pointer(&r.cred)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		r.err = e
	}
}

// identity is what the user database says of a uid.
type identity struct {
	name   string
	groups []uint32 // supplementary groups of the user, primary included
}

// users caches user database lookups by uid for the daemon's life: a
// lookup reads /etc/passwd and /etc/group (or asks NSS), too slow to do
// per connection. A change of group membership takes a restart, as it
// takes a new login for the user's own processes.
type users struct {
	mu    sync.Mutex // guards m
	m     map[uint32]identity
	known func(uid uint32) identity
}

func newUsers() *users {
	return &users{m: make(map[uint32]identity), known: lookupIdentity}
}

func (u *users) get(uid uint32) identity {
	u.mu.Lock()
	defer u.mu.Unlock()
	id, ok := u.m[uid]
	if !ok {
		id = u.known(uid)
		u.m[uid] = id
	}
	return id
}

// lookupIdentity asks the user database; an unknown uid has no name and
// no supplementary groups.
func lookupIdentity(uid uint32) identity {
	usr, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return identity{}
	}
	id := identity{name: usr.Username}
	gids, err := usr.GroupIds()
	if err != nil {
		return id
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			id.groups = append(id.groups, uint32(n))
		}
	}
	return id
}

// peerFields are the log fields naming a peer.
func peerFields(p Peer, name string) []zap.Field {
	if !p.Known {
		return []zap.Field{zap.Bool("peer_unknown", true)}
	}
	f := []zap.Field{zap.Uint32("uid", p.UID), zap.Uint32("gid", p.GID), zap.Int32("pid", p.PID)}
	if name != "" {
		f = append(f, zap.String("user", name))
	}
	return f
}
