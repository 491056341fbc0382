package main

import (
	"flag"
	"io"
	"strings"
)

// usage writes banserver's --help. It is also the text of banserver(8):
// packaging/mangen turns it into roff, so the two cannot drift. Keep it in
// the shape the generator reads: "Usage:" lines first, then paragraphs,
// and "Heading:" lines over blocks indented by two spaces.
func usage(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	b.WriteString(`Usage: banserver [--config FILE] [--socket PATH] [--db PATH|none]
       banserver --check-config [--config FILE]
       banserver --version

banserver is a ban daemon that speaks fail2ban's socket protocol. Clients
(banctl, fail2ban-client, the PHP library) report failed attempts over a
Unix socket; after maxretry failures within findtime an address is banned
for bantime, in the kernel (blackhole routes or nftables sets) when its
jail's actions say so. Jails may also read log files or the systemd
journal with fail2ban's filters. Who may say what on the socket is decided
per command by the configuration's access rules.

banserver runs in the foreground and logs to stderr. Without --config it
runs the embedded default configuration: one jail, api (maxretry 10,
findtime 30m, bantime 1h).

Options:
`)
	writeFlags(&b, fs)
	b.WriteString(`  -h, --help            this help

Signals:
  SIGTERM, SIGINT       stop cleanly; bans stay in the kernel and in the
                        store for the next start
  SIGHUP                reload the configuration file without dropping
                        live bans or failure counts; a file that fails to
                        load is refused, the reason logged, and the running
                        configuration stays

Under systemd socket activation (LISTEN_PID and LISTEN_FDS) banserver
serves the socket systemd passes and leaves its file, mode and owner to
systemd; otherwise it creates socket.path itself, with the configured mode,
owner and group, and refuses a socket directory others could write.

Files:
  /etc/banserver/banserver.yaml
                        the configuration the packaged service runs
                        (banserver.yaml(5) documents every key)
  /run/ban.sock         socket.path's default
  /var/lib/banserver/bans.db
                        the ban store (db's default); a daemon run by
                        another user than root keeps it under
                        $XDG_STATE_HOME/banserver instead

Environment:
  BANSERVER_*           override configuration keys outside lists: the
                        key's path in capitals, dots as underscores
                        (BANSERVER_SOCKET_PATH, BANSERVER_LOG_LEVEL)

Exit status: 0 after a clean stop, or when --check-config finds the
configuration valid; 1 when it is invalid or the daemon cannot start; 2 on
a bad command line.
`)
	io.WriteString(w, b.String())
}

// Columns of the option list: options from optIndent, descriptions from
// descCol, wrapped before width.
const (
	optIndent = 2
	descCol   = 24
	width     = 74
)

// writeFlags lists fs's flags, each with its placeholder (the back-quoted
// word of its usage) and its usage wrapped into the description column:
// the flag definitions are the one source of the option list.
func writeFlags(b *strings.Builder, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, text := flag.UnquoteUsage(f)
		if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); isBool {
			name = ""
		}
		opt := strings.Repeat(" ", optIndent) + "--" + f.Name
		if name != "" {
			opt += " " + strings.ToUpper(name)
		}
		b.WriteString(opt)
		col := len(opt)
		if col > descCol-2 {
			b.WriteString("\n")
			col = 0
		}
		for i, line := range wrap(text, width-descCol) {
			if i > 0 {
				col = 0
				b.WriteString("\n")
			}
			b.WriteString(strings.Repeat(" ", descCol-col))
			b.WriteString(line)
		}
		b.WriteString("\n")
	})
}

// wrap breaks text into lines of at most n columns, at spaces.
func wrap(text string, n int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) > n:
			lines = append(lines, line)
			line = w
		default:
			line += " " + w
		}
	}
	return append(lines, line)
}
