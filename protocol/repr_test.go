package protocol

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// reprCases pair a Go value with the same value as a Python expression;
// TestReprMatchesPython has python3 evaluate each expression and demands
// that Repr writes what Python's repr() does.
var reprCases = []struct {
	name string
	v    any
	py   string
}{
	{name: "none", v: nil, py: `None`},
	{name: "true", v: true, py: `True`},
	{name: "false", v: false, py: `False`},
	{name: "int64", v: int64(-42), py: `-42`},
	{name: "int64 extremes", v: []any{int64(math.MinInt64), int64(math.MaxInt64)}, py: `[-2**63, 2**63-1]`},
	{name: "go ints", v: []any{0, int32(-7), uint(7), uint32(math.MaxUint32), uint64(math.MaxUint64)}, py: `[0, -7, 7, 2**32-1, 2**64-1]`},
	{name: "big int", v: new(big.Int).Lsh(big.NewInt(-1), 70), py: `-(1 << 70)`},
	{name: "floats", v: []any{0.0, math.Copysign(0, -1), 1.0, -2.5, 0.1, 1e16, 1.5e16, 9999999999999998.0,
		123456789012345.6, 0.0001, 0.00012, 9.99e-05, 1e-05, 1e-07, 1e22, 1e100, 5e-324, math.MaxFloat64, 3.14159},
		py: `[0.0, -0.0, 1.0, -2.5, 0.1, 1e16, 1.5e16, 9999999999999998.0, 123456789012345.6, 0.0001, 0.00012, 9.99e-05, 1e-05, 1e-07, 1e22, 1e100, 5e-324, 1.7976931348623157e308, 3.14159]`},
	{name: "not finite", v: []any{math.Inf(1), math.Inf(-1), math.NaN()}, py: `[float('inf'), float('-inf'), float('nan')]`},
	{name: "empty str", v: "", py: `''`},
	{name: "plain str", v: "192.0.2.1", py: `'192.0.2.1'`},
	{name: "single quote", v: "it's", py: `"it's"`},
	{name: "double quote", v: `say "hi"`, py: `'say "hi"'`},
	{name: "both quotes", v: `both ' "`, py: `'both \' "'`},
	{name: "escapes", v: "tab\t nl\n cr\r bs\\ nul\x00 esc\x1b del\x7f", py: `'tab\t nl\n cr\r bs\\ nul\x00 esc\x1b del\x7f'`},
	{name: "latin1", v: "\u00e9\u00a0\u00ad\u0085\u00ff", py: `'\u00e9\u00a0\u00ad\u0085\u00ff'`},
	{name: "bmp", v: "\u0301a\u200b\u2028\u2029\u3000\ue000\ufeff\u4e2d\u0378\uffff", py: `'\u0301a\u200b\u2028\u2029\u3000\ue000\ufeff\u4e2d\u0378\uffff'`},
	{name: "astral", v: "\U0001F600\U000E0001\U000F0000\U0010FFFF\U00020000", py: `'\U0001F600\U000E0001\U000F0000\U0010FFFF\U00020000'`},
	{name: "not utf-8", v: "a\xffb\xc3", py: `b'a\xffb\xc3'.decode('utf-8', 'surrogateescape')`},
	{name: "bytes", v: []byte("b'\x00\xff\t\\"), py: `b"b'\x00\xff\t\\"`},
	{name: "bytes both quotes", v: []byte(`'"`), py: `b'\'"'`},
	{name: "empty bytes", v: []byte{}, py: `b''`},
	{name: "list", v: []any{"api", int64(1), nil, []any{}}, py: `['api', 1, None, []]`},
	{name: "empty list", v: []any{}, py: `[]`},
	{name: "string list", v: []string{"a", "it's"}, py: `['a', "it's"]`},
	{name: "tuples", v: Tuple{Tuple{}, Tuple{int64(1)}, Tuple{"a", "b"}}, py: `((), (1,), ('a', 'b'))`},
	{name: "tuple list", v: []Tuple{{"Number of jail", int64(0)}, {"Jail list", ""}}, py: `[('Number of jail', 0), ('Jail list', '')]`},
	{name: "dict in order", v: Dict{{Key: "z", Value: []any{"192.0.2.1"}}, {Key: int64(1), Value: Tuple{nil}}}, py: `{'z': ['192.0.2.1'], 1: (None,)}`},
	{name: "empty dict", v: Dict{}, py: `{}`},
	{name: "status", v: []any{
		Tuple{"Filter", []any{Tuple{"Currently failed", int64(0)}, Tuple{"Total failed", int64(3)}, Tuple{"File list", []any{}}}},
		Tuple{"Actions", []any{Tuple{"Currently banned", int64(1)}, Tuple{"Total banned", int64(1)}, Tuple{"Banned IP list", []any{"192.0.2.1"}}}}},
		py: `[('Filter', [('Currently failed', 0), ('Total failed', 3), ('File list', [])]), ('Actions', [('Currently banned', 1), ('Total banned', 1), ('Banned IP list', ['192.0.2.1'])])]`},
	{name: "exception", v: &Exception{Class: ClassException, Args: []any{"Invalid command"}}, py: `Exception('Invalid command')`},
	{name: "exception no args", v: &Exception{Class: ClassException}, py: `Exception()`},
	{name: "exception two args", v: &Exception{Class: ClassValueError, Args: []any{"a", int64(2)}}, py: `ValueError('a', 2)`},
	{name: "key error", v: &Exception{Class: ClassKeyError, Args: []any{"x"}}, py: `KeyError('x')`},
	{name: "unknown jail", v: &Exception{Class: ClassUnknownJail, Args: []any{"nojail"}}, py: `UnknownJailException('nojail')`},
	{name: "permission error", v: &Exception{Class: "builtins.PermissionError", Args: []any{"permission denied: uid 1000 may not use ban commands"}},
		py: `PermissionError('permission denied: uid 1000 may not use ban commands')`},
	{name: "exception in a tuple", v: Tuple{int64(1), &Exception{Class: ClassUnknownJail, Args: []any{"it's"}}}, py: `(1, UnknownJailException("it's"))`},
	{name: "nil exception", v: (*Exception)(nil), py: `None`},
	{name: "random floats", v: randomFloats(), py: pyFloats(randomFloats())},
}

