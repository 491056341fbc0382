#!/usr/bin/python3
"""Run fail2ban's own Transmitter tests against a server over its socket.

Usage: f2b_servertests.py --socket SOCK --log FILE [--dbfile FILE] [--only NAME,...] [--no-stop] [--trace]

fail2ban's test module (fail2ban/tests/servertestcase.py, from the installed
Debian package: nothing of it is copied here) tests its Transmitter in
process: each test calls self.transm.proceed(cmd) on a Server object it
built itself. This program imports that module unchanged and hands the
classes Transmitter and TransmitterLogging a RemoteServer instead of a
Server: its proceed() sends the command over a Unix socket with fail2ban's
own client code (fail2ban.client.csocket.CSocket: the list pickled with
HIGHEST_PROTOCOL, then <F2B_END_COMMAND>; the reply read up to the
terminator and unpickled), and the few Server methods the tests call
directly (addJail, startJail, delJail, quit, isAlive, _Server__jails...)
become socket commands. The test bodies run unchanged.

Every test starts from a clean server: every jail stopped (status, then
stop JAIL), the log level DEBUG, the log target back to FILE (when the
server answers "get logtarget"), the database file back to --dbfile (None
by default; when the server answers "get dbfile"), and TestJail1 added with
the polling backend (the tests' own setUp).

Log assertions (assertLogged, assertNotLogged, pruneLog) read the server's
log instead of the harness's: the caller starts the server logging to FILE
(fail2ban-server --logtarget FILE; banserver with its stderr appended to
FILE) and passes --log FILE. Each test reads what the server wrote after
its setUp; pruneLog skips to the end of the file. The harness keeps the
server's log target and level: RemoteServer.setLogTarget/setLogLevel/
setSyslogSocket, which TransmitterLogging's setUp calls on its in-process
Server, do nothing (the tests that are about log targets send
"set logtarget ..." over the socket themselves). So a test fails on a log
assertion only when the server did not log what fail2ban logs (a line
containing "Ban 192.0.2.1", "192.0.2.255 is not banned", "IPv6 is on"...),
which is information, not an artefact of the harness.

A few tests check the harness's own process rather than the server, and
cannot mean anything over a socket; they are reported as SKIP with the
reason (IN_PROCESS below). Tests fail2ban itself skips (no /dev/log, no
python3-systemd) are SKIP with fail2ban's reason.

Output: one JSON object a line on stdout, in the order the tests ran:
  {"test": "Transmitter.testPing", "result": "PASS"}
  {"test": "...", "result": "FAIL", "reason": "...", "last": [[cmd, reply], ...]}
  {"test": "...", "result": "SKIP", "reason": "..."}
"last" holds the last few commands the test sent and the replies, each
[repr(command), repr(reply)]. Anything else the tests print goes to
stderr. The exit status is 0 when every test ran (whatever their results),
2 on a usage or connection error.

testStopServer sends "stop": it runs last, and the server is gone after it
(--no-stop leaves it out).
"""
import argparse
import json
import logging
import os
import socket
import sys
import traceback
import unittest
import unittest.util

# The real stdout carries the results only; everything else (fail2ban's
# console handler, stray prints) goes to stderr.
RESULTS = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
sys.stdout = sys.stderr

from fail2ban.client.csocket import CSocket  # noqa: E402
from fail2ban.tests import utils as f2butils  # noqa: E402

# fail2ban's test-suite set-up (unittest.F2B, which the test modules read
# at import; quiet logging, without its banner), then the test module.
_opts = f2butils.DefaultTestOptions()
_opts.verbosity = 0
f2butils.initProcess(_opts)
f2butils.initTests(_opts)
from fail2ban.tests import servertestcase  # noqa: E402

# Tests that assert on the harness's own process, not on anything the
# server answers or logs: over a socket they can pass or fail only by
# accident, so they are not run.
IN_PROCESS = {
    "testServerIsNotStarted": "asserts Server.isStarted() of an in-process Server that never opened a socket; a server reached over its socket is started",
    "testSetIPv6": "asserts DNSUtils.IPv6IsAllowed() in the harness's process; 1.0.2 has no 'get allowipv6' to read the server's",
    "testJailBanList": "moves the harness's MyTime clock (with_alt_time, 2005-08-14) and expects the server's --with-time stamps to follow it",
    "testFlushLogs": "writes with the harness's own fail2ban logger and expects the lines in the server's log file",
}

# How long a test may wait for a line in the log (fail2ban's default is 60 s).
MAX_WAIT = 5
# How long one command may take on the socket.
CMD_TIMEOUT = 15
# How many exchanges a FAIL line carries.
LAST = 4

OPTS = None  # the parsed command line


class RemoteError(Exception):
    """A socket command the harness itself needed failed."""


