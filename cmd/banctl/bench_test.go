package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
)

// bigStatus is "status JAIL" of a jail holding n bans, the largest reply
// an operator routinely asks for.
func bigStatus(n int) any {
	ips := make([]any, n)
	for i := range ips {
		ips[i] = fmt.Sprintf("198.51.%d.%d", i/256%256, i%256)
	}
	return []any{
		protocol.Tuple{"Filter", []any{protocol.Tuple{"Currently failed", int64(0)}, protocol.Tuple{"Total failed", int64(n)}, protocol.Tuple{"File list", []any{}}}},
		protocol.Tuple{"Actions", []any{protocol.Tuple{"Currently banned", int64(n)}, protocol.Tuple{"Total banned", int64(n)}, protocol.Tuple{"Banned IP list", ips}}},
	}
}

func BenchmarkBeautifyStatus10k(b *testing.B) {
	v := bigStatus(10000)
	cmd := []string{"status", "api"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := beautify(cmd, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResultJSONStatus10k(b *testing.B) {
	v := bigStatus(10000)
	cmd := []string{"status", "api"}
	b.ReportAllocs()
	for b.Loop() {
		_ = resultJSON(cmd, v, time.UTC)
	}
}
