package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
)

// FuzzJSONString checks the hand-written JSON string writer against
// encoding/json: both must decode to the same string.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "pong", "a<b>&", "\"\\\n\x00\x1f", "\xff\xfe", "é\u2028😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		writeJSONString(&b, s)
		var got, want string
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("writeJSONString(%q) = %s: %v", s, b.Bytes(), err)
		}
		ref, _ := json.Marshal(s)
		json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("writeJSONString(%q) decodes to %q, encoding/json's to %q", s, got, want)
		}
	})
}

// FuzzReply feeds arbitrary reply pickles through the decoder into the
// beautifier and the JSON shapes: whatever a server sends, banctl must
// print something and never panic, and its JSON must be valid.
func FuzzReply(f *testing.F) {
	seeds := []any{"pong", int64(3), nil, []any{"192.0.2.1"},
		[]any{protocol.Tuple{"Number of jail", int64(0)}, protocol.Tuple{"Jail list", ""}},
		[]any{protocol.Dict{{Key: "api", Value: []any{"192.0.2.1"}}}},
		[]any{"192.0.2.1 \t2026-01-02 03:04:05 + 3600 = 2026-01-02 04:04:05"},
		[]any{protocol.Tuple{"Filter", []any{protocol.Tuple{"Currently failed", int64(0)}}}, protocol.Tuple{"Actions", []any{}}},
		protocol.Dict{{Key: "api", Value: []any{"polling", protocol.Tuple{int64(0), int64(1)}, protocol.Tuple{int64(2), int64(3)}}}},
		[]any{protocol.Tuple{"Number of jail", int64(1)}, protocol.Tuple{"Jail list", "api"},
			protocol.Dict{{Key: "api", Value: []any{protocol.Tuple{"Filter", []any{}}, protocol.Tuple{"Actions", []any{}}}}}}}
	for _, v := range seeds {
		msg, err := protocol.AppendReply(nil, 4, 0, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.TrimSuffix(msg, []byte(protocol.EndCommand)), "status")
		f.Add(bytes.TrimSuffix(msg, []byte(protocol.EndCommand)), "--with-time")
		f.Add(bytes.TrimSuffix(msg, []byte(protocol.EndCommand)), "--all")
		f.Add(bytes.TrimSuffix(msg, []byte(protocol.EndCommand)), "stats")
	}
	f.Fuzz(func(t *testing.T, msg []byte, cmd string) {
		code, v, err := protocol.DecodeReply(msg)
		if err != nil {
			return
		}
		for _, words := range [][]string{{cmd}, {"status", cmd}, {"status", "--all", cmd}, {"get", "api", cmd}, {"get", "api", "banip", cmd}, {"banned", cmd}} {
			beautify(words, v)
			renderText(words, v)
			if out := resultJSON(words, v, time.UTC); !json.Valid(out) {
				t.Fatalf("resultJSON(%q, %s) = %s: not valid JSON", words, protocol.Repr(v), out)
			}
		}
		beautifyError(v)
		var e *cliError
		if code == 1 {
			e = exceptionError([]string{cmd}, v)
		} else {
			e = serverError(v)
		}
		if out := errorJSON(e); !json.Valid(out) {
			t.Fatalf("errorJSON(%d, %s) = %s: not valid JSON", code, protocol.Repr(v), out)
		}
	})
}
