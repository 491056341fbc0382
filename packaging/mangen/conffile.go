package main

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// conffile writes the body of banserver.yaml(5) from the commented
// conffile src: the file's opening comment is the DESCRIPTION, and every
// key is listed under KEYS with its value in the file and the comment
// above it. The conffile is the one source: its comments are the manual.
func (p *page) conffile(src []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return fmt.Errorf("mangen: conffile: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("mangen: conffile: not a mapping")
	}
	lines := strings.Split(string(src), "\n")
	p.sh("DESCRIPTION")
	p.comment(doc.HeadComment)
	top := doc.Content[0]
	p.comment(top.HeadComment)
	p.sh("KEYS")
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		p.ss(k.Value)
		p.comment(k.HeadComment)
		switch {
		case v.Kind == yaml.MappingNode:
			p.keys(k.Value, v, lines)
		case v.Kind == yaml.SequenceNode && len(v.Content) > 0 && v.Content[0].Kind == yaml.MappingNode:
			// The first item shows every key; its head comment is its
			// first key's.
			item := v.Content[0]
			if len(item.Content) > 0 && item.Content[0].HeadComment == "" {
				item.Content[0].HeadComment = item.HeadComment
			}
			p.keys(k.Value+"[]", item, lines)
		default:
			p.verbatim([]string{sourceValue(lines, k)})
		}
		p.comment(k.FootComment)
		p.comment(v.FootComment)
	}
	p.comment(doc.FootComment)
	return nil
}

// keys writes one .TP entry per key of the mapping m, under path.
func (p *page) keys(path string, m *yaml.Node, lines []string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		_, value, _ := strings.Cut(sourceValue(lines, k), ":")
		fmt.Fprintf(&p.b, ".TP\n\\fB%s:\\fR %s\n", escape(path+"."+k.Value), escape(strings.TrimSpace(value)))
		p.item, p.fresh = true, true
		if k.HeadComment == "" && k.FootComment == "" {
			p.b.WriteString("\\&\n") // a .TP entry needs a body line
		}
		p.comment(k.HeadComment)
		p.comment(k.FootComment)
		p.item, p.fresh = false, false
	}
}

// sourceValue is key k's line as written in the file ("path: /run/..."),
// so that quotes and flow lists show as the operator sees them.
func sourceValue(lines []string, k *yaml.Node) string {
	if k.Line < 1 || k.Line > len(lines) {
		return k.Value + ":"
	}
	l := strings.TrimSpace(lines[k.Line-1])
	return strings.TrimSpace(strings.TrimPrefix(l, "- "))
}

// comment writes a YAML comment block: paragraphs of prose, filled, and
// commented-out YAML (lines that start with "- " or spaces once the "# "
// is gone) verbatim.
func (p *page) comment(c string) {
	if c == "" {
		return
	}
	var prose, code []string
	flush := func() {
		if len(prose) > 0 {
			p.para(prose)
			prose = nil
		}
		if len(code) > 0 {
			p.verbatim(code)
			code = nil
		}
	}
	for _, l := range strings.Split(c, "\n") {
		l = strings.TrimPrefix(strings.TrimSpace(l), "#")
		l = strings.TrimPrefix(l, " ")
		switch {
		case strings.TrimSpace(l) == "":
			flush()
		case strings.HasPrefix(l, "- ") || strings.HasPrefix(l, " "):
			if len(prose) > 0 {
				p.para(prose)
				prose = nil
			}
			code = append(code, l)
		default:
			if len(code) > 0 {
				p.verbatim(code)
				code = nil
			}
			prose = append(prose, l)
		}
	}
	flush()
}
