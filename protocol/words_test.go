package protocol

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// wordsMessages are requests in every shape DecodeWords should take, and
// some it must leave to Decode.
func wordsMessages(t testing.TB) map[string][]byte {
	t.Helper()
	msgs := map[string][]byte{
		"python p4 attempt": []byte(attemptMsg),
		// The PHP client's shape: PROTO 2, EMPTY_LIST, MARK, BINUNICODE..., APPENDS.
		"php p2":              []byte("\x80\x02](X\x03\x00\x00\x00setX\x03\x00\x00\x00apiX\x07\x00\x00\x00attemptX\t\x00\x00\x00192.0.2.7e."),
		"php p2 one word":     []byte("\x80\x02](X\x04\x00\x00\x00pinge."),
		"no PROTO, APPEND":    []byte("]\x8c\x04pinga."),
		"BINPUT":              []byte("\x80\x02]q\x00(X\x04\x00\x00\x00pingq\x01X\x00\x00\x00\x00q\x02e."),
		"empty string":        []byte("\x80\x04](\x8c\x00\x8c\x01xe."),
		"two groups":          []byte("\x80\x04](\x8c\x01a\x8c\x01be\x8c\x01ca(\x8c\x01de."),
		"empty MARK group":    []byte("\x80\x04](e\x8c\x01aa."),
		"memo GET":            []byte("\x80\x04]\x94(\x8c\x01a\x94h\x01e."),
		"int item":            []byte("\x80\x04](\x8c\x01aK\x01e."),
		"empty list":          []byte("\x80\x04]."),
		"tuple":               []byte("\x80\x04\x8c\x01a\x85."),
		"not UTF-8":           []byte("\x80\x04](\x8c\x01\xffe."),
		"after STOP":          []byte("\x80\x04](\x8c\x01ae.."),
		"no STOP":             []byte("\x80\x04](\x8c\x01ae"),
		"PROTO 6":             []byte("\x80\x06](\x8c\x01ae."),
		"FRAME too long":      []byte("\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00](\x8c\x01ae."),
		"BINPUT out of range": []byte("\x80\x02]q\xff(X\x04\x00\x00\x00pinge."),
		"MEMOIZE after MARK":  []byte("\x80\x04](\x94\x8c\x01ae."),
		"string too long":     []byte("\x80\x04](\x8c\x09ae."),
		"nested list":         []byte("\x80\x04](\x8c\x01a]e."),
		"unclosed MARK":       []byte("\x80\x04](\x8c\x01a."),
	}
	for proto := 2; proto <= 5; proto++ {
		for i, args := range [][]any{
			{"set", "api", "attempt", "2001:db8::1", "Incorrect token used."},
			{"ping"},
			{"set", "api", "banip", strings.Repeat("x", 300), "é€😀"},
			{"set", "api", "attempt", "192.0.2.1", int64(3)},
		} {
			out, err := AppendRequest(nil, proto, args)
			if err != nil {
				t.Fatal(err)
			}
			name := "AppendRequest p" + itoa(proto) + " #" + itoa(i)
			if i == 3 {
				name += " int"
			}
			msgs[name] = bytes.TrimSuffix(out, []byte(EndCommand))
		}
	}
	many := make([]any, 2500) // more than one APPENDS batch
	for i := range many {
		many[i] = "w" + itoa(i)
	}
	out, err := AppendRequest(nil, 4, many)
	if err != nil {
		t.Fatal(err)
	}
	msgs["2500 words"] = bytes.TrimSuffix(out, []byte(EndCommand))
	return msgs
}

// agree fails t unless DecodeWords either declines msg or returns exactly
// what Decode does.
func agree(t testing.TB, msg []byte) (took bool) {
	t.Helper()
	words, wproto, ok := DecodeWords(msg)
	if !ok {
		return false
	}
	items, proto, err := Decode(msg)
	if err != nil {
		t.Fatalf("DecodeWords took %q, which Decode refuses: %v", msg, err)
	}
	want := make([]any, len(words))
	for i, w := range words {
		want[i] = w
	}
	if !reflect.DeepEqual(items, want) || proto != wproto {
		t.Fatalf("%q: DecodeWords = %q, %d; Decode = %#v, %d", msg, words, wproto, items, proto)
	}
	return true
}

// TestDecodeWords: every message DecodeWords takes, Decode decodes to the
// same strings and protocol; the common shapes are taken; and so is
// nothing that a single changed byte or a truncation turns into something
// Decode reads otherwise.
func TestDecodeWords(t *testing.T) {
	mustTake := []string{"python p4 attempt", "php p2", "php p2 one word", "no PROTO, APPEND", "BINPUT",
		"empty string", "two groups", "empty MARK group", "2500 words"}
	msgs := wordsMessages(t)
	for name, msg := range msgs {
		took := agree(t, msg)
		want := strings.HasPrefix(name, "AppendRequest") && !strings.HasSuffix(name, " int")
		for _, m := range mustTake {
			want = want || name == m
		}
		if took != want {
			t.Errorf("%s: DecodeWords took it: %v, want %v", name, took, want)
		}
		if len(msg) > 400 {
			continue
		}
		for i := range msg {
			agree(t, msg[:i])
			for _, b := range []byte{0, 1, 2, 0x7f, 0x80, 0xff, opMark, opAppends, opAppend, opStop, opMemoize, opBinPut, opShortBinUnicode, opBinUnicode, opFrame, opEmptyList} {
				c := bytes.Clone(msg)
				c[i] = b
				agree(t, c)
			}
		}
	}
}

// TestDecodeWordsAllocs pins the fast path's allocations: the strings'
// one backing string and the slice.
func TestDecodeWordsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are exact only without -race; make test also runs without it")
	}
	msg := []byte(attemptMsg)
	n := testing.AllocsPerRun(100, func() {
		if _, _, ok := DecodeWords(msg); !ok {
			t.Fatal("attempt not taken")
		}
	})
	if n > 2 {
		t.Errorf("DecodeWords of the attempt allocates %v times, want <= 2", n)
	}
}

func FuzzDecodeWords(f *testing.F) {
	for _, msg := range wordsMessages(f) {
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, msg []byte) { agree(t, msg) })
}

func BenchmarkDecodeWords(b *testing.B) {
	msg := []byte(attemptMsg)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := DecodeWords(msg); !ok {
			b.Fatal("not taken")
		}
	}
}
