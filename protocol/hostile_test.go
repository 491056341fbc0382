package protocol

import (
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
)

func le64(n uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n)
	return string(b[:])
}

func le32(n uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], n)
	return string(b[:])
}

// hostileCase is a message that must be refused with a given sentinel by
// Check and Decode (and DecodeReply unless replyErr says otherwise).
type hostileCase struct {
	name     string
	msg      string
	want     error
	replyErr error // nil: same as want
}

func hostileCases() []hostileCase {
	nestedMarks := strings.Repeat("](", 200000) + "."
	nestedAppend := strings.Repeat("]", 200000) + strings.Repeat("a", 199999) + "."
	return []hostileCase{
		{name: "opcode 0xff", msg: "\x80\x04]\xff.", want: ErrRefused},
		{name: "opcode 0xff alone", msg: "\xff", want: ErrRefused},
		{name: "BINUNICODE8 2^40", msg: "\x80\x04\x8d" + le64(1<<40) + ".", want: ErrMalformed},
		{name: "BINUNICODE8 2^63", msg: "\x80\x04\x8d" + le64(1<<63) + ".", want: ErrMalformed},
		{name: "BINUNICODE8 2^64-1", msg: "\x80\x04\x8d" + le64(^uint64(0)) + ".", want: ErrMalformed},
		{name: "BINBYTES8 2^40", msg: "\x80\x04\x8e" + le64(1<<40) + ".", want: ErrMalformed},
		{name: "BINBYTES8 2^63", msg: "\x80\x04\x8e" + le64(1<<63) + ".", want: ErrMalformed},
		{name: "BYTEARRAY8 2^40", msg: "\x80\x05\x96" + le64(1<<40) + ".", want: ErrMalformed},
		{name: "FRAME 2^40", msg: "\x80\x04\x95" + le64(1<<40) + "].", want: ErrMalformed},
		{name: "FRAME 2^63", msg: "\x80\x04\x95" + le64(1<<63) + "].", want: ErrMalformed},
		{name: "BINUNICODE 0xFFFFFFFF", msg: "X" + le32(0xffffffff) + ".", want: ErrMalformed},
		{name: "BINSTRING negative", msg: "T" + le32(0xffffffff) + ".", want: ErrMalformed},
		{name: "BINBYTES 0xFFFFFFFF", msg: "B" + le32(0xffffffff) + ".", want: ErrMalformed},
		{name: "huge LONG4", msg: "\x8b" + le32(0x7fffffff) + ".", want: ErrMalformed},
		{name: "LONG4 present but over the cap", msg: "]\x8b" + le32(100) + strings.Repeat("\x01", 100) + "a.", want: ErrMalformed},
		{name: "LONG text beyond int64", msg: "(lL" + strings.Repeat("9", 5000) + "L\na.", want: ErrMalformed},
		{name: "200000 nested lists by MARK", msg: nestedMarks, want: ErrMalformed},
		{name: "200000 nested lists by APPEND", msg: nestedAppend, want: ErrMalformed},
		{name: "200000 nested lists proto 0", msg: strings.Repeat("(l", 200000) + strings.Repeat("a", 199999) + ".", want: ErrMalformed},
		{name: "500000 MARKs", msg: strings.Repeat("(", 500000) + ".", want: ErrMalformed},
		{name: "65 nested lists", msg: strings.Repeat("]", 66) + strings.Repeat("a", 65) + ".", want: ErrMalformed},
		{name: "memo get of a missing key", msg: "]h\x05.", want: ErrMalformed},
		{name: "memo long get of a missing key", msg: "]j\xff\xff\xff\xff.", want: ErrMalformed},
		{name: "memo text get of a missing key", msg: "(lp0\ng7\n.", want: ErrMalformed},
		{name: "memo put far beyond the message", msg: "]r\xff\xff\xff\x7f.", want: ErrMalformed},
		{name: "memo put on an empty stack", msg: "q\x00].", want: ErrMalformed},
		{name: "empty message", msg: "", want: ErrMalformed},
		{name: "HTTP request", msg: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", want: ErrRefused},
		{name: "JSON", msg: `["set","x"]`, want: ErrRefused},
		{name: "no STOP", msg: "\x80\x04]", want: ErrMalformed},
		{name: "bytes after STOP", msg: "].junk", want: ErrMalformed},
		{name: "two values at STOP", msg: "]].", want: ErrMalformed},
		{name: "mark left at STOP", msg: "](.", want: ErrMalformed},
		{name: "STOP on empty stack", msg: ".", want: ErrMalformed},
		{name: "odd DICT", msg: "]K\x01(K\x01da.", want: ErrMalformed},
		{name: "odd SETITEMS", msg: "}(K\x01u.", want: ErrMalformed},
		{name: "SETITEM on a list", msg: "]K\x01K\x02s.", want: ErrMalformed},
		{name: "APPEND to an int", msg: "K\x01K\x02a.", want: ErrMalformed},
		{name: "APPENDS without MARK", msg: "]K\x01e.", want: ErrMalformed},
		{name: "TUPLE3 on a short stack", msg: "K\x01\x87.", want: ErrMalformed},
		{name: "POP_MARK without MARK", msg: "]1.", want: ErrMalformed},
		{name: "unhashable dict key", msg: "}]K\x01s.", want: ErrMalformed},
		{name: "PROTO 6", msg: "\x80\x06].", want: ErrMalformed},
		{name: "invalid UTF-8", msg: "]X\x02\x00\x00\x00\xff\xfea.", want: ErrMalformed},
		{name: "bad UNICODE escape", msg: "(lV\\u12\na.", want: ErrMalformed},
		{name: "STRING unquoted", msg: "(lSabc\na.", want: ErrMalformed},
		{name: "INT garbage", msg: "(lI1x\na.", want: ErrMalformed},
		{name: "GLOBAL", msg: "cos\nsystem\n(S'true'\ntR.", want: ErrRefused},
		{name: "STACK_GLOBAL", msg: "\x80\x04\x8c\x05posix\x8c\x06system\x93.", want: ErrRefused},
		{name: "REDUCE", msg: "]]R.", want: ErrRefused, replyErr: ErrMalformed},
		{name: "BUILD", msg: "]]b.", want: ErrRefused},
		{name: "INST", msg: "(ios\nsystem\n.", want: ErrRefused},
		{name: "OBJ", msg: "(]o.", want: ErrRefused},
		{name: "NEWOBJ", msg: "])\x81.", want: ErrRefused},
		{name: "NEWOBJ_EX", msg: "])}\x92.", want: ErrRefused},
		{name: "EXT1", msg: "\x82\x01.", want: ErrRefused},
		{name: "EXT2", msg: "\x83\x01\x00.", want: ErrRefused},
		{name: "EXT4", msg: "\x84\x01\x00\x00\x00.", want: ErrRefused},
		{name: "PERSID", msg: "P1\n.", want: ErrRefused},
		{name: "BINPERSID", msg: "K\x01Q.", want: ErrRefused},
		{name: "NEXT_BUFFER", msg: "\x80\x05\x97.", want: ErrRefused},
		{name: "READONLY_BUFFER", msg: "\x80\x05]\x98.", want: ErrRefused},
		{name: "class not on the allow-list", msg: "\x80\x04\x8c\x08builtins\x8c\x04eval\x93.", want: ErrRefused},
		{name: "list containing itself", msg: "]q\x00h\x00a.", want: ErrMalformed},
	}
}

func TestHostile(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			msg := []byte(tc.msg)
			// Check refuses up front for everything but shapes only the
			// decoder sees (a list containing itself).
			if _, err := Check(msg); err != nil && !errors.Is(err, tc.want) {
				t.Errorf("Check err = %v, want %v", err, tc.want)
			}
			if _, _, err := Decode(msg); !errors.Is(err, tc.want) {
				t.Errorf("Decode err = %v, want %v", err, tc.want)
			}
			replyWant := tc.want
			if tc.replyErr != nil {
				replyWant = tc.replyErr
			}
			if _, _, err := DecodeReply(msg); !errors.Is(err, replyWant) {
				t.Errorf("DecodeReply err = %v, want %v", err, replyWant)
			}
		})
	}
}

