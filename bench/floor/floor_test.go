package floor

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banserver/banserver/protocol"
)

func serve(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

// TestSession writes raw byte streams and checks the replies and whether
// the server hangs up.
func TestSession(t *testing.T) {
	path := serve(t)
	req := "\x80\x04]\x8c\x04ping\x94a." + protocol.EndCommand
	tests := []struct {
		name    string
		send    string
		replies int
		hangUp  bool // the server closes after the input
	}{
		{name: "one request", send: req, replies: 1},
		{name: "three in one write", send: req + req + req, replies: 3},
		{name: "close command", send: req + protocol.CloseCommand + protocol.EndCommand, replies: 1, hangUp: true},
		{name: "too large then good", send: strings.Repeat("x", maxMessage+10) + protocol.EndCommand + req, replies: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go c.Write([]byte(tt.send))
			rd := protocol.NewReader(c, 1<<10)
			for i := range tt.replies {
				msg, err := rd.ReadMessage()
				if err != nil {
					t.Fatalf("reply %d: %v", i, err)
				}
				if want := bytes.TrimSuffix(reply, []byte(protocol.EndCommand)); !bytes.Equal(msg, want) {
					t.Errorf("reply %d = %q, want %q", i, msg, want)
				}
			}
			if tt.hangUp {
				if _, err := rd.ReadMessage(); !errors.Is(err, io.EOF) {
					t.Errorf("after close command: %v, want EOF", err)
				}
			}
		})
	}
}

// TestReplyLoadsInPython checks the constant reply against the real peer.
func TestReplyLoadsInPython(t *testing.T) {
	py := needTool(t, "python3")
	out, err := pythonLoads(py, bytes.TrimSuffix(reply, []byte(protocol.EndCommand)))
	if err != nil {
		t.Fatal(err)
	}
	if out != "(0, 1)" {
		t.Errorf("python3 loads the reply as %s, want (0, 1)", out)
	}
}

func TestListen(t *testing.T) {
	t.Run("in use", func(t *testing.T) {
		path := serve(t)
		if _, err := Listen(path); !errors.Is(err, ErrInUse) {
			t.Errorf("second Listen: %v, want ErrInUse", err)
		}
	})
	t.Run("stale file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "stale.sock")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		ln, err := Listen(path)
		if err != nil {
			t.Fatalf("Listen over a stale file: %v", err)
		}
		ln.Close()
	})
}
