package server

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banserver/banserver/testenv"
)

// TestPreferredEncodingOracle: for each environment, the encoding
// logencoding auto answers is fail2ban's PREFER_ENC in Debian's python3
// started with that environment, whatever locales this machine has.
func TestPreferredEncodingOracle(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import fail2ban.helpers").Run(); err != nil {
		testenv.Missingf(t, "Debian's python3 with fail2ban is not installed: %v", err)
	}
	envs := []struct {
		name string
		env  []string
	}{
		{name: "empty"},
		{name: "C.UTF-8", env: []string{"LANG=C.UTF-8"}},
		{name: "C.utf8", env: []string{"LANG=C.utf8"}},
		{name: "LC_CTYPE", env: []string{"LC_CTYPE=C.UTF-8"}},
		{name: "LC_ALL wins", env: []string{"LC_ALL=C", "LANG=C.UTF-8"}},
		{name: "POSIX", env: []string{"LANG=POSIX"}},
		{name: "C", env: []string{"LC_ALL=C"}},
		{name: "utf8 mode", env: []string{"PYTHONUTF8=1", "LANG=C.UTF-8"}},
		{name: "no utf8 mode coerces", env: []string{"PYTHONUTF8=0"}},
		{name: "no utf8 mode, LC_ALL=C", env: []string{"PYTHONUTF8=0", "LC_ALL=C"}},
		{name: "no coercion", env: []string{"PYTHONUTF8=0", "PYTHONCOERCECLOCALE=0"}},
		{name: "maybe missing en_US.UTF-8", env: []string{"LANG=en_US.UTF-8"}},
		{name: "missing locale", env: []string{"LANG=xx_YY.UTF-8"}},
		{name: "maybe missing Latin-1", env: []string{"LANG=de_DE.ISO-8859-1"}},
		{name: "this process", env: os.Environ()},
	}
	const script = "from fail2ban.helpers import PREFER_ENC; print(PREFER_ENC)"
	for _, tt := range envs {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(py, "-c", script)
			cmd.Env = append([]string{}, tt.env...) // never nil: nil inherits ours
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python3: %v", err)
			}
			want := strings.TrimSpace(string(out))
			getenv := func(k string) string {
				v := ""
				for _, kv := range tt.env {
					if name, val, ok := strings.Cut(kv, "="); ok && name == k {
						v = val
					}
				}
				return v
			}
			if got := pyPreferredEncoding(getenv, localeInstalled); got != want {
				t.Errorf("got %q, fail2ban's PREFER_ENC %q", got, want)
			}
		})
	}
}

// TestPreferredEncoding covers what the machine may not have: installed
// locales of other codesets.
func TestPreferredEncoding(t *testing.T) {
	installed := func(l string) bool { return l != "xx_YY.UTF-8" }
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "utf-8 locale", env: map[string]string{"LANG": "en_US.UTF-8"}, want: "UTF-8"},
		{name: "utf8 spelling", env: map[string]string{"LANG": "en_US.utf8"}, want: "UTF-8"},
		{name: "latin-9", env: map[string]string{"LC_CTYPE": "de_DE.iso885915@euro"}, want: "ISO-8859-15"},
		{name: "no codeset", env: map[string]string{"LANG": "de_DE"}, want: "ISO-8859-1"},
		{name: "other codeset", env: map[string]string{"LANG": "ja_JP.eucJP"}, want: "EUCJP"},
		{name: "missing locale is C", env: map[string]string{"LANG": "xx_YY.UTF-8"}, want: "utf-8"},
		{name: "C", env: map[string]string{"LC_ALL": "C", "LANG": "en_US.UTF-8"}, want: "utf-8"},
		{name: "utf8 mode wins", env: map[string]string{"PYTHONUTF8": "1", "LANG": "de_DE"}, want: "utf-8"},
		{name: "C without utf8 mode nor coercion", env: map[string]string{"PYTHONUTF8": "0", "LC_ALL": "C"}, want: "ascii"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pyPreferredEncoding(func(k string) string { return tt.env[k] }, installed); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestArchiveNames reads the names of a locale-archive made here: the
// header and string table of glibc's format.
func TestArchiveNames(t *testing.T) {
	dir := t.TempDir()
	table := "en_US.utf8\x00de_DE.iso88591\x00"
	head := make([]byte, 64)
	le := binary.LittleEndian
	le.PutUint32(head[0:], 0xde020109)
	le.PutUint32(head[20:], 64)
	le.PutUint32(head[24:], uint32(len(table)))
	path := filepath.Join(dir, "locale-archive")
	if err := os.WriteFile(path, append(head, table...), 0o644); err != nil {
		t.Fatal(err)
	}
	names := archiveNames(path)
	for _, n := range []string{"en_US.utf8", "de_DE.iso88591"} {
		if !strings.Contains(names, "\x00"+n+"\x00") {
			t.Errorf("%q not among %q", n, names)
		}
	}
	if archiveNames(filepath.Join(dir, "missing")) != "" || archiveNames("/etc/hostname") != "" {
		t.Error("a missing file or a file of another kind gave names")
	}
}
