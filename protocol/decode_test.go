package protocol

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// requestCases are Python values a client may send, with what Decode must
// make of them. wantErr, when set, gives the expected sentinel for a
// protocol (nil: success).
var requestCases = []struct {
	name    string
	expr    string
	want    []any
	wantErr func(proto int) error
}{
	{
		name: "attempt",
		expr: `["set","api","attempt","192.0.2.7","Incorrect token used."]`,
		want: []any{"set", "api", "attempt", "192.0.2.7", "Incorrect token used."},
	},
	{
		name: "non-ASCII and escapes",
		expr: `["set","jail","failregex","é€😀 \\ \\u005c \n \r \x1a \0 tab\t 'q' \"dq\""]`,
		want: []any{"set", "jail", "failregex", "é€😀 \\ \\u005c \n \r \x1a \x00 tab\t 'q' \"dq\""},
	},
	{
		name: "bytes",
		expr: `["x", b"ab\x00\xff", b""]`,
		want: []any{"x", []byte("ab\x00\xff"), []byte{}},
		wantErr: func(p int) error {
			if p < 3 { // Python pickles bytes as _codecs.encode REDUCE before protocol 3
				return ErrRefused
			}
			return nil
		},
	},
	{
		name: "ints",
		expr: `["set","x","bantime",0,1,255,256,65535,65536,-1,-2**31,2**31-1,2**31,2**40,2**63-1,-2**63]`,
		want: []any{"set", "x", "bantime", int64(0), int64(1), int64(255), int64(256), int64(65535), int64(65536),
			int64(-1), int64(math.MinInt32), int64(math.MaxInt32), int64(1 << 31), int64(1 << 40), int64(math.MaxInt64), int64(math.MinInt64)},
	},
	{
		name:    "int beyond int64",
		expr:    `["x", 2**63]`,
		wantErr: func(int) error { return ErrMalformed },
	},
	{
		name: "floats",
		expr: `["ping", 0.1, 1e300, -0.0, float("inf"), 2.5]`,
		want: []any{"ping", 0.1, 1e300, math.Copysign(0, -1), math.Inf(1), 2.5},
	},
	{
		name: "bool and None",
		expr: `[True, False, None]`,
		want: []any{true, false, nil},
	},
	{
		name: "server-stream",
		expr: `["server-stream", [["set","x","maxretry","3"],["start","x"]]]`,
		want: []any{"server-stream", []any{[]any{"set", "x", "maxretry", "3"}, []any{"start", "x"}}},
	},
	{
		name: "multi-set",
		expr: `["multi-set","x","action","a",[["actionban","x"],["actionunban","y"]]]`,
		want: []any{"multi-set", "x", "action", "a", []any{[]any{"actionban", "x"}, []any{"actionunban", "y"}}},
	},
	{
		name: "tuple top and nested",
		expr: `("status", ("a", 1), ())`,
		want: []any{"status", []any{"a", int64(1)}, []any{}},
	},
	{
		name: "empty list",
		expr: `[]`,
		want: []any{},
	},
	{
		name: "shared list and string",
		expr: `(lambda x, s: [x, x, s, s])(["a"], "abc"*3)`,
		want: []any{[]any{"a"}, []any{"a"}, "abcabcabc", "abcabcabc"},
	},
	{
		name: "long list crosses APPENDS batches",
		expr: `["x"] + [str(i) for i in range(2500)]`,
		want: func() []any {
			out := []any{"x"}
			for i := 0; i < 2500; i++ {
				out = append(out, itoa(i))
			}
			return out
		}(),
	},
	{
		name: "long string",
		expr: `["x", "y"*70000]`,
		want: []any{"x", strings.Repeat("y", 70000)},
	},
	{
		name:    "dict item",
		expr:    `["x", {"a": 1}]`,
		wantErr: func(int) error { return ErrMalformed },
	},
	{
		name: "set item",
		expr: `["x", {1}]`,
		wantErr: func(p int) error {
			if p < 4 { // builtins.set REDUCE before protocol 4
				return ErrRefused
			}
			return ErrMalformed
		},
	},
	{
		name:    "dict top",
		expr:    `{"a": 1}`,
		wantErr: func(int) error { return ErrNotList },
	},
	{
		name:    "int top",
		expr:    `5`,
		wantErr: func(int) error { return ErrNotList },
	},
	{
		name:    "str top",
		expr:    `"status"`,
		wantErr: func(int) error { return ErrNotList },
	},
	{
		name:    "list containing itself",
		expr:    `(lambda l: (l.append(l), l)[1])([])`,
		wantErr: func(int) error { return ErrMalformed },
	},
}

