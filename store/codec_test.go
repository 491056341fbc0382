package store

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ban  Ban
	}{
		{"plain", Ban{Start: t0, BanTime: time.Hour, Count: 1}},
		{"forever with matches", Ban{Start: t0, BanTime: -1, Count: 3, Matches: []string{"a", "", "héllo\x00"}}},
		{"zero start", Ban{BanTime: time.Minute}},
		{"before 1970", Ban{Start: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC), BanTime: time.Hour, Count: maxCount}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := appendBan(nil, &tt.ban)
			var got Ban
			if err := decodeBan(v, &got); err != nil {
				t.Fatal(err)
			}
			if !got.Start.Equal(tt.ban.Start) || got.BanTime != tt.ban.BanTime || got.Count != tt.ban.Count || !slices.Equal(got.Matches, tt.ban.Matches) {
				t.Errorf("decoded %+v, want %+v", got, tt.ban)
			}
			h := History{Count: tt.ban.Count, LastStart: tt.ban.Start, LastBanTime: tt.ban.BanTime}
			gh, err := decodeHistory(appendHistory(nil, h))
			if err != nil {
				t.Fatal(err)
			}
			if gh.Count != h.Count || !gh.LastStart.Equal(h.LastStart) || gh.LastBanTime != h.LastBanTime {
				t.Errorf("history decoded %+v, want %+v", gh, h)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := appendBan(nil, &Ban{Start: t0, BanTime: time.Hour, Count: 1, Matches: []string{"abc"}})
	tests := []struct {
		name string
		v    []byte
	}{
		{"empty", nil},
		{"short", valid[:10]},
		{"version 2", append([]byte{2}, valid[1:]...)},
		{"match cut short", valid[:len(valid)-1]},
		{"trailing byte", append(slices.Clone(valid), 0)},
		{"huge match count", append(slices.Clone(valid[:banFixed+1]), 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"overlong varint", append(slices.Clone(valid[:banFixed]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Ban
			if err := decodeBan(tt.v, &b); !errors.Is(err, errBadRecord) {
				t.Errorf("decodeBan = %v, want errBadRecord", err)
			}
		})
	}
}

// FuzzDecode: random bytes never make a decoder panic or allocate beyond
// them, and what decodes re-encodes to a value that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add(appendBan(nil, &Ban{Start: t0, BanTime: time.Hour, Count: 1, Matches: []string{"bad token", ""}}))
	f.Add(appendBan(nil, &Ban{BanTime: -1}))
	f.Add(appendHistory(nil, History{Count: 2, LastStart: t0, LastBanTime: time.Hour}))
	f.Add(prefixKey(nil, mustPrefix("2001:db8::/64")))
	f.Add(prefixKey(nil, mustPrefix("192.0.2.1")))
	f.Fuzz(func(t *testing.T, v []byte) {
		if p, err := decodeKey(v); err == nil {
			if k := prefixKey(nil, p); !bytes.Equal(k, v) && p.Masked() == p {
				t.Errorf("key %x decodes to %v, which encodes to %x", v, p, k)
			}
		}
		if h, err := decodeHistory(v); err == nil {
			h2, err := decodeHistory(appendHistory(nil, h))
			if err != nil || h2.Count != h.Count || !h2.LastStart.Equal(h.LastStart) || h2.LastBanTime != h.LastBanTime {
				t.Errorf("history %+v re-decodes to %+v, %v", h, h2, err)
			}
		}
		var b Ban
		if err := decodeBan(v, &b); err != nil {
			return
		}
		if len(b.Matches) > len(v) {
			t.Errorf("%d matches from %d bytes", len(b.Matches), len(v))
		}
		var b2 Ban
		if err := decodeBan(appendBan(nil, &b), &b2); err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", b, err)
		}
		if !b2.Start.Equal(b.Start) || b2.BanTime != b.BanTime || b2.Count != b.Count || !slices.Equal(b2.Matches, b.Matches) {
			t.Errorf("ban %+v re-decodes to %+v", b, b2)
		}
	})
}
