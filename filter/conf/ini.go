package conf

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// defaultSection is configparser's DEFAULT: seen from every section.
const defaultSection = "DEFAULT"

// config is what fail2ban's SafeConfigParserWithIncludes holds: the
// [DEFAULT] options and the sections, in the order they were first seen.
type config struct {
	defaults *omap
	names    []string
	sections map[string]*omap
}

func newConfig() *config {
	return &config{defaults: newOmap(), sections: map[string]*omap{}}
}

func (c *config) section(name string) *omap { return c.sections[name] }

// addSection appends an empty section and returns it.
func (c *config) addSection(name string) *omap {
	s := newOmap()
	c.names = append(c.names, name)
	c.sections[name] = s
	return s
}

// parseFile reads one file as Python's configparser does with fail2ban's
// settings: delimiters = and :, full-line comments # and ;, inline
// comments ; after whitespace, blank lines kept inside values, strict (no
// duplicate section or option in one file), option names lowercased.
func parseFile(path string, data []byte) (*config, error) {
	if !utf8.Valid(data) {
		return nil, &Error{File: path, Msg: "not UTF-8 text", Err: ErrSyntax}
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}

	type opt struct {
		lines []string
		line  int
	}
	type sect struct {
		keys []string
		opts map[string]*opt
	}
	newSect := func() *sect { return &sect{opts: map[string]*opt{}} }
	defaults := newSect()
	var names []string
	sects := map[string]*sect{}
	added := map[string]bool{} // section names and "section\x00option"

	var cur *sect
	sectname, optname := "", ""
	indentLevel := 0
	for i, line := range lines {
		lineno := i + 1
		commentStart := -1
		if t := strip(line); strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") {
			commentStart = 0
		} else {
			prevSpace := true
			for j, r := range line {
				if r == ';' && prevSpace {
					commentStart = j
					break
				}
				prevSpace = isSpace(r)
			}
		}
		raw := line
		if commentStart >= 0 {
			raw = line[:commentStart]
		}
		value := strip(raw)
		if value == "" {
			if commentStart < 0 && cur != nil && optname != "" {
				o := cur.opts[optname]
				o.lines = append(o.lines, "")
			}
			continue
		}
		indent := 0
		for _, r := range line {
			if !isSpace(r) {
				break
			}
			indent++
		}
		if cur != nil && optname != "" && indent > indentLevel {
			o := cur.opts[optname]
			o.lines = append(o.lines, value)
			continue
		}
		indentLevel = indent
		if k := strings.LastIndexByte(value, ']'); value[0] == '[' && k >= 2 {
			sectname = value[1:k]
			switch {
			case sects[sectname] != nil:
				return nil, &Error{File: path, Line: lineno, Section: sectname,
					Msg: "section appears twice in the file", Err: ErrSyntax}
			case sectname == defaultSection:
				cur = defaults
			default:
				cur = newSect()
				sects[sectname] = cur
				names = append(names, sectname)
				added[sectname] = true
			}
			optname = ""
			continue
		}
		if cur == nil {
			return nil, &Error{File: path, Line: lineno,
				Msg: "text before the first [section] header: " + quote(line), Err: ErrSyntax}
		}
		d := strings.IndexAny(value, "=:")
		if d < 0 {
			return nil, &Error{File: path, Line: lineno, Section: sectname,
				Msg: "not a section, an option (name = value) or a continuation line: " + quote(line), Err: ErrSyntax}
		}
		name := lower(rstrip(value[:d]))
		if name == "" {
			return nil, &Error{File: path, Line: lineno, Section: sectname,
				Msg: "option without a name: " + quote(line), Err: ErrSyntax}
		}
		if added[sectname+"\x00"+name] {
			return nil, &Error{File: path, Line: lineno, Section: sectname, Option: name,
				Msg: "option appears twice in the section", Err: ErrSyntax}
		}
		added[sectname+"\x00"+name] = true
		optname = name
		if _, ok := cur.opts[name]; !ok {
			cur.keys = append(cur.keys, name)
		}
		cur.opts[name] = &opt{lines: []string{strip(value[d+1:])}, line: lineno}
	}

	c := newConfig()
	fill := func(dst *omap, s *sect) {
		for _, k := range s.keys {
			o := s.opts[k]
			dst.set(k, entry{val: rstrip(strings.Join(o.lines, "\n")), file: path, line: o.line})
		}
	}
	fill(c.defaults, defaults)
	for _, n := range names {
		fill(c.addSection(n), sects[n])
	}
	return c, nil
}

// quote shows a line in an error, shortened.
func quote(s string) string {
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return strconv.Quote(s)
}