class Conn:
    """One connection to the server, reopened after an error."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.history = []  # (cmd, repr(reply)) of the current test

    def send(self, cmd, record=True):
        try:
            if self.sock is None:
                self.sock = CSocket(self.path, timeout=CMD_TIMEOUT)
            reply = self.sock.send(cmd)
        except Exception as e:
            self.drop()
            reply_repr = "<socket error: %r>" % (e,)
            if record:
                self.history.append((repr(list(cmd)), reply_repr))
            trace(cmd, reply_repr)
            raise
        if record:
            self.history.append((repr(list(cmd)), _short(repr(reply))))
        trace(cmd, repr(reply))
        return reply

    def drop(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except Exception:
                pass
            self.sock = None


def _short(s, n=400):
    return s if len(s) <= n else s[:n] + "..."


def trace(cmd, reply):
    if OPTS is not None and OPTS.trace:
        sys.stderr.write("  %r -> %s\n" % (cmd, reply))


CONN = None
BASELINE = {}  # server settings restored before each test


def _value(reply):
    """The value of a (0, value) reply, or RemoteError."""
    if isinstance(reply, tuple) and len(reply) == 2 and reply[0] == 0:
        return reply[1]
    raise RemoteError("server answered %r" % (reply,))


def _jails():
    """The names of the server's jails, from status."""
    for k, v in _value(CONN.send(["status"], record=False)):
        if k == "Jail list":
            return [j.strip() for j in v.split(",") if j.strip()]
    return []


def _try(cmd):
    try:
        return CONN.send(cmd, record=False)
    except socket.error:
        raise
    except Exception as e:  # a reply that does not unpickle
        return (1, e)


def reset_server():
    """Brings the server back to the state every test starts from."""
    for j in _jails():
        _try(["stop", j])
    left = _jails()
    if left:
        raise RemoteError("jails left after stop: %r" % (left,))
    _try(["set", "loglevel", "DEBUG"])
    if "logtarget" in BASELINE:
        r = _try(["get", "logtarget"])
        if r != (0, BASELINE["logtarget"]):
            _try(["set", "logtarget", BASELINE["logtarget"]])
    if "dbfile" in BASELINE:
        r = _try(["get", "dbfile"])
        if r != (0, BASELINE["dbfile"]):
            v = BASELINE["dbfile"]
            _try(["set", "dbfile", "None" if v is None else v])


def record_baseline():
    """What reset_server restores: the log target the harness reads (when
    the server has one to set) and the database file of --dbfile."""
    r = _try(["get", "logtarget"])
    if isinstance(r, tuple) and r and r[0] == 0:
        BASELINE["logtarget"] = OPTS.log
    r = _try(["get", "dbfile"])
    if isinstance(r, tuple) and r and r[0] == 0:
        BASELINE["dbfile"] = None if OPTS.dbfile == "None" else OPTS.dbfile


class RemoteServer:
    """Stands for fail2ban.server.server.Server in the tests: its transmitter
    is the socket, and the Server methods the tests call are socket
    commands. Built by the tests' setUp (TEST_SRV_CLASS)."""

    def __init__(self):
        reset_server()
        self._stopped = False
        self._quit = False
        # The test's log starts here (after the reset, before its setUp
        # adds TestJail1, as an in-process test captures its setUp too).
        self.log_offset = _log_size()

    # The transmitter: self.transm = self.server._Server__transm.
    @property
    def _Server__transm(self):
        return self

    def proceed(self, command):
        reply = CONN.send(list(command))
        if list(command) == ["stop"] and reply == (0, None):
            self._stopped = True
        return reply

    # Server methods the tests call directly.
    def _must(self, cmd):
        code, value = CONN.send(cmd)
        if code != 0:
            raise value if isinstance(value, BaseException) else RemoteError(repr(value))
        return value

    def addJail(self, name, backend):
        self._must(["add", name, backend])

    def startJail(self, name):
        self._must(["start", name])

    def delJail(self, name, stop=True, join=True):
        self._must(["stop", name])

    def stopJail(self, name):
        self._must(["stop", name])

    def stopAllJail(self):
        self._must(["stop", "--all"])

    def isAlive(self, jailnum=None):
        # Whether each jail's threads run is not visible over the socket:
        # only the number of jails is.
        return 1 if jailnum is None or len(_jails()) == jailnum else 0

    def isStarted(self):
        return True

    @property
    def _Server__jails(self):
        return _jails()

    def getSyslogSocket(self):
        return _value(CONN.send(["get", "syslogsocket"]))

    # The harness owns the server's log target and level (see the module
    # docstring): TransmitterLogging's setUp calls these on its in-process
    # Server.
    def setLogTarget(self, *args, **kwargs):
        return True

    def setLogLevel(self, *args, **kwargs):
        pass

    def setSyslogSocket(self, *args, **kwargs):
        return True

    def quit(self):
        if self._quit or self._stopped:
            return
        self._quit = True
        for j in _jails():
            _try(["stop", j])


