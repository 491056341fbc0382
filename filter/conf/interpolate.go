package conf

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// maxInterpolationDepth is configparser's MAX_INTERPOLATION_DEPTH: how
// deep %(name)s references may nest.
const maxInterpolationDepth = 10

// MaxValueSize bounds a value after %(name)s interpolation or <name>
// substitution: a few references repeated at each level would otherwise
// grow a value without bound.
const MaxValueSize = 1 << 20

// errNoSection and errNoOption are configparser's NoSectionError and
// NoOptionError: fail2ban reads on past them where it looks a value up in
// several places, so they never leave the package unwrapped.
var (
	errNoSection = errors.New("no such section")
	errNoOption  = errors.New("no such option")
)

// chain is the lookup configparser interpolates with (a ChainMap): the
// vars (the jail's options, and the names interpolation adds), the
// section, [DEFAULT].
type chain struct {
	vars     map[string]string
	section  *omap
	defaults *omap
}

func (m *chain) get(k string) (string, bool) {
	if v, ok := m.vars[k]; ok {
		return v, true
	}
	if e, ok := m.section.get(k); ok {
		return e.val, true
	}
	if e, ok := m.defaults.get(k); ok {
		return e.val, true
	}
	return "", false
}

// get is configparser's get(section, option, vars=vars): vars (whose keys
// are already lowercased), then the section, then [DEFAULT]; the value
// found is interpolated.
func (c *config) get(section, option string, vars map[string]string) (string, error) {
	sec, ok := c.sections[section]
	if !ok && section != defaultSection {
		return "", errNoSection
	}
	option = lower(option)
	m := &chain{vars: vars, section: sec, defaults: c.defaults}
	raw, ok := m.get(option)
	if !ok {
		return "", errNoOption
	}
	if !strings.Contains(raw, "%") {
		return raw, nil
	}
	// interpolation adds names to the vars layer: work on a copy
	m.vars = make(map[string]string, len(vars)+2)
	for k, v := range vars {
		m.vars[k] = v
	}
	var b strings.Builder
	if err := c.interpolate(section, option, raw, m, 1, &b); err != nil {
		return "", c.locate(err, section, option)
	}
	return b.String(), nil
}

// locate fills in where the value an interpolation error is about was
// written.
func (c *config) locate(err error, section, option string) error {
	var e *Error
	if errors.As(err, &e) && e.File == "" {
		if en, ok := c.sections[section].get(option); ok {
			e.File, e.Line = en.file, en.line
		} else if en, ok := c.defaults.get(option); ok {
			e.File, e.Line = en.file, en.line
		}
	}
	return err
}

// interpolate expands %(name)s and %% in rest into b, as fail2ban's
// BasicInterpolationWithName does: %(__name__)s is the section's name, and
// %(section/name)s, %(known/name)s, %(default/name)s are looked up first.
func (c *config) interpolate(section, option, rest string, m *chain, depth int, b *strings.Builder) error {
	m.vars["__name__"] = section
	c.mapSectionOptions(section, rest, m)
	if depth > maxInterpolationDepth {
		return &Error{Section: section, Option: option,
			Msg: "%(name)s references nest deeper than 10 (a loop?)", Err: ErrInterpolation}
	}
	for rest != "" {
		p := strings.IndexByte(rest, '%')
		if p < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:p])
		rest = rest[p:]
		switch {
		case strings.HasPrefix(rest, "%%"):
			b.WriteByte('%')
			rest = rest[2:]
		case strings.HasPrefix(rest, "%("):
			end := strings.IndexByte(rest[2:], ')')
			if end <= 0 || !strings.HasPrefix(rest[2+end+1:], "s") {
				return &Error{Section: section, Option: option,
					Msg: "bad interpolation reference " + quote(rest) + ": write %(name)s, or %% for a percent sign", Err: ErrSyntax}
			}
			name := lower(rest[2 : 2+end])
			rest = rest[2+end+2:]
			v, ok := m.get(name)
			if !ok {
				return &Error{Section: section, Option: option,
					Msg: "%(" + name + ")s names no option of [" + section + "] or [DEFAULT]", Err: ErrInterpolation}
			}
			if strings.Contains(v, "%") {
				if err := c.interpolate(section, option, v, m, depth+1, b); err != nil {
					return err
				}
			} else {
				b.WriteString(v)
			}
		default:
			return &Error{Section: section, Option: option,
				Msg: "'%' must be followed by '%' or '(': " + quote(rest), Err: ErrSyntax}
		}
		if b.Len() > MaxValueSize {
			return &Error{Section: section, Option: option,
				Msg: "value grows beyond MaxValueSize when interpolated", Err: ErrInterpolation}
		}
	}
	return nil
}

