package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The file is walked as YAML nodes against the Config struct's mapstructure
// tags, by reflection, before viper sees it: a key no field has is an
// unknown key, a value of the wrong kind is refused, and each key's line and
// spelling are kept for the messages. A field added to Config is checked
// without more code. Refused values are replaced by nulls, so viper still
// decodes the rest and every other problem is found in the same load.

// fileKeys is what the walk learned of the file.
type fileKeys struct {
	// at holds every key and list item present in the file, by canonical
	// path (keys lowercased, as viper and the tags spell them).
	at map[string]keyAt
	// bad holds the canonical paths of values the walk refused: problems
	// with them, or with what they hold, were reported already.
	bad map[string]bool
}

// keyAt is one key or list item of the file.
type keyAt struct {
	written string // the path as written: Jails[0].MaxRetry
	line    int
	tag     string // the value's YAML tag: !!int, !!str, ...
	text    string // a scalar value's text as written
}

func newFileKeys() *fileKeys {
	return &fileKeys{at: map[string]keyAt{}, bad: map[string]bool{}}
}

// present reports whether the file has the key at the canonical path.
func (k *fileKeys) present(path string) bool {
	_, ok := k.at[path]
	return ok
}

// refused reports whether the walk refused the value at path or one that
// holds it.
func (k *fileKeys) refused(path string) bool {
	for b := range k.bad {
		if path == b || b == "" || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return true
		}
	}
	return false
}

// nearest returns the longest prefix of path (a whole key or list item)
// that the file has, and the rest of path after it.
func (k *fileKeys) nearest(path string) (keyAt, string, bool) {
	for p := path; p != ""; {
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return keyAt{}, "", false
		}
		p = p[:i]
		if at, ok := k.at[p]; ok {
			return at, path[len(p):], true
		}
	}
	return keyAt{}, "", false
}

var durationType = reflect.TypeFor[time.Duration]()

// walker walks one file.
type walker struct {
	p       *problems
	changed bool // a value was replaced or a pair dropped: viper reads the nodes re-encoded
}

// walkFile checks src and returns the text viper should read: src itself,
// or src re-encoded without what the walk refused. It returns false when
// src is not YAML at all.
func (p *problems) walkFile(src []byte) ([]byte, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		p.syntax(err)
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.errs = append(p.errs, &Error{File: p.file, Line: next.Line, Err: ErrInvalid,
			Msg: "a second YAML document: the configuration is one YAML document; remove the --- line and what follows, or merge it into the first"})
	case !errors.Is(err, io.EOF):
		p.syntax(err)
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return src, true // empty: no keys
	}
	w := &walker{p: p}
	if !w.walk(doc.Content[0], reflect.TypeFor[Config](), "", "") {
		doc.Content[0] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	if !w.changed {
		return src, true
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		p.errs = append(p.errs, &Error{File: p.file, Err: ErrInvalid, Msg: err.Error()})
		return nil, false
	}
	return out, true
}

// yamlLine finds the line yaml.v3 names in its errors.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// syntax records a YAML syntax error.
func (p *problems) syntax(err error) {
	e := &Error{File: p.file, Err: ErrInvalid, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = err.Error()[len(m[0]):]
	}
	e.Msg = "not valid YAML: " + e.Msg
	p.errs = append(p.errs, e)
}

// report records a problem the walk found at a node.
func (w *walker) report(written string, line int, kind error, format string, args ...any) {
	w.p.errs = append(w.p.errs, &Error{File: w.p.file, Line: line, Path: written, Msg: fmt.Sprintf(format, args...), Err: kind})
}

// refuse reports a value of the wrong kind and marks its path, so that
// nothing more is said of it.
func (w *walker) refuse(n *yaml.Node, path, written, format string, args ...any) bool {
	w.report(written, n.Line, ErrInvalid, format, args...)
	w.p.keys.bad[path] = true
	return false
}

