package gzjoin

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// compareGunzip decodes src with Gunzip and compress/gzip and requires the
// same verdict and output, given the limit; accepted input must give
// segments that splice back to their members' data. It reports whether
// src was accepted.
func compareGunzip(tb testing.TB, src []byte, limit int) bool {
	tb.Helper()
	want, werr := stdGunzip(src)
	got, segs, err := Gunzip([]byte("pre"), src, limit, make([]Segment, 1, 4))
	if werr != nil {
		if err == nil {
			tb.Fatalf("Gunzip accepted what compress/gzip rejects (%v): %x", werr, src)
		}
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrTooLarge) {
			tb.Fatalf("error %v wraps none of the package's errors", err)
		}
		return false
	}
	if limit >= 0 && len(want) > limit {
		if !errors.Is(err, ErrTooLarge) {
			tb.Fatalf("output of %d bytes with limit %d: error %v", len(want), limit, err)
		}
		if string(got) != "pre" {
			tb.Fatalf("failed Gunzip returned %q", got)
		}
		return false
	}
	if err != nil {
		tb.Fatalf("Gunzip rejected what compress/gzip accepts: %v", err)
	}
	if string(got[:3]) != "pre" || !bytes.Equal(got[3:], want) {
		tb.Fatalf("Gunzip output differs from compress/gzip (%d vs %d bytes)", len(got)-3, len(want))
	}
	// One segment per member, in order, covering the output.
	got = got[3:]
	for _, s := range segs {
		if s.Size > len(got) {
			tb.Fatalf("segments cover more than the output")
		}
		if !isSubslice(src, s.Data) {
			tb.Fatalf("segment Data does not alias src")
		}
		checkSegment(tb, s, got[:s.Size])
		got = got[s.Size:]
	}
	if len(got) != 0 {
		tb.Fatalf("segments cover %d bytes less than the output", len(got))
	}
	return true
}

func isSubslice(outer, inner []byte) bool {
	if len(inner) == 0 {
		return true
	}
	for i := range len(outer) - len(inner) + 1 {
		if &outer[i] == &inner[0] {
			return true
		}
	}
	return false
}

func TestGunzipOracle(t *testing.T) {
	payloads := testPayloads()
	for _, name := range slices.Sorted(maps.Keys(payloads)) {
		for _, level := range testLevels() {
			t.Run(fmt.Sprintf("%s/%d", name, level), func(t *testing.T) {
				src := gzipLevel(t, payloads[name], level)
				if !compareGunzip(t, src, -1) {
					t.Fatal("rejected")
				}
				_, segs, err := Gunzip(nil, src, -1, nil)
				if err != nil || len(segs) != 1 {
					t.Fatalf("%d segments, %v", len(segs), err)
				}
			})
		}
	}
}

func TestGunzipMultiMember(t *testing.T) {
	var src []byte
	var want []byte
	for i, level := range []int{flate.BestSpeed, flate.NoCompression, flate.BestCompression, flate.HuffmanOnly} {
		data := otlpTraces(i*7, uint64(i))
		src = append(src, gzipLevel(t, data, level)...)
		want = append(want, data...)
	}
	s, fb, eb := encodeStream([]byte("fixed final block"), []encKind{encFixed}, 0, 0x55)
	_ = fb
	_ = eb
	src = append(src, gzipWrap(s, []byte("fixed final block"))...)
	want = append(want, "fixed final block"...)
	src = append(src, gzipLevel(t, nil, flate.BestSpeed)...) // an empty member
	if !compareGunzip(t, src, -1) {
		t.Fatal("rejected")
	}
	got, segs, err := Gunzip(nil, src, -1, nil)
	if err != nil || !bytes.Equal(got, want) || len(segs) != 6 {
		t.Fatalf("%d segments, %v", len(segs), err)
	}
	if segs[4].Size != 17 || segs[5].Size != 0 {
		t.Fatalf("segment sizes %d %d", segs[4].Size, segs[5].Size)
	}
	// The limit counts the whole output.
	if !errors.Is(func() error { _, _, err := Gunzip(nil, src, len(want)-1, nil); return err }(), ErrTooLarge) {
		t.Fatal("limit not applied across members")
	}
	if _, _, err := Gunzip(nil, src, len(want), nil); err != nil {
		t.Fatal(err)
	}
}

