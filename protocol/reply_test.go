package protocol

import (
	"errors"
	"reflect"
	"testing"
)

func TestDecodeReplyPython(t *testing.T) {
	tests := []struct {
		name     string
		expr     string
		wantCode int
		want     any
		wantErr  func(proto int) error
	}{
		{name: "ok int", expr: `(0, 1)`, want: int64(1)},
		{name: "unknown jail", expr: `(1, UnknownJailException('x'))`, wantCode: 1,
			want: &Exception{ClassUnknownJail, []any{"x"}}},
		{name: "duplicate jail", expr: `(1, DuplicateJailException('sshd'))`, wantCode: 1,
			want: &Exception{ClassDuplicateJail, []any{"sshd"}}},
		{name: "ValueError", expr: `(1, ValueError('v', 2))`, wantCode: 1,
			want: &Exception{ClassValueError, []any{"v", int64(2)}}},
		{name: "exception with state", expr: `(1, (lambda e: (setattr(e, 'extra', 1), e)[1])(Exception('x')))`, wantCode: 1,
			want: &Exception{ClassException, []any{"x"}}},
		{name: "IPAddr list", expr: `(0, [IPAddr('192.0.2.7'), IPAddr('2001:db8::1'), IPAddr('198.51.100.0/24')])`,
			want: []any{"192.0.2.7", "2001:db8::1", "198.51.100.0/24"}},
		{name: "status", expr: `(0, [('Currently failed', 0), ('File list', [])])`,
			want: []any{Tuple{"Currently failed", int64(0)}, Tuple{"File list", []any{}}}},
		{name: "dict", expr: `(0, {'b': 1, 'a': [None]})`, want: Dict{{"b", int64(1)}, {"a", []any{nil}}}},
		{name: "bytes", expr: `(0, [b'ab\xff', b''])`, want: []any{[]byte("ab\xff"), []byte{}}},
		{name: "set", expr: `(0, {'a'})`, want: []any{"a"}, wantErr: func(p int) error {
			if p < 4 { // builtins.set is not on the allow-list
				return ErrRefused
			}
			return nil
		}},
		{name: "load error", expr: `"ERROR: could not load"`, wantCode: -1, want: "ERROR: could not load"},
		{name: "os.system", expr: `(0, E())`, wantErr: func(int) error { return ErrRefused }},
		{name: "not a tuple", expr: `[0, 1]`, wantErr: func(int) error { return ErrMalformed }},
		{name: "three-tuple", expr: `(0, 1, 2)`, wantErr: func(int) error { return ErrMalformed }},
		{name: "code not int", expr: `('0', 1)`, wantErr: func(int) error { return ErrMalformed }},
	}
	exprs := make([]string, len(tests))
	for i, tc := range tests {
		exprs[i] = tc.expr
	}
	for proto := 0; proto <= 5; proto++ {
		pickles := pyPickles(t, proto, exprs)
		for i, tc := range tests {
			t.Run(tc.name+"/proto"+itoa(proto), func(t *testing.T) {
				code, v, err := DecodeReply(pickles[i])
				var wantErr error
				if tc.wantErr != nil {
					wantErr = tc.wantErr(proto)
				}
				if wantErr != nil {
					if !errors.Is(err, wantErr) {
						t.Fatalf("err = %v, want %v", err, wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("DecodeReply: %v\n%q", err, pickles[i])
				}
				if code != tc.wantCode || !reflect.DeepEqual(v, tc.want) {
					t.Fatalf("DecodeReply = %d, %#v\nwant %d, %#v", code, v, tc.wantCode, tc.want)
				}
			})
		}
	}
}

func TestAppendLoadError(t *testing.T) {
	for proto := 0; proto <= 5; proto++ {
		out := AppendLoadError(nil, proto, errors.New("bad pickle"))
		code, v, err := DecodeReply(out[:len(out)-len(EndCommand)])
		if err != nil || code != -1 || v != "ERROR: bad pickle" {
			t.Errorf("proto %d: DecodeReply = %d, %#v, %v", proto, code, v, err)
		}
	}
}

func TestExceptionError(t *testing.T) {
	tests := []struct {
		name string
		e    *Exception
		want string
	}{
		{"one arg", &Exception{ClassUnknownJail, []any{"nojail"}}, "UnknownJailException: nojail"},
		{"no args", &Exception{ClassException, nil}, "Exception"},
		{"two args", &Exception{ClassValueError, []any{"a", int64(1)}}, "ValueError: [a 1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}
