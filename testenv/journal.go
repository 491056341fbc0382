package testenv

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// JournalRemote returns systemd-journal-remote, which writes real journal
// files from an export stream; Debian installs it outside PATH (package
// systemd-journal-remote). Without it, Missing.
func JournalRemote(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("systemd-journal-remote"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/lib/systemd/systemd-journal-remote", "/lib/systemd/systemd-journal-remote"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, "systemd-journal-remote not installed (Debian package systemd-journal-remote)")
	return ""
}

// JournalField is one field of a journal entry: its name, then its value.
type JournalField [2]string

// ExportJournal writes entries in the Journal Export Format: FIELD=value
// lines, or for a value with a newline or other control bytes the binary
// form (name, newline, 64-bit little-endian length, bytes, newline); an
// empty line ends an entry.
func ExportJournal(entries [][]JournalField) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		for _, f := range e {
			name, value := f[0], f[1]
			if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' }) {
				b.WriteString(name + "\n")
				binary.Write(&b, binary.LittleEndian, uint64(len(value)))
				b.WriteString(value + "\n")
				continue
			}
			b.WriteString(name + "=" + value + "\n")
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// WriteJournal appends entries to the journal file out (a name ending in
// .journal) with systemd-journal-remote.
func WriteJournal(t testing.TB, out string, entries [][]JournalField) {
	t.Helper()
	cmd := exec.Command(JournalRemote(t), "--output="+out, "-")
	cmd.Stdin = bytes.NewReader(ExportJournal(entries))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote: %v: %s", err, b)
	}
}