// gzipMember builds a member with the given header flags and fields
// (FHCRC computed correctly unless badHCRC).
func gzipMember(flg byte, extra []byte, name, comment string, badHCRC bool, data []byte) []byte {
	h := []byte{0x1f, 0x8b, 8, flg, 1, 2, 3, 4, 0, 3}
	if flg&fEXTRA != 0 {
		h = binary.LittleEndian.AppendUint16(h, uint16(len(extra)))
		h = append(h, extra...)
	}
	if flg&fNAME != 0 {
		h = append(append(h, name...), 0)
	}
	if flg&fCOMMENT != 0 {
		h = append(append(h, comment...), 0)
	}
	if flg&fHCRC != 0 {
		c := uint16(crc32.ChecksumIEEE(h))
		if badHCRC {
			c ^= 1
		}
		h = binary.LittleEndian.AppendUint16(h, c)
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	fw.Write(data)
	fw.Close()
	h = append(h, buf.Bytes()...)
	h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE(data))
	return binary.LittleEndian.AppendUint32(h, uint32(len(data)))
}

func TestGunzipHeaders(t *testing.T) {
	data := []byte("hello, header")
	good := gzipMember(0, nil, "", "", false, data)
	type tc struct {
		name  string
		src   []byte
		valid bool
	}
	cases := []tc{
		{"plain", good, true},
		{"all fields", gzipMember(fEXTRA|fNAME|fCOMMENT|fHCRC, []byte("ex\x00tra"), "file.pb", "comment", false, data), true},
		{"latin-1 name", gzipMember(fNAME, nil, "caf\xe9", "", false, data), true},
		{"empty extra and strings", gzipMember(fEXTRA|fNAME|fCOMMENT, nil, "", "", false, data), true},
		{"header CRC", gzipMember(fHCRC, nil, "", "", false, data), true},
		{"bad header CRC", gzipMember(fHCRC|fNAME, nil, "n", "", true, data), false},
		{"name 511 bytes", gzipMember(fNAME, nil, strings.Repeat("n", 511), "", false, data), true},
		{"name 512 bytes", gzipMember(fNAME, nil, strings.Repeat("n", 512), "", false, data), false},
		{"comment 511 bytes", gzipMember(fCOMMENT|fNAME, nil, "x", strings.Repeat("c", 511), false, data), true},
		{"comment 512 bytes", gzipMember(fCOMMENT, nil, "", strings.Repeat("c", 512), false, data), false},
		{"extra 65535 bytes", gzipMember(fEXTRA, bytes.Repeat([]byte{7}, 65535), "", "", false, data), true},
		{"reserved flags", gzipMember(0xe0, nil, "", "", false, data), true},
		{"text flag", gzipMember(1, nil, "", "", false, data), true},
		{"bad magic", append([]byte{0x1f, 0x8c}, good[2:]...), false},
		{"bad magic 2", append([]byte{0x1e}, good[1:]...), false},
		{"method 7", append([]byte{0x1f, 0x8b, 7}, good[3:]...), false},
		{"empty", nil, false},
		{"one byte", []byte{0x1f}, false},
		{"header only", good[:10], false},
		{"bad CRC", append(append([]byte(nil), good[:len(good)-8]...), 0, 0, 0, 0, byte(len(data)), 0, 0, 0), false},
		{"bad size", append(append([]byte(nil), good[:len(good)-4]...), byte(len(data)+1), 0, 0, 0), false},
		{"size mod 2^32", good, true},
		{"second member", append(append([]byte(nil), good...), good...), true},
		{"zero-filled tail of 10", append(append([]byte(nil), good...), make([]byte, 10)...), false},
		{"zero-filled tail of 20", append(append([]byte(nil), good...), make([]byte, 20)...), false},
		{"second member truncated", append(append([]byte(nil), good...), good[:len(good)-1]...), false},
	}
	for n := 1; n <= 11; n++ {
		cases = append(cases, tc{fmt.Sprintf("garbage tail of %d", n), append(append([]byte(nil), good...), bytes.Repeat([]byte{0x1f}, n)...), false})
		cases = append(cases, tc{fmt.Sprintf("header tail of %d", n), append(append([]byte(nil), good...), good[:min(n, len(good))]...), false})
	}
	all := gzipMember(fEXTRA|fNAME|fCOMMENT|fHCRC, []byte("extra"), "name", "comment", false, data)
	for n := range len(all) {
		cases = append(cases, tc{fmt.Sprintf("truncated at %d", n), all[:n], false})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := compareGunzip(t, c.src, -1); got != c.valid {
				t.Fatalf("accepted=%v, want %v", got, c.valid)
			}
		})
	}
}