// mapSectionOptions adds to m the raw values that the %(section/name)s
// references in rest name, as fail2ban's _map_section_options does: known/
// is the value a later file replaced in this section (else [DEFAULT]'s),
// default/ is [DEFAULT]'s, any other prefix a section's own (else
// [DEFAULT]'s). A reference found nowhere is left for the lookup to report.
func (c *config) mapSectionOptions(section, rest string, m *chain) {
	if !strings.Contains(rest, "/") || !strings.Contains(rest, "%(") {
		return
	}
	for _, ref := range sectionRefs(rest) {
		sopt, sec, opt := ref[0], ref[1], ref[2]
		if _, ok := m.get(sopt); ok {
			continue
		}
		var (
			v      entry
			found  bool
			usedef bool
		)
		switch lower(sec) {
		case "default":
			usedef = true
		case "known":
			v, found = c.sections["KNOWN/"+section].get(opt)
			usedef = !found
		default:
			s, ok := c.sections[sec]
			if !ok {
				continue
			}
			v, found = s.get(opt)
			usedef = !found
		}
		if usedef {
			if v, found = c.defaults.get(opt); !found {
				continue
			}
		}
		m.vars[sopt] = v.val
	}
}

// sectionRefs finds the matches of fail2ban's SECTION_OPTSUBST_CRE,
// %\(([\w\-]+/([^\)]+))\)s, in s: for each, "section/name", section, name.
func sectionRefs(s string) [][3]string {
	var refs [][3]string
	for i := 0; ; {
		k := strings.Index(s[i:], "%(")
		if k < 0 {
			return refs
		}
		start := i + k + 2
		i = start - 1
		j := start
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if r != '-' && !isWord(r) {
				break
			}
			j += n
		}
		if j == start || j >= len(s) || s[j] != '/' {
			continue
		}
		end := strings.IndexByte(s[j+1:], ')')
		if end <= 0 || !strings.HasPrefix(s[j+1+end+1:], "s") {
			continue
		}
		refs = append(refs, [3]string{s[start : j+1+end], s[start:j], s[j+1 : j+1+end]})
		i = j + 1 + end + 2
	}
}

// getEx is fail2ban's get_ex: a name section/name reads that section
// (known/name: the replaced value of this section, else its current one;
// default/name: [DEFAULT]) before the plain lookup of the whole name.
func (c *config) getEx(section, option string, vars map[string]string) (string, error) {
	if sec, opt, ok := splitSectionOption(option); ok {
		var tries []string
		switch lower(sec) {
		case "known":
			tries = []string{"KNOWN/" + section, section}
		case "default":
			tries = []string{defaultSection}
		default:
			tries = []string{sec}
		}
		for _, s := range tries {
			v, err := c.get(s, opt, nil)
			if err == nil || (!errors.Is(err, errNoSection) && !errors.Is(err, errNoOption)) {
				return v, err
			}
		}
	}
	return c.get(section, option, vars)
}

// splitSectionOption matches fail2ban's SECTION_OPTNAME_CRE,
// ^([\w\-]+)/([^\s>]+)$ (where $ also matches before a final newline).
func splitSectionOption(s string) (sec, opt string, ok bool) {
	s = strings.TrimSuffix(s, "\n")
	slash := strings.IndexByte(s, '/')
	if slash <= 0 || slash == len(s)-1 {
		return "", "", false
	}
	for _, r := range s[:slash] {
		if r != '-' && !isWord(r) {
			return "", "", false
		}
	}
	for _, r := range s[slash+1:] {
		if r == '>' || isSpace(r) {
			return "", "", false
		}
	}
	return s[:slash], s[slash+1:], true
}
