package testenv

import "testing"

// TestRedisKeepsAcknowledged: a kill -9 keeps what the server answered
// (append-only file, fsync always), and Wipe empties it.
func TestRedisKeepsAcknowledged(t *testing.T) {
	r := StartRedis(t)
	if _, err := r.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	r.Kill()
	r.Start()
	if v, err := r.Do("GET", "k"); err != nil || v != "v" {
		t.Fatalf("after kill -9: GET k = %q, %v; want v", v, err)
	}
	r.Kill()
	r.Wipe()
	r.Start()
	if v, err := r.Do("EXISTS", "k"); err != nil || v != "0" {
		t.Fatalf("after Wipe: EXISTS k = %q, %v; want 0", v, err)
	}
	if _, err := r.Do("NOSUCHCOMMAND"); err == nil {
		t.Fatal("an unknown command answered without an error")
	}
}
