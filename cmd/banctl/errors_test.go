package main

import (
	"bytes"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/testenv"
)

func TestExceptionError(t *testing.T) {
	tests := []struct {
		name     string
		words    []string
		reply    any
		wantType string
		wantMsg  string
	}{
		{name: "unknown jail", words: []string{"status", "x"}, reply: exc(protocol.ClassUnknownJail, "x"),
			wantType: "UnknownJailException", wantMsg: "the jail 'x' does not exist"},
		{name: "duplicate jail", words: []string{"add", "api"}, reply: exc(protocol.ClassDuplicateJail, "api"),
			wantType: "DuplicateJailException", wantMsg: "the jail 'api' already exists"},
		{name: "invalid command", words: []string{"foo"}, reply: exc(protocol.ClassException, "Invalid command"),
			wantType: "Exception", wantMsg: "Invalid command (see 'banctl help')"},
		{name: "invalid command with its reason", words: []string{"get", "api", "idle"},
			reply:    exc(protocol.ClassException, "Invalid command (no get action or not yet implemented)"),
			wantType: "Exception", wantMsg: "Invalid command (no get action or not yet implemented); see 'banctl help'"},
		{name: "help itself refused", words: []string{"help"}, reply: exc(protocol.ClassException, "Invalid command"),
			wantType: "Exception", wantMsg: "Invalid command (see 'banctl --help')"},
		{name: "index error", words: []string{"set", "api"}, reply: exc("builtins.IndexError", "list index out of range"),
			wantType: "IndexError", wantMsg: "the command is incomplete (see 'banctl help')"},
		{name: "value error", words: []string{"set", "api", "bantime", "x"}, reply: exc(protocol.ClassValueError, "jail: invalid value: bantime \"x\""),
			wantType: "ValueError", wantMsg: "jail: invalid value: bantime \"x\""},
		{name: "permission error", words: []string{"stop"}, reply: exc("builtins.PermissionError", "permission denied: uid 1000 may not use admin commands that name no jail (stop)"),
			wantType: "PermissionError", wantMsg: "permission denied: uid 1000 may not use admin commands that name no jail (stop)"},
		{name: "key error named", words: []string{"get", "api", "x"}, reply: exc(protocol.ClassKeyError, "x"),
			wantType: "KeyError", wantMsg: "KeyError: 'x'"},
		{name: "no arguments", words: []string{"foo"}, reply: exc(protocol.ClassException),
			wantType: "Exception", wantMsg: "Exception"},
		{name: "two arguments", words: []string{"foo"}, reply: exc(protocol.ClassValueError, "a", int64(2)),
			wantType: "ValueError", wantMsg: "('a', 2)"},
		{name: "not an exception", words: []string{"foo"}, reply: "odd",
			wantType: "Exception", wantMsg: "odd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := exceptionError(tc.words, tc.reply)
			if e.typ != tc.wantType || e.msg != tc.wantMsg {
				t.Errorf("exceptionError = %s %q, want %s %q", e.typ, e.msg, tc.wantType, tc.wantMsg)
			}
			if strings.Contains(e.msg, "\n") {
				t.Errorf("message spans lines: %q", e.msg)
			}
		})
	}
}

