package main

import "io"

// regexUsage prints banctl regex's help.
func regexUsage(w io.Writer) {
	io.WriteString(w, `Usage: banctl regex [OPTIONS] LOG REGEX|FILTER [IGNOREREGEX]

Runs a filter over a log on banserver's own engine, as fail2ban-regex
does, and prints fail2ban-regex's report: the same lines, counts and
"Missed line(s)" lists for the same inputs (only the time in
"[processed in N sec]" is banserver's own).

LOG:
  a path to a log file    read line by line (a last line without its
                          line end is not read, as fail2ban-regex)
  any other text          the log itself: one line, or lines separated
                          by new lines ("-" too: as fail2ban-regex, no
                          standard input)

REGEX|FILTER:
  a filter name           looked up in CONFIG/filter.d (with -c), else in
                          /etc/banserver/filter.d when it exists, then
                          /etc/fail2ban/filter.d; options in brackets:
                          sshd[mode=aggressive], sshd[datepattern={NONE}]
  a path to a filter      filter.d/sshd.conf, /path/to/my.conf
  anything else           one failregex

IGNOREREGEX:
  an ignoreregex, added to the filter's own

Options (fail2ban-regex's; long names may be abbreviated):
  -c, --config DIR          fail2ban's configuration directory
                            (default /etc/fail2ban)
  -d, --datepattern PATTERN the date pattern, instead of the filter's
  -L, --maxlines N          lines a multi-line failregex spans
      --usedns yes|warn|no|raw
                            host names in <HOST>: resolved (yes, warn,
                            the default), refused (no) or kept (raw)
  -r, --raw                 keep failure ids as matched, never resolved
      --timezone, --TZ ZONE the zone of dates without one (UTC, +0200)
  -e, --encoding ENC        UTF-8 (default) or Latin-1
  -v, --verbose             more detail: every regex, each failure found,
                            prefregex groups, every date template
      --verbosity N         set the verbosity (-vv adds the filter's
                            real options)
      --no-check-all        stop at the first failregex that matches
  -o, --out json|TOKEN      no report: json prints one object per line
                            of LOG (below); TOKEN prints, for each
                            failure, id (or fid), ip, msg (its lines) or
                            the value of a field (user, ...)
      --print-all-matched   list the matched lines
      --print-all-missed    list every missed line, not only up to 20
      --print-all-ignored   list every ignored line
      --print-no-missed     do not list missed lines
      --print-no-ignored    do not list ignored lines
  -l, --log-level CRITICAL  accepted (banctl regex logs nothing)
  -t, --log-traceback, --full-traceback
                            accepted, no effect
  -V, --version             the version
  -h, --help                this help

banctl's own:
      --now UNIX_SECONDS    the reference clock: the year of dates without
                            one, the last date's minute of grace, the time
                            of lines with datepattern={NONE}
                            (default: the real clock)

Not supported (refused with a message): -m/--journalmatch and
systemd-journal LOGs (export the journal to a file), --verbose-date,
-D/--debuggex, -o row, -o matches, -o with <tags>, -l below CRITICAL.

-o json, one object per line of LOG (reference: cmd/banctl/JSON.md):
  {"line": N, "match": true|false, "count": FAILURES,
   "host": ID|null, "address": ADDRESS|PREFIX|null, "time": UNIX|null,
   "fields": {...}}
  failures as banserver's daemon finds them (the first failregex that
  matches); a multi-line failure is reported on the line that completes
  it; "error" is added when a line could not be processed.

Exit status: 0, or 255 when the filter or LOG cannot be read.
`)
}
