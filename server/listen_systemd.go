package server

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

// listenFDsStart is the first descriptor systemd passes (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// ListenSystemd returns the listening socket systemd passed by socket
// activation: when LISTEN_PID is this process and LISTEN_FDS is at least
// 1, descriptor 3. ok is false when the daemon was not socket-activated;
// it then creates the socket itself (Listen). systemd owns the socket
// file: the daemon must not chmod, chown or unlink it. The LISTEN_*
// variables are unset, as sd_listen_fds does, so that children do not
// take the socket for theirs.
func ListenSystemd() (ln net.Listener, ok bool, err error) {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return nil, false, nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 1 {
		return nil, false, nil
	}
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	f := os.NewFile(listenFDsStart, "systemd-socket")
	if f == nil {
		return nil, false, fmt.Errorf("server: LISTEN_FDS=%d but descriptor %d is not open", n, listenFDsStart)
	}
	// FileListener dups the descriptor; the original is closed here.
	ln, err = net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, false, fmt.Errorf("server: systemd socket: %w", err)
	}
	if _, unix := ln.(*net.UnixListener); !unix {
		ln.Close()
		return nil, false, fmt.Errorf("server: systemd socket is %s, want a Unix stream socket", ln.Addr().Network())
	}
	return ln, true, nil
}