func TestDecodePython(t *testing.T) {
	exprs := make([]string, len(requestCases))
	for i, c := range requestCases {
		exprs[i] = c.expr
	}
	for proto := 0; proto <= 5; proto++ {
		pickles := pyPickles(t, proto, exprs)
		for i, c := range requestCases {
			t.Run(c.name+"/proto"+itoa(proto), func(t *testing.T) {
				var wantErr error
				if c.wantErr != nil {
					wantErr = c.wantErr(proto)
				}
				got, gotProto, err := Decode(pickles[i])
				wantProto := proto
				if proto < 2 {
					wantProto = 0 // no PROTO opcode before protocol 2
				}
				if gotProto != wantProto && !(proto < 2 && err != nil) {
					t.Errorf("proto = %d, want %d", gotProto, wantProto)
				}
				_, checkErr := Check(pickles[i])
				if wantErr != nil {
					if !errors.Is(err, wantErr) {
						t.Fatalf("Decode err = %v, want %v", err, wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("Decode: %v\npickle %q", err, pickles[i])
				}
				if checkErr != nil {
					t.Fatalf("Check: %v", checkErr)
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Fatalf("Decode = %#v\nwant %#v", clip(got), clip(c.want))
				}
				if c.name == "floats" && !math.Signbit(got[3].(float64)) {
					t.Fatalf("-0.0 lost its sign")
				}
			})
		}
	}
}

// clip keeps failure output readable for the long cases.
func clip(v []any) any {
	if len(v) > 20 {
		return append(v[:20:20], "...")
	}
	return v
}

// TestDecodeProtocol2Text covers what only Python 2 writes: STRING and
// BINSTRING for str, INT/LONG text forms.
func TestDecodePython2Opcodes(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want []any
	}{
		{"STRING with escapes", "(lp0\nS'it\\'s \\xc3\\xa9\\n\\t\\\\ \\101'\np1\naS\"dq\"\na.", []any{"it's é\n\t\\ A", "dq"}},
		{"BINSTRING and SHORT_BINSTRING", "]q\x00(U\x03setT\x03\x00\x00\x00apie.", []any{"set", "api"}},
		{"INT and LONG text", "(lI42\naL12345678901L\naI01\naI00\na.", []any{int64(42), int64(12345678901), true, false}},
		{"UNICODE raw escapes", "(lV\\u00e9\\\\u0041\\U0001f600\xe9\naV\\x\na.", []any{"é\\\\u0041😀é", "\\x"}},
		{"LONG1 empty is zero", "]\x8a\x00a.", []any{int64(0)}},
		{"LONG1 negative", "]\x8a\x02\x00\xffa.", []any{int64(-256)}},
		{"LONG1 nine bytes fitting", "]\x8a\x09\xff\xff\xff\xff\xff\xff\xff\x7f\x00a.", []any{int64(math.MaxInt64)}},
		{"FRAME then data", "\x80\x04\x95\x04\x00\x00\x00\x00\x00\x00\x00]K\x01a.", []any{int64(1)}},
		{"memo text PUT/GET", "(lp0\nVa\np1\nag1\na.", []any{"a", "a"}},
		{"DUP", "]K\x012e.", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := Decode([]byte(tc.msg))
			if tc.want == nil {
				if err == nil {
					t.Fatalf("Decode = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Decode = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestDecodeRawUnicodeMatchesPython(t *testing.T) {
	// Python decodes the same UNICODE bytes; both must agree.
	msgs := [][]byte{
		[]byte("(lV\\u00e9\\\\u0041\\U0001f600\xe9\naV\\x\na."),
		[]byte("(lV\\\\\\u0041 \\\\\\\\u0041\na."),
	}
	reprs := pyRepr(t, msgs)
	for i, msg := range msgs {
		got, _, err := Decode(msg)
		if err != nil {
			t.Fatalf("Decode(%q): %v", msg, err)
		}
		want := python(t, `import sys, pickle, json; json.dump(pickle.loads(sys.stdin.buffer.read()), sys.stdout)`, msg)
		var wantv []any
		if err := jsonUnmarshal(want, &wantv); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, wantv) {
			t.Errorf("Decode(%q) = %q, python says %s", msg, got, reprs[i])
		}
	}
}

// TestProtoOnError: the server answers a refused message in the client's
// protocol, so the protocol must survive the error.
func TestProtoOnError(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want int
	}{
		{"refused opcode after PROTO 4", "\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00]\xff.", 4},
		{"truncated PROTO 2", "\x80\x02]", 2},
		{"no PROTO", "(lV", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Check([]byte(tc.msg))
			_, dp, derr := Decode([]byte(tc.msg))
			if err == nil || derr == nil || p != tc.want || dp != tc.want {
				t.Fatalf("Check = %d, %v; Decode = %d, %v; want proto %d and errors", p, err, dp, derr, tc.want)
			}
		})
	}
}

// TestDecodeAllocs guards the hot path's allocation count: one string for
// all str items, the list, its items and one box per item.
func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are exact only without -race; make test also runs without it")
	}
	msg := []byte(attemptMsg)
	n := testing.AllocsPerRun(100, func() {
		if _, _, err := Decode(msg); err != nil {
			t.Fatal(err)
		}
	})
	if n > 9 {
		t.Errorf("Decode of the attempt allocates %v times, want <= 9", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Check(msg) }); n != 0 {
		t.Errorf("Check allocates %v times", n)
	}
}
