package logjail

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/source"
)

// seedFilter is the seed's application log: a date, the address, a word
// and the message.
func seedSettings(path string) Settings {
	return Settings{
		LogPaths:    []LogPath{{Path: path}},
		Backend:     "polling",
		FailRegex:   []string{`^\s*<ADDR>\s+\S+\s+Incorrect token used\.`},
		DatePattern: `^{DATE}`,
	}
}

// waitBanned polls until addr is banned in the jail, for at most 20 s.
func waitBanned(t *testing.T, m *jail.Manager, jailName, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, _ := m.IsBanned(jailName, netip.MustParseAddr(addr)); b {
			return
		}
		if time.Now().After(deadline) {
			st, _ := m.Status(jailName)
			t.Fatalf("%s not banned within 20s; status %+v", addr, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadsAndBans: a jail reading the seed's log bans after maxretry
// matching lines at the lines' own time; old lines outside findtime count
// for nothing; lines appended later are read; a restart resumes at the
// stored position and counts nothing twice.
func TestReadsAndBans(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "api.log")
	now := time.Now()
	var text string
	// Three lines a day old: outside findtime.
	for i := range 3 {
		text += fmt.Sprintf("%s 192.0.2.1 - Incorrect token used. (old %d)\n", now.Add(-24*time.Hour).Format("2006-01-02T15:04:05"), i)
	}
	// Two recent ones of 192.0.2.2 and a line that is no failure.
	for i := range 2 {
		text += fmt.Sprintf("%s 192.0.2.2 - Incorrect token used. (%d)\n", now.Format("2006-01-02T15:04:05"), i)
	}
	text += now.Format("2006-01-02T15:04:05") + " 192.0.2.3 - Token accepted.\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	jails := jail.NewManager(jail.Options{SelfAddrs: func() []netip.Addr { return nil }})
	if err := jails.Add(jail.Config{Name: "api", MaxRetry: 3, FindTime: 30 * time.Minute, BanTime: time.Hour}); err != nil {
		t.Fatal(err)
	}
	pos := &source.MemoryPositions{}
	newManager := func() *Manager {
		return New(Options{
			Attempt:   jails.AttemptAt,
			Positions: func(string) source.Positions { return pos },
		})
	}
	lm := newManager()
	if err := lm.Configure("api", seedSettings(path)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lm.Run(ctx) }()
	lm.Start("api")
	deadline := time.Now().Add(20 * time.Second)
	for lm.Stats("api").Lines < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("lines read: %+v", lm.Stats("api"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, _ := jails.Status("api")
	if st.TotalFailed != 2 || st.CurrentlyBanned != 0 {
		t.Fatalf("after the first read: %+v, want 2 failures (the old lines count for nothing) and no ban", st)
	}
	if files := lm.Files("api"); len(files) != 1 || files[0] != path {
		t.Fatalf("Files = %q", files)
	}
	cancel()
	<-done

	// A restart resumes after the lines read; one more line bans.
	lm = newManager()
	lm.Configure("api", seedSettings(path))
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go lm.Run(ctx)
	lm.Start("api")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s 192.0.2.2 - Incorrect token used. (new)\n", time.Now().Format("2006-01-02T15:04:05"))
	f.Close()
	waitBanned(t, jails, "api", "192.0.2.2")
	if st, _ := jails.Status("api"); st.TotalFailed != 3 {
		t.Fatalf("after the restart: %+v, want 3 failures: nothing counted twice", st)
	}
}

// TestConfigureRefuses: a bad regex or filter is refused, naming it, and
// the jail keeps its settings.
func TestConfigureRefuses(t *testing.T) {
	lm := New(Options{Attempt: func(string, netip.Addr, time.Time, []string) (int, error) { return 1, nil }})
	good := seedSettings("/nonexistent/api.log")
	if err := lm.Configure("api", good); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		s    Settings
	}{
		{name: "unbalanced regex", s: Settings{LogPaths: good.LogPaths, FailRegex: []string{`^(<ADDR>`}}},
		{name: "no host group", s: Settings{LogPaths: good.LogPaths, FailRegex: []string{`^failed`}}},
		{name: "unknown filter", s: Settings{LogPaths: good.LogPaths, Filter: "nosuchfilter", FilterDirs: []string{t.TempDir()}}},
		{name: "bad backend", s: Settings{LogPaths: good.LogPaths, Backend: "inotfy", FailRegex: good.FailRegex}},
		{name: "bad encoding", s: Settings{LogPaths: good.LogPaths, LogEncoding: "klingon", FailRegex: good.FailRegex}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := lm.Configure("api", tt.s); err == nil {
				t.Fatal("Configure accepted it")
			}
			if s, _ := lm.Settings("api"); !s.equal(good) {
				t.Fatalf("settings changed by a refused Configure: %+v", s)
			}
		})
	}
}
