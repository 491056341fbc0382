package conf

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MaxFileSize bounds one file read; filter files are a few kilobytes.
const MaxFileSize = 1 << 20

// MaxIncludeDepth bounds how deep [INCLUDES] may nest, and MaxIncludes
// how many files one filter may read in all: fail2ban stops only at a file
// already on the include path, which a path spelled two ways (dir/x.conf,
// dir/./x.conf) never is.
const (
	MaxIncludeDepth = 16
	MaxIncludes     = 256
)

// loader reads and parses files, each once per Read.
type loader struct {
	parsed map[string]*config
	listed int // files listed so far, for MaxIncludes
}

// load returns the parsed file at path.
func (l *loader) load(path string) (*config, error) {
	if c, ok := l.parsed[path]; ok {
		return c, nil
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, err := parseFile(path, data)
	if err != nil {
		return nil, err
	}
	l.parsed[path] = c
	return c, nil
}

// readFile reads a regular file of at most MaxFileSize bytes.
func readFile(path string) ([]byte, error) {
	// Stat first: opening a FIFO (an include of /dev/stdin, say) would block.
	st, err := os.Stat(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read: " + errText(err), Err: ErrNotFound}
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{File: path, Msg: "not a regular file", Err: ErrNotFound}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read: " + errText(err), Err: ErrNotFound}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read: " + errText(err), Err: ErrNotFound}
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Msg: "larger than MaxFileSize (" + strconv.Itoa(MaxFileSize) + " bytes)", Err: ErrSyntax}
	}
	return data, nil
}

// errText is an OS error without the path it repeats.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// exists is Python's os.path.exists.
func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// isFile is Python's os.path.isfile.
func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// candidates are the files fail2ban reads for a filter whose path without
// extension is base (ConfigReaderUnshared.read): base.conf, base.d/*.conf,
// base.local, base.d/*.local, those that exist.
func candidates(base string) []string {
	glob := func(ext string) []string {
		ents, err := os.ReadDir(base + ".d")
		if err != nil {
			return nil
		}
		var out []string
		for _, e := range ents {
			if n := e.Name(); !strings.HasPrefix(n, ".") && strings.HasSuffix(n, ext) {
				out = append(out, base+".d/"+n)
			}
		}
		slices.Sort(out)
		return out
	}
	var files []string
	files = append(files, base+".conf")
	files = append(files, glob(".conf")...)
	files = append(files, base+".local")
	files = append(files, glob(".local")...)
	return slices.DeleteFunc(files, func(p string) bool { return !exists(p) })
}

// expandLocal is fail2ban's _expandConfFilesWithLocal: each file is
// followed by its .local sibling when that is a file not already listed.
func expandLocal(files []string) []string {
	var out []string
	for _, f := range files {
		out = append(out, f)
		local := pySplitextRoot(f) + ".local"
		if !slices.Contains(files, local) && isFile(local) {
			out = append(out, local)
		}
	}
	return out
}

// includes is fail2ban's _getIncludes: files with their .local siblings,
// each preceded by its [INCLUDES] before = files and followed by its
// after = files, recursively; seen are the files on the include path.
func (l *loader) includes(files []string, seen []string, from *Error) ([]string, error) {
	var out []string
	for _, f := range expandLocal(files) {
		part, err := l.includesOne(f, seen, from)
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
	}
	return out, nil
}

// includesOne lists one file with what it includes. from says where the
// file was included, nil for the filter's own files.
func (l *loader) includesOne(resource string, seen []string, from *Error) ([]string, error) {
	if len(seen) > MaxIncludeDepth && from != nil {
		return nil, &Error{File: from.File, Line: from.Line, Section: "INCLUDES", Option: from.Option,
			Msg: "includes nest deeper than " + strconv.Itoa(MaxIncludeDepth) + " files: " + strings.Join(seen, " -> "), Err: ErrSyntax}
	}
	if l.listed++; l.listed > MaxIncludes && from != nil {
		return nil, &Error{File: from.File, Line: from.Line, Section: "INCLUDES", Option: from.Option,
			Msg: "more than " + strconv.Itoa(MaxIncludes) + " files read for one filter", Err: ErrSyntax}
	}
	cfg, err := l.load(resource)
	if err != nil {
		if from != nil && errors.Is(err, ErrNotFound) {
			if strings.HasSuffix(resource, ".local") && !exists(resource) {
				return nil, nil // an optional overlay, such as common.conf's after = common.local
			}
			msg := err.Error()
			var e *Error
			if errors.As(err, &e) {
				msg = e.Msg
			}
			return nil, &Error{File: from.File, Line: from.Line, Section: "INCLUDES", Option: from.Option,
				Msg: "included file " + resource + ": " + msg, Err: ErrNotFound}
		}
		return nil, err
	}
	var before, after []string
	if inc := cfg.section("INCLUDES"); inc != nil {
		for _, which := range []string{"before", "after"} {
			if !inc.has(which) && !cfg.defaults.has(which) {
				continue
			}
			v, err := cfg.get("INCLUDES", which, nil)
			if err != nil {
				return nil, err
			}
			where, _ := inc.get(which)
			if !inc.has(which) {
				where, _ = cfg.defaults.get(which)
			}
			dir := pyDirname(resource)
			for _, name := range strings.Split(v, "\n") {
				if name == "" {
					continue
				}
				r := pyJoin(dir, name)
				if slices.Contains(seen, r) {
					continue
				}
				s := append(slices.Clip(seen), resource)
				part, err := l.includes([]string{r}, s, &Error{File: where.file, Line: where.line, Option: which})
				if err != nil {
					return nil, err
				}
				if which == "before" {
					before = append(before, part...)
				} else {
					after = append(after, part...)
				}
			}
		}
	}
	out := append(before, resource)
	return append(out, after...), nil
}

// locate finds the files of the filter called name: a name searched in
// dirs (the first directory holding any of its files wins), a path to a
// .conf or .local file (that file, its .local sibling and includes), or an
// absolute path without extension (read as fail2ban reads a name).
func locate(name string, dirs []string) ([]string, error) {
	notFound := func(msg string) error {
		return &Error{Msg: "filter " + strconv.Quote(name) + " " + msg, Err: ErrNotFound}
	}
	if name == "" {
		return nil, notFound("has no name")
	}
	ext := ""
	if strings.HasSuffix(name, ".conf") || strings.HasSuffix(name, ".local") {
		ext = filepath.Ext(name)
	}
	switch {
	case ext != "" && strings.Contains(name, "/"):
		if !exists(name) {
			return nil, notFound("does not exist")
		}
		return []string{name}, nil
	case ext != "":
		name = strings.TrimSuffix(name, ext)
	}
	if strings.HasPrefix(name, "./") {
		abs, err := filepath.Abs(name)
		if err != nil {
			return nil, notFound(err.Error())
		}
		name = abs
	}
	if strings.HasPrefix(name, "/") {
		if files := candidates(name); len(files) > 0 {
			return files, nil
		}
		return nil, notFound("does not exist (no " + name + ".conf or .local)")
	}
	for _, d := range dirs {
		if files := candidates(pyJoin(d, name)); len(files) > 0 {
			return files, nil
		}
	}
	return nil, notFound("not found in " + strings.Join(dirs, ", ") + " (no " + name + ".conf or .local)")
}
