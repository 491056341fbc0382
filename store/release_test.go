package store

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mapRSS returns the resident kilobytes of this process's maps of path,
// from /proc/self/smaps.
func mapRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") { // a map's first line
			in = len(fields) >= 6 && fields[5] == path
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			n, _ := strconv.Atoi(fields[1])
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kb
}

// TestReleaseMemory: a scan of every ban faults the map's pages in;
// ReleaseMemory takes them out of the resident set, and the store reads
// and writes as before.
func TestReleaseMemory(t *testing.T) {
	d := openTest(t, Options{})
	var cs []Change
	for i := range 20000 {
		cs = append(cs, ban("api", fmt.Sprintf("2001:db8::%x", i+1), t0, time.Hour, 1, "a match long enough to fill some pages"))
	}
	putWait(t, d, cs...)
	live, err := d.Live("api", t0)
	if err != nil || len(live) != len(cs) {
		t.Fatalf("Live: %d bans, %v", len(live), err)
	}
	before := mapRSS(t, d.Path())
	if before < 256 {
		t.Fatalf("%d KiB of the map resident after a scan of %d bans: want the pages the scan read", before, len(cs))
	}
	if err := d.ReleaseMemory(); err != nil {
		t.Fatal(err)
	}
	// The meta pages stay as the transaction reads them; little else.
	if after := mapRSS(t, d.Path()); after > before/8 {
		t.Fatalf("%d KiB of the map resident after ReleaseMemory, %d before", after, before)
	}
	again, err := d.Live("api", t0)
	if err != nil || len(again) != len(cs) || again[len(again)-1].Prefix != live[len(live)-1].Prefix {
		t.Fatalf("Live after ReleaseMemory: %d bans, %v", len(again), err)
	}
	putWait(t, d, unban("api", "2001:db8::1"))
	if live, _ := d.Live("api", t0); len(live) != len(cs)-1 {
		t.Fatalf("after an unban: %d live bans, want %d", len(live), len(cs)-1)
	}
	d.Close()
	if err := d.ReleaseMemory(); err == nil {
		t.Fatal("ReleaseMemory on a closed store: no error")
	}
}
