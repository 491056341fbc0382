package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// clientMessages are requests as fail2ban-client and banctl send them.
var clientMessages = []string{
	`["ping"]`,
	`["ping", 0.1]`,
	`["status"]`,
	`["status", "sshd", "short"]`,
	`["set","api","attempt","192.0.2.7","Incorrect token used."]`,
	`["set","sshd","banip","192.0.2.7","2001:db8::1"]`,
	`["set","sshd","unbanip","--report-absent","198.51.100.4"]`,
	`["get","sshd","bantime"]`,
	`["set","sshd","bantime","600"]`,
	`["set","sshd","maxretry",3]`,
	`["reload","--restart","--unban","--all"]`,
	`["server-stream", [["add","x","auto"],["set","x","maxretry","3"],["multi-set","x","addfailregex",["^fail <HOST>$","^bad <HOST>$"]],["multi-set","x","action","a",[["actionban","echo ban"],["actionunban","echo unban"]]],["start","x"]]]`,
	`["set","x","addignoreip","203.0.113.0/24"]`,
	`["set","x","failregex","é€😀 \\ \n"]`,
	`["stop"]`,
	`["banned", "192.0.2.7"]`,
	`["set", "x", "idle", True]`,
	`["set", "x", "bantime", 2**40, -1, None, 1.5e300]`,
}

// replyMessages are replies as fail2ban-server sends them.
var replyMessages = []string{
	`(0, "pong")`,
	`(0, 1)`,
	`(1, UnknownJailException('nojail'))`,
	`(1, DuplicateJailException('sshd'))`,
	`(1, Exception('Invalid command'))`,
	`(1, ValueError("bad address"))`,
	`(0, [('Currently failed', 0), ('Total failed', 3), ('Banned IP list', [IPAddr('192.0.2.7')])])`,
	`(0, {'a': 1, 'b': [None, b'x']})`,
	`"ERROR: could not load"`,
}

func corpusFile(t *testing.T, dir, name string, msg []byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", msg)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFuzzCorpus regenerates the seed corpora with python3 under -update.
func TestFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata/fuzz through python3")
	}
	for proto := 0; proto <= 5; proto++ {
		for i, msg := range pyPickles(t, proto, clientMessages) {
			corpusFile(t, "testdata/fuzz/FuzzDecode", fmt.Sprintf("client-p%d-%02d", proto, i), msg)
		}
		for i, msg := range pyPickles(t, proto, replyMessages) {
			corpusFile(t, "testdata/fuzz/FuzzDecodeReply", fmt.Sprintf("server-p%d-%02d", proto, i), msg)
		}
		for i, c := range replyCases {
			out, err := AppendReply(nil, proto, c.code, c.v)
			if err != nil {
				t.Fatal(err)
			}
			corpusFile(t, "testdata/fuzz/FuzzDecodeReply", fmt.Sprintf("banserver-p%d-%02d", proto, i), bytes.TrimSuffix(out, []byte(EndCommand)))
		}
	}
	for _, tc := range hostileCases() {
		if len(tc.msg) > 4096 {
			continue // the big ones stay in hostile_test.go; they slow fuzzing
		}
		name := "hostile-" + strings.NewReplacer(" ", "-", "/", "-").Replace(tc.name)
		corpusFile(t, "testdata/fuzz/FuzzDecode", name, []byte(tc.msg))
		corpusFile(t, "testdata/fuzz/FuzzDecodeReply", name, []byte(tc.msg))
	}
}

// noPanic fails when Decode's last-line recover fired: under fuzzing a
// recovered panic is still a bug.
func noPanic(t *testing.T, err error) {
	if err != nil && strings.Contains(err.Error(), "decoder panic") {
		t.Fatal(err)
	}
}

// checkRequestTypes walks a Decode result for the allowed types only.
func checkRequestTypes(t *testing.T, v any, depth int) {
	if depth > MaxDepth+1 {
		t.Fatalf("result nests deeper than %d", MaxDepth)
	}
	switch x := v.(type) {
	case nil, string, []byte, int64, float64, bool:
	case []any:
		for _, it := range x {
			checkRequestTypes(t, it, depth+1)
		}
	default:
		t.Fatalf("Decode produced %T", v)
	}
}

func checkReplyTypes(t *testing.T, v any, depth int) {
	if depth > MaxDepth+1 {
		t.Fatalf("result nests deeper than %d", MaxDepth)
	}
	switch x := v.(type) {
	case nil, string, []byte, int64, float64, bool:
	case []any:
		for _, it := range x {
			checkReplyTypes(t, it, depth+1)
		}
	case Tuple:
		for _, it := range x {
			checkReplyTypes(t, it, depth+1)
		}
	case Dict:
		for _, kv := range x {
			checkReplyTypes(t, kv.Key, depth+1)
			checkReplyTypes(t, kv.Value, depth+1)
		}
	case *Exception:
		for _, it := range x.Args {
			checkReplyTypes(t, it, depth+1)
		}
	default:
		t.Fatalf("DecodeReply produced %T", v)
	}
}

