package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/importer"
	"github.com/banserver/banserver/store"
)

// importCommand is the one banctl command that does not talk to a server:
// it migrates a fail2ban database into banserver's ban store file.
const importCommand = "import-fail2ban"

// defaultStorePath is where the store lives when neither --db nor the
// config says.
const defaultStorePath = "/var/lib/banserver/bans.db"

// errImportUsage marks a bad import-fail2ban command line.
var errImportUsage = errors.New("banctl: import-fail2ban: bad usage")

// importArgs are import-fail2ban's own options.
type importArgs struct {
	db     string
	dryRun bool
	jails  []string
	file   string
	help   bool
}

// jailList is a repeatable --jail; each value may also list names
// separated by commas.
type jailList struct{ names *[]string }

func (j jailList) String() string {
	if j.names == nil {
		return ""
	}
	return strings.Join(*j.names, ",")
}

func (j jailList) Set(v string) error {
	for n := range strings.SplitSeq(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			*j.names = append(*j.names, n)
		}
	}
	return nil
}

// parseImportArgs reads "[--db PATH] [--dry-run] [--jail NAME]... FILE",
// options before or after FILE.
func parseImportArgs(args []string) (importArgs, error) {
	var a importArgs
	fs := flag.NewFlagSet(importCommand, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // banctl prints its own usage
	fs.StringVar(&a.db, "db", "", "")
	fs.BoolVar(&a.dryRun, "dry-run", false, "")
	fs.Var(jailList{&a.jails}, "jail", "")
	fs.BoolVar(&a.help, "h", false, "")
	fs.BoolVar(&a.help, "help", false, "")
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return a, fmt.Errorf("%w: %v", errImportUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		// The flag package stops at the first operand; go on after it
		// so that "import-fail2ban FILE --dry-run" works too.
		files = append(files, args[0])
		args = args[1:]
	}
	if a.help {
		return a, nil
	}
	switch len(files) {
	case 0:
		return a, fmt.Errorf("%w: no fail2ban database given", errImportUsage)
	case 1:
		a.file = files[0]
	default:
		return a, fmt.Errorf("%w: one fail2ban database at a time, got %q", errImportUsage, files)
	}
	return a, nil
}

func importUsage(w io.Writer) {
	io.WriteString(w, `Usage: banctl [-c CONFIG] [-o text|json] import-fail2ban [--db PATH] [--dry-run] [--jail NAME]... FILE

Copies the bans of fail2ban's SQLite database FILE (e.g.
/var/lib/fail2ban/fail2ban.sqlite3, opened read-only) into banserver's ban
store: bans still running as live bans, with their start, ban time, count
and last matches; ended bans as history, so bantime.increment knows repeat
offenders. Rows whose address is not an IP address are skipped and listed.
Running it again imports nothing twice.

banserver must be stopped: the import writes the store file, which the
daemon holds locked while it runs. The daemon restores the bans when it
starts, for the jails its config has.

Options:
    --db PATH      the ban store (default: db of the -c config, else `+defaultStorePath+`)
    --dry-run      read FILE and print what would be imported; write nothing
    --jail NAME    import only this jail; repeat or separate names with commas
`)
}

// importSummary is the outcome of an import, as printed and as -o json.
type importSummary struct {
	Source   string           `json:"source"`
	DB       string           `json:"db"`
	DryRun   bool             `json:"dry_run"`
	Rows     int              `json:"rows"`
	Jails    []jailSummary    `json:"jails"`
	Live     int              `json:"live"`
	History  int              `json:"history"`
	Present  int              `json:"already_present"`
	Skipped  []importer.Issue `json:"skipped"`
	Warnings []importer.Issue `json:"warnings"`
}

// jailSummary counts one jail's imported bans.
type jailSummary struct {
	Name    string `json:"name"`
	Live    int    `json:"live"`
	History int    `json:"history"`
}

// runImport runs import-fail2ban and returns banctl's exit code.
func runImport(opts options, args []string, stdout, stderr io.Writer) int {
	log := newLogger(stderr, opts.verbose)
	a, err := parseImportArgs(args)
	if err != nil {
		writeLine(stderr, err.Error())
		writeLine(stderr, "Try 'banctl import-fail2ban --help'.")
		return exitFail
	}
	if a.help {
		importUsage(stdout)
		return exitOK
	}
	sum, err := importFail2ban(context.Background(), opts, a, log)
	if err != nil {
		log.logf(levelError, "%v", err)
		return exitFail
	}
	if opts.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false) // as banctl's other JSON: log lines keep their <>&
		if err := enc.Encode(sum); err != nil {
			log.logf(levelError, "banctl: %v", err)
			return exitFail
		}
		return exitOK
	}
	io.WriteString(stdout, sum.text())
	return exitOK
}

