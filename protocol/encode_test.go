package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// replyCases are values AppendReply must send; py is the Python
// expression the reply must load as, and back what DecodeReply must
// return (nil: same as v).
var replyCases = []struct {
	name string
	code int
	v    any
	py   string
	back any
}{
	{name: "None", v: nil, py: "None"},
	{name: "True", v: true, py: "True"},
	{name: "False", v: false, py: "False"},
	{name: "int 1", v: int64(1), py: "1", back: int64(1)},
	{name: "int", v: 300, py: "300", back: int64(300)},
	{name: "int32", v: int32(-7), py: "-7", back: int64(-7)},
	{name: "int64 edges", v: []any{int64(65535), int64(65536), int64(-1), int64(math.MinInt32), int64(math.MaxInt32), int64(1 << 31), int64(math.MaxInt64), int64(math.MinInt64)},
		py: "[65535, 65536, -1, -2**31, 2**31-1, 2**31, 2**63-1, -2**63]"},
	{name: "uint64 max", v: uint64(math.MaxUint64), py: "2**64-1", back: errSkip},
	{name: "uint32", v: uint32(4000000000), py: "4000000000", back: int64(4000000000)},
	{name: "floats", v: []any{0.1, 1e300, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 1.0, 1e-7},
		py: "[0.1, 1e300, -0.0, float('inf'), float('-inf'), 1.0, 1e-7]"},
	{name: "string", v: "192.0.2.7", py: "'192.0.2.7'"},
	{name: "non-ASCII string", v: "é€😀 \\ \\u0041 \n\r\x1a\x00\t", py: `'é€😀 \\ \\u0041 \n\r\x1a\x00\t'`},
	{name: "invalid UTF-8", v: "a\xffb", py: `'a\ufffdb'`, back: "a\ufffdb"},
	{name: "long string", v: strings.Repeat("x", 300), py: "'x'*300"},
	{name: "bytes", v: []byte("ab\x00\xff"), py: `b'ab\x00\xff'`},
	{name: "empty bytes", v: []byte{}, py: `b''`},
	{name: "long bytes", v: bytes.Repeat([]byte{0xfe}, 300), py: `b'\xfe'*300`},
	{name: "strings", v: []string{"a", "b"}, py: "['a', 'b']", back: []any{"a", "b"}},
	{name: "one string", v: []string{"a"}, py: "['a']", back: []any{"a"}},
	{name: "empty list", v: []any{}, py: "[]"},
	{name: "nested list", v: []any{"x", []any{[]any{"a", int64(1)}, []any{}}, nil}, py: "['x', [['a', 1], []], None]"},
	{name: "long list", v: manyInts(2500), py: "list(range(2500))"},
	{name: "tuples", v: Tuple{}, py: "()"},
	{name: "tuple1", v: Tuple{"a"}, py: "('a',)"},
	{name: "tuple3", v: Tuple{"a", int64(1), nil}, py: "('a', 1, None)"},
	{name: "tuple5", v: Tuple{int64(1), int64(2), int64(3), int64(4), int64(5)}, py: "(1, 2, 3, 4, 5)"},
	{name: "status", v: []Tuple{
		{"Filter", []Tuple{{"Currently failed", int64(0)}, {"Total failed", int64(3)}, {"File list", []string{}}}},
		{"Actions", []Tuple{{"Currently banned", int64(1)}, {"Banned IP list", []string{"192.0.2.7"}}}},
	}, py: "[('Filter', [('Currently failed', 0), ('Total failed', 3), ('File list', [])]), ('Actions', [('Currently banned', 1), ('Banned IP list', ['192.0.2.7'])])]",
		back: []any{
			Tuple{"Filter", []any{Tuple{"Currently failed", int64(0)}, Tuple{"Total failed", int64(3)}, Tuple{"File list", []any{}}}},
			Tuple{"Actions", []any{Tuple{"Currently banned", int64(1)}, Tuple{"Banned IP list", []any{"192.0.2.7"}}}},
		}},
	{name: "dict", v: Dict{{"b", int64(1)}, {"a", []any{"x"}}, {int64(3), nil}}, py: "{'b': 1, 'a': ['x'], 3: None}"},
	{name: "one-item dict", v: Dict{{"k", "v"}}, py: "{'k': 'v'}"},
	{name: "empty dict", v: Dict{}, py: "{}"},
	{name: "unknown jail", code: 1, v: &Exception{ClassUnknownJail, []any{"nojail"}}, py: "fail2ban.exceptions.UnknownJailException('nojail')"},
	{name: "duplicate jail", code: 1, v: &Exception{ClassDuplicateJail, []any{"sshd"}}, py: "fail2ban.exceptions.DuplicateJailException('sshd')"},
	{name: "Exception", code: 1, v: &Exception{ClassException, []any{"Invalid command"}}, py: "Exception('Invalid command')"},
	{name: "ValueError", code: 1, v: &Exception{ClassValueError, []any{"bad address 'x'"}}, py: `ValueError("bad address 'x'")`},
	{name: "KeyError", code: 1, v: &Exception{ClassKeyError, []any{"k"}}, py: "KeyError('k')"},
	{name: "exception with no args", code: 1, v: &Exception{ClassException, []any{}}, py: "Exception()"},
}