// walk checks n against t; path is canonical, written as the file spells
// it. It returns false when n is of the wrong kind; the caller then
// replaces it by a null.
func (w *walker) walk(n *yaml.Node, t reflect.Type, path, written string) bool {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		switch t.Kind() {
		case reflect.Struct, reflect.Slice, reflect.String:
			return true // empty
		}
		return w.refuse(n, path, written, "no value: write %s, or remove the key for the default", describe(t))
	}
	switch {
	case t == durationType:
		return w.duration(n, path, written)
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return w.refuse(n, path, written, "want %s, found %s", describe(t), found(n))
		}
		w.mapping(n, t, path, written)
		return true
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Kind == yaml.ScalarNode {
				return w.refuse(n, path, written, "want %s, found %s: write [%s]", describe(t), found(n), n.Value)
			}
			return w.refuse(n, path, written, "want %s, found %s", describe(t), found(n))
		}
		for i, item := range n.Content {
			ip, iw := fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%s[%d]", written, i)
			w.p.keys.at[ip] = keyAt{written: iw, line: item.Line, tag: item.Tag, text: item.Value}
			if !w.walk(item, t.Elem(), ip, iw) {
				n.Content[i] = nullLike(item)
				w.changed = true
			}
		}
		return true
	}
	if n.Kind != yaml.ScalarNode {
		return w.refuse(n, path, written, "want %s, found %s", describe(t), found(n))
	}
	ok := true
	switch t.Kind() {
	case reflect.String:
	case reflect.Bool:
		if n.Tag != "!!bool" {
			_, err := strconv.ParseBool(n.Value)
			ok = n.Tag == "!!str" && err == nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var v int64
		switch n.Tag {
		case "!!int":
			ok = n.Decode(&v) == nil
		case "!!str":
			_, err := strconv.ParseInt(n.Value, 0, 64)
			ok = err == nil
		default:
			ok = false
		}
	case reflect.Float32, reflect.Float64:
		switch n.Tag {
		case "!!int", "!!float":
		case "!!str":
			_, err := strconv.ParseFloat(n.Value, 64)
			ok = err == nil
		default:
			ok = false
		}
	}
	if !ok {
		return w.refuse(n, path, written, "want %s, found %s", describe(t), found(n))
	}
	return true
}

// duration checks a Go duration (the limits' timeouts): a string with a
// unit, or 0 or -1. viper would read any other bare number as nanoseconds.
func (w *walker) duration(n *yaml.Node, path, written string) bool {
	if n.Kind == yaml.ScalarNode {
		switch n.Tag {
		case "!!str":
			if _, err := time.ParseDuration(n.Value); err == nil {
				return true
			}
			if n.Value == "-1" {
				return w.refuse(n, path, written, "write -1 without quotes")
			}
		case "!!int":
			if n.Value == "0" || n.Value == "-1" {
				return true
			}
			return w.refuse(n, path, written, "%s has no unit: write %ss, %sm or %sh (a bare number would be nanoseconds)", n.Value, n.Value, n.Value, n.Value)
		}
	}
	return w.refuse(n, path, written, "want %s, found %s", describe(durationType), found(n))
}

// mapping checks the keys of a mapping against the fields of struct t.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, path, written string) {
	fields := structFields(t)
	seen := map[string]string{} // key lowercased -> as written
	var keep []*yaml.Node
	var merges []*yaml.Node // the values of << keys: what they merge in
	mergeLine := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			mergeLine = k.Line
			keep = append(keep, k, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.report(written, k.Line, ErrInvalid, "a key must be a plain word, found %s", found(k))
			w.changed = true
			continue
		}
		key, lk := k.Value, strings.ToLower(k.Value)
		kp, kw := join(path, lk), join(written, key)
		f, known := fields.types[lk]
		if !known {
			w.report(kw, k.Line, ErrUnknownKey, "unknown key; %s", w.hint(lk, fields, path, written))
			if hasAnchor(v) {
				keep = append(keep, k, v) // an alias elsewhere may need it; viper ignores the key
			} else {
				w.changed = true
			}
			continue
		}
		if first, dup := seen[lk]; dup {
			w.report(kw, k.Line, ErrInvalid, "%s is already set above (keys are case-insensitive): keep one", first)
			w.changed = true
			continue
		}
		seen[lk] = key
		w.p.keys.at[kp] = keyAt{written: kw, line: k.Line, tag: v.Tag, text: v.Value}
		if !w.walk(v, f, kp, kw) {
			v = nullLike(v)
			w.changed = true
		}
		keep = append(keep, k, v)
	}
	n.Content = keep
	for _, m := range merges {
		w.merge(m, t, fields, seen, path, written, mergeLine)
	}
}

// merge checks the keys a YAML merge (<<: *anchor) brings into a mapping:
// keys written in the mapping itself win, as YAML has it. line is the line
// of the << key, for the messages.
func (w *walker) merge(m *yaml.Node, t reflect.Type, fields structInfo, seen map[string]string, path, written string, line int) {
	for m.Kind == yaml.AliasNode && m.Alias != nil {
		m = m.Alias
	}
	switch m.Kind {
	case yaml.SequenceNode:
		for _, s := range m.Content {
			w.merge(s, t, fields, seen, path, written, line)
		}
		return
	case yaml.MappingNode:
	default:
		w.report(join(written, "<<"), m.Line, ErrInvalid, "a merge wants a mapping or a list of mappings, found %s", found(m))
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		if k.Tag == "!!merge" {
			w.merge(v, t, fields, seen, path, written, line)
			continue
		}
		lk := strings.ToLower(k.Value)
		f, known := fields.types[lk]
		if _, dup := seen[lk]; dup {
			continue
		}
		kp, kw := join(path, lk), join(written, k.Value)
		if !known {
			w.report(kw, k.Line, ErrUnknownKey, "unknown key (merged in by << at line %d); %s", line, w.hint(lk, fields, path, written))
			continue
		}
		seen[lk] = k.Value
		w.p.keys.at[kp] = keyAt{written: kw, line: k.Line, tag: v.Tag, text: v.Value}
		if !w.walk(v, f, kp, kw) {
			m.Content[i+1] = nullLike(v)
			w.changed = true
		}
	}
}

