package server

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// This file: the encoding fail2ban calls the locale's preferred one
// (logencoding auto).

// preferredEncoding is what fail2ban 1.0.2 run by Debian's python3 (3.11)
// in this process's environment takes for logencoding auto:
// locale.getpreferredencoding(), corrected by fail2ban's helpers when it
// is ANSI_*. Computed once, from the environment at the first call.
var preferredEncoding = sync.OnceValue(func() string { return pyPreferredEncoding(os.Getenv, localeInstalled) })

// pyPreferredEncoding follows Python 3.11's start-up and
// locale.getpreferredencoding() over an environment:
//
//   - PYTHONUTF8=1 is the UTF-8 mode: "utf-8".
//   - The LC_CTYPE locale is LC_ALL, else LC_CTYPE, else LANG, else C. C,
//     POSIX, or a locale the system does not have (setlocale fails and C
//     stays) is the legacy C locale: Python then starts in the UTF-8 mode
//     ("utf-8"); with PYTHONUTF8=0 it coerces LC_CTYPE to C.UTF-8
//     ("UTF-8") unless LC_ALL is set or PYTHONCOERCECLOCALE=0, and else
//     answers ANSI_X3.4-1968, which fail2ban replaces with stdout's
//     encoding ("ascii" in that locale).
//   - Otherwise nl_langinfo(CODESET) of the locale: its codeset in glibc's
//     spelling ("UTF-8", "ISO-8859-15").
//
// installed reports whether the system has a locale.
func pyPreferredEncoding(getenv func(string) string, installed func(string) bool) string {
	utf8Mode := getenv("PYTHONUTF8")
	if utf8Mode == "1" {
		return "utf-8"
	}
	loc := "C"
	for _, v := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if x := getenv(v); x != "" {
			loc = x
			break
		}
	}
	if loc == "C" || loc == "POSIX" || !installed(loc) {
		if utf8Mode != "0" {
			return "utf-8"
		}
		if getenv("LC_ALL") == "" && getenv("PYTHONCOERCECLOCALE") != "0" && installed("C.UTF-8") {
			return "UTF-8"
		}
		return "ascii"
	}
	name, _, _ := strings.Cut(loc, "@")
	_, codeset, ok := strings.Cut(name, ".")
	if !ok {
		// glibc's locales without a codeset in their name are mostly
		// Latin-1 ones (de_DE, fr_FR).
		return "ISO-8859-1"
	}
	return glibcCodeset(codeset)
}

// glibcCodeset spells a locale name's codeset as nl_langinfo(CODESET)
// does: utf8 and UTF-8 are "UTF-8", iso885915 is "ISO-8859-15".
func glibcCodeset(cs string) string {
	n := normCodeset(cs)
	switch {
	case n == "utf8":
		return "UTF-8"
	case strings.HasPrefix(n, "iso8859") && len(n) > len("iso8859"):
		return "ISO-8859-" + n[len("iso8859"):]
	}
	return strings.ToUpper(cs)
}

// normCodeset is glibc's _nl_normalize_codeset: letters lower-cased,
// digits kept, everything else dropped; "iso" before a name of digits.
func normCodeset(cs string) string {
	var b strings.Builder
	digits := true
	for _, c := range cs {
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
			digits = false
		case c >= 'a' && c <= 'z':
			b.WriteRune(c)
			digits = false
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		}
	}
	if digits {
		return "iso" + b.String()
	}
	return b.String()
}

// localeDir is where glibc's compiled locales are.
const localeDir = "/usr/lib/locale"

// localeInstalled reports whether glibc has the locale: C.UTF-8 is built
// in (glibc 2.35 and later); the others are a directory of
// /usr/lib/locale, under their name or with the codeset normalized, or in
// its locale-archive.
func localeInstalled(loc string) bool {
	name, mod, hasMod := strings.Cut(loc, "@")
	lang, cs, hasCS := strings.Cut(name, ".")
	if lang == "C" && hasCS && normCodeset(cs) == "utf8" {
		return true
	}
	if strings.ContainsRune(loc, '/') {
		return false
	}
	names := []string{loc}
	if hasCS {
		n := lang + "." + normCodeset(cs)
		if hasMod {
			n += "@" + mod
		}
		names = append(names, n)
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(localeDir, n, "LC_CTYPE")); err == nil {
			return true
		}
	}
	table := archiveNames(filepath.Join(localeDir, "locale-archive"))
	for _, n := range names {
		if strings.Contains(table, "\x00"+n+"\x00") {
			return true
		}
	}
	return false
}

// archiveNames returns the string table of a glibc locale-archive (the
// locales' names, each ended by NUL), with a NUL before it; "" when the
// file is missing or not an archive. Only the header and the table are
// read: the archive itself can be hundreds of MiB.
func archiveNames(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var head [32]byte
	if _, err := f.ReadAt(head[:], 0); err != nil {
		return ""
	}
	le := binary.LittleEndian
	// struct locarhead: magic, serial, namehash offset, used, size,
	// string offset, used, size, ...
	const magic = 0xde020109
	if le.Uint32(head[0:]) != magic {
		return ""
	}
	off, used := le.Uint32(head[20:]), le.Uint32(head[24:])
	if used == 0 || used > 1<<20 {
		return ""
	}
	table := make([]byte, used)
	if _, err := f.ReadAt(table, int64(off)); err != nil {
		return ""
	}
	return "\x00" + string(table)
}