// errSkip marks a reply DecodeReply cannot give back (ints beyond int64).
var errSkip = errors.New("skip")

func manyInts(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

// pyCompareScript checks each pickle against a Python expression by repr
// and by the exact type tree, so an exception must load as the real class.
const pyCompareScript = `
import sys, json, pickle, math
import fail2ban.exceptions
def sig(v):
    t = type(v)
    name = t.__module__ + "." + t.__qualname__
    if isinstance(v, (list, tuple)):
        return [name] + [sig(x) for x in v]
    if isinstance(v, dict):
        return [name] + [[sig(k), sig(x)] for k, x in v.items()]
    if isinstance(v, BaseException):
        return [name] + [sig(x) for x in v.args]
    if isinstance(v, float) and v == 0:
        return [name, math.copysign(1, v)]
    return name
out = []
for h, expr in json.load(sys.stdin):
    try:
        got = pickle.loads(bytes.fromhex(h))
    except Exception as e:
        out.append("load error: " + repr(e)); continue
    want = eval(expr)
    if repr(got) != repr(want) or sig(got) != sig(want):
        out.append("got %r %r, want %r %r" % (got, sig(got), want, sig(want)))
    else:
        out.append("")
json.dump(out, sys.stdout)
`

func pyCompare(t *testing.T, pairs [][2]string) []string {
	t.Helper()
	in, _ := json.Marshal(pairs)
	var out []string
	if err := json.Unmarshal(python(t, pyCompareScript, in), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendReplyPython(t *testing.T) {
	type result struct {
		name string
		msg  []byte
	}
	var results []result
	var pairs [][2]string
	for proto := 0; proto <= 5; proto++ {
		for _, c := range replyCases {
			prefix := []byte("keep")
			out, err := AppendReply(prefix, proto, c.code, c.v)
			if err != nil {
				t.Fatalf("%s/proto%d: %v", c.name, proto, err)
			}
			if !bytes.HasPrefix(out, []byte("keep")) || !bytes.HasSuffix(out, []byte(EndCommand)) {
				t.Fatalf("%s/proto%d: dst prefix or terminator lost: %q", c.name, proto, out)
			}
			msg := out[4 : len(out)-len(EndCommand)]
			name := c.name + "/proto" + itoa(proto)
			results = append(results, result{name, msg})
			pairs = append(pairs, [2]string{hexString(msg), "(" + itoa(c.code) + ", " + c.py + ")"})
			checkReplyProtocol(t, name, msg, proto)
		}
	}
	verdicts := pyCompare(t, pairs)
	for i, r := range results {
		t.Run(r.name, func(t *testing.T) {
			if verdicts[i] != "" {
				t.Errorf("python: %s\npickle %q", verdicts[i], r.msg)
			}
		})
	}
}

// checkReplyProtocol asserts the protocol a Python 2 or 3 client sees.
func checkReplyProtocol(t *testing.T, name string, msg []byte, proto int) {
	t.Helper()
	switch {
	case proto < 2 && msg[0] == opProto:
		t.Errorf("%s: PROTO opcode in a protocol %d reply", name, proto)
	case proto == 2 && !bytes.HasPrefix(msg, []byte{opProto, 2}):
		t.Errorf("%s: reply not in protocol 2: %q", name, msg[:2])
	case proto > 2 && !bytes.HasPrefix(msg, []byte{opProto, ReplyProtocol}):
		t.Errorf("%s: reply not in protocol %d: %q", name, ReplyProtocol, msg[:2])
	}
	if proto < 3 && bytes.Contains(msg, []byte("builtins")) {
		t.Errorf("%s: Python 3 module name in a protocol %d reply", name, proto)
	}
}

func TestAppendReplyRoundTrip(t *testing.T) {
	for proto := 0; proto <= 5; proto++ {
		for _, c := range replyCases {
			if c.back == errSkip {
				continue
			}
			t.Run(c.name+"/proto"+itoa(proto), func(t *testing.T) {
				out, err := AppendReply(nil, proto, c.code, c.v)
				if err != nil {
					t.Fatal(err)
				}
				code, v, err := DecodeReply(out[:len(out)-len(EndCommand)])
				if err != nil {
					t.Fatalf("DecodeReply: %v\n%q", err, out)
				}
				want := c.back
				if want == nil {
					want = c.v
				}
				if code != c.code || !reflect.DeepEqual(v, want) {
					t.Fatalf("DecodeReply = %d, %#v\nwant %d, %#v", code, v, c.code, want)
				}
			})
		}
	}
}

func TestAppendReplyErrors(t *testing.T) {
	deep := []any{}
	for i := 0; i < MaxDepth+2; i++ {
		deep = []any{deep}
	}
	cyclic := []any{nil}
	cyclic[0] = cyclic
	tests := []struct {
		name string
		v    any
	}{
		{"struct", struct{}{}},
		{"map", map[string]any{"a": 1}},
		{"nested unsupported", []any{"a", []any{1.5, float32(1)}}},
		{"in tuple", Tuple{make(chan int)}},
		{"in dict", Dict{{"k", struct{}{}}}},
		{"too deep", deep},
		{"cycle", cyclic},
		{"bad exception class", &Exception{Class: "NoModule"}},
		{"exception class with newline", &Exception{Class: "os\nsystem.x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for proto := 0; proto <= 5; proto++ {
				dst := []byte("keep")
				out, err := AppendReply(dst, proto, 0, tc.v)
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("proto %d: err = %v, want ErrUnsupported", proto, err)
				}
				if string(out) != "keep" {
					t.Fatalf("proto %d: dst changed to %q", proto, out)
				}
			}
		})
	}
}

func TestAppendRequest(t *testing.T) {
	tests := []struct {
		name string
		args []any
		py   string
	}{
		{"attempt", []any{"set", "api", "attempt", "192.0.2.7", "Incorrect token used."}, `["set","api","attempt","192.0.2.7","Incorrect token used."]`},
		{"ping", []any{"ping", 0.1}, `["ping", 0.1]`},
		{"server-stream", []any{"server-stream", []any{[]any{"set", "x", "maxretry", "3"}, []any{"start", "x"}}}, `["server-stream", [["set","x","maxretry","3"],["start","x"]]]`},
		{"mixed", []any{"x", int64(-5), true, nil, "é€"}, `["x", -5, True, None, "é€"]`},
		{"bytes", []any{"x", []byte("ab")}, `["x", b"ab"]`},
	}
	var pairs [][2]string
	var names []string
	for proto := 2; proto <= 5; proto++ {
		for _, tc := range tests {
			out, err := AppendRequest(nil, proto, tc.args)
			if err != nil {
				t.Fatalf("%s/proto%d: %v", tc.name, proto, err)
			}
			msg := bytes.TrimSuffix(out, []byte(EndCommand))
			got, gotProto, err := Decode(msg)
			if tc.name == "bytes" && proto < 3 {
				// Python 3 itself writes bytes as _codecs.encode(...)
				// before protocol 3, which requests may not carry.
				if !errors.Is(err, ErrRefused) {
					t.Errorf("%s/proto%d: Decode err = %v, want ErrRefused", tc.name, proto, err)
				}
			} else if err != nil || gotProto != proto || !reflect.DeepEqual(got, tc.args) {
				t.Errorf("%s/proto%d: Decode = %#v, %d, %v", tc.name, proto, got, gotProto, err)
			}
			pairs = append(pairs, [2]string{hexString(msg), tc.py})
			names = append(names, tc.name+"/proto"+itoa(proto))
		}
	}
	for i, v := range pyCompare(t, pairs) {
		if v != "" {
			t.Errorf("%s: python: %s", names[i], v)
		}
	}
	for _, p := range []int{0, 1, 6} {
		if _, err := AppendRequest(nil, p, []any{"ping"}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("AppendRequest proto %d: err = %v, want ErrUnsupported", p, err)
		}
	}
}

func TestAppendReplySmallAllocs(t *testing.T) {
	dst := make([]byte, 0, 256)
	exc := &Exception{ClassUnknownJail, []any{"nojail"}}
	tests := []struct {
		name string
		v    any
	}{
		{"int64", int64(1)},
		{"string", "192.0.2.7"},
		{"nil", nil},
		{"exception", exc},
		{"strings", []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := testing.AllocsPerRun(100, func() {
				for proto := 0; proto <= 5; proto++ {
					_, _ = AppendReply(dst[:0], proto, 0, tc.v)
				}
			})
			if n != 0 {
				t.Errorf("AppendReply allocates %v times", n)
			}
		})
	}
}
