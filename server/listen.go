package server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ErrInUse reports that a live daemon already answers on the socket path.
var ErrInUse = errors.New("server: socket in use by a live daemon")

// ErrUnsafeDir reports that the socket's directory may be written by a user
// other than root and the daemon's own, who could replace the socket with
// their own and have the clients talk to it.
var ErrUnsafeDir = errors.New("server: unsafe socket directory")

// skipDirCheck turns off the directory check; only tests set it
// (export_test.go), to race the mechanism in a directory another user owns.
var skipDirCheck atomic.Bool

// maxPath is the longest socket path the kernel takes (sun_path).
const maxPath = len(unix.RawSockaddrUnix{}.Path)

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
// removed. A file at the path that is not a socket is refused and left
// alone.
//
// The socket's directory is created (0755) if missing, and refused
// (ErrUnsafeDir) if a user other than root and the daemon's own could
// replace entries in it: when another user owns it, or it is writable by
// its group or everyone without the sticky bit.
//
// The daemon runs as root and the directory may be shared, so Listen never
// changes anything by path: it works through descriptors of the directory
// and of a private directory (0700, the daemon's) made inside it. The
// socket is bound in the private directory, given its mode and owner there,
// where nobody else can swap it for a symlink, and then renamed into place,
// so there is no moment when the final path accepts connections with the
// wrong permissions. The listener does not unlink the socket on Close, and
// its Addr names the private path, not o.Path: the daemon calls Unlink.
func Listen(o SocketOptions) (*net.UnixListener, error) {
	base := filepath.Base(o.Path)
	if o.Path == "" || o.Path[len(o.Path)-1] == '/' || base == "." || base == ".." {
		return nil, fmt.Errorf("server: socket path %q names no file", o.Path)
	}
	if len(o.Path) > maxPath {
		return nil, fmt.Errorf("server: socket path %s is %d bytes, longer than the %d a Unix socket takes", o.Path, len(o.Path), maxPath)
	}
	dir := filepath.Dir(o.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("server: socket directory: %w", err)
	}
	// The path may lead through symlinks (/var/run is one to /run): no
	// O_NOFOLLOW here, since the directory the path leads to is the one
	// checked below and the one every later step works in.
	pfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("server: socket directory %s: %w", dir, err)
	}
	defer unix.Close(pfd)
	if err := checkDir(pfd, dir); err != nil {
		return nil, err
	}
	if err := removeStale(pfd, base, o.Path); err != nil {
		return nil, err
	}

	priv, dfd, err := makePrivateDir(pfd, dir)
	if err != nil {
		return nil, err
	}
	defer removePrivateDir(pfd, priv, dfd)
	// Bound through /proc/self/fd the path resolves to the private
	// directory's inode whatever is renamed meanwhile, and it is short
	// whatever o.Path's length. Under umask 0177 the socket is the daemon
	// user's alone until it has its final mode. Umask is process-wide;
	// Listen runs at start, before the daemon creates files from other
	// goroutines.
	bindPath := "/proc/self/fd/" + strconv.Itoa(dfd) + "/s"
	old := unix.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: bindPath, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	// The listener would unlink bindPath on Close: by then a path through
	// another descriptor, or none. The daemon removes o.Path itself (Unlink).
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*net.UnixListener, error) {
		ln.Close()
		unix.Unlinkat(dfd, "s", 0)
		return nil, err
	}
	// Nobody else can create entries in the private directory: "s" is the
	// socket just bound, not a symlink put in its place.
	if err := unix.Fchmodat(dfd, "s", uint32(o.Mode.Perm()), 0); err != nil {
		return fail(fmt.Errorf("server: chmod socket: %w", err))
	}
	if o.UID >= 0 || o.GID >= 0 {
		if err := unix.Fchownat(dfd, "s", o.UID, o.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fail(fmt.Errorf("server: chown socket: %w", err))
		}
	}
	// RENAME_NOREPLACE: whatever appeared at the path since the stale
	// socket was removed is someone else's, not ours to replace.
	err = unix.Renameat2(dfd, "s", pfd, base, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		err = unix.Renameat(dfd, "s", pfd, base) // a file system without the flag
	}
	switch {
	case errors.Is(err, unix.EEXIST) && answers(o.Path):
		return fail(fmt.Errorf("%w: %s", ErrInUse, o.Path))
	case errors.Is(err, unix.EEXIST):
		return fail(fmt.Errorf("server: %s appeared while the socket was being created; not replacing it", o.Path))
	case err != nil:
		return fail(fmt.Errorf("server: rename socket into place: %w", err))
	}
	return ln, nil
}

