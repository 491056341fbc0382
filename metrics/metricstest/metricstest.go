// Package metricstest reads a Prometheus text exposition for tests that
// check exact values after a scrape.
package metricstest

import (
	"bufio"
	"strconv"
	"strings"
	"testing"
)

// Samples parses a text exposition into its samples: "name{labels}" (as
// written) to value. A line that is not a sample fails t.
func Samples(t testing.TB, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("metricstest: %q is not a sample", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metricstest: sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("metricstest: %v", err)
	}
	return out
}
