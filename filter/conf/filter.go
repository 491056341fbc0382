package conf

import "strings"

// Filter is a filter file read and resolved: the values fail2ban's
// FilterReader.convert sends its server for a jail.
type Filter struct {
	// Name is the name Read was given.
	Name string
	// Files are the files read, in the order read (later ones win).
	Files []string
	// PrefRegex is prefregex, "" when unset. fail2ban treats "" as unset.
	PrefRegex string
	// FailRegex are failregex's lines, one regex each, empty lines dropped.
	FailRegex []string
	// IgnoreRegex are ignoreregex's lines, likewise.
	IgnoreRegex []string
	// DatePattern is datepattern, "" when unset (fail2ban's default date
	// detection, which "" also selects). It may hold several patterns,
	// one a line.
	DatePattern string
	// MaxLines is maxlines (the lines a multi-line failregex spans), 0
	// when unset.
	MaxLines int
	// JournalMatch is journalmatch, "" when unset.
	JournalMatch string
	// JournalMatches are journalmatch's lines split into words as
	// fail2ban splits them (shlex): one journalctl match set per line,
	// such as [_SYSTEMD_UNIT=sshd.service + _COMM=sshd].
	JournalMatches [][]string
	// UseDNS is usedns when the filter sets it ("" when unset); it is
	// normally a jail option.
	UseDNS string
	// Values are what fail2ban's jail reader merges into the jail as
	// known/NAME: every option of [Definition] (its own, not [DEFAULT]'s),
	// the filter options above wherever they come from, every option of
	// [Init] with known/NAME for each (its value before Vars replaced it),
	// and every Vars entry; all after interpolation and <tag>
	// substitution.
	Values map[string]string
}

// fill sets f's fields from the combined options, as FilterReader's
// _fillStream reads them.
func (f *Filter) fill(opts *omap) error {
	for _, k := range opts.keys {
		e := opts.m[k]
		if e.none {
			continue
		}
		switch k {
		case "failregex":
			f.FailRegex = splitLines(e.val)
		case "ignoreregex":
			f.IgnoreRegex = splitLines(e.val)
		case "prefregex":
			f.PrefRegex = e.val
		case "datepattern":
			f.DatePattern = e.val
		case "usedns":
			f.UseDNS = e.val
		case "maxlines":
			n, ok := pyInt(e.val)
			if !ok || n <= 0 {
				return &Error{File: e.file, Line: e.line, Section: e.sect, Option: k,
					Msg: quote(e.val) + " is not a positive integer", Err: ErrSyntax}
			}
			f.MaxLines = n
		case "journalmatch":
			f.JournalMatch = e.val
			for _, line := range splitLines(e.val) {
				words, err := shlexSplit(line)
				if err != nil {
					return &Error{File: e.file, Line: e.line, Section: e.sect, Option: k,
						Msg: quote(line) + ": " + err.Error(), Err: ErrSyntax}
				}
				f.JournalMatches = append(f.JournalMatches, words)
			}
		}
	}
	return nil
}

// splitLines splits a multi-line value into its non-empty lines, as
// fail2ban splits failregex, ignoreregex and journalmatch.
func splitLines(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
