package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/banserver/banserver/protocol"
)

// banctl prints fail2ban-client's results unchanged, but its errors are its
// own: one line on stderr, "banctl: what went wrong (what to do)", or with
// -o json an {"error": {...}} object on stdout. fail2ban-client's log-style
// lines ("ERROR   NOK: ...") only appear with -v.

// cliError is one error banctl reports.
type cliError struct {
	// typ names the error in JSON output: the exception's class name for
	// a refused command, Python's name for the OSError fail2ban-client
	// would have met for a socket failure (FileNotFoundError,
	// PermissionError, ConnectionRefusedError, TimeoutError, ...).
	typ string
	// msg is the line printed after "banctl: ".
	msg string
	// args are a refused command's exception arguments, for JSON output.
	args []any
	// err is the cause, if any.
	err error
}

func (e *cliError) Error() string { return "banctl: " + e.msg }

func (e *cliError) Unwrap() error { return e.err }

// usageHint is what a refused command's message points to.
func usageHint(words []string) string {
	if len(words) > 0 && words[0] == "help" {
		return "see 'banctl --help'"
	}
	return "see 'banctl help'"
}

// exceptionError words an exception the server answered with.
func exceptionError(words []string, v any) *cliError {
	e, ok := v.(*protocol.Exception)
	if !ok || e == nil {
		return &cliError{typ: "Exception", msg: pyStr(v)}
	}
	first := ""
	if len(e.Args) > 0 {
		first = pyStr(e.Args[0])
	}
	args := e.Args
	if args == nil {
		args = []any{}
	}
	ce := &cliError{typ: e.Name(), args: args}
	switch e.Name() {
	case "UnknownJailException":
		ce.msg = "the jail '" + first + "' does not exist"
	case "DuplicateJailException":
		ce.msg = "the jail '" + first + "' already exists"
	case "IndexError":
		// fail2ban's transmitter indexing past the words it was given.
		ce.msg = "the command is incomplete (" + usageHint(words) + ")"
	default:
		msg := excStr(e)
		switch {
		case strings.HasPrefix(msg, "Invalid command"):
			// "Invalid command" or "Invalid command (no get action ...)".
			if strings.HasSuffix(msg, ")") {
				msg += "; " + usageHint(words)
			} else {
				msg += " (" + usageHint(words) + ")"
			}
		case msg == "":
			msg = e.Name()
		case !plainException[e.Name()]:
			// A class an operator would not expect (NameError, KeyError):
			// name it, as Python's traceback line does.
			msg = e.Name() + ": " + msg
		}
		ce.msg = msg
	}
	return ce
}

// plainException are the classes whose message says it all.
var plainException = map[string]bool{
	"Exception": true, "ValueError": true, "PermissionError": true, "TypeError": true,
}

// serverError words a bare "ERROR: ..." string: fail2ban-server's answer to
// a message it could not read at all.
func serverError(v any) *cliError {
	msg := strings.TrimPrefix(pyStr(v), "ERROR: ")
	return &cliError{typ: "ProtocolError", msg: "the server could not read the command: " + msg}
}

// startHint is how to get a server to talk to.
const startHint = "is banserver running? start it with 'systemctl start banserver', or give the socket with -s PATH"

// connError words a failure to reach the server at sock or to get its
// answer within timeout; waitHint says how to wait longer.
func connError(sock string, timeout time.Duration, waitHint string, err error) *cliError {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return &cliError{typ: "TimeoutError", err: err, msg: fmt.Sprintf(
			"the server at %s did not answer within %s (is it overloaded? %s)",
			sock, seconds(timeout), waitHint)}
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR):
		return &cliError{typ: "FileNotFoundError", err: err, msg: fmt.Sprintf(
			"cannot connect to %s: no such file (%s)", sock, startHint)}
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return &cliError{typ: "PermissionError", err: err, msg: fmt.Sprintf(
			"cannot connect to %s: permission denied (%s)", sock, permissionHint(sock))}
	case errors.Is(err, syscall.ECONNREFUSED):
		if fi, statErr := os.Stat(sock); statErr == nil && fi.Mode()&fs.ModeSocket == 0 {
			return &cliError{typ: "ConnectionRefusedError", err: err, msg: fmt.Sprintf(
				"cannot connect to %s: not a socket (give banserver's socket with -s PATH)", sock)}
		}
		return &cliError{typ: "ConnectionRefusedError", err: err, msg: fmt.Sprintf(
			"cannot connect to %s: connection refused, nothing is listening (%s)", sock, startHint)}
	case errors.Is(err, syscall.EAGAIN):
		return &cliError{typ: "BlockingIOError", err: err, msg: fmt.Sprintf(
			"cannot connect to %s: the server is not accepting connections fast enough (try again)", sock)}
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &cliError{typ: "ConnectionResetError", err: err, msg: fmt.Sprintf(
			"the server at %s closed the connection without answering (see its log: journalctl -u banserver)", sock)}
	case errors.Is(err, protocol.ErrTooLarge):
		return &cliError{typ: "ProtocolError", err: err, msg: fmt.Sprintf(
			"the reply from %s is larger than %d MiB", sock, maxReply>>20)}
	}
	var ce *cliError
	if errors.As(err, &ce) {
		return ce
	}
	return &cliError{typ: "OSError", err: err, msg: fmt.Sprintf("talking to %s: %v", sock, err)}
}

