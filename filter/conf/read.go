package conf

import (
	"errors"
	"slices"
	"strings"
)

// Options are how a filter is read.
type Options struct {
	// Dirs are the filter directories searched in order, such as
	// banserver's own and then /etc/fail2ban/filter.d (fail2ban's
	// basedir/filter.d). The first directory holding NAME.conf or
	// NAME.local provides the filter.
	Dirs []string
	// Vars are the options the jail passes to the filter (filter =
	// sshd[mode=aggressive], see ParseSpec): fail2ban's initOpts. They
	// replace the filter's [Init] values of the same name, and the
	// filter's [Definition] sees them as %(name)s and <name>.
	Vars map[string]string
	// Jail are the jail's own options (fail2ban's pOpts: the jail
	// section's options it knows, such as logpath or maxretry): the
	// filter sees them as %(name)s and <name>, and a filter option named
	// here (prefregex, failregex, ignoreregex, maxlines, datepattern,
	// journalmatch, usedns) is not taken from [Definition], since the jail
	// sets it itself.
	Jail map[string]string
	// LogType, when set, is the jail's log type as fail2ban derives it from
	// the backend ("journal" for systemd backends, else "file"): it becomes
	// Vars["logtype"] unless Vars has a non-empty logtype or the filter's
	// own [Definition] sets one (fail2ban's applyAutoOptions).
	LogType string
}

// filterOptions are the [Definition] options fail2ban's FilterReader
// reads for its server, in its order.
var filterOptions = []string{"usedns", "prefregex", "ignoreregex", "failregex", "maxlines", "datepattern", "journalmatch"}

// Read reads the filter called name with o, as fail2ban's jail reader
// does: name is a name searched in o.Dirs (NAME.conf, NAME.d/*.conf,
// NAME.local, NAME.d/*.local, and what they include), an absolute path
// without extension read the same way, or a path to one .conf or .local
// file (that file, its .local sibling and what they include). Errors are
// *Error values matching ErrNotFound, ErrSyntax or ErrInterpolation.
func Read(name string, o Options) (*Filter, error) {
	files, err := locate(name, o.Dirs)
	if err != nil {
		return nil, err
	}
	l := &loader{parsed: map[string]*config{}}
	list, err := l.includes(files, nil, nil)
	if err != nil {
		return nil, err
	}
	cfg, err := merge(l, list)
	if err != nil {
		return nil, err
	}
	r := &reader{cfg: cfg, jail: sortedOmap(o.Jail), initOpts: sortedOmap(o.Vars), defCache: map[string]cached{}}
	if o.LogType != "" {
		if e, ok := r.initOpts.get("logtype"); (!ok || e.val == "") && !cfg.sections["Definition"].has("logtype") {
			r.initOpts.set("logtype", entry{val: o.LogType})
		}
	}
	// First with every [Definition] option, as the jail reader merges them
	// into the jail, then what it sends to the server.
	if err := r.getOptions(true); err != nil {
		return nil, err
	}
	all, err := r.combined()
	if err != nil {
		return nil, err
	}
	if err := r.getOptions(false); err != nil {
		return nil, err
	}
	final, err := r.combined()
	if err != nil {
		return nil, err
	}
	f := &Filter{Name: name, Files: list, Values: map[string]string{}}
	for _, k := range all.keys {
		if e := all.m[k]; !e.none {
			f.Values[k] = e.val
		}
	}
	if err := f.fill(final); err != nil {
		return nil, err
	}
	return f, nil
}

// sortedOmap orders m by key, so Read does the same work in the same order
// every time.
func sortedOmap(m map[string]string) *omap {
	o := newOmap()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		o.set(k, entry{val: m[k]})
	}
	return o
}

// cached is one answer of getCombOption.
type cached struct {
	v  string
	ok bool
}

// reader is fail2ban's FilterReader (DefinitionInitConfigReader) state.
type reader struct {
	cfg *config
	// jail are the jail's options (pOpts), initOpts the filter's
	// parameters: Vars, then [Init] and known/[Init] values.
	jail, initOpts *omap
	// opts are the [Definition] values of the last getOptions.
	opts *omap
	// vars are the last getOptions' jail and initOpts, keys lowercased: the
	// vars of %(name)s interpolation.
	vars map[string]string
	// defCache holds getCombOption's answers; like fail2ban's it lasts
	// for the whole Read.
	defCache map[string]cached
}