// TestHostilePython feeds pickles Python itself makes for calls.
func TestHostilePython(t *testing.T) {
	for _, proto := range []int{0, 2, 5} {
		p := pyPickles(t, proto, []string{`E()`, `["set", E()]`})
		for i, msg := range p {
			if _, err := Check(msg); !errors.Is(err, ErrRefused) {
				t.Errorf("proto %d #%d: Check err = %v, want ErrRefused", proto, i, err)
			}
			if _, _, err := Decode(msg); !errors.Is(err, ErrRefused) {
				t.Errorf("proto %d #%d: Decode err = %v, want ErrRefused", proto, i, err)
			}
			if _, _, err := DecodeReply(msg); !errors.Is(err, ErrRefused) {
				t.Errorf("proto %d #%d: DecodeReply err = %v, want ErrRefused", proto, i, err)
			}
		}
	}
}

// TestTruncated checks every strict prefix of real messages.
func TestTruncated(t *testing.T) {
	exprs := []string{
		`["set","api","attempt","192.0.2.7","Incorrect token used."]`,
		`["server-stream", [["set","x","maxretry","3"],["start","x"]], 2**40, 0.1, True, None, "é€😀"]`,
	}
	for proto := 0; proto <= 5; proto++ {
		for _, msg := range pyPickles(t, proto, exprs) {
			for n := 0; n < len(msg); n++ {
				if _, _, err := Decode(msg[:n]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("proto %d prefix %d of %q: err = %v, want ErrMalformed", proto, n, msg, err)
				}
				if _, err := Check(msg[:n]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("proto %d prefix %d: Check err = %v", proto, n, err)
				}
			}
			if _, _, err := Decode(msg); err != nil {
				t.Fatalf("proto %d full message: %v", proto, err)
			}
		}
	}
}

