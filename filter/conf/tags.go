package conf

import (
	"strconv"
	"strings"
)

// maxTagReplace is fail2ban's MAX_TAG_REPLACE_COUNT: how often one tag may
// be replaced within one value before the definitions count as a loop.
const maxTagReplace = 25

// maxTagPasses bounds the passes over all values; fail2ban has no bound,
// but every pass must replace something and MaxValueSize bounds that.
const maxTagPasses = 1000

// findTag finds fail2ban's TAG_CRE, <([^ <>]+)>, in s from byte from: the
// match's start and end and the tag's name.
func findTag(s string, from int) (start, end int, name string, ok bool) {
	for i := from; i < len(s); i++ {
		if s[i] != '<' {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != ' ' && s[j] != '<' && s[j] != '>' {
			j++
		}
		if j < len(s) && s[j] == '>' && j > i+1 {
			return i, j + 1, s[i+1 : j], true
		}
		i = j - 1 // the next '<' candidate is at j at the earliest
	}
	return 0, 0, "", false
}

// lookupFunc finds a tag's value outside the combined options (fail2ban's
// getCombOption): ok false when there is none.
type lookupFunc func(name string) (v string, ok bool, err error)

// substituteTags replaces <name> in every value of tags by the value of
// name, recursively, as fail2ban's substituteRecursiveTags does: a tag is
// looked up among tags first, then through addrepl; a tag found nowhere,
// or named in ignore, stays as written. Values marked none (Python's None)
// are left alone. tags is not modified.
func substituteTags(tags *omap, ignore map[string]bool, addrepl lookupFunc) (*omap, error) {
	tags = tags.clone()
	done := map[string]bool{}
	repCounts := map[string]map[string]int{}
	for pass := 0; ; pass++ {
		if pass >= maxTagPasses {
			return nil, &Error{Msg: "<tag> substitution does not settle", Err: ErrInterpolation}
		}
		repFlag := false
		for _, tag := range tags.keys {
			if ignore[tag] || done[tag] {
				continue
			}
			e := tags.m[tag]
			if e.none {
				continue
			}
			value := e.val
			rplc := repCounts[tag]
			if rplc == nil {
				rplc = map[string]int{}
			}
			for from := 0; ; {
				start, end, rtag, ok := findTag(value, from)
				if !ok {
					break
				}
				if ignore[rtag] {
					from = end
					continue
				}
				n, seen := rplc[rtag]
				if !seen {
					n = 1
				}
				if rtag == tag {
					return nil, &Error{File: e.file, Line: e.line, Section: e.sect, Option: tag,
						Msg: "<" + rtag + "> refers to the option itself", Err: ErrInterpolation}
				}
				if n > maxTagReplace {
					return nil, &Error{File: e.file, Line: e.line, Section: e.sect, Option: tag,
						Msg: "<" + rtag + "> replaced more than " + strconv.Itoa(maxTagReplace) + " times: the <tag> definitions loop",
						Err: ErrInterpolation}
				}
				repl, found := "", false
				if re, ok := tags.get(rtag); ok && !re.none {
					repl, found = re.val, true
				} else if addrepl != nil {
					var err error
					if repl, found, err = addrepl(rtag); err != nil {
						return nil, err
					}
				}
				if !found {
					from = end
					continue
				}
				tagText := "<" + rtag + ">"
				if grown := len(value) + strings.Count(value, tagText)*(len(repl)-len(tagText)); grown > MaxValueSize {
					return nil, &Error{File: e.file, Line: e.line, Section: e.sect, Option: tag,
						Msg: "value grows beyond MaxValueSize when <tags> are replaced", Err: ErrInterpolation}
				}
				value = strings.ReplaceAll(value, tagText, repl)
				rplc[rtag]++
				from = start
			}
			if value != e.val {
				if _, _, _, ok := findTag(value, 0); ok {
					repCounts[tag] = rplc
					repFlag = true
				}
				e.val = value
				tags.set(tag, e)
			}
			if !strings.Contains(value, "<") {
				done[tag] = true
			}
		}
		if !repFlag {
			return tags, nil
		}
	}
}
