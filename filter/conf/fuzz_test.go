package conf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRead reads fuzzed text as a filter file next to a fixed one it may
// include: no panic, every error an *Error matching a sentinel, and what
// is read keeps Read's promises (one regex a line, none empty).
func FuzzRead(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/filter.d/*.conf")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("[INCLUDES]\nbefore = helper.conf\n[Definition]\nfailregex = <h> %(known/failregex)s\n")
	f.Add("[Definition]\nfailregex = <a>\na = <b><b>\nb = <c><c>\nc = <d><d>\nd = x")
	dir := f.TempDir()
	helper := "[DEFAULT]\nh = help\n[Definition]\nfailregex = ^helper <HOST>$\n[Init]\nmode = normal\n"
	if err := os.WriteFile(filepath.Join(dir, "helper.conf"), []byte(helper), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if err := os.WriteFile(filepath.Join(dir, "fuzz.conf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		fl, err := Read("fuzz", Options{Dirs: []string{dir}, Vars: map[string]string{"mode": "m"}, LogType: "file"})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrInterpolation) {
				t.Fatalf("error %v matches no sentinel", err)
			}
			return
		}
		for _, list := range [][]string{fl.FailRegex, fl.IgnoreRegex} {
			for _, re := range list {
				if re == "" || strings.Contains(re, "\n") {
					t.Fatalf("regex %q: empty or several lines", re)
				}
			}
		}
		if fl.MaxLines < 0 {
			t.Fatalf("MaxLines %d", fl.MaxLines)
		}
	})
}
