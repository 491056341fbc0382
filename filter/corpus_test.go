package filter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/banserver/banserver/filter/pyre"
)

// This file reads fail2ban's sample corpus (tests/files/logs) as its
// tests/samplestestcase.py does; samples_test.go runs it.

// object is a JSON object with its keys in order, as Python's json.loads
// keeps them (a filter's test name is str() of such a dict).
type object struct {
	keys []string
	vals map[string]any
}

func (o *object) get(k string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.vals[k]
	return v, ok
}

// str is o.get(k) for a string value, "" otherwise.
func (o *object) str(k string) string {
	v, _ := o.get(k)
	s, _ := v.(string)
	return s
}

// set sets k, keeping the place of an existing key (Python's dict).
func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// merged is a copy of o updated with p (opts = commonOpts.copy();
// opts.update(faildata)).
func (o *object) merged(p *object) *object {
	out := &object{vals: map[string]any{}}
	for _, src := range []*object{o, p} {
		if src == nil {
			continue
		}
		for _, k := range src.keys {
			out.set(k, src.vals[k])
		}
	}
	return out
}

// pyStr is Python's str() of a dict of strings: {'mode': 'aggressive'}.
func (o *object) pyStr() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "'%s': '%v'", k, o.vals[k])
	}
	b.WriteByte('}')
	return b.String()
}

// parseJSON decodes a JSON value, objects as *object.
func parseJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	v, err := decodeValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err == nil {
		return nil, fmt.Errorf("trailing data in %q", s)
	}
	return v, nil
}

func decodeValue(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &object{vals: map[string]any{}}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			o.set(kt.(string), v)
		}
		_, err := d.Token()
		return o, err
	case json.Delim('['):
		var l []any
		for d.More() {
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		_, err := d.Token()
		return l, err
	}
	return tok, nil
}

// sampleLine is one line of a sample file: its number (from 1) and text,
// without the line end.
type sampleLine struct {
	num  int
	text string
}

// readSampleLines reads a sample file as fail2ban's FileContainer does:
// lines split at \n, decoded as UTF-8 (invalid bytes replaced), \r and \n
// trimmed at the end.
func readSampleLines(path string) ([]sampleLine, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []sampleLine
	for i, l := range bytes.SplitAfter(b, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		out = append(out, sampleLine{num: i + 1, text: strings.TrimRight(pyre.Decode(l), "\r\n")})
	}
	return out, nil
}

// annotationRE finds the corpus's annotations, as samplestestcase.py does.
var annotationRE = regexp.MustCompile(`^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$`)

// condRE are the Python expressions the corpus uses in test.condition and
// constraint: name == 'x', opts.get('k') == 'v', and != of both.
var condRE = regexp.MustCompile(`^\s*(name|opts\.get\('([^']*)'\))\s*(==|!=)\s*'([^']*)'\s*$`)

// evalCondition evaluates such an expression for the filter called name
// under option set opts.
func evalCondition(expr, name string, opts *object) (bool, error) {
	m := condRE.FindStringSubmatch(expr)
	if m == nil {
		return false, fmt.Errorf("condition %q: not an expression this test knows", expr)
	}
	var left any = name
	if m[1] != "name" {
		v, ok := opts.get(m[2])
		if !ok {
			v = nil
		}
		left = v
	}
	eq := left == any(m[4])
	if m[3] == "!=" {
		return !eq, nil
	}
	return eq, nil
}