// bytesAllocated reports the average heap bytes f allocates.
func bytesAllocated(runs int, f func()) uint64 {
	f()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestHostileMemory checks that hostile messages cost a small multiple of
// their size: a 12-byte message must not allocate megabytes.
func TestHostileMemory(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			msg := []byte(tc.msg)
			limit := uint64(16<<10 + 64*len(msg))
			got := bytesAllocated(5, func() {
				_, _ = Check(msg)
				_, _, _ = Decode(msg)
				_, _, _ = DecodeReply(msg)
			})
			if got > limit {
				t.Errorf("%d-byte message allocates %d bytes (limit %d)", len(msg), got, limit)
			}
		})
	}
}

// TestSharedDoesNotExplode decodes a pickle in which each level holds the
// previous one twice: 2^40 leaves if copied, a few KB if shared.
func TestSharedDoesNotExplode(t *testing.T) {
	msg := pyPickles(t, 4, []string{`(lambda: [a := ["x"]] and [(a := [a, a]) for _ in range(40)][-1])()`})[0]
	got := bytesAllocated(3, func() {
		if _, _, err := Decode(msg); err != nil {
			t.Fatal(err)
		}
	})
	if limit := uint64(16<<10 + 64*len(msg)); got > limit {
		t.Errorf("%d-byte message allocates %d bytes (limit %d)", len(msg), got, limit)
	}
}

// TestDecodeCheckAgree: Check accepts exactly what Decode gets past the
// opcode walk.
func TestDecodeCheckAgree(t *testing.T) {
	msgs := [][]byte{[]byte("]K\x01a."), []byte("]q\x00h\x00a."), []byte("}.")}
	for _, msg := range msgs {
		_, cerr := Check(msg)
		_, _, derr := Decode(msg)
		if cerr != nil && derr == nil {
			t.Errorf("%q: Check %v but Decode ok", msg, cerr)
		}
		if cerr == nil && derr != nil && !errors.Is(derr, ErrMalformed) && !errors.Is(derr, ErrNotList) {
			t.Errorf("%q: Check ok but Decode %v", msg, derr)
		}
	}
}