// hasNaN reports a NaN anywhere, where DeepEqual cannot compare.
func hasNaN(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x)
	case []any:
		for _, it := range x {
			if hasNaN(it) {
				return true
			}
		}
	case Tuple:
		return hasNaN([]any(x))
	case Dict:
		for _, kv := range x {
			if hasNaN(kv.Key) || hasNaN(kv.Value) {
				return true
			}
		}
	case *Exception:
		return hasNaN(x.Args)
	}
	return false
}

func FuzzDecode(f *testing.F) {
	for _, tc := range hostileCases() {
		if len(tc.msg) <= 4096 {
			f.Add([]byte(tc.msg))
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, cerr := Check(msg)
		args, proto, err := Decode(msg)
		noPanic(t, err)
		if cerr != nil && err == nil {
			t.Fatalf("Check refused (%v) what Decode accepted", cerr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrRefused) && !errors.Is(err, ErrNotList) {
				t.Fatalf("Decode error without a sentinel: %v", err)
			}
			return
		}
		if proto < 0 || proto > 5 {
			t.Fatalf("proto %d", proto)
		}
		checkRequestTypes(t, args, 0)
		if hasNaN(args) {
			return
		}
		// What Decode accepts, AppendRequest must write back identically.
		out, err := AppendRequest(nil, 4, args)
		if err != nil {
			t.Fatalf("AppendRequest of a decoded request: %v", err)
		}
		again, _, err := Decode(bytes.TrimSuffix(out, []byte(EndCommand)))
		if err != nil || !reflect.DeepEqual(again, args) {
			t.Fatalf("round trip: %#v -> %#v, %v", args, again, err)
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	for _, tc := range hostileCases() {
		if len(tc.msg) <= 4096 {
			f.Add([]byte(tc.msg))
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		code, v, err := DecodeReply(msg)
		noPanic(t, err)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrRefused) {
				t.Fatalf("DecodeReply error without a sentinel: %v", err)
			}
			return
		}
		checkReplyTypes(t, v, 0)
		if code == -1 {
			if _, ok := v.(string); !ok {
				t.Fatalf("code -1 with %T", v)
			}
			return
		}
		if hasNaN(v) {
			return
		}
		for _, proto := range []int{0, 2, 4} {
			out, err := AppendReply(nil, proto, code, v)
			if err != nil {
				t.Fatalf("AppendReply of a decoded reply: %v", err)
			}
			c2, v2, err := DecodeReply(bytes.TrimSuffix(out, []byte(EndCommand)))
			if err != nil || c2 != code || !reflect.DeepEqual(v2, v) {
				t.Fatalf("proto %d round trip: %d %#v -> %d %#v, %v", proto, code, v, c2, v2, err)
			}
		}
	})
}

// FuzzReadMessage compares the Reader with a model built on bytes.Split.
func FuzzReadMessage(f *testing.F) {
	f.Add([]byte("a"+EndCommand+"b"+EndCommand), uint16(0), uint8(0))
	f.Add([]byte(CloseCommand+EndCommand+"x"), uint16(4), uint8(1))
	f.Add([]byte("0123456789"+EndCommand+"ok"+EndCommand), uint16(5), uint8(3))
	f.Add([]byte("<F2B_END<F2B_END_COMMAND<F2B_END_COMMAND>"), uint16(8), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, max16 uint16, chunk uint8) {
		max := int(max16%512) + 1
		var src io.Reader = bytes.NewReader(data)
		switch chunk % 3 {
		case 1:
			src = iotest.OneByteReader(src)
		case 2:
			src = iotest.HalfReader(src)
		}
		r := NewReader(src, max)
		parts := bytes.Split(data, []byte(EndCommand))
		for _, want := range parts[:len(parts)-1] {
			msg, err := r.ReadMessage()
			switch {
			case len(want) > max:
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("%d-byte message over %d: %q, %v", len(want), max, msg, err)
				}
			case bytes.Equal(want, []byte(CloseCommand)):
				if !errors.Is(err, ErrClose) {
					t.Fatalf("close: %q, %v", msg, err)
				}
			default:
				if err != nil || !bytes.Equal(msg, want) {
					t.Fatalf("got %q, %v, want %q", msg, err, want)
				}
			}
		}
		rest := parts[len(parts)-1]
		_, err := r.ReadMessage()
		switch {
		case len(rest) == 0:
			if err != io.EOF {
				t.Fatalf("at the end: %v, want io.EOF", err)
			}
			return
		case len(rest) >= max+len(EndCommand):
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("long tail: %v, want ErrTooLarge", err)
			}
			if _, err := r.ReadMessage(); err != io.EOF {
				t.Fatalf("after the long tail: %v, want io.EOF", err)
			}
		default:
			if err != io.ErrUnexpectedEOF {
				t.Fatalf("tail %q: %v, want io.ErrUnexpectedEOF", rest, err)
			}
		}
	})
}
