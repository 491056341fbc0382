package filter

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

// TestProcessTraceSame holds ProcessTrace to Process: two filters fed the
// same lines of fail2ban's sample corpus, one through each, must return
// the same failures and errors, line after line, with checkAllRegex on
// and off. Both share cutDate; the trace's own replay of the searches
// must leave the failures alone.
func TestProcessTraceSame(t *testing.T) {
	var tr Trace
	eachCorpusPair(t, nil, func(name string, checkAll bool, a, b *Filter, l sampleLine) {
		fa, ea := a.Process(l.text, time.Time{})
		fb, eb := b.ProcessTrace(l.text, time.Time{}, &tr)
		if (ea == nil) != (eb == nil) || !reflect.DeepEqual(fa, fb) {
			t.Fatalf("%s:%d (checkAll %v): Process = %+v, %v; ProcessTrace = %+v, %v", name, l.num, checkAll, fa, ea, fb, eb)
		}
		if len(fa) > 0 && !fa[0].Time.Equal(tr.Time) {
			t.Errorf("%s:%d: Trace.Time %v, failure's time %v", name, l.num, tr.Time, fa[0].Time)
		}
		if !reflect.DeepEqual(a.Buffered(), b.Buffered()) {
			t.Fatalf("%s:%d: buffers differ after the line", name, l.num)
		}
	})
}

// eachCorpusPair runs each on every line of fail2ban's sample corpus, with
// two filters made alike from the line's filter file (b set up by setup,
// when not nil), checkAllRegex on and off; it fails t when no line is read.
func eachCorpusPair(t *testing.T, setup func(b *Filter), each func(name string, checkAll bool, a, b *Filter, l sampleLine)) {
	t.Helper()
	if _, err := os.Stat(f2bSamples); err != nil {
		testenv.Missingf(t, "fail2ban 1.0.2 (Debian package fail2ban) is needed for its sample corpus: %v", err)
	}
	now := time.Unix(testNow, 0)
	lines := 0
	for _, fd := range corpusFilters(t) {
		name, dir := fd[0], fd[1]
		sample, err := readSampleLines(filepath.Join(f2bSamples, name))
		if err != nil {
			continue
		}
		for _, checkAll := range []bool{true, false} {
			mk := func() *Filter {
				f, err := New(Settings{Name: name, Dirs: []string{dir}, UseDNS: "raw",
					Now: func() time.Time { return now }, CheckAllRegex: checkAll, Budget: time.Minute})
				if err != nil {
					return nil
				}
				return f
			}
			a, b := mk(), mk()
			if a == nil {
				continue
			}
			if setup != nil {
				setup(b)
			}
			for _, l := range sample {
				if strings.HasPrefix(l.text, "#") || l.text == "" {
					continue
				}
				lines++
				each(name, checkAll, a, b, l)
			}
		}
	}
	if lines == 0 {
		t.Fatal("no sample lines read")
	}
}

// TestProcessTraceReplay holds ProcessTrace's shortcut (what findFailure
// saw of prefregex) to the replay of the searches it stands for.
func TestProcessTraceReplay(t *testing.T) {
	eachCorpusPair(t, func(b *Filter) { b.replayTrace = true }, func(name string, checkAll bool, a, b *Filter, l sampleLine) {
		for _, pending := range []bool{false, true} {
			ta, tb := Trace{WantPending: pending}, Trace{WantPending: pending}
			fa, ea := a.ProcessTrace(l.text, time.Time{}, &ta)
			fb, eb := b.ProcessTrace(l.text, time.Time{}, &tb)
			if (ea == nil) != (eb == nil) || !reflect.DeepEqual(fa, fb) || !reflect.DeepEqual(ta, tb) {
				t.Fatalf("%s:%d (checkAll %v): shortcut %+v %+v, %v; replay %+v %+v, %v", name, l.num, checkAll, ta, fa, ea, tb, fb, eb)
			}
		}
	})
}