// seconds writes d as "30 s" or "2.5 s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

// fileOwner is what permissionHint needs to know of a file.
type fileOwner struct {
	path       string
	mode       fs.FileMode
	uid, gid   uint32
	user, grp  string // names, or the numbers when unknown
	inGroup    bool   // this process has the group
	userHasGrp bool   // the user's account has the group (a fresh login would)
}

// permissionHint says why the socket is closed to this process and what
// to do, from the socket's (or, when it cannot be seen, its directory's)
// owner, group and mode.
func permissionHint(sock string) string {
	f, err := lookupOwner(sock)
	if errors.Is(err, fs.ErrPermission) {
		dir := filepath.Dir(sock)
		if d, err := lookupOwner(dir); err == nil {
			return fmt.Sprintf("its directory %s is %s:%s %s; run as root, or ask an administrator for access",
				dir, d.user, d.grp, modeString(d.mode))
		}
	}
	if err != nil {
		return "run as root, or ask an administrator for access"
	}
	return ownerHint(f)
}

// ownerHint is permissionHint's advice for a socket it could stat.
func ownerHint(f fileOwner) string {
	what := fmt.Sprintf("the socket is %s:%s %s", f.user, f.grp, modeString(f.mode))
	switch {
	case f.mode&0o020 != 0 && f.gid != 0 && f.inGroup:
		// In the group and still refused: the directory is in the way.
		return what + fmt.Sprintf("; you are in group %s, so check the directory %s; or run as root", f.grp, filepath.Dir(f.path))
	case f.mode&0o020 != 0 && f.gid != 0 && f.userHasGrp:
		return what + fmt.Sprintf("; your account is in group %s but this session is not: log in again (or run 'newgrp %s'), or run as root", f.grp, f.grp)
	case f.mode&0o020 != 0 && f.gid != 0:
		return what + fmt.Sprintf("; ask an administrator to add you to group %s, or run as root", f.grp)
	case f.uid != 0:
		return what + fmt.Sprintf("; only %s and root may connect: run as one of them", f.user)
	}
	return what + "; only root may connect: run as root"
}

// lookupOwner stats path and resolves its owner and group.
func lookupOwner(path string) (fileOwner, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileOwner{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileOwner{}, fmt.Errorf("banctl: no owner for %s", path)
	}
	f := fileOwner{path: path, mode: fi.Mode(), uid: st.Uid, gid: st.Gid,
		user: strconv.FormatUint(uint64(st.Uid), 10), grp: strconv.FormatUint(uint64(st.Gid), 10)}
	if u, err := user.LookupId(f.user); err == nil {
		f.user = u.Username
	}
	if g, err := user.LookupGroupId(f.grp); err == nil {
		f.grp = g.Name
	}
	if gs, err := os.Getgroups(); err == nil {
		f.inGroup = slices.Contains(gs, int(st.Gid)) || os.Getegid() == int(st.Gid)
	}
	if u, err := user.Current(); err == nil {
		if ids, err := u.GroupIds(); err == nil {
			f.userHasGrp = slices.Contains(ids, strconv.FormatUint(uint64(st.Gid), 10))
		}
	}
	return f, nil
}

// modeString is a mode as ls -l writes it: "srw-rw----".
func modeString(m fs.FileMode) string {
	s := m.String() // "Srw-rw----" for a socket, "drwxr-xr-x" for a directory
	if m&fs.ModeSocket != 0 {
		s = "s" + s[1:]
	}
	return s
}
