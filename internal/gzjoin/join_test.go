package gzjoin

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
)

// part is one piece of a joined member: raw bytes, or a segment.
type part struct {
	raw  []byte
	seg  *Segment
	data []byte // decompressed bytes
}

func segPart(tb testing.TB, stream []byte) part {
	tb.Helper()
	out, seg, err := Inflate(nil, stream, -1)
	if err != nil {
		tb.Fatal(err)
	}
	return part{seg: &seg, data: out}
}

// joinParts joins parts with j (reset to a fresh buffer) and checks the
// result: one gzip member, read to the end by compress/gzip in single-stream
// mode, equal to the concatenation, and one segment for this package's
// Gunzip.
func joinParts(tb testing.TB, j *Joiner, parts []part) []byte {
	tb.Helper()
	var buf bytes.Buffer
	j.Reset(&buf)
	var want []byte
	for _, p := range parts {
		if p.seg != nil {
			must(tb, j.AppendSegment(*p.seg))
		} else {
			n, err := j.Write(p.raw)
			must(tb, err)
			if n != len(p.raw) {
				tb.Fatalf("short write")
			}
		}
		want = append(want, p.data...)
	}
	must(tb, j.Close())
	got, err := readOneMember(buf.Bytes())
	if err != nil {
		tb.Fatalf("joined member: %v", err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("joined member decodes to %d bytes, want %d", len(got), len(want))
	}
	own, segs, err := Gunzip(nil, buf.Bytes(), -1, nil)
	if err != nil || !bytes.Equal(own, want) || len(segs) != 1 {
		tb.Fatalf("Gunzip of joined member: %d segments, %v", len(segs), err)
	}
	if segs[0].CRC != crc32.ChecksumIEEE(want) {
		tb.Fatal("trailer CRC")
	}
	return buf.Bytes()
}

func TestJoinEmpty(t *testing.T) {
	j, err := NewJoiner(nil, flate.BestSpeed)
	must(t, err)
	out := joinParts(t, j, nil)
	// Header, the 2-byte empty final block, trailer.
	if len(out) != 10+2+8 {
		t.Fatalf("empty member is %d bytes: %x", len(out), out)
	}
	if out[8] != 4 || out[9] != 255 {
		t.Fatalf("XFL %d OS %d", out[8], out[9])
	}
	// Empty parts change nothing.
	joinParts(t, j, []part{{raw: nil}, {raw: []byte{}}})
}

// testParts returns named parts of every kind.
func testParts(t *testing.T) map[string]part {
	otlp := otlpTraces(30, 21)
	text := bytes.Repeat([]byte("join me "), 300)
	p := map[string]part{
		"raw":       {raw: otlp[:2000], data: otlp[:2000]},
		"rawbyte":   {raw: []byte{'!'}, data: []byte{'!'}},
		"flate":     segPart(t, deflateLevel(t, otlp, flate.BestSpeed, 0)),
		"flateflsh": segPart(t, deflateLevel(t, otlp, flate.DefaultCompression, 1500)),
		"huffman":   segPart(t, deflateLevel(t, text, flate.HuffmanOnly, 0)),
		"stored":    segPart(t, deflateLevel(t, otlp[:500], flate.NoCompression, 0)),
		"empty":     segPart(t, deflateLevel(t, nil, flate.BestSpeed, 0)),
	}
	for i, k := range []encKind{encFixed, encDynamic, encStored, encDynamicLong} {
		for _, n := range []int{0, 1, 5, 333} {
			s, _, end := encodeStream(otlp[i:i+n], []encKind{k}, 0, 0xff)
			p[fmt.Sprintf("enc%d-%d-end%d", k, n, end%8)] = segPart(t, s)
		}
	}
	return p
}

// TestJoinCombinations joins every sequence of up to three parts.
func TestJoinCombinations(t *testing.T) {
	parts := testParts(t)
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	j, err := NewJoiner(nil, flate.BestSpeed)
	must(t, err)
	count := 0
	for _, a := range names {
		joinParts(t, j, []part{parts[a]})
		for _, b := range names {
			joinParts(t, j, []part{parts[a], parts[b]})
			for _, c := range []string{"raw", "flate", "enc1-5-end3", "empty"} {
				if _, ok := parts[c]; !ok {
					continue
				}
				joinParts(t, j, []part{parts[a], parts[b], parts[c]})
				count++
			}
		}
	}
	if count == 0 {
		t.Fatal("no combinations")
	}
}

// TestJoinEndBits checks segments ending at every bit offset in a byte,
// each between raw runs and other segments.
func TestJoinEndBits(t *testing.T) {
	j, err := NewJoiner(nil, flate.DefaultCompression)
	must(t, err)
	seen := map[int]bool{}
	for n := range 40 {
		data := otlpTraces(2, uint64(n))[:n*3]
		for _, k := range []encKind{encFixed, encDynamic} {
			s, _, end := encodeStream(data, []encKind{k}, 0, 0xff)
			seen[end%8] = true
			p := segPart(t, s)
			joinParts(t, j, []part{p, p, {raw: []byte("x"), data: []byte("x")}, p})
		}
	}
	if len(seen) != 8 {
		t.Fatalf("end offsets covered: %v", seen)
	}
}

func TestJoinRawOnly(t *testing.T) {
	data := otlpTraces(50, 22)
	for _, level := range testLevels() {
		j, err := NewJoiner(nil, level)
		must(t, err)
		parts := []part{{raw: data[:100], data: data[:100]}, {raw: data[100:], data: data[100:]}}
		joinParts(t, j, parts)
	}
}

// TestJoinMultiMemberBody splices the segments Gunzip returns for a body
// of several members: the receive-then-export path.
func TestJoinMultiMemberBody(t *testing.T) {
	var body, want []byte
	for i := range 5 {
		data := otlpTraces(10+i, uint64(30+i))
		body = append(body, gzipLevel(t, data, []int{1, 6, 9, 0, -2}[i])...)
		want = append(want, data...)
	}
	out, segs, err := Gunzip(nil, body, -1, nil)
	if err != nil || !bytes.Equal(out, want) || len(segs) != 5 {
		t.Fatalf("%d segments, %v", len(segs), err)
	}
	orig := append([]byte(nil), body...)
	var parts []part
	off := 0
	for i := range segs {
		parts = append(parts, part{seg: &segs[i], data: out[off : off+segs[i].Size]})
		off += segs[i].Size
		parts = append(parts, part{raw: []byte("|"), data: []byte("|")})
	}
	j, err := NewJoiner(nil, flate.BestSpeed)
	must(t, err)
	joinParts(t, j, parts)
	// Retried: the same segments again, Data untouched.
	joinParts(t, j, parts)
	if !bytes.Equal(body, orig) {
		t.Fatal("joining modified the source body")
	}
}

func TestJoinerErrors(t *testing.T) {
	if _, err := NewJoiner(nil, 10); err == nil {
		t.Fatal("level 10 accepted")
	}
	if _, err := NewJoiner(nil, -3); err == nil {
		t.Fatal("level -3 accepted")
	}
	var buf bytes.Buffer
	j, _ := NewJoiner(&buf, flate.BestSpeed)
	good := segPart(t, deflateLevel(t, []byte("segment"), flate.BestSpeed, 0)).seg
	bad := []Segment{
		{},
		{Data: good.Data, FinalBit: good.FinalBit, EndBit: good.EndBit + 8, Size: good.Size},
		{Data: good.Data, FinalBit: good.FinalBit + 1, EndBit: good.EndBit, Size: good.Size},
		{Data: good.Data, FinalBit: good.EndBit - 2, EndBit: good.EndBit, Size: good.Size},
		{Data: good.Data, FinalBit: -1, EndBit: good.EndBit, Size: good.Size},
		{Data: good.Data, FinalBit: good.FinalBit, EndBit: good.EndBit, Size: -1},
	}
	for i, s := range bad {
		if err := j.AppendSegment(s); !errors.Is(err, ErrSegment) {
			t.Fatalf("bad segment %d: %v", i, err)
		}
	}
	if buf.Len() != 0 {
		t.Fatal("a rejected segment wrote output")
	}
	must(t, j.AppendSegment(*good))
	must(t, j.Close())
	must(t, j.Close()) // again: no-op
	n := buf.Len()
	if _, err := j.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close")
	}
	if err := j.AppendSegment(*good); err == nil {
		t.Fatal("AppendSegment after Close")
	}
	if buf.Len() != n {
		t.Fatal("wrote after Close")
	}
	got, err := readOneMember(buf.Bytes())
	if err != nil || string(got) != "segment" {
		t.Fatalf("%q %v", got, err)
	}

	// Write errors are sticky.
	fw := &failWriter{after: 12}
	j.Reset(fw)
	if err := j.AppendSegment(*good); err == nil {
		t.Fatal("write error lost")
	}
	if _, err := j.Write([]byte("x")); err == nil {
		t.Fatal("error not sticky")
	}
	if err := j.Close(); err == nil {
		t.Fatal("error not sticky on Close")
	}
	// Reset clears it.
	buf.Reset()
	j.Reset(&buf)
	must(t, j.Close())
	if _, err := readOneMember(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		w.after = 0
		return 0, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestJoinZeroAllocs(t *testing.T) {
	var segs []Segment
	for i := range 20 {
		_, s, err := Inflate(nil, deflateLevel(t, otlpTraces(20, uint64(i)), flate.BestSpeed, 0), -1)
		must(t, err)
		segs = append(segs, s)
	}
	var buf bytes.Buffer
	buf.Grow(1 << 20)
	j, _ := NewJoiner(&buf, flate.BestSpeed)
	raw := otlpTraces(5, 99)
	run := func() {
		buf.Reset()
		j.Reset(&buf)
		for i, s := range segs {
			if err := j.AppendSegment(s); err != nil {
				t.Fatal(err)
			}
			if i%5 == 0 {
				if _, err := j.Write(raw); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	run() // creates the flate.Writer
	if allocs := testing.AllocsPerRun(20, run); allocs != 0 {
		t.Fatalf("%v allocations per join", allocs)
	}
}
