package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ErrInUse reports that a live daemon already answers on the socket path.
var ErrInUse = errors.New("server: socket in use by a live daemon")

// SocketOptions say where the socket lives and who may open it.
type SocketOptions struct {
	Path string
	Mode os.FileMode
	// UID and GID own the socket file; -1 keeps the daemon's own.
	UID, GID int
}

// Listen creates the Unix socket. Before binding it dials the path: if a
// daemon answers, it refuses to start (two daemons on one socket would split
// the clients between them); if nothing answers, the file is stale and is
// removed. The socket is bound under a temporary name, given its mode and
// owner, then renamed into place, so there is no moment when the final path
// accepts connections with the wrong permissions.
func Listen(o SocketOptions) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o755); err != nil {
		return nil, fmt.Errorf("server: socket directory: %w", err)
	}
	if fi, err := os.Lstat(o.Path); err == nil && fi.Mode()&os.ModeSocket == 0 {
		// Not a socket: someone else's file, not ours to delete.
		return nil, fmt.Errorf("server: %s exists and is not a socket", o.Path)
	}
	if c, err := net.DialTimeout("unix", o.Path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s", ErrInUse, o.Path)
	}
	if err := os.Remove(o.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("server: remove stale socket: %w", err)
	}
	tmp := o.Path + ".tmp-" + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp)
	// Bound with umask 0177 the temporary socket is the daemon user's alone
	// until it has its final mode. Umask is process-wide; Listen runs at start,
	// before the daemon creates files from other goroutines.
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	// The listener would unlink tmp on Close, a name that no longer exists
	// after the rename; the daemon removes the real path itself (Unlink).
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*net.UnixListener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, o.Mode); err != nil {
		return fail(fmt.Errorf("server: chmod socket: %w", err))
	}
	if o.UID >= 0 || o.GID >= 0 {
		if err := os.Lchown(tmp, o.UID, o.GID); err != nil {
			return fail(fmt.Errorf("server: chown socket: %w", err))
		}
	}
	if err := os.Rename(tmp, o.Path); err != nil {
		return fail(fmt.Errorf("server: rename socket into place: %w", err))
	}
	return ln, nil
}

// Unlink removes the socket file at path if it is still a socket.
func Unlink(path string) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
}
