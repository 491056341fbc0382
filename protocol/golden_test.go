package protocol

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// TestAppendReplyGolden pins the exact bytes of every reply case in every
// protocol, so an encoding change shows up in review even when python3
// still loads it. Refresh with -update (TestAppendReplyPython checks the
// new bytes against python3).
func TestAppendReplyGolden(t *testing.T) {
	var buf bytes.Buffer
	for proto := 0; proto <= 5; proto++ {
		for _, c := range replyCases {
			out, err := AppendReply(nil, proto, c.code, c.v)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) > 200 {
				out = out[:200]
			}
			fmt.Fprintf(&buf, "%d %-24s %q\n", proto, c.name, out)
		}
	}
	const path = "testdata/replies.golden"
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		gotLines, wantLines := bytes.Split(buf.Bytes(), []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := range min(len(gotLines), len(wantLines)) {
			if !bytes.Equal(gotLines[i], wantLines[i]) {
				t.Fatalf("line %d differs:\ngot  %s\nwant %s", i+1, gotLines[i], wantLines[i])
			}
		}
		t.Fatalf("golden length differs: got %d lines, want %d", len(gotLines), len(wantLines))
	}
}