// hint says what the writer of an unknown key probably meant.
func (w *walker) hint(lk string, fields structInfo, path, written string) string {
	if near := nearest(lk, fields.names); near != "" {
		return "did you mean " + near + "?"
	}
	section := indexes.ReplaceAllString(path, "[]")
	for _, kp := range keyPaths(reflect.TypeFor[Config](), "") {
		// A section and its key in one ("socket.path" at the top level).
		if kp.String() == join(section, lk) {
			sec, rest, _ := strings.Cut(strings.TrimPrefix(kp.String(), section+"."), ".")
			return fmt.Sprintf("write it nested: %s:, then %s: under it", sec, rest)
		}
	}
	for _, kp := range keyPaths(reflect.TypeFor[Config](), "") {
		// A key of another section ("maxretry" at the top level).
		if kp.key == lk && kp.section != section {
			return fmt.Sprintf("%s belongs in %s (%s)", lk, kp.section, kp)
		}
	}
	where := written
	if where == "" {
		where = "the top level"
	}
	return where + " has " + strings.Join(fields.names, ", ")
}

// indexes matches the list indexes of a path.
var indexes = regexp.MustCompile(`\[\d+\]`)

// structInfo is the keys of a struct, by the mapstructure tags of its
// exported fields, in field order.
type structInfo struct {
	names []string
	types map[string]reflect.Type
}

func structFields(t reflect.Type) structInfo {
	s := structInfo{types: map[string]reflect.Type{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		s.names = append(s.names, name)
		s.types[name] = f.Type
	}
	return s
}

// keyPath is a key and the section holding it; lists of structs are
// written name[]: section jails[], key maxretry.
type keyPath struct{ section, key string }

// String returns the key's full path: jails[].maxretry.
func (k keyPath) String() string { return join(k.section, k.key) }

// keyPaths lists every key of type t, under section.
func keyPaths(t reflect.Type, section string) []keyPath {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []keyPath
	fields := structFields(t)
	for _, name := range fields.names {
		ft := fields.types[name]
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct && ft != durationType:
			out = append(out, keyPaths(ft, join(section, name))...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, keyPaths(ft.Elem(), join(section, name)+"[]")...)
		default:
			out = append(out, keyPath{section, name})
		}
	}
	return out
}

// checkEnv checks the environment variables that override keys as the
// walk checks the file's values, and reports whether all were usable:
// viper cannot decode the others.
func (p *problems) checkEnv() bool {
	ok := true
	var leaves func(t reflect.Type, section string)
	leaves = func(t reflect.Type, section string) {
		fields := structFields(t)
		for _, name := range fields.names {
			ft, path := fields.types[name], join(section, name)
			if ft.Kind() == reflect.Struct && ft != durationType {
				leaves(ft, path)
				continue
			}
			env := envName(path)
			if env == "" || ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
				continue
			}
			if !scalarOK(ft, os.Getenv(env)) {
				p.add(path, ErrInvalid, "want %s, found %q", describe(ft), os.Getenv(env))
				ok = false
			}
		}
	}
	leaves(reflect.TypeFor[Config](), "")
	return ok
}

// scalarOK reports whether viper can decode the text v into type t.
func scalarOK(t reflect.Type, v string) bool {
	var err error
	switch {
	case t == durationType:
		_, err = time.ParseDuration(v)
	case t.Kind() == reflect.Bool:
		_, err = strconv.ParseBool(v)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		_, err = strconv.ParseInt(v, 0, 64)
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		_, err = strconv.ParseFloat(v, 64)
	}
	return err == nil
}

// describe names what a value of type t is written as.
func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return "a duration such as 10s, 5m or 1h (or -1 for never)"
	case t.Kind() == reflect.Struct:
		return "a mapping of keys"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "a whole number"
	}
	return "a string"
}

// found names what a node is.
func found(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "no value"
	}
	return strconv.Quote(n.Value)
}

// nullLike is a null in n's place that keeps n's anchor, should an alias
// elsewhere name it.
func nullLike(n *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Anchor: n.Anchor, Line: n.Line, Column: n.Column}
}

func hasAnchor(n *yaml.Node) bool {
	if n.Anchor != "" {
		return true
	}
	for _, c := range n.Content {
		if hasAnchor(c) {
			return true
		}
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// nearest returns the name closest to key by edit distance (letters
// swapped count once), when it is close enough to be a typo of it.
func nearest(key string, names []string) string {
	limit := 2
	if len(key) <= 4 {
		limit = 1
	}
	best, bestD := "", limit+1
	for _, n := range names {
		if d := editDistance(key, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of adjacent letters cost one each.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
