package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/banserver/banserver/testenv"
)

var update = flag.Bool("update", false, "regenerate testdata through python3")

// needTool skips a test when a tool is missing, except under CI=true where
// a missing peer is a broken pipeline and must fail.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	testenv.Missingf(t, "%s not found: %v", name, err)
	return ""
}

// fail2banPath lets python3 import Debian's fail2ban.
const fail2banPath = "/usr/lib/python3/dist-packages"

// python runs a python3 script with input on stdin and returns stdout.
func python(t testing.TB, script string, input []byte) []byte {
	t.Helper()
	py := needTool(t, "python3")
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+fail2banPath, "PYTHONIOENCODING=utf-8")
	cmd.Stdin = bytes.NewReader(input)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("python3: %v\n%s", err, errb.String())
	}
	return out.Bytes()
}

// pyPickles evaluates Python expressions and pickles each with the given
// protocol; exprs may use os, fail2ban's IPAddr and exceptions.
func pyPickles(t testing.TB, proto int, exprs []string) [][]byte {
	t.Helper()
	in, _ := json.Marshal(exprs)
	script := `
import sys, json, pickle, os
from fail2ban.server.ipdns import IPAddr
from fail2ban.exceptions import UnknownJailException, DuplicateJailException
class E:
    def __reduce__(self): return (os.system, ("true",))
proto = ` + itoa(proto) + `
out = [pickle.dumps(eval(e), proto).hex() for e in json.load(sys.stdin)]
json.dump(out, sys.stdout)
`
	var hexes []string
	if err := json.Unmarshal(python(t, script, in), &hexes); err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(hexes))
	for i, h := range hexes {
		out[i] = unhex(t, h)
	}
	return out
}

// pyRepr loads each pickle with python3 and returns repr() of the result,
// or "ERR <exception repr>".
func pyRepr(t testing.TB, pickles [][]byte) []string {
	t.Helper()
	hexes := make([]string, len(pickles))
	for i, p := range pickles {
		hexes[i] = hexString(p)
	}
	in, _ := json.Marshal(hexes)
	script := `
import sys, json, pickle
import fail2ban.exceptions
out = []
for h in json.load(sys.stdin):
    try:
        out.append(repr(pickle.loads(bytes.fromhex(h))))
    except Exception as e:
        out.append("ERR " + repr(e))
json.dump(out, sys.stdout)
`
	var reprs []string
	if err := json.Unmarshal(python(t, script, in), &reprs); err != nil {
		t.Fatal(err)
	}
	return reprs
}

func itoa(i int) string { return strconv.Itoa(i) }

func hexString(b []byte) string { return hex.EncodeToString(b) }

func unhex(t testing.TB, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatalf("bad hex %q: %v", h, err)
	}
	return b
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
