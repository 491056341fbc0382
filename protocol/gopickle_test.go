package protocol

import (
	"bytes"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// gopickle is the design's named unpickler. Decode does not call it on the
// request path (it mis-decodes protocol 0's escapes, costs about 20 times
// Decode's time and allocations, and panics or runs out of memory on inputs
// listed in DESIGN.md); instead it serves here as an independent oracle:
// whatever Decode accepts, gopickle — run only behind Check, as the design
// says — must read to the same value.

// gopickleDecode runs gopickle behind Check and normalises its result to
// Decode's Go types.
func gopickleDecode(msg []byte) (v any, err error) {
	if _, err := Check(msg); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gopickle panicked behind Check: %v", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(msg))
	out, err := u.Load()
	if err != nil {
		return nil, err
	}
	return normaliseGopickle(out)
}

func normaliseGopickle(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, bool, float64:
		return x, nil
	case []byte:
		return x, nil
	case int:
		return int64(x), nil
	case *big.Int:
		if !x.IsInt64() {
			return nil, fmt.Errorf("int beyond int64")
		}
		return x.Int64(), nil
	case *types.List:
		return normaliseItems(*x)
	case *types.Tuple:
		return normaliseItems(*x)
	}
	return nil, fmt.Errorf("unexpected gopickle type %T", v)
}

func normaliseItems(items []any) (any, error) {
	out := make([]any, len(items))
	for i, it := range items {
		n, err := normaliseGopickle(it)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// hasEscapable reports strings that protocol 0 writes with
// raw-unicode-escape, which gopickle v0.2.0 leaves undecoded.
func hasEscapable(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsAny(x, "\\\n\r\x00\x1a") || strings.IndexFunc(x, func(r rune) bool { return r > 0x7f }) >= 0
	case []any:
		for _, it := range x {
			if hasEscapable(it) {
				return true
			}
		}
	}
	return false
}

// agreeWithGopickle fails t when Decode accepted msg and gopickle reads it
// differently.
func agreeWithGopickle(t *testing.T, msg []byte) {
	t.Helper()
	got, proto, err := Decode(msg)
	if err != nil {
		return
	}
	want, err := gopickleDecode(msg)
	if err != nil {
		t.Fatalf("Decode accepted %q but gopickle: %v", msg, err)
	}
	if proto == 0 && hasEscapable(got) {
		return // gopickle's known protocol-0 escape bug, not ours
	}
	if !reflect.DeepEqual(any(got), want) && !(hasNaN(got) || hasNaN(want)) {
		t.Fatalf("Decode and gopickle disagree on %q:\nDecode   %#v\ngopickle %#v", msg, got, want)
	}
}

// TestDecodeAgreesWithGopickle runs every seed of the fuzz corpus (real
// fail2ban-client messages in every protocol, and the hostile cases)
// through both decoders.
func TestDecodeAgreesWithGopickle(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no FuzzDecode corpus: %v", err)
	}
	accepted := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := corpusBytes(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, _, err := Decode(msg); err == nil {
			accepted++
		}
		t.Run(filepath.Base(f), func(t *testing.T) { agreeWithGopickle(t, msg) })
	}
	if accepted == 0 {
		t.Fatal("no corpus message was accepted: the comparison compared nothing")
	}
}

// corpusBytes reads Go's fuzz corpus file format for one []byte argument.
func corpusBytes(b []byte) ([]byte, error) {
	lines := strings.SplitN(string(b), "\n", 2)
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "go test fuzz v1") {
		return nil, fmt.Errorf("not a corpus file")
	}
	body := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(body, "[]byte(") || !strings.HasSuffix(body, ")") {
		return nil, fmt.Errorf("not a []byte corpus entry")
	}
	var s string
	if _, err := fmt.Sscanf(body[len("[]byte("):len(body)-1], "%q", &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// FuzzDecodeMatchesGopickle: on any input Decode accepts, gopickle behind
// Check neither panics nor disagrees.
func FuzzDecodeMatchesGopickle(f *testing.F) {
	for _, tc := range hostileCases() {
		if len(tc.msg) <= 4096 {
			f.Add([]byte(tc.msg))
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) { agreeWithGopickle(t, msg) })
}

// BenchmarkDecodeGopickle is the attempt message through Check and
// gopickle, beside BenchmarkDecode: why Decode is not gopickle.
func BenchmarkDecodeGopickle(b *testing.B) {
	msg := []byte(attemptMsg)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := gopickleDecode(msg); err != nil {
			b.Fatal(err)
		}
	}
}