// checkDir refuses the directory open as fd (named dir in errors) if a
// user other than root and the daemon's own may replace entries in it. It
// stats the descriptor, not the path, so the directory checked is the one
// Listen works in.
func checkDir(fd int, dir string) error {
	if skipDirCheck.Load() {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("server: socket directory %s: %w", dir, err)
	}
	mode := st.Mode & 0o7777
	switch {
	case st.Uid != 0 && int(st.Uid) != os.Geteuid():
		// Sticky or not: the owner of a directory may rename or delete
		// any entry in it.
		return fmt.Errorf("%w: %s is owned by %s, mode %04o: its owner could replace the socket; "+
			"use a directory owned by root or the daemon's user that only they can write, such as /run/banserver",
			ErrUnsafeDir, dir, owner(st.Uid), mode)
	case mode&0o022 != 0 && mode&unix.S_ISVTX == 0:
		who := "everyone"
		if mode&0o002 == 0 {
			who = "its group (gid " + strconv.FormatUint(uint64(st.Gid), 10) + ")"
		}
		return fmt.Errorf("%w: %s is owned by %s, mode %04o: %s may write it and it is not sticky, so they could replace the socket; "+
			"use a directory only root and the daemon's user can write, such as /run/banserver, or make it sticky (chmod +t)",
			ErrUnsafeDir, dir, owner(st.Uid), mode, who)
	}
	return nil
}

// owner names a uid for an error: "nobody (uid 65534)", or "uid 65534".
func owner(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username + " (uid " + id + ")"
	}
	return "uid " + id
}

// removeStale removes a socket at base in the directory pfd that no daemon
// answers on (path names it for dialing and errors). Anything that is not a
// socket is refused and left alone.
func removeStale(pfd int, base, path string) error {
	var st unix.Stat_t
	err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case err != nil:
		return fmt.Errorf("server: socket path %s: %w", path, err)
	case st.Mode&unix.S_IFMT != unix.S_IFSOCK:
		// Not a socket: someone else's file, not ours to delete.
		return fmt.Errorf("server: %s exists and is not a socket", path)
	case answers(path):
		return fmt.Errorf("%w: %s", ErrInUse, path)
	}
	if err := unix.Unlinkat(pfd, base, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("server: remove stale socket: %w", err)
	}
	return nil
}

// answers reports whether something accepts connections on the socket path.
func answers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// makePrivateDir makes a directory of mode 0700 under a random name in the
// directory pfd (named dir in errors) and opens it. It returns the name and
// the descriptor, after checking through the descriptor that it is a
// directory of the daemon's user with mode 0700, the one nobody else can
// add entries to: if someone swapped the name for a symlink or a directory
// of theirs between mkdirat and openat, the check refuses it.
func makePrivateDir(pfd int, dir string) (name string, fd int, err error) {
	for range 5 {
		name = ".banserver-" + rand.Text()
		err = unix.Mkdirat(pfd, name, 0o700)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return "", -1, fmt.Errorf("server: private directory in %s: %w", dir, err)
	}
	fd, err = unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", -1, fmt.Errorf("server: private directory %s: %w (is another user writing %s?)", filepath.Join(dir, name), err, dir)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return "", -1, fmt.Errorf("server: private directory %s: %w", filepath.Join(dir, name), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o777 != 0o700 {
		unix.Close(fd)
		return "", -1, fmt.Errorf("server: private directory %s was replaced (owner uid %d, mode %04o): another user is writing %s",
			filepath.Join(dir, name), st.Uid, st.Mode&0o7777, dir)
	}
	return name, fd, nil
}

// removePrivateDir removes the private directory fd, named name in the
// directory pfd, and closes fd. It removes the name only if it still is
// that directory: if another user renamed it, whatever now has the name is
// not ours, and the empty directory stays behind wherever it went.
func removePrivateDir(pfd int, name string, fd int) {
	defer unix.Close(fd)
	var mine, now unix.Stat_t
	if unix.Fstat(fd, &mine) != nil || unix.Fstatat(pfd, name, &now, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return
	}
	if mine.Dev == now.Dev && mine.Ino == now.Ino {
		unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR)
	}
}

// Unlink removes the socket file at path if it is still a socket.
func Unlink(path string) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
}
