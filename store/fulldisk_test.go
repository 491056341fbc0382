package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

// TestFullDisk: on a full file system a commit fails and its changes are
// refused, the store says so in Health, and once space is back it takes
// changes again without being reopened. Before, the first failure was
// sticky: every later change failed until a restart.
func TestFullDisk(t *testing.T) {
	testenv.Root(t, "mounting a small tmpfs")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	d, err := Open(filepath.Join(dir, "bans.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	putWait(t, d, ban("php", "192.0.2.1", t0, time.Hour, 1))

	// Fill the file system.
	fill := filepath.Join(dir, "fill")
	f, err := os.Create(fill)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()

	// A commit that needs new pages fails; its changes are refused.
	many := make([]Change, 500)
	for i := range many {
		many[i] = ban("php", fmt.Sprintf("2001:db8:1::%x", i+1), t0, time.Hour, 1, "Incorrect token used.")
	}
	if err := d.WaitFor(ctx, d.PutAll(many)); err == nil {
		t.Fatal("a commit of 500 bans on a full file system succeeded")
	}
	if h := d.Health(); !h.Failing || h.Failed < 1 || h.Err == nil {
		t.Fatalf("Health while failing: %+v", h)
	}
	if s := d.CommitStats(); s.Failed < 1 || s.Failed > s.Latency.Count {
		t.Fatalf("CommitStats while failing: %d failed of %d commits, want at least 1", s.Failed, s.Latency.Count)
	}
	live, err := d.Live("php", t0)
	if err != nil || len(live) != 1 {
		t.Fatalf("Live after the failed commit: %d bans, %v; want the 1 stored before", len(live), err)
	}

	// Space is back: the next commit succeeds, with no reopen.
	os.Remove(fill)
	if err := d.WaitFor(ctx, d.PutAll(many)); err != nil {
		t.Fatalf("commit once space is back: %v", err)
	}
	if h := d.Health(); h.Failing {
		t.Fatalf("Health after recovery: %+v", h)
	}
	if live, _ := d.Live("php", t0); len(live) != 501 {
		t.Fatalf("Live after recovery: %d bans, want 501", len(live))
	}
}