func TestOwnerHint(t *testing.T) {
	base := fileOwner{path: "/run/ban.sock", mode: fs.ModeSocket | 0o660, uid: 0, gid: 998, user: "root", grp: "banserver"}
	with := func(f func(o *fileOwner)) fileOwner { o := base; f(&o); return o }
	tests := []struct {
		name string
		f    fileOwner
		want string
	}{
		{name: "group may connect", f: base,
			want: "the socket is root:banserver srw-rw----; ask an administrator to add you to group banserver, or run as root"},
		{name: "in the account's groups, not the session's", f: with(func(o *fileOwner) { o.userHasGrp = true }),
			want: "the socket is root:banserver srw-rw----; your account is in group banserver but this session is not: log in again (or run 'newgrp banserver'), or run as root"},
		{name: "in the group already", f: with(func(o *fileOwner) { o.inGroup = true }),
			want: "the socket is root:banserver srw-rw----; you are in group banserver, so check the directory /run; or run as root"},
		{name: "root only", f: with(func(o *fileOwner) { o.mode = fs.ModeSocket | 0o600; o.gid, o.grp = 0, "root" }),
			want: "the socket is root:root srw-------; only root may connect: run as root"},
		{name: "group root", f: with(func(o *fileOwner) { o.gid, o.grp = 0, "root" }),
			want: "the socket is root:root srw-rw----; only root may connect: run as root"},
		{name: "a service user", f: with(func(o *fileOwner) { o.mode = fs.ModeSocket | 0o600; o.uid, o.user = 998, "banserver" }),
			want: "the socket is banserver:banserver srw-------; only banserver and root may connect: run as one of them"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownerHint(tc.f); got != tc.want {
				t.Errorf("ownerHint:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestHelperProcess is not a test: TestPermissionDenied runs the test binary
// as another user with BANCTL_TEST_MAIN=1, and then this runs banctl's main
// with the arguments after "--".
func TestHelperProcess(t *testing.T) {
	if os.Getenv("BANCTL_TEST_MAIN") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// TestPermissionDenied runs banctl as nobody against sockets nobody may
// not write, and checks that the error names the socket's owner, group and
// mode and says what to do.
func TestPermissionDenied(t *testing.T) {
	testenv.Root(t, "runs banctl as another user against root's socket")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testenv.Missingf(t, "no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	adm, err := user.LookupGroup("adm")
	if err != nil {
		testenv.Missingf(t, "no group adm: %v", err)
	}
	admGID, _ := strconv.Atoi(adm.Gid)

	// A directory nobody can reach, holding a copy of this test binary.
	dir, err := os.MkdirTemp("", "banctl-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "banctl.test")
	copyFile(t, self, bin, 0o755)

	rootOnly := filepath.Join(dir, "root.sock")
	listen(t, rootOnly, func(c net.Conn) {})
	os.Chmod(rootOnly, 0o600)
	group := filepath.Join(dir, "group.sock")
	listen(t, group, func(c net.Conn) {})
	os.Chown(group, 0, admGID)
	os.Chmod(group, 0o660)
	hidden := filepath.Join(dir, "hidden")
	os.Mkdir(hidden, 0o700)
	hiddenSock := filepath.Join(hidden, "ban.sock")
	listen(t, hiddenSock, func(c net.Conn) {})

	tests := []struct {
		name string
		sock string
		want string
	}{
		{name: "root only", sock: rootOnly,
			want: "banctl: cannot connect to " + rootOnly + ": permission denied (the socket is root:root srw-------; only root may connect: run as root)\n"},
		{name: "group", sock: group,
			want: "banctl: cannot connect to " + group + ": permission denied (the socket is root:adm srw-rw----; ask an administrator to add you to group adm, or run as root)\n"},
		{name: "closed directory", sock: hiddenSock,
			want: "banctl: cannot connect to " + hiddenSock + ": permission denied (its directory " + hidden + " is root:root drwx------; run as root, or ask an administrator for access)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "-test.run=^TestHelperProcess$", "--", "-s", tc.sock, "status")
			cmd.Env = append(os.Environ(), "BANCTL_TEST_MAIN=1")
			cmd.Dir = dir
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFail {
				t.Errorf("exit: %v, want %d", err, exitFail)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			if stderr.String() != tc.want {
				t.Errorf("stderr:\n got %q\nwant %q", stderr.String(), tc.want)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// recordingPeer is a one-connection-at-a-time server written with package
// protocol: it decodes each request, hands its words to got, and answers
// (0, None). It stands in for a server whose reply does not matter, to
// see what banctl sends.
func recordingPeer(t *testing.T, got chan<- []any) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "rec.sock")
	listen(t, sock, func(c net.Conn) {
		r := protocol.NewReader(c, 1<<20)
		for {
			msg, err := r.ReadMessage()
			if err != nil {
				return // EOF, or the close command
			}
			args, proto, err := protocol.Decode(msg)
			if err != nil {
				t.Errorf("recording peer: %v", err)
				return
			}
			got <- args
			reply, _ := protocol.AppendReply(nil, proto, 0, nil)
			c.Write(reply)
		}
	})
	return sock
}

func TestReloadSendsWords(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		want  string // repr of the request the server decoded
	}{
		{name: "reload", words: []string{"reload"}, want: "['reload']"},
		{name: "reload jail", words: []string{"reload", "api"}, want: "['reload', 'api']"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan []any, 4)
			sock := recordingPeer(t, got)
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"-s", sock}, tc.words...), &stdout, &stderr)
			if code != exitOK || stderr.Len() > 0 {
				t.Errorf("exit %d, stderr %q; want 0 and nothing", code, stderr.String())
			}
			// A None reply prints as fail2ban-client prints any None.
			if stdout.String() != "None\n" {
				t.Errorf("stdout %q, want %q", stdout.String(), "None\n")
			}
			select {
			case req := <-got:
				if r := protocol.Repr(req); r != tc.want {
					t.Errorf("server decoded %s, want %s", r, tc.want)
				}
			default:
				t.Fatal("the server received nothing")
			}
		})
	}
}
