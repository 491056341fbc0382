package packaging

import (
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/protocol"
)

const conffile = "banserver.yaml"

// commentedKeys may be documented by a commented-out example instead of a
// key: an access rule names exactly one of user, uid, group and gid, and
// the conffile's one rule is the banserver group's.
var commentedKeys = []string{"access[].user", "access[].uid", "access[].gid"}

// TestConffileHasEveryKey keeps the conffile documenting every key of
// config.Config, as config's TestExampleHasEveryKey does for the example:
// a field added to the struct must be added here too, with its comment.
func TestConffileHasEveryKey(t *testing.T) {
	src, err := os.ReadFile(conffile)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	have := map[string]*yaml.Node{}
	collectKeys(doc.Content[0], "", have)
	known := keyPaths(reflect.TypeFor[config.Config](), "")
	for _, p := range known {
		if slices.Contains(commentedKeys, p) {
			leaf := p[strings.LastIndex(p, ".")+1:]
			if !regexp.MustCompile(`(?m)^\s*#\s+(- )?` + regexp.QuoteMeta(leaf) + `: `).Match(src) {
				t.Errorf("%s: %s is neither a key nor in a commented-out example", conffile, p)
			}
			continue
		}
		k, ok := have[p]
		if !ok {
			t.Errorf("%s lacks %s", conffile, p)
			continue
		}
		if k.HeadComment == "" && !strings.HasSuffix(p, "[].classes") && !strings.HasSuffix(p, "[].jails") {
			t.Errorf("%s: %s has no comment above it", conffile, p)
		}
	}
	for p := range have {
		if !slices.Contains(known, p) {
			t.Errorf("%s has %s, which config.Config does not", conffile, p)
		}
	}
}

// TestConffileLoads loads the conffile as the daemon would. Its access
// rule names the banserver group, which postinst creates: on a machine
// without it the rule is pointed at the test's own group instead.
func TestConffileLoads(t *testing.T) {
	path := conffile
	if _, err := user.LookupGroup("banserver"); err != nil {
		g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
		if err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(conffile)
		if err != nil {
			t.Fatal(err)
		}
		src = regexp.MustCompile(`(?m)group: banserver$`).ReplaceAll(src, []byte("group: "+g.Name))
		path = filepath.Join(t.TempDir(), conffile)
		if err := os.WriteFile(path, src, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Logf("no banserver group here: loading with group %s", g.Name)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("%s: %v", conffile, err)
	}
	if len(c.Jails) != 1 || c.Jails[0].Name != "api" || c.Jails[0].ReadsLogs() {
		t.Errorf("jails = %+v, want the api jail alone, fed over the socket", c.Jails)
	}
	mode, err := c.Socket.FileMode()
	if err != nil || mode != 0o660 {
		t.Errorf("socket.mode = %v (%v), want 0660", mode, err)
	}
	if c.DB != "/var/lib/banserver/bans.db" {
		t.Errorf("db = %q, want the StateDirectory's /var/lib/banserver/bans.db", c.DB)
	}
	// The group that owns the socket may report on every jail, and
	// nothing else.
	if len(c.Access) != 1 {
		t.Fatalf("access = %+v, want one rule", c.Access)
	}
	r := c.Access[0]
	if r.Group != c.Socket.Group || !slices.Equal(r.CommandClasses(), []protocol.Class{protocol.ClassReport}) || !slices.Equal(r.Jails, []string{"*"}) {
		t.Errorf("access[0] = %+v, want group %s with [report] on [\"*\"]", r, c.Socket.Group)
	}
}

// TestSocketUnitMatchesConffile keeps banserver.socket creating the socket
// the conffile describes: with socket activation systemd's settings apply.
func TestSocketUnitMatchesConffile(t *testing.T) {
	src, err := os.ReadFile(conffile)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Socket struct{ Path, Mode, Group string }
	}
	if err := yaml.Unmarshal(src, &c); err != nil {
		t.Fatal(err)
	}
	unit := unitSettings(t, "systemd/banserver.socket")
	for _, tc := range []struct{ name, unit, conf string }{
		{name: "ListenStream", unit: unit["ListenStream"], conf: c.Socket.Path},
		{name: "SocketGroup", unit: unit["SocketGroup"], conf: c.Socket.Group},
		{name: "SocketMode", unit: unit["SocketMode"], conf: c.Socket.Mode},
	} {
		if tc.unit != tc.conf {
			t.Errorf("banserver.socket %s=%s, conffile says %q", tc.name, tc.unit, tc.conf)
		}
	}
	svc := unitSettings(t, "systemd/banserver.service")
	if rd := svc["RuntimeDirectory"]; "/run/"+rd != filepath.Dir(c.Socket.Path) {
		t.Errorf("RuntimeDirectory=%s but the socket is %s", rd, c.Socket.Path)
	}
	if _, ok := svc["Requires"]; ok {
		t.Errorf("banserver.service Requires= %s: the socket unit is optional", svc["Requires"])
	}
}

// unitSettings reads a unit file's last value of each setting.
func unitSettings(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// collectKeys adds n's leaf keys to out by path, lowercased, list items
// as name[], as config's own test walks the example.
func collectKeys(n *yaml.Node, path string, out map[string]*yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := strings.ToLower(k.Value)
			if path != "" {
				p = path + "." + p
			}
			if i == 0 && k.HeadComment == "" {
				k.HeadComment = n.HeadComment // a list item's comment is its first key's
			}
			if v.Kind == yaml.MappingNode || (v.Kind == yaml.SequenceNode && len(v.Content) > 0 && v.Content[0].Kind == yaml.MappingNode) {
				collectKeys(v, p, out)
				continue
			}
			out[p] = k
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			collectKeys(item, path+"[]", out)
		}
	}
}

// keyPaths lists every key of the struct type t by its mapstructure tags,
// as config reads them: nested structs as sections, slices of structs as
// name[].
func keyPaths(t reflect.Type, section string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		p := strings.ToLower(name)
		if section != "" {
			p = section + "." + p
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]():
			out = append(out, keyPaths(ft, p)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, keyPaths(ft.Elem(), p+"[]")...)
		default:
			out = append(out, p)
		}
	}
	return out
}
