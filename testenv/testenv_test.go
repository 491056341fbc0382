package testenv

import (
	"fmt"
	"testing"
)

func TestInCI(t *testing.T) {
	t.Setenv("CI", "true")
	if !InCI() {
		t.Fatal("InCI() false with CI=true")
	}
	t.Setenv("CI", "")
	if InCI() {
		t.Fatal("InCI() true without CI")
	}
}

func TestToolFound(t *testing.T) {
	if p := Tool(t, "sh"); p == "" {
		t.Fatal("Tool(sh) returned an empty path")
	}
}

// recTB records what Missing asks of the test instead of doing it.
type recTB struct {
	testing.TB
	fatal, skip string
}

func (r *recTB) Helper()                           {}
func (r *recTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recTB) Skip(args ...any)                  { r.skip = fmt.Sprint(args...) }

func TestMissing(t *testing.T) {
	tests := []struct {
		name      string
		ci        string
		wantFatal bool
	}{
		{name: "CI fails", ci: "true", wantFatal: true},
		{name: "elsewhere skips", ci: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recTB{TB: t}
			Missing(r, "nft not installed")
			if tt.wantFatal && (r.fatal == "" || r.skip != "") {
				t.Fatalf("in CI: fatal %q, skip %q; want a failure", r.fatal, r.skip)
			}
			if !tt.wantFatal && (r.skip != "nft not installed" || r.fatal != "") {
				t.Fatalf("outside CI: fatal %q, skip %q; want a skip with the reason", r.fatal, r.skip)
			}
		})
	}
}
