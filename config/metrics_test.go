package config

import "testing"

// TestLoadMetrics: metrics are off by default; metrics.listen takes a TCP
// address or a Unix socket's absolute path, from the file or the
// environment, and refuses anything else with the key's path.
func TestLoadMetrics(t *testing.T) {
	listen := func(want string, unix bool) func(t *testing.T, c *Config) {
		return func(t *testing.T, c *Config) {
			t.Helper()
			if c.Metrics.Listen != want || c.Metrics.Enabled() != (want != "") || c.Metrics.Unix() != unix {
				t.Errorf("metrics %+v (enabled %v, unix %v), want listen %q, unix %v", c.Metrics, c.Metrics.Enabled(), c.Metrics.Unix(), want, unix)
			}
		}
	}
	runLoadCases(t, []loadCase{
		{name: "off by default", yaml: "", check: listen("", false)},
		{name: "loopback and a port", yaml: "metrics:\n  listen: 127.0.0.1:9650\n", check: listen("127.0.0.1:9650", false)},
		{name: "IPv6 loopback", yaml: "metrics:\n  listen: \"[::1]:9650\"\n", check: listen("[::1]:9650", false)},
		{name: "every address", yaml: "metrics:\n  listen: \":9650\"\n", check: listen(":9650", false)},
		{name: "a host name", yaml: "metrics:\n  listen: localhost:9650\n", check: listen("localhost:9650", false)},
		{name: "any free port", yaml: "metrics:\n  listen: 127.0.0.1:0\n", check: listen("127.0.0.1:0", false)},
		{name: "a Unix socket", yaml: "metrics:\n  listen: /run/banserver/metrics.sock\n", check: listen("/run/banserver/metrics.sock", true)},
		{name: "from the environment", env: map[string]string{"BANSERVER_METRICS_LISTEN": "127.0.0.1:9651"}, check: listen("127.0.0.1:9651", false)},
		{name: "no port", yaml: "metrics:\n  listen: 127.0.0.1\n",
			want: []string{"metrics.listen: \"127.0.0.1\": write host:port"}},
		{name: "a port out of range", yaml: "metrics:\n  listen: 127.0.0.1:65536\n",
			want: []string{"metrics.listen: \"127.0.0.1:65536\": the port \"65536\" is not a number from 0 to 65535"}},
		{name: "a port by name", yaml: "metrics:\n  listen: 127.0.0.1:http\n",
			want: []string{"metrics.listen", "the port \"http\""}},
		{name: "a relative socket path", yaml: "metrics:\n  listen: run/metrics.sock\n",
			want: []string{"metrics.listen: \"run/metrics.sock\": write host:port"}},
		{name: "a directory", yaml: "metrics:\n  listen: /run/banserver/\n",
			want: []string{"metrics.listen: \"/run/banserver/\" names a directory"}},
		{name: "the command socket", yaml: "socket:\n  path: /run/ban.sock\nmetrics:\n  listen: /run/ban.sock\n",
			want: []string{"metrics.listen: \"/run/ban.sock\" is socket.path"}},
		{name: "a socket path too long", yaml: "metrics:\n  listen: /" + longPath(120) + "\n",
			want: []string{"metrics.listen: 121 bytes is too long"}},
		{name: "an unknown key", yaml: "metrics:\n  port: 9650\n", kind: ErrUnknownKey,
			want: []string{"metrics.port"}},
		{name: "not a section", yaml: "metrics: 127.0.0.1:9650\n",
			want: []string{"metrics"}},
	})
}

// longPath is n letters.
func longPath(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'm'
	}
	return string(b)
}
