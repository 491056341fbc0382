package source

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"syscall"
)

// fileID tells files apart: a file keeps its device and inode across
// renames, and a new file at the same path has another inode (an inode is
// not reused while this package holds the old file open).
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: st.Ino}
	}
	return fileID{}
}

// firstLine hashes a file's first line as fail2ban does (the MD5, in hex,
// of the line with its newline, kept as the log's firstlinemd5): it tells a
// file rewritten in place (copytruncate) or a new file that got a stored
// inode from the one the position was saved for. It returns "" while the
// first line is incomplete; a first line longer than max is hashed on its
// first max bytes (fail2ban hashes it whole), so the read stays bounded.
// n is how many bytes were hashed: a later check re-reads only those.
func firstLine(f *os.File, max int) (hash string, n int, err error) {
	buf := make([]byte, 0, min(4096, max))
	for len(buf) < max {
		if cap(buf) == len(buf) {
			buf = append(buf, make([]byte, min(len(buf), max-len(buf)))...)[:len(buf)]
		}
		k, err := f.ReadAt(buf[len(buf):cap(buf)], int64(len(buf)))
		if i := bytes.IndexByte(buf[len(buf):len(buf)+k], '\n'); i >= 0 {
			buf = buf[:len(buf)+i+1]
			sum := md5.Sum(buf)
			return hex.EncodeToString(sum[:]), len(buf), nil
		}
		buf = buf[:len(buf)+k]
		if errors.Is(err, io.EOF) {
			return "", 0, nil
		}
		if err != nil {
			return "", 0, err
		}
	}
	sum := md5.Sum(buf[:max])
	return hex.EncodeToString(sum[:]), max, nil
}

// sameFirstLine reports whether the first n bytes of f still hash to hash.
func sameFirstLine(f *os.File, hash string, n int) (bool, error) {
	buf := make([]byte, n)
	k, err := f.ReadAt(buf, 0)
	if k < n {
		if err == nil || errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, err
	}
	sum := md5.Sum(buf)
	return hex.EncodeToString(sum[:]) == hash, nil
}
