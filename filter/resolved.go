package filter

import "github.com/banserver/banserver/filter/conf"

// Resolved are a filter's values after its file and the jail's own values
// are combined, before anything is compiled: the regexes as written, with
// fail2ban's tags (<HOST>, <F-USER>...) still in them, as fail2ban-regex
// lists them in its report.
type Resolved struct {
	Name        string // the filter's name, "inline filter" without one
	PrefRegex   string
	FailRegex   []string
	IgnoreRegex []string
	DatePattern string // "" for the default templates
	MaxLines    int
	UseDNS      string
	// FileMaxLines and FileDatePattern are the filter file's own maxlines
	// and datepattern (0 and "" when it sets none, or has no file).
	FileMaxLines    int
	FileDatePattern string
	// Values are the filter file's options after interpolation
	// (conf.Filter.Values); nil without a file.
	Values map[string]string
}

// Source reads the filter file (when Name names one) and applies the
// settings' own values, as New does; its errors are New's.
func (s Settings) Source() (*Resolved, error) {
	r, err := s.resolve()
	if err != nil {
		return nil, err
	}
	out := &Resolved{
		Name:        r.name,
		PrefRegex:   r.prefRegex,
		FailRegex:   append([]string(nil), r.failRegex...),
		IgnoreRegex: append([]string(nil), r.ignoreRegex...),
		DatePattern: r.datePattern,
		MaxLines:    r.maxLines,
		UseDNS:      r.useDNS,
	}
	if s.Name == "" {
		return out, nil
	}
	// The file's own maxlines and values: resolve cannot tell a file's
	// "maxlines = 1" from none, so read the file once more, with the
	// options New passes but none of the jail's own values.
	name, opts, _ := conf.ParseSpec(s.Name)
	for k, v := range s.Vars {
		opts[k] = v
	}
	o := conf.Options{Dirs: s.Dirs, Vars: opts, LogType: "file"}
	if s.Journal {
		o.LogType = "journal"
	}
	c, err := conf.Read(name, o)
	if err != nil {
		return nil, settingsError(r.name, "%v", err)
	}
	out.Values = c.Values
	if s.MaxLines == 0 {
		out.FileMaxLines = c.MaxLines
	}
	if s.DatePattern == "" {
		out.FileDatePattern = c.DatePattern
	}
	return out, nil
}
