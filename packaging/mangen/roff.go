package main

import (
	"fmt"
	"strings"
)

// page is one man page: its header and NAME line, and its sections in
// roff, built by the writers below.
type page struct {
	name, section, summary string
	date, source, manual   string
	b                      strings.Builder
	// item is set while writing the body of a .TP entry: paragraphs
	// then keep its indentation.
	item bool
	// fresh is set right after a .TP tag: its first paragraph needs no
	// request of its own.
	fresh bool
}

// parStart is the request that starts a paragraph where the page is.
func (p *page) parStart() string {
	if p.fresh {
		p.fresh = false
		return ""
	}
	if p.item {
		return ".IP\n"
	}
	return ".PP\n"
}

// header writes .TH, the settings that keep words whole (the help texts'
// words must come out as they went in), and NAME.
func (p *page) header() {
	fmt.Fprintf(&p.b, ".TH %s %s %q %q %q\n", strings.ToUpper(escape(p.name)), p.section, p.date, p.source, p.manual)
	p.b.WriteString(".nh\n.ad l\n")
	fmt.Fprintf(&p.b, ".SH NAME\n%s \\- %s\n", escape(p.name), escape(p.summary))
}

// sh starts a section.
func (p *page) sh(title string) { fmt.Fprintf(&p.b, ".SH %s\n", escape(title)) }

// ss starts a subsection.
func (p *page) ss(title string) { fmt.Fprintf(&p.b, ".SS %s\n", escape(title)) }

// para writes lines as one filled paragraph.
func (p *page) para(lines []string) {
	p.b.WriteString(p.parStart())
	for _, l := range lines {
		p.b.WriteString(escapeLine(strings.TrimSpace(l)) + "\n")
	}
}

// verbatim writes lines as they are, unfilled, indented below the text.
func (p *page) verbatim(lines []string) {
	p.b.WriteString(p.parStart() + ".nf\n")
	for _, l := range lines {
		p.b.WriteString(escapeLine(l) + "\n")
	}
	p.b.WriteString(".fi\n")
}

// synopsis writes the "Usage:" lines of a help text, the command in bold.
func (p *page) synopsis(lines []string) {
	p.sh("SYNOPSIS")
	p.b.WriteString(".nf\n")
	for _, l := range lines {
		l = strings.TrimSpace(strings.TrimPrefix(l, "Usage:"))
		cmd, rest, _ := strings.Cut(l, " ")
		fmt.Fprintf(&p.b, "\\fB%s\\fR %s\n", escape(cmd), escape(rest))
	}
	p.b.WriteString(".fi\n")
}

// seeAlso writes SEE ALSO: refs are "name(section)".
func (p *page) seeAlso(refs ...string) {
	p.sh("SEE ALSO")
	for i, r := range refs {
		name, sec, _ := strings.Cut(strings.TrimSuffix(r, ")"), "(")
		sep := ","
		if i == len(refs)-1 {
			sep = ""
		}
		fmt.Fprintf(&p.b, ".BR %s (%s)%s\n", escape(name), sec, sep)
	}
}

// help writes a --help text: the shape every banserver help text keeps.
// A first block of "Usage:" lines becomes SYNOPSIS when synopsis is set
// (else it is written as is); after it, lines without indentation are
// filled paragraphs, a single such line ending in ":" over indented lines
// is a subsection heading, and indented lines (option and command lists)
// are kept verbatim, less their common indentation.
func (p *page) help(text string, synopsis bool) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	i := 0
	if synopsis && len(lines) > 0 && strings.HasPrefix(lines[0], "Usage:") {
		for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
			i++
		}
		p.synopsis(lines[:i])
		p.sh("DESCRIPTION")
	}
	for i < len(lines) {
		switch {
		case strings.TrimSpace(lines[i]) == "":
			i++
		case indented(lines[i]):
			j := i
			for j < len(lines) && (indented(lines[j]) || strings.TrimSpace(lines[j]) == "" && j+1 < len(lines) && indented(lines[j+1])) {
				j++
			}
			p.verbatim(dedent(lines[i:j]))
			i = j
		default:
			j := i
			for j < len(lines) && strings.TrimSpace(lines[j]) != "" && !indented(lines[j]) {
				j++
			}
			run := lines[i:j]
			if len(run) == 1 && strings.HasSuffix(run[0], ":") && j < len(lines) && indented(lines[j]) {
				p.ss(run[0])
			} else {
				p.para(run)
			}
			i = j
		}
	}
}

// indented reports whether a help line belongs to a list.
func indented(l string) bool { return strings.HasPrefix(l, " ") && strings.TrimSpace(l) != "" }

// dedent removes the indentation lines share.
func dedent(lines []string) []string {
	n := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		k := len(l) - len(strings.TrimLeft(l, " "))
		if n < 0 || k < n {
			n = k
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= n {
			out[i] = l[n:]
		}
	}
	return out
}

// escape makes text safe inside a roff line: a backslash is \e, a hyphen
// is a minus (options and command names must copy and paste), and quotes,
// carets and tildes are the ASCII characters, not typographic ones.
func escape(s string) string {
	r := strings.NewReplacer(`\`, `\e`, "-", `\-`, "'", `\(aq`, "`", `\(ga`, "^", `\(ha`, "~", `\(ti`, `"`, `\(dq`)
	return r.Replace(s)
}

// escapeLine is escape for a whole line: a line starting with a dot or a
// quote would be a request.
func escapeLine(s string) string {
	e := escape(s)
	if strings.HasPrefix(e, ".") || strings.HasPrefix(s, "'") {
		e = `\&` + e
	}
	return e
}
