package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writeStore writes a real store with n bans at path and closes it.
func writeStore(t *testing.T, path string, n int) {
	t.Helper()
	d, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		d.Put(ban("php", fmt.Sprintf("2001:db8::%x", i), t0, -1, 1, "some failure message"))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCorrupt: a file that is not a store, or a damaged one, gives an error
// wrapping ErrCorrupt, from Open or from the first call that reads the
// damage; never a panic or a crash.
func TestCorrupt(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	tests := []struct {
		name string
		make func(t *testing.T, path string)
		// readErr: if Open succeeds, Live must fail. False where the
		// damage may have hit only pages bbolt no longer uses (it copies
		// on write): then any answer without a panic will do.
		readErr bool
	}{
		{"random bytes", func(t *testing.T, path string) { os.WriteFile(path, garbage(64<<10), 0o600) }, true},
		{"a short text file", func(t *testing.T, path string) { os.WriteFile(path, []byte("hello\n"), 0o600) }, true},
		{"a page of zeros", func(t *testing.T, path string) { os.WriteFile(path, make([]byte, 4096), 0o600) }, true},
		{"truncated to half", func(t *testing.T, path string) {
			writeStore(t, path, 5000)
			fi, _ := os.Stat(path)
			os.Truncate(path, fi.Size()/2)
		}, true},
		{"data pages overwritten", func(t *testing.T, path string) {
			writeStore(t, path, 5000)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, _ := f.Stat()
			// Pages 0 and 1 are bbolt's meta pages, checksummed; the
			// rest is trusted, so damage there must not crash us.
			pg := int64(os.Getpagesize())
			f.WriteAt(garbage(int(fi.Size()-2*pg)), 2*pg)
		}, true},
		{"leaf pages overwritten", func(t *testing.T, path string) {
			writeStore(t, path, 5000)
			// Damage only pages holding records (bbolt's "leaf" and
			// "branch" pages), a few in the middle: Open may succeed and reading
			// meet it.
			var pages []int
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.View(func(tx *bolt.Tx) error {
				for id := 2; ; id++ {
					pi, err := tx.Page(id)
					if err != nil || pi == nil {
						return err
					}
					if pi.Type == "leaf" || pi.Type == "branch" {
						pages = append(pages, id)
					}
				}
			})
			db.Close()
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			pg := int64(os.Getpagesize())
			for _, id := range pages[len(pages)/2 : len(pages)/2+3] {
				f.WriteAt(garbage(int(pg)), int64(id)*pg)
			}
		}, false},
		{"a bad record", func(t *testing.T, path string) {
			writeStore(t, path, 10)
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketBans).Bucket([]byte("php")).Put(prefixKey(nil, mustPrefix("2001:db8::5")), []byte{1, 2, 3})
			})
			db.Close()
		}, true},
		{"another program's bbolt file", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
			db.Close()
		}, true},
		{"another format version", func(t *testing.T, path string) {
			writeStore(t, path, 1)
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte("banserver-store-99")) })
			db.Close()
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bans.db")
			tt.make(t, path)
			d, err := Open(path, Options{})
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open: %v, want ErrCorrupt", err)
				}
				t.Logf("Open: %v", err)
				return
			}
			defer d.Close()
			// Open could not see the damage: reading must.
			_, lerr := d.Live("", t0)
			_, herr := d.History("", mustPrefix("2001:db8::1"))
			werr := d.WaitFor(context.Background(), d.Put(ban("php", "2001:db8::1", t0, time.Hour, 1)))
			t.Logf("Live: %v; History: %v; WaitFor: %v", lerr, herr, werr)
			if tt.readErr && !errors.Is(lerr, ErrCorrupt) {
				t.Errorf("Live on a damaged file: %v, want ErrCorrupt", lerr)
			}
		})
	}
}