// getOptions is DefinitionInitConfigReader.getOptions.
func (r *reader) getOptions(all bool) error {
	p := r.jail.clone()
	p.update(r.initOpts)
	r.vars = make(map[string]string, len(p.keys))
	for _, k := range p.keys {
		r.vars[lower(k)] = p.m[k].val
	}
	r.opts = newOmap()
	for _, name := range filterOptions {
		if p.has(name) {
			continue
		}
		v, err := r.cfg.get("Definition", name, r.vars)
		switch {
		case errors.Is(err, errNoSection):
			r.opts.set(name, entry{none: true})
		case errors.Is(err, errNoOption):
		case err != nil:
			return err
		default:
			r.opts.set(name, r.origin("Definition", name, v, r.vars))
		}
	}
	if init := r.cfg.sections["Init"]; init != nil {
		for _, opt := range slices.Clone(init.keys) {
			if opt == "__name__" { // fail2ban skips it, a relic of Python 2's configparser
				continue
			}
			var (
				v    string
				have bool
			)
			get := func() error {
				if !have {
					var err error
					v, err = r.get("Init", opt)
					have = err == nil
					return err
				}
				return nil
			}
			if !strings.HasPrefix(opt, "known/") {
				if err := get(); err != nil {
					return err
				}
				r.initOpts.set("known/"+opt, r.origin("Init", opt, v, nil))
			}
			if !r.initOpts.has(opt) {
				if err := get(); err != nil {
					return err
				}
				r.initOpts.set(opt, r.origin("Init", opt, v, nil))
			}
		}
	}
	if def := r.cfg.sections["Definition"]; all && def != nil {
		for _, opt := range def.keys {
			if opt == "__name__" || r.opts.has(opt) {
				continue
			}
			v, err := r.get("Definition", opt)
			if err != nil {
				return err
			}
			r.opts.set(opt, r.origin("Definition", opt, v, nil))
		}
	}
	return nil
}

// get reads an option the section lists, without vars. Only a name
// that lowercasing changes can be missing: a conditional section's suffix
// keeps its case ([Init?family=X] gives x?family=X), but names are looked
// up lowercased; fail2ban fails there too (NoOptionError).
func (r *reader) get(section, opt string) (string, error) {
	v, err := r.cfg.get(section, opt, nil)
	if errors.Is(err, errNoOption) || errors.Is(err, errNoSection) {
		e := r.origin(section, opt, "", nil)
		return "", &Error{File: e.file, Line: e.line, Section: section, Option: opt,
			Msg: "cannot be read back: names are looked up lowercased, and this one (from a conditional section's suffix) is not", Err: ErrSyntax}
	}
	return v, err
}

// origin is v with where the option was written: the section, [DEFAULT],
// or no file when the jail's vars provided it.
func (r *reader) origin(section, opt string, v string, vars map[string]string) entry {
	e := entry{val: v}
	if _, ok := vars[opt]; ok {
		return e
	}
	if w, ok := r.cfg.sections[section].get(opt); ok {
		e.file, e.line, e.sect = w.file, w.line, section
	} else if w, ok := r.cfg.defaults.get(opt); ok {
		e.file, e.line, e.sect = w.file, w.line, defaultSection
	}
	return e
}

// combined is DefinitionInitConfigReader.getCombined without the type
// conversion: the [Definition] values and initOpts, <tags> replaced.
func (r *reader) combined() (*omap, error) {
	comb := r.opts.clone()
	comb.update(r.initOpts)
	ignore := map[string]bool{}
	for _, k := range comb.keys {
		if base, _, ok := conditional(k); ok {
			ignore[base] = true
		}
	}
	return substituteTags(comb, ignore, r.getCombOption)
}

// getCombOption is fail2ban's: a tag not among the combined options is
// looked up in [Definition] (and [DEFAULT], the vars, section/name).
func (r *reader) getCombOption(name string) (string, bool, error) {
	if c, ok := r.defCache[name]; ok {
		return c.v, c.ok, nil
	}
	v, err := r.cfg.getEx("Definition", name, r.vars)
	switch {
	case errors.Is(err, errNoSection), errors.Is(err, errNoOption):
		r.defCache[name] = cached{}
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	r.defCache[name] = cached{v: v, ok: true}
	return v, true, nil
}
