package main

import "io"

// usage prints banctl's help: its options, the commands banserver answers
// (the server's own list is `banctl help`), and the JSON shapes.
func usage(w io.Writer) {
	io.WriteString(w, `Usage: banctl [OPTIONS] COMMAND [ARGS...]

banctl controls a running banserver over its Unix socket. It speaks
fail2ban-client's commands and prints results as fail2ban-client does, so
it drives fail2ban-server too, and scripts written for fail2ban-client keep
working.

Options:
  -s, --socket PATH       the server's socket
                          (default: from --config, else `+defaultSocket+`)
  -c, --config FILE       banserver's YAML config, to read the socket from
  -o, --output text|json  text as fail2ban-client (default), or JSON
      --timeout SECONDS   give up on a silent server (default 30; 0: never)
  -v, -q                  more or less detail on stderr
                          (-v: fail2ban-client's log lines too)
  -h, --help              this help
  -V, --version           banctl's version (-V: the bare version string)

Server:
  ping [SECONDS]                 is the server alive? (waits SECONDS)
  version | server-status        its version; its state
  help                           the commands the server knows, one a line
  reload [JAIL]                  reread the config: every jail, or one
  stop                           stop the server
  get|set loglevel [LEVEL]       CRITICAL ERROR WARNING NOTICE INFO DEBUG
  get|set dbfile|dbpurgeage|dbmaxmatches [VALUE]

Jails:
  status [JAIL [basic|short]]    the jails, or a jail's failures and bans
  add JAIL | start JAIL          create a jail; start it
  stop JAIL | stop --all         stop a jail; every jail
  get|set JAIL maxretry|findtime|bantime [VALUE]   (bantime -1: forever)
  get|set JAIL ignoreself|idle|ipv6prefix [VALUE]
  get JAIL ignoreip | set JAIL addignoreip|delignoreip IP|CIDR
  get JAIL actions | set JAIL addaction|delaction NAME
  get|set JAIL bantime.X [VALUE] X: increment factor formula multipliers
                                    maxtime rndtime overalljails

Bans:
  set JAIL attempt IP [MSG...]   report a failure of IP
  set JAIL banip IP...           ban now
  set JAIL unbanip [--report-absent] IP...
  unban IP... | unban --all      lift bans in every jail
  banned [IP...]                 bans by jail, or the jails banning each IP
  get JAIL banned [IP...]        the jail's bans, or 1/0 for each IP
  get JAIL banip [SEP]           the jail's bans, joined by SEP
  get JAIL banip --with-time     one a line, with start, bantime and end

Local:
  import-fail2ban [--db PATH] [--dry-run] [--jail NAME...] FILE
                                 copy a fail2ban database's bans into
                                 banserver's store (banserver stopped;
                                 see import-fail2ban --help)
  regex [OPTIONS] LOG REGEX|FILTER [IGNOREREGEX]
                                 fail2ban-regex on banserver's engine:
                                 test a filter on a log (no server;
                                 see regex --help)

Not here: fail2ban-client's "start" (of the server) and "restart" (use
systemctl start|restart banserver) and its interactive mode (-i).

JSON (-o json): one value on stdout, shaped by the command
(reference: cmd/banctl/JSON.md in banserver's source):
  status                  {"jails": [...], "count": N}
  status JAIL [FLAVOR]    {"filter": {"currently_failed": N,
                             "total_failed": N, "file_list": [...]},
                           "actions": {"currently_banned": N,
                             "total_banned": N, "banned": [...],
                             and any further line, in snake_case}}
  banned                  {"JAIL": ["IP", ...], ...}
  banned IP...            {"IP": ["JAIL", ...], ...}
  get JAIL banip --with-time
                          [{"address", "start", "start_unix", "bantime",
                            "end", "end_unix"}, ...]: RFC 3339 and Unix
                           seconds; a ban without end has bantime -1,
                           end and end_unix null
  anything else           the reply as is: lists as arrays, None as null
  an error                {"error": {"type": "UnknownJailException",
                             "message": "...", "args": [...]}}

Errors: one line on stderr, "banctl: ..." (with -o json: the error object on
stdout). Exit status: 0 on success; 255 when the server refused the command
or could not be reached, as fail2ban-client.
`)
}