def _log_size():
    try:
        return os.path.getsize(OPTS.log)
    except OSError:
        return 0


class FileLog:
    """Replaces LogCaptureTestCase's in-memory handler: the server's log
    file from an offset on."""

    def __init__(self, path, offset):
        self.path, self.offset = path, offset

    def getvalue(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def truncate(self, size=None):
        self.offset = _log_size()

    def close(self):
        pass


def remote(cls):
    """A subclass of fail2ban's test class that talks to the socket."""

    class Remote(cls):
        TEST_SRV_CLASS = RemoteServer

        def setUp(self):
            CONN.history = []
            super().setUp()
            self._log = FileLog(OPTS.log, self.server.log_offset)

    Remote.__name__ = Remote.__qualname__ = cls.__name__
    return Remote


class Result(unittest.TestResult):
    """Prints one JSON line a test."""

    def _name(self, test):
        return "%s.%s" % (type(test).__name__, test._testMethodName)

    def _emit(self, test, result, reason=None, last=False):
        rec = {"test": self._name(test), "result": result}
        if reason is not None:
            rec["reason"] = reason
        if last:
            rec["last"] = CONN.history[-LAST:]
        RESULTS.write(json.dumps(rec) + "\n")

    def addSuccess(self, test):
        super().addSuccess(test)
        self._emit(test, "PASS")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._emit(test, "SKIP", reason)

    def _reason(self, err):
        etype, value, tb = err
        if etype is AssertionError:
            msg = str(value).strip()
        else:
            msg = "%s: %s" % (etype.__name__, value)
            # where in the test it happened
            frames = [f for f in traceback.extract_tb(tb) if "servertestcase" in f.filename]
            if frames:
                msg += " (servertestcase.py:%d)" % frames[-1].lineno
        lines = msg.splitlines()
        head = lines[0] if lines else etype.__name__
        return _short(head, 300)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._emit(test, "FAIL", self._reason(err), last=True)
        if OPTS.trace:
            sys.stderr.write(self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._emit(test, "FAIL", "error: " + self._reason(err), last=True)
        if OPTS.trace:
            sys.stderr.write(self._exc_info_to_string(err, test))


def skipped(clsname, name, reason):
    """A stand-in for a test the harness does not run (IN_PROCESS)."""

    def skip(self):
        raise unittest.SkipTest(reason)

    return type(clsname, (unittest.TestCase,), {name: skip})(name)


def suite(only):
    tests, last = [], []
    for cls in (servertestcase.Transmitter, servertestcase.TransmitterLogging):
        rcls = remote(cls)
        for name in unittest.TestLoader().getTestCaseNames(cls):
            full = "%s.%s" % (cls.__name__, name)
            if only and full not in only and name not in only:
                continue
            if name in IN_PROCESS:
                t = skipped(cls.__name__, name, IN_PROCESS[name])
            else:
                t = rcls(name)
            # "stop" ends the server: it goes last.
            (last if name == "testStopServer" else tests).append(t)
    if not OPTS.no_stop:
        tests += last
    return tests


def main():
    global OPTS, CONN
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--socket", required=True, help="the server's Unix socket")
    p.add_argument("--log", required=True, help="the file the server logs to")
    p.add_argument("--dbfile", default="None", help="the server's database file at start, restored before each test (default None: no database)")
    p.add_argument("--only", default="", help="comma-separated test names (testPing or Transmitter.testPing)")
    p.add_argument("--no-stop", action="store_true", help="leave out testStopServer (the server keeps running)")
    p.add_argument("--trace", action="store_true", help="every command and reply, and tracebacks, on stderr")
    OPTS = p.parse_args()

    # Log waits shortened from 60 s; assertion messages less shortened
    # (unittest cuts each side of "Tuples differ: A != B" to 80 characters).
    unittest.F2B.MAX_WAITTIME = MAX_WAIT
    if hasattr(unittest.util, "_MAX_LENGTH"):
        unittest.util._MAX_LENGTH = 240
    logging.getLogger("fail2ban").setLevel(logging.CRITICAL)

    CONN = Conn(OPTS.socket)
    try:
        record_baseline()
        reset_server()
    except Exception as e:
        sys.stderr.write("f2b_servertests: the server at %s does not answer: %r\n" % (OPTS.socket, e))
        return 2

    only = set(x for x in OPTS.only.split(",") if x)
    result = Result()
    for t in suite(only):
        t.run(result)
        CONN.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
