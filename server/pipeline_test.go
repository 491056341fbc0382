package server_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
)

// TestPipelined: a client that writes many requests before reading gets
// every reply, in order, each the one its request asks for; one too large
// for the message limit among them is answered in its place; the close
// command after them is honoured once they are answered (the server holds
// replies while more complete requests are buffered, and writes them when
// none is).
func TestPipelined(t *testing.T) {
	d := start(t, server.Options{MaxMessage: 4096}, apiJail(1000))
	cl := dial(t, d.sock)
	var batch []byte
	var want []string
	for i := range 300 {
		var args []any
		switch {
		case i == 150:
			args = []any{"echo", string(bytes.Repeat([]byte("x"), 5000))} // over MaxMessage
			want = append(want, "error")
		case i%3 == 0:
			args = []any{"echo", fmt.Sprint(i)}
			want = append(want, fmt.Sprint([]any{fmt.Sprint(i)}))
		case i%3 == 1:
			args = []any{"set", "api", "attempt", fmt.Sprintf("192.0.2.%d", i%250+1)}
			want = append(want, "attempt")
		default:
			args = []any{"ping"}
			want = append(want, "pong")
		}
		msg, err := protocol.AppendRequest(nil, 4, args)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, msg...)
	}
	batch = append(batch, protocol.CloseCommand+protocol.EndCommand...)
	go cl.c.Write(batch) // the replies may fill the socket before the requests are all written
	for i, w := range want {
		msg, err := cl.r.ReadMessage()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		code, v, err := protocol.DecodeReply(msg)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		switch w {
		case "error":
			if code != 1 {
				t.Fatalf("reply %d to a message over the limit: %d, %v; want an error", i, code, v)
			}
		case "attempt":
			if n, ok := v.(int64); code != 0 || !ok || n < 1 {
				t.Fatalf("reply %d to an attempt: %d, %#v", i, code, v)
			}
		default:
			if code != 0 || fmt.Sprint(v) != w {
				t.Fatalf("reply %d: %d, %v; want %s", i, code, v, w)
			}
		}
	}
	if _, err := cl.r.ReadMessage(); err != io.EOF {
		t.Fatalf("after the close command: %v, want EOF", err)
	}
}
