package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/banserver/banserver/bench/floor"
)

// TestBanbenchAgainstFloor runs the command's own flag handling and output
// against an in-process floor server: every request answered, no errors.
func TestBanbenchAgainstFloor(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "floor.sock")
	ln, err := floor.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- floor.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	tests := []struct {
		name string
		args []string
		n    int64
	}{
		{name: "persistent attempts", args: []string{"-clients", "8", "-cmd", "attempt"}, n: 4000},
		{name: "connect per request", args: []string{"-clients", "64", "-mode", "connect", "-cmd", "attempt"}, n: 1000},
		{name: "mix over IPv6 pool", args: []string{"-cmd", "mix", "-pool", "5000", "-warmup", "100"}, n: 2000},
		{name: "ping", args: []string{"-clients", "1", "-cmd", "ping"}, n: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-socket", sock, "-json", "-n", strconv.FormatInt(tt.n, 10)}, tt.args...)
			var out bytes.Buffer
			if err := run(args, &out); err != nil {
				t.Fatal(err)
			}
			var res struct {
				Requests, Replies, OK int64
				ErrorReplies          int64 `json:"error_replies"`
				Refused               int64
				IOErrors              int64 `json:"io_errors"`
				Rate                  float64
				P50, P99              int64 `json:"-"`
			}
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatalf("output %q: %v", out.String(), err)
			}
			if res.Requests != tt.n || res.Replies != tt.n || res.OK != tt.n {
				t.Errorf("requests/replies/ok = %d/%d/%d, want %d", res.Requests, res.Replies, res.OK, tt.n)
			}
			if res.ErrorReplies+res.Refused+res.IOErrors != 0 {
				t.Errorf("errors in %s", out.String())
			}
			if res.Rate <= 0 {
				t.Errorf("rate %v", res.Rate)
			}
		})
	}
}

func TestBanbenchTextLine(t *testing.T) {
	// Against nothing: every request refused, and the line says so.
	var out bytes.Buffer
	err := run([]string{"-socket", filepath.Join(t.TempDir(), "none.sock"), "-n", "5", "-clients", "2", "-label", "dead"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	line := out.String()
	for _, want := range []string{"dead ", "requests=5 ", "replies=0 "} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
}

func TestBanbenchBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "unbounded", args: []string{"-n", "0", "-duration", "0"}},
		{name: "bad mode", args: []string{"-mode", "pipelined"}},
		{name: "bad cmd", args: []string{"-cmd", "stop"}},
		{name: "stray argument", args: []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := run(tt.args, &bytes.Buffer{}); err == nil {
				t.Error("run succeeded, want an error")
			}
		})
	}
}
