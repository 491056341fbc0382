package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banserver/banserver/testenv"
)

// TestPagesSayWhatHelpSays builds banserver and banctl, generates their
// man pages, renders them with groff as man would, and checks that every
// word of each --help text (and of banctl's subcommands') comes out in
// the page, in order: the page is the help, set as a man page. groff
// must not warn about anything in them.
func TestPagesSayWhatHelpSays(t *testing.T) {
	groff := testenv.Tool(t, "groff")
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "../../cmd/banserver", "../../cmd/banctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pages, err := generate(bin, "../banserver.yaml", "2026-01-02")
	if err != nil {
		t.Fatal(err)
	}
	helpOf := func(args ...string) string {
		out, err := exec.Command(filepath.Join(bin, args[0]), args[1:]...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return string(out)
	}
	tests := []struct {
		name, page string
		helps      []string
	}{
		{name: "banserver", page: "banserver.8", helps: []string{helpOf("banserver", "--help")}},
		{name: "banctl", page: "banctl.8", helps: []string{
			helpOf("banctl", "--help"), helpOf("banctl", "regex", "--help"), helpOf("banctl", "import-fail2ban", "--help"),
		}},
		{name: "conffile", page: "banserver.yaml.5", helps: []string{conffileText(t, "../banserver.yaml")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rendered := render(t, groff, pages[tc.page])
			words := strings.Fields(rendered)
			for _, help := range tc.helps {
				// The synopsis drops "Usage:" before the first block.
				want := strings.Fields(strings.Replace(help, "Usage:", "", 1))
				if tc.name == "conffile" {
					want = strings.Fields(help)
				}
				at := 0
				for _, w := range want {
					i := index(words[at:], w)
					if i < 0 {
						t.Errorf("%s: %q (after %q) is not in the page", tc.page, w, strings.Join(words[max(0, at-8):at], " "))
						break
					}
					at += i + 1
				}
			}
		})
	}
}

// index is the position of w in words, or -1.
func index(words []string, w string) int {
	for i, x := range words {
		if x == w {
			return i
		}
	}
	return -1
}

// conffileText is what of the conffile banserver.yaml(5) must show: its
// comments' words, without the # signs.
func conffileText(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), "#"); ok {
			out = append(out, c)
		}
	}
	return strings.Join(out, "\n")
}

// render runs groff as man does, without hyphenation or typography
// getting in the way of comparing words, and fails on any warning.
func render(t *testing.T, groff string, page []byte) string {
	t.Helper()
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-P", "-cbou")
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	cmd.Stdin = bytes.NewReader(page)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("groff: %v\n%s", err, stderr.String())
	}
	// groff's UTF-8 device may still set a hyphen or a quote its own way.
	return strings.NewReplacer("\u2010", "-", "\u2212", "-", "\u2019", "'", "\u2018", "`", "\u201c", `"`, "\u201d", `"`).Replace(stdout.String())
}
