package main

import (
	"fmt"
	"testing"

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

func BenchmarkReplyJSONStatus10k(b *testing.B) {
	v := bigStatus(10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := replyJSON(0, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPyReprBanned10k(b *testing.B) {
	ips := bigStatus(10000).([]any)[1].(protocol.Tuple)[1].([]any)[2].(protocol.Tuple)[1]
	v := []any{protocol.Dict{{Key: "api", Value: ips}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = pyRepr(v)
	}
}
