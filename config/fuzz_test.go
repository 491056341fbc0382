package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary files to the strict loader (the YAML walk, the
// key and kind checks, the ranges): it must never panic, every refusal
// must be an ErrInvalid, and a file it accepts must load again the same.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"",
		"jails:\n  - name: api\n    maxretry: 10\n    findtime: 30m\n    bantime: 1h\n    actions: [log]\n",
		"jails:\n  - name: api\n    maxrety: 10\n",
		"socket:\n  mdoe: \"0660\"\n",
		"limits:\n  max_message: 1\n",
		"base: &b\n  maxretry: 3\njails:\n  - <<: *b\n    name: api\n",
		"access:\n  - user: root\n    clases: [report]\n    jails: [api]\n",
		"jails: {}\n",
		"- a\n- b\n",
		"socket:\n  mode: 0640\n",
		"jails:\n  - name: api\n    bantime.increment: true\n    bantime.multipliers: 1 2 4\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, src, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load refused with %v, which is no ErrInvalid", err)
			}
			return
		}
		c2, err := Load(path)
		if err != nil || len(c2.Jails) != len(c.Jails) || c2.Socket != c.Socket {
			t.Fatalf("a file Load accepted loads differently the second time: %v", err)
		}
	})
}
