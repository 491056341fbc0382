package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/banserver/banserver/testenv"
)

// TestCompletionOffersEveryOption completes `banctl -` with the packaged
// bash completion (bash-completion's helpers loaded) and checks that every
// option banctl --help lists is offered.
func TestCompletionOffersEveryOption(t *testing.T) {
	bash := testenv.Tool(t, "bash")
	const helpers = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(helpers); err != nil {
		testenv.Missing(t, "bash-completion (Debian package bash-completion): ", err)
	}
	bin := filepath.Join(t.TempDir(), "banctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/banctl").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	help, err := exec.Command(bin, "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	_, opts, _ := strings.Cut(string(help), "\nOptions:\n")
	opts, _, _ = strings.Cut(opts, "\n\n")
	want := regexp.MustCompile(`(?m)(?:^|[ ,])(--?[a-zA-Z][a-z-]*)`).FindAllStringSubmatch(opts, -1)
	script := `source ` + helpers + `; source completion/banctl.bash
COMP_WORDS=(banctl -); COMP_CWORD=1; COMP_LINE="banctl -"; COMP_POINT=8
_banctl; printf '%s\n' "${COMPREPLY[@]}"`
	out, err := exec.Command(bash, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	offered := strings.Fields(string(out))
	for _, m := range want {
		if !slices.Contains(offered, m[1]) {
			t.Errorf("completion of \"banctl -\" lacks %s (offers %v)", m[1], offered)
		}
	}
	if len(want) < 10 {
		t.Errorf("found only %d options in banctl --help: %v", len(want), want)
	}
}
