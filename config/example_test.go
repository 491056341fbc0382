package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const examplePath = "../examples/banserver.yaml"

// TestExampleConfig keeps the commented example in examples/ loadable, and
// its socket open to the user its first access rule is for.
func TestExampleConfig(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatalf("examples/banserver.yaml: %v", err)
	}
	if len(c.Jails) != 4 || c.Jails[0].Name != "api" || !c.Jails[2].ReadsLogs() || len(c.Access) != 4 {
		t.Fatalf("example config: jails %+v, access %+v", c.Jails, c.Access)
	}
	// The www-data rule is worth nothing if www-data cannot open the
	// socket: the file's group must be www-data with group read-write.
	mode, err := c.Socket.FileMode()
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Access[0]; r.User != "www-data" || c.Socket.Group != "www-data" || mode&0o060 != 0o060 {
		t.Errorf("access[0] is for %q but the socket is group %q mode %o", r.User, c.Socket.Group, mode)
	}
}

// TestExampleHasEveryKey keeps examples/banserver.yaml documenting every
// key of Config: a field added to the struct must be added to the example.
func TestExampleHasEveryKey(t *testing.T) {
	src, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	collectPaths(doc.Content[0], "", have)
	var missing []string
	for _, kp := range keyPaths(reflect.TypeFor[Config](), "") {
		if !have[kp.String()] {
			missing = append(missing, kp.String())
		}
	}
	if len(missing) > 0 {
		t.Errorf("examples/banserver.yaml lacks %s", strings.Join(missing, ", "))
	}
	// And the walk knows every key the example has (it loads, too).
	var known []string
	for _, kp := range keyPaths(reflect.TypeFor[Config](), "") {
		known = append(known, kp.String())
	}
	for p := range have {
		if !slices.Contains(known, p) {
			t.Errorf("examples/banserver.yaml has %s, which Config does not", p)
		}
	}
}

// collectPaths adds the paths of n's leaf keys to out, lowercased, list
// items as name[].
func collectPaths(n *yaml.Node, path string, out map[string]bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, strings.ToLower(k.Value))
			if v.Kind == yaml.MappingNode || (v.Kind == yaml.SequenceNode && len(v.Content) > 0 && v.Content[0].Kind == yaml.MappingNode) {
				collectPaths(v, p, out)
				continue
			}
			out[p] = true
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			collectPaths(item, path+"[]", out)
		}
	}
}