// randomFloats is a fixed sample of float64 bit patterns: every exponent
// range, subnormals included, so the repr's switch between positional and
// scientific notation is tried on both sides of each boundary.
func randomFloats() []any {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]any, 0, 400)
	for len(out) < cap(out) {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if len(out)%2 == 0 {
			// Bring half of them near the notation boundaries 1e-4 and 1e16.
			f = math.Mod(math.Abs(f), 10) * math.Pow(10, float64(r.IntN(26)-8))
		}
		out = append(out, f)
	}
	return out
}

// pyFloats writes floats as an exact Python expression (hex literals).
func pyFloats(fs []any) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = "float.fromhex('" + strconv.FormatFloat(f.(float64), 'x', -1, 64) + "')"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

const reprScript = `
import json, sys
from fail2ban.exceptions import UnknownJailException, DuplicateJailException
json.dump([repr(eval(e)) for e in json.load(sys.stdin)], sys.stdout)
`

func TestReprMatchesPython(t *testing.T) {
	exprs := make([]string, len(reprCases))
	for i, tc := range reprCases {
		exprs[i] = tc.py
	}
	in, _ := json.Marshal(exprs)
	var want []string
	if err := json.Unmarshal(python(t, reprScript, in), &want); err != nil {
		t.Fatalf("python output: %v", err)
	}
	for i, tc := range reprCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Repr(tc.v); got != want[i] {
				t.Errorf("Repr(%s):\n got %s\nwant %s (python)", tc.py, got, want[i])
			}
		})
	}
}

func TestReprString(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want string
	}{
		{name: "empty", s: "", want: `''`},
		{name: "plain", s: "api", want: `'api'`},
		{name: "single quote", s: "it's", want: `"it's"`},
		{name: "both quotes", s: `it's "x"`, want: `'it\'s "x"'`},
		{name: "control", s: "a\x00\n", want: `'a\x00\n'`},
		{name: "not printable", s: "\u00a0\u2028", want: `'\xa0\u2028'`},
		{name: "printable", s: "é😀", want: `'é😀'`},
		{name: "bad utf-8", s: "\xff", want: `'\udcff'`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReprString(tc.s); got != tc.want {
				t.Errorf("ReprString(%q) = %s, want %s", tc.s, got, tc.want)
			}
			if got := Repr(tc.s); got != tc.want {
				t.Errorf("Repr(%q) = %s, want %s", tc.s, got, tc.want)
			}
		})
	}
}

// TestReprStringEveryCodePoint compares the printable/escaped decision for
// every code point with python3's. The two may only disagree on code
// points Python's Unicode database does not assign (Go's tables can be a
// newer Unicode version); those are listed in the log.
func TestReprStringEveryCodePoint(t *testing.T) {
	const script = `
import json, sys, unicodedata
cps = range(0x80, 0x110000)
esc = [c for c in cps if not (0xd800 <= c < 0xe000) and not chr(c).isprintable()]
cn = [c for c in esc if unicodedata.category(chr(c)) == 'Cn']
json.dump({"version": unicodedata.unidata_version, "escaped": esc, "unassigned": cn}, sys.stdout)
`
	var py struct {
		Version    string `json:"version"`
		Escaped    []rune `json:"escaped"`
		Unassigned []rune `json:"unassigned"`
	}
	if err := json.Unmarshal(python(t, script, nil), &py); err != nil {
		t.Fatalf("python output: %v", err)
	}
	escaped := make(map[rune]bool, len(py.Escaped))
	for _, r := range py.Escaped {
		escaped[r] = true
	}
	unassigned := make(map[rune]bool, len(py.Unassigned))
	for _, r := range py.Unassigned {
		unassigned[r] = true
	}
	var newer []string
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r < 0xe000 {
			continue // surrogates: not representable in a Go string
		}
		got := ReprString(string(r))
		gotEscaped := strings.HasPrefix(got, `'\`)
		if gotEscaped == escaped[r] {
			continue
		}
		if unassigned[r] && !gotEscaped {
			newer = append(newer, fmt.Sprintf("U+%04X", r))
			continue
		}
		t.Errorf("ReprString(U+%04X) = %s; python %s escapes it: %v", r, got, py.Version, escaped[r])
	}
	if len(newer) > 0 {
		t.Logf("%d code points are printable in Go's Unicode %s but unassigned in python's %s (first: %s)",
			len(newer), unicode.Version, py.Version, newer[0])
	}
}

func BenchmarkReprBanned10k(b *testing.B) {
	ips := make([]any, 10000)
	for i := range ips {
		ips[i] = fmt.Sprintf("198.51.%d.%d", i/256%256, i%256)
	}
	v := []any{Dict{{Key: "api", Value: ips}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = Repr(v)
	}
}