// TestGunzipMembersIndependent: a member may not refer back into the
// previous member's output, even though Gunzip decodes into one buffer.
func TestGunzipMembersIndependent(t *testing.T) {
	first := gzipLevel(t, []byte("abcabc"), flate.NoCompression)
	var w bitWriter
	w.bits(1, 1)
	w.bits(1, 2)
	lens := make([]uint8, 288)
	for s := range lens {
		lens[s] = map[bool]uint8{true: 8, false: 7}[s < 144 || s >= 280]
		if s >= 144 && s < 256 {
			lens[s] = 9
		}
	}
	codes := canonical(lens)
	w.code(codes[257], lens[257]) // length 3
	w.code(2, 5)                  // distance 3
	w.code(codes[256], lens[256])
	second := gzipWrap(w.bytes(0), []byte("abc"))
	src := append(append([]byte(nil), first...), second...)
	if compareGunzip(t, src, -1) {
		t.Fatal("accepted a reference into the previous member")
	}
}

func TestGunzipLimit(t *testing.T) {
	data := otlpTraces(40, 15)
	for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression} {
		src := gzipLevel(t, data, level)
		for _, limit := range []int{0, 1, len(data) - 1, len(data), len(data) + 1, -1} {
			compareGunzip(t, src, limit)
		}
	}
	// A bomb: 10 MB of zeros in ~10 KB. Must fail fast, without
	// allocating for the whole output.
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(make([]byte, 10<<20))
	zw.Close()
	_, _, err := Gunzip(nil, buf.Bytes(), 1<<20, nil)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
	// A lying ISIZE must not make Gunzip allocate gigabytes: the hint is
	// clamped by what the input can expand to.
	lie := gzipLevel(t, []byte("small"), flate.BestSpeed)
	binary.LittleEndian.PutUint32(lie[len(lie)-4:], 0xffffffff)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, _, err := Gunzip(nil, lie, -1, nil); !errors.Is(err, ErrChecksum) {
		t.Fatalf("lying ISIZE: %v", err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("lying ISIZE: allocated %d bytes", n)
	}
}

func TestGunzipZeroAllocs(t *testing.T) {
	data := otlpTraces(100, 16)
	src := gzipLevel(t, data, flate.BestSpeed)
	src = append(src, gzipLevel(t, data[:1000], flate.DefaultCompression)...)
	var d Inflater
	buf := make([]byte, 0, 2*len(data))
	segs := make([]Segment, 0, 2)
	allocs := testing.AllocsPerRun(20, func() {
		var err error
		if buf, segs, err = d.Gunzip(buf[:0], src, 10<<20, segs); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Gunzip", allocs)
	}
	if raceEnabled {
		return // sync.Pool drops items at random under the race detector
	}
	allocs = testing.AllocsPerRun(20, func() {
		var err error
		if buf, segs, err = Gunzip(buf[:0], src, 10<<20, segs); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per pooled Gunzip", allocs)
	}
}

func TestGunzipErrors(t *testing.T) {
	good := gzipLevel(t, []byte("data"), flate.BestSpeed)
	_, _, err := Gunzip(nil, good[:len(good)-3], -1, nil)
	if !errors.Is(err, ErrFormat) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v", err)
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)-8] ^= 1
	if _, _, err := Gunzip(nil, bad, -1, nil); !errors.Is(err, ErrChecksum) {
		t.Fatalf("bad CRC: %v", err)
	}
	if err != nil && err.Error() == "" {
		t.Fatal("empty message")
	}
}
