"""Print repr() of every reply fail2ban-server gives for a command sequence.

Usage: f2b_replies.py SOCKET < steps.json

steps.json is a JSON array of {"name": str, "args": [str, ...], "until": str|null}.
A step with "until" is repeated (up to 10 s) until repr(reply) equals it, because
fail2ban bans in its actions thread, after the attempt that triggered the ban has
already been answered. Timestamps are replaced by YYYY-mm-dd HH:MM:SS so the
output is stable. The compat test runs this against fail2ban-server and writes
the result to testdata/f2b-replies.txt: the daemon engineers' reference.
"""
import json
import re
import sys
import time

from fail2ban.client.csocket import CSocket

STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def reply(sock, args):
    c = CSocket(sock)
    try:
        return c.send(args)
    finally:
        c.close()


def main():
    sock = sys.argv[1]
    steps = json.load(sys.stdin)
    for st in steps:
        args = st["args"]
        r = reply(sock, args)
        until = st.get("until")
        if until is not None:
            deadline = time.time() + 10
            while repr(r) != until and time.time() < deadline:
                time.sleep(0.05)
                r = reply(sock, args)
        text = STAMP.sub("YYYY-mm-dd HH:MM:SS", repr(r))
        print("%-34s %r" % (st["name"], args))
        print("    -> %s" % text)
        sys.stdout.flush()
        if args == ["stop"]:
            break


if __name__ == "__main__":
    main()