// importFail2ban reads a.file and, unless a dry run, writes its bans into
// the store.
func importFail2ban(ctx context.Context, opts options, a importArgs, log *logger) (*importSummary, error) {
	var cfg *config.Config
	if opts.config != "" {
		c, err := config.Load(opts.config)
		if err != nil {
			return nil, fmt.Errorf("banctl: reading the store path from the config: %w", err)
		}
		cfg = c
	}
	dbPath := a.db
	switch {
	case dbPath != "":
	case cfg != nil && cfg.DB != "":
		dbPath = cfg.DB
	default:
		dbPath = defaultStorePath
	}
	if dbPath == "none" {
		// Refused in a dry run too: it previews the real thing.
		return nil, errors.New("banctl: the ban store is \"none\" (bans kept in memory only): there is nothing to import into; set db in the config or pass --db PATH")
	}

	res, err := importer.Read(ctx, a.file, importer.Options{Jails: a.jails})
	if err != nil {
		return nil, fmt.Errorf("banctl: %w", err)
	}
	for _, j := range a.jails {
		if !slices.Contains(res.Jails, j) {
			log.logf(levelWarning, "jail %q is not in %s: nothing imported for it", j, a.file)
		}
	}
	if cfg != nil {
		for _, j := range res.Jails {
			if !slices.ContainsFunc(cfg.Jails, func(c config.Jail) bool { return c.Name == j }) {
				log.logf(levelWarning, "jail %q is not in %s: its bans are stored, but banserver restores them only once a jail of that name is configured", j, opts.config)
			}
		}
	}
	for _, s := range res.Skipped {
		log.logf(levelWarning, "skipped %s: %s", describe(s), s.Reason)
	}
	for _, w := range res.Warnings {
		log.logf(levelWarning, "%s: %s", describe(w), w.Reason)
	}

	sum := &importSummary{Source: a.file, DB: dbPath, DryRun: a.dryRun, Rows: res.Rows,
		Skipped: res.Skipped, Warnings: res.Warnings}
	if sum.Skipped == nil {
		sum.Skipped = []importer.Issue{} // [] rather than null in JSON
	}
	if sum.Warnings == nil {
		sum.Warnings = []importer.Issue{}
	}
	perJail := map[string]*jailSummary{}
	for _, j := range res.Jails {
		sum.Jails = append(sum.Jails, jailSummary{Name: j})
	}
	for i := range sum.Jails {
		perJail[sum.Jails[i].Name] = &sum.Jails[i]
	}
	count := func(b importer.Ban) {
		if b.Live {
			sum.Live++
			perJail[b.Jail].Live++
		} else {
			sum.History++
			perJail[b.Jail].History++
		}
	}
	if a.dryRun {
		for _, b := range res.Bans {
			count(b)
		}
		return sum, nil
	}

	db, err := store.Open(dbPath, store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("banctl: the ban store %s is locked: banserver is running. The import writes the store file directly, so stop banserver first (systemctl stop banserver), import, then start it: it restores the imported bans when its jails start", dbPath)
	}
	if err != nil {
		return nil, fmt.Errorf("banctl: %w", err)
	}
	var last uint64
	var werr error
	for _, b := range res.Bans {
		// A second import must not count the same bans again (the store
		// adds one to a history on every ban): a key whose history
		// already has this ban, or a later one, is left as it is.
		h, err := db.History(b.Jail, b.Prefix)
		if err != nil {
			werr = fmt.Errorf("banctl: %w", err)
			break
		}
		if !h.LastStart.IsZero() && !h.LastStart.Before(b.Start) {
			sum.Present++
			continue
		}
		seq := db.Put(store.Change{Op: store.OpBan, Ban: store.Ban{
			Jail: b.Jail, Prefix: b.Prefix, Start: b.Start, BanTime: b.BanTime, Count: b.Count, Matches: b.Matches,
		}})
		if seq == 0 {
			werr = fmt.Errorf("banctl: the store refused the ban of %s in jail %q", b.Prefix, b.Jail)
			break
		}
		last = seq
		count(b)
	}
	if werr == nil && last != 0 {
		if err := db.WaitFor(ctx, last); err != nil {
			werr = fmt.Errorf("banctl: writing the store: %w", err)
		}
	}
	if err := db.Close(); err != nil && werr == nil {
		werr = fmt.Errorf("banctl: %w", err)
	}
	if werr != nil {
		return nil, werr
	}
	return sum, nil
}

// describe names a row of the fail2ban database for a person.
func describe(i importer.Issue) string {
	rows := "row"
	if i.Rows != 1 {
		rows = "rows"
	}
	if i.Jail == "" {
		return fmt.Sprintf("%d %s with no jail, ip %q", i.Rows, rows, i.IP)
	}
	return fmt.Sprintf("jail %q, ip %q (%d %s)", i.Jail, i.IP, i.Rows, rows)
}

// text renders the summary in fail2ban-client's tree style.
func (s *importSummary) text() string {
	var b strings.Builder
	verb := "Imported"
	if s.DryRun {
		verb = "Would import (dry run, nothing written)"
	}
	fmt.Fprintf(&b, "%s from %s into %s\n", verb, s.Source, s.DB)
	fmt.Fprintf(&b, "|- Rows read:\t%d\n", s.Rows)
	fmt.Fprintf(&b, "|- Jails:\t%d\n", len(s.Jails))
	for i, j := range s.Jails {
		branch := "|  |-"
		if i == len(s.Jails)-1 {
			branch = "|  `-"
		}
		fmt.Fprintf(&b, "%s %s:\t%d live, %d history\n", branch, j.Name, j.Live, j.History)
	}
	fmt.Fprintf(&b, "|- Live bans:\t%d\n", s.Live)
	fmt.Fprintf(&b, "|- History records:\t%d\n", s.History)
	if !s.DryRun {
		fmt.Fprintf(&b, "|- Already in the store:\t%d\n", s.Present)
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintf(&b, "|- Imported without matches:\t%d\n", len(s.Warnings))
	}
	fmt.Fprintf(&b, "`- Skipped:\t%d\n", len(s.Skipped))
	for i, sk := range s.Skipped {
		branch := "   |-"
		if i == len(s.Skipped)-1 {
			branch = "   `-"
		}
		fmt.Fprintf(&b, "%s %s: %s\n", branch, describe(sk), sk.Reason)
	}
	return b.String()
}
