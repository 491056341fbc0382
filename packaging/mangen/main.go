// Command mangen writes banserver's man pages from the texts they share
// with the programs: banserver(8) from `banserver --help`, banctl(8) from
// `banctl --help` and its subcommands' --help, and banserver.yaml(5) from
// the commented conffile. Nothing is written twice, so a man page cannot
// say something the --help text or the conffile does not.
//
//	go run ./packaging/mangen -bin bin -conf packaging/banserver.yaml -o build/man
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/banserver/banserver/version"
)

func main() {
	bin := flag.String("bin", "bin", "`directory` holding the built banserver and banctl")
	conf := flag.String("conf", "packaging/banserver.yaml", "the commented conffile")
	out := flag.String("o", "build/man", "output `directory`")
	date := flag.String("date", "", "the pages' date, YYYY-MM-DD (default: $SOURCE_DATE_EPOCH, else today)")
	flag.Parse()
	if err := run(*bin, *conf, *out, pageDate(*date)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// pageDate is the date the pages carry: fixed by the build for
// reproducible packages.
func pageDate(flagDate string) string {
	if flagDate != "" {
		return flagDate
	}
	t := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err == nil {
			t = time.Unix(sec, 0)
		}
	}
	return t.UTC().Format("2006-01-02")
}

// run writes the three pages into out.
func run(bin, conf, out, date string) error {
	pages, err := generate(bin, conf, date)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("mangen: %w", err)
	}
	for name, text := range pages {
		if err := os.WriteFile(filepath.Join(out, name), text, 0o644); err != nil {
			return fmt.Errorf("mangen: %w", err)
		}
	}
	return nil
}

// generate returns the pages by file name (banserver.8, banctl.8,
// banserver.yaml.5), from the programs in bin and the conffile conf.
func generate(bin, conf, date string) (map[string][]byte, error) {
	helpOf := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("mangen: %v: %w: %s", args, err, stderr.String())
		}
		return stdout.String(), nil
	}
	src := "banserver " + version.Version
	pages := map[string][]byte{}

	server, err := helpOf("banserver", "--help")
	if err != nil {
		return nil, err
	}
	p := &page{name: "banserver", section: "8", summary: "ban daemon speaking fail2ban's socket protocol",
		date: date, source: src, manual: "System Administration"}
	p.header()
	p.help(server, true)
	p.seeAlso("banctl(8)", "banserver.yaml(5)", "fail2ban-client(1)", "systemd.socket(5)")
	pages["banserver.8"] = []byte(p.b.String())

	ctl, err := helpOf("banctl", "--help")
	if err != nil {
		return nil, err
	}
	p = &page{name: "banctl", section: "8", summary: "control a running banserver over its socket",
		date: date, source: src, manual: "System Administration"}
	p.header()
	p.help(ctl, true)
	for _, sub := range []string{"regex", "import-fail2ban"} {
		text, err := helpOf("banctl", sub, "--help")
		if err != nil {
			return nil, err
		}
		p.sh("BANCTL " + sub)
		p.help(text, false)
	}
	p.seeAlso("banserver(8)", "banserver.yaml(5)", "fail2ban-client(1)", "fail2ban-regex(1)")
	pages["banctl.8"] = []byte(p.b.String())

	yml, err := os.ReadFile(conf)
	if err != nil {
		return nil, fmt.Errorf("mangen: %w", err)
	}
	p = &page{name: "banserver.yaml", section: "5", summary: "banserver's configuration file",
		date: date, source: src, manual: "File Formats"}
	p.header()
	if err := p.conffile(yml); err != nil {
		return nil, err
	}
	p.sh("FILES")
	p.b.WriteString(".TP\n/etc/banserver/banserver.yaml\nthe packaged service's configuration, a conffile: upgrades keep your changes\n")
	p.seeAlso("banserver(8)", "banctl(8)")
	pages["banserver.yaml.5"] = []byte(p.b.String())
	return pages, nil
}
