package gzjoin

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"testing"
)

// compareInflate decodes src with Inflate and compress/flate and requires
// the same verdict, output and consumed length. It returns the segment
// (zero if rejected).
func compareInflate(tb testing.TB, src []byte) (Segment, []byte, bool) {
	tb.Helper()
	want, wantN, werr := stdInflate(src)
	prefix := []byte("prefix") // output must be appended, and matches must not reach it
	got, seg, err := Inflate(prefix, src, -1)
	if (err != nil) != (werr != nil) {
		tb.Fatalf("Inflate error %v, compress/flate error %v (input %x)", err, werr, src)
	}
	if err != nil {
		if !errors.Is(err, ErrFormat) {
			tb.Fatalf("error %v does not wrap ErrFormat", err)
		}
		if !bytes.Equal(got, prefix) {
			tb.Fatalf("failed Inflate returned %q, want the prefix", got)
		}
		return Segment{}, nil, false
	}
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
		tb.Fatalf("Inflate output differs from compress/flate (%d vs %d bytes)", len(got)-len(prefix), len(want))
	}
	if len(seg.Data) != wantN || !bytes.Equal(seg.Data, src[:wantN]) {
		tb.Fatalf("segment Data is %d bytes, compress/flate consumed %d", len(seg.Data), wantN)
	}
	return seg, want, true
}

func TestInflateOracle(t *testing.T) {
	payloads := testPayloads()
	for _, name := range slices.Sorted(maps.Keys(payloads)) {
		data := payloads[name]
		for _, level := range testLevels() {
			for _, flush := range []int{0, 1000} {
				t.Run(fmt.Sprintf("%s/level%d/flush%d", name, level, flush), func(t *testing.T) {
					stream := deflateLevel(t, data, level, flush)
					// Trailing bytes are not part of the stream.
					src := append(append([]byte(nil), stream...), 0xde, 0xad)
					seg, out, ok := compareInflate(t, src)
					if !ok {
						t.Fatal("valid stream rejected")
					}
					if !bytes.Equal(out, data) {
						t.Fatal("wrong output")
					}
					// compress/flate ends with an empty final stored block:
					// 3 header bits, padding, 00 00 ff ff.
					// Its LEN starts at the byte boundary after the header.
					if seg.EndBit != len(stream)*8 || (seg.FinalBit+3+7)/8 != len(stream)-4 {
						t.Fatalf("FinalBit %d EndBit %d for a %d-byte stream", seg.FinalBit, seg.EndBit, len(stream))
					}
					checkSegment(t, seg, data)
				})
			}
		}
	}
}

// TestInflateEncoded covers final blocks of every type, ending on and off
// byte boundaries, with garbage in the unused bits, and codes with long
// (sub-table) entries, against compress/flate and the encoder's own record
// of where the final block and the end are.
func TestInflateEncoded(t *testing.T) {
	payloads := testPayloads()
	kindSets := map[string][]encKind{
		"stored":     {encStored},
		"fixed":      {encFixed},
		"dynamic":    {encDynamic},
		"long":       {encDynamicLong},
		"mixed":      {encDynamic, encFixed, encStored, encDynamicLong},
		"fixedfirst": {encFixed, encDynamic},
	}
	for _, name := range []string{"empty", "one", "two", "otlp3", "otlp100", "random", "abc", "text", "dist32k", "runs"} {
		data := payloads[name]
		for kname, kinds := range kindSets {
			for _, chunk := range []int{0, 777} {
				for _, pad := range []byte{0, 0xa5} {
					t.Run(fmt.Sprintf("%s/%s/%d/%02x", name, kname, chunk, pad), func(t *testing.T) {
						stream, finalBit, endBit := encodeStream(data, kinds, chunk, pad)
						seg, out, ok := compareInflate(t, stream)
						if !ok {
							t.Fatal("valid stream rejected")
						}
						if !bytes.Equal(out, data) {
							t.Fatal("wrong output")
						}
						if seg.FinalBit != finalBit || seg.EndBit != endBit {
							t.Fatalf("FinalBit, EndBit = %d, %d; want %d, %d", seg.FinalBit, seg.EndBit, finalBit, endBit)
						}
						checkSegment(t, seg, data)
					})
				}
			}
		}
	}
}

// TestInflateEndBitEveryOffset makes streams ending at each bit offset
// within a byte, for each final block type.
func TestInflateEndBitEveryOffset(t *testing.T) {
	seen := map[[2]int]bool{}
	for n := 0; n < 64; n++ {
		data := otlpTraces(1, uint64(n))[:n*7]
		for _, k := range []encKind{encFixed, encDynamic, encStored} {
			stream, finalBit, endBit := encodeStream(data, []encKind{k}, 0, 0xff)
			seen[[2]int{int(k), endBit % 8}] = true
			seg, out, ok := compareInflate(t, stream)
			if !ok || !bytes.Equal(out, data) || seg.FinalBit != finalBit || seg.EndBit != endBit {
				t.Fatalf("n=%d kind=%d: ok=%v FinalBit %d/%d EndBit %d/%d", n, k, ok, seg.FinalBit, finalBit, seg.EndBit, endBit)
			}
			checkSegment(t, seg, data)
		}
	}
	for _, k := range []encKind{encFixed, encDynamic} {
		for off := range 8 {
			if !seen[[2]int{int(k), off}] {
				t.Errorf("kind %d never ended at bit %d of a byte", k, off)
			}
		}
	}
}

// dynBlock writes a dynamic block header with explicit (possibly invalid)
// code lengths, sent without repeat codes, and returns the codes.
func dynBlock(w *bitWriter, final bool, llens, dlens []uint8) (lcodes, dcodes []uint32) {
	all := append(append([]uint8(nil), llens...), dlens...)
	cf := make([]int, 19)
	for _, l := range all {
		cf[l]++
	}
	clens := huffLengths(cf, 7)
	if cf[0] == len(all) { // all zero: give the code-length code a second code
		clens[1] = 1
	}
	ccodes := canonical(clens)
	w.bits(b2u(final), 1)
	w.bits(2, 2)
	w.bits(uint64(len(llens)-257), 5)
	w.bits(uint64(len(dlens)-1), 5)
	w.bits(19-4, 4)
	for _, s := range clenOrder {
		w.bits(uint64(clens[s]), 3)
	}
	for _, l := range all {
		w.code(ccodes[l], clens[l])
	}
	return canonical(llens), canonical(dlens)
}

// litLens returns literal/length code lengths with the given symbols
// coded, all of the same length if possible (a complete code needs a
// power of two of them).
func litLens(n int, lens map[int]uint8) []uint8 {
	l := make([]uint8, n)
	for s, v := range lens {
		l[s] = v
	}
	return l
}

type streamCase struct {
	name  string
	src   []byte
	valid bool
}

// handMade builds the edge-case and broken streams.
func handMade() []streamCase {
	var cases []streamCase
	add := func(name string, valid bool, build func(w *bitWriter)) {
		var w bitWriter
		build(&w)
		cases = append(cases, streamCase{name, w.bytes(0), valid})
	}
	lens := fixedLitLens()
	fl, fc := lens[:], canonical(lens[:])
	fixedHeader := func(w *bitWriter) { w.bits(1, 1); w.bits(1, 2) }

	add("reserved block type", false, func(w *bitWriter) { w.bits(1, 1); w.bits(3, 2); w.bits(0, 16) })
	add("reserved block type after a block", false, func(w *bitWriter) {
		w.writeStored([]byte("ok"), false)
		w.bits(1, 1)
		w.bits(3, 2)
	})
	add("stored length check", false, func(w *bitWriter) {
		w.bits(1, 3)
		w.align()
		w.bits(5, 16)
		w.bits(0, 16)
		w.bits(0x6161616161, 40)
	})
	add("stored empty final", true, func(w *bitWriter) { w.writeStored(nil, true) })
	add("stored garbage padding", true, func(w *bitWriter) {
		w.bits(1, 1)
		w.bits(0, 2)
		w.bits(0x1f, 5) // the skipped bits need not be zero
		w.bits(2, 16)
		w.bits(0xfffd, 16)
		w.bits(0x6868, 16)
	})
	add("fixed literal 286", false, func(w *bitWriter) { fixedHeader(w); w.code(fc[286], fl[286]); w.code(fc[256], fl[256]) })
	add("fixed literal 287", false, func(w *bitWriter) { fixedHeader(w); w.code(fc[287], fl[287]); w.code(fc[256], fl[256]) })
	for _, d := range []int{30, 31} {
		add(fmt.Sprintf("fixed distance %d", d), false, func(w *bitWriter) {
			fixedHeader(w)
			w.code(fc['a'], fl['a'])
			w.code(fc[257], fl[257])
			w.code(uint32(d), 5)
			w.code(fc[256], fl[256])
		})
	}
	add("fixed distance 29 too far", false, func(w *bitWriter) {
		fixedHeader(w)
		w.code(fc['a'], fl['a'])
		w.code(fc[257], fl[257])
		w.code(29, 5)
		w.bits(0, 13)
		w.code(fc[256], fl[256])
	})
	add("distance to before the stream", false, func(w *bitWriter) {
		fixedHeader(w)
		w.code(fc['a'], fl['a'])
		w.code(fc[257], fl[257]) // length 3
		w.code(1, 5)             // distance 2
		w.code(fc[256], fl[256])
	})
	add("distance to the stream start", true, func(w *bitWriter) {
		fixedHeader(w)
		w.code(fc['a'], fl['a'])
		w.code(fc['b'], fl['b'])
		w.code(fc[285], fl[285]) // length 258
		w.code(1, 5)             // distance 2
		w.code(fc[284], fl[284]) // length 227+31 = 258, via extra bits
		w.bits(31, 5)
		w.code(0, 5) // distance 1
		w.code(fc[256], fl[256])
	})
	add("match in first block", false, func(w *bitWriter) {
		fixedHeader(w)
		w.code(fc[257], fl[257])
		w.code(0, 5)
		w.code(fc[256], fl[256])
	})
	add("fixed only end of block", true, func(w *bitWriter) { fixedHeader(w); w.code(fc[256], fl[256]) })

	// Dynamic headers.
	dynRaw := func(w *bitWriter, hlit, hdist, hclen uint64) {
		w.bits(1, 1)
		w.bits(2, 2)
		w.bits(hlit, 5)
		w.bits(hdist, 5)
		w.bits(hclen, 4)
	}
	add("HLIT 287", false, func(w *bitWriter) { dynRaw(w, 30, 0, 15); w.bits(0, 64) })
	add("HLIT 288", false, func(w *bitWriter) { dynRaw(w, 31, 0, 15); w.bits(0, 64) })
	add("HDIST 31", false, func(w *bitWriter) { dynRaw(w, 0, 30, 15); w.bits(0, 64) })
	add("HDIST 32", false, func(w *bitWriter) { dynRaw(w, 0, 31, 15); w.bits(0, 64) })
	add("empty code-length code", false, func(w *bitWriter) {
		dynRaw(w, 0, 0, 15)
		w.bits(0, 57)
		w.bits(0, 64)
	})
	clenCase := func(name string, clens map[int]uint8) {
		add(name, false, func(w *bitWriter) {
			dynRaw(w, 0, 0, 15)
			for _, s := range clenOrder {
				w.bits(uint64(clens[int(s)]), 3)
			}
			w.bits(0, 64)
			w.bits(0, 64)
		})
	}
	clenCase("over-subscribed code-length code", map[int]uint8{0: 1, 8: 1, 18: 1})
	clenCase("incomplete code-length code", map[int]uint8{0: 1, 8: 2})
	clenCase("single code-length code", map[int]uint8{8: 1}) // accepted code, then an incomplete literal code
	clenCase("single code-length code of length 2", map[int]uint8{8: 2})

	// A literal/length code with 'a', 'b', end of block and length 3 (257)
	// at 2 bits each.
	base := map[int]uint8{'a': 2, 'b': 2, 256: 2, 257: 2}
	emitAB := func(w *bitWriter, lc []uint32, ll []uint8) {
		w.code(lc['a'], ll['a'])
		w.code(lc['b'], ll['b'])
	}
	add("dynamic one distance code", true, func(w *bitWriter) {
		ll, dl := litLens(257+1, base), []uint8{0, 1} // distance 2 only, as a lone 1-bit code
		lc, dc := dynBlock(w, true, ll, dl)
		emitAB(w, lc, ll)
		w.code(lc[257], ll[257])
		w.code(dc[1], dl[1])
		w.code(lc[256], ll[256])
	})
	add("dynamic one distance code, unused code", false, func(w *bitWriter) {
		ll, dl := litLens(257+1, base), []uint8{0, 1}
		lc, _ := dynBlock(w, true, ll, dl)
		emitAB(w, lc, ll)
		w.code(lc[257], ll[257])
		w.code(1, 1) // the unassigned 1-bit code
		w.code(lc[256], ll[256])
	})
	add("dynamic no distance codes", true, func(w *bitWriter) {
		ll, dl := litLens(257+1, base), []uint8{0}
		lc, _ := dynBlock(w, true, ll, dl)
		emitAB(w, lc, ll)
		w.code(lc[256], ll[256])
	})
	add("dynamic no distance codes, match", false, func(w *bitWriter) {
		ll, dl := litLens(257+1, base), []uint8{0}
		lc, _ := dynBlock(w, true, ll, dl)
		emitAB(w, lc, ll)
		w.code(lc[257], ll[257])
		w.bits(0, 16)
		w.code(lc[256], ll[256])
	})
	add("dynamic over-subscribed distances", false, func(w *bitWriter) {
		ll, dl := litLens(257+1, base), []uint8{1, 1, 1}
		lc, _ := dynBlock(w, true, ll, dl)
		emitAB(w, lc, ll)
		w.code(lc[256], ll[256])
	})
	add("dynamic incomplete distances", false, func(w *bitWriter) {
		ll, dl := litLens(257+1, base), []uint8{1, 2}
		lc, _ := dynBlock(w, true, ll, dl)
		emitAB(w, lc, ll)
		w.code(lc[256], ll[256])
	})
	add("dynamic single distance code of length 2", false, func(w *bitWriter) {
		ll, dl := litLens(257+1, base), []uint8{0, 2}
		lc, _ := dynBlock(w, true, ll, dl)
		emitAB(w, lc, ll)
		w.code(lc[256], ll[256])
	})
	add("dynamic over-subscribed literals", false, func(w *bitWriter) {
		ll := litLens(257+1, map[int]uint8{'a': 2, 'b': 2, 'c': 2, 256: 2, 257: 2})
		lc, _ := dynBlock(w, true, ll, []uint8{1, 1})
		w.code(lc[256], ll[256])
	})
	add("dynamic incomplete literals", false, func(w *bitWriter) {
		ll := litLens(257+1, map[int]uint8{'a': 2, 'b': 2, 256: 2})
		lc, _ := dynBlock(w, true, ll, []uint8{1, 1})
		w.code(lc[256], ll[256])
	})
	add("dynamic only end of block", true, func(w *bitWriter) {
		ll := litLens(257, map[int]uint8{256: 1})
		lc, _ := dynBlock(w, true, ll, []uint8{0})
		w.code(lc[256], ll[256])
	})
	add("dynamic only end of block, bad bit", false, func(w *bitWriter) {
		ll := litLens(257, map[int]uint8{256: 1})
		dynBlock(w, true, ll, []uint8{0})
		w.code(1, 1)
		w.bits(0, 8)
	})
	add("dynamic no end of block", false, func(w *bitWriter) {
		ll := litLens(257, map[int]uint8{'a': 1, 'b': 1})
		lc, _ := dynBlock(w, true, ll, []uint8{0})
		for range 100 {
			w.code(lc['a'], ll['a'])
		}
	})
	add("dynamic 16 first", false, func(w *bitWriter) {
		dynRaw(w, 0, 0, 15)
		cl := map[int]uint8{16: 2, 17: 2, 18: 2, 8: 2}
		for _, s := range clenOrder {
			w.bits(uint64(cl[int(s)]), 3)
		}
		cc := canonical([]uint8{8: 2, 16: 2, 17: 2, 18: 2})
		w.code(cc[16], 2)
		w.bits(0, 2)
		w.bits(0, 64)
	})
	add("dynamic repeat past the end", false, func(w *bitWriter) {
		dynRaw(w, 0, 0, 15) // 257 + 1 lengths
		cl := map[int]uint8{16: 2, 17: 2, 18: 2, 8: 2}
		for _, s := range clenOrder {
			w.bits(uint64(cl[int(s)]), 3)
		}
		cc := canonical([]uint8{8: 2, 16: 2, 17: 2, 18: 2})
		w.code(cc[18], 2)
		w.bits(127, 7) // 138 zeros
		w.code(cc[18], 2)
		w.bits(108, 7) // 119 zeros: 257 so far
		w.code(cc[17], 2)
		w.bits(0, 3) // 3 more: one too many
		w.bits(0, 64)
	})
	add("dynamic repeat across literal and distance lengths", true, func(w *bitWriter) {
		// 256 literals at 8 bits would be complete alone; instead 254
		// literals at 8 bits, end of block and 257 at 9 bits, then the
		// 9-bit length repeated into the distance lengths... use a
		// simpler complete code: symbols 0..255 at 9 bits, 256..257 at
		// 2..  Build it with the encoder and check it round-trips.
		data := bytes.Repeat([]byte("xyzzy"), 40)
		w.writeDynamic(data, true, dynOpts{})
	})
	add("dynamic long codes", true, func(w *bitWriter) {
		w.writeDynamic(otlpTraces(5, 9), true, dynOpts{allLit: true})
	})
	add("dynamic maximal counts", true, func(w *bitWriter) {
		w.writeDynamic(otlpTraces(5, 10), true, dynOpts{allLit: true, extraLen: true, noRLE: true})
	})
	return cases
}

func TestInflateHandMade(t *testing.T) {
	for _, c := range handMade() {
		t.Run(c.name, func(t *testing.T) {
			seg, out, ok := compareInflate(t, c.src)
			if ok != c.valid {
				t.Fatalf("accepted=%v, want %v (compress/flate agrees with Inflate)", ok, c.valid)
			}
			if ok {
				checkSegment(t, seg, out)
			}
		})
	}
}

// TestInflateTruncated cuts valid streams at every byte: both decoders must
// reject every proper prefix, and Inflate must say it is truncated.
func TestInflateTruncated(t *testing.T) {
	data := otlpTraces(10, 11)[:2500]
	streams := map[string][]byte{
		"flate":   deflateLevel(t, data, flate.DefaultCompression, 1000),
		"huffman": deflateLevel(t, data, flate.HuffmanOnly, 0),
		"stored":  deflateLevel(t, data[:1000], flate.NoCompression, 300),
	}
	for _, k := range []encKind{encFixed, encDynamic, encDynamicLong} {
		s, _, _ := encodeStream(data, []encKind{k}, 0, 0)
		streams[fmt.Sprint("enc", k)] = s
	}
	for name, s := range streams {
		for n := range len(s) {
			_, _, werr := stdInflate(s[:n])
			_, _, err := Inflate(nil, s[:n], -1)
			if err == nil || werr == nil {
				t.Fatalf("%s: prefix of %d/%d bytes: Inflate error %v, compress/flate error %v", name, n, len(s), err, werr)
			}
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("%s: prefix of %d bytes: %v", name, n, err)
			}
			if n > 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s: prefix of %d bytes: %v is not io.ErrUnexpectedEOF", name, n, err)
			}
		}
	}
}

func TestInflateLimit(t *testing.T) {
	data := otlpTraces(50, 12)
	streams := map[string][]byte{
		"flate":  deflateLevel(t, data, flate.BestSpeed, 0),
		"stored": deflateLevel(t, data, flate.NoCompression, 0),
		"zeros":  deflateLevel(t, make([]byte, 100000), flate.BestCompression, 0),
	}
	for name, s := range streams {
		want, _, err := stdInflate(s)
		must(t, err)
		for _, limit := range []int{len(want), len(want) + 1, len(want) - 1, len(want) - 300, 0, 1, 258} {
			for _, dst := range [][]byte{nil, make([]byte, 3, len(want)+10)} {
				out, _, err := Inflate(dst, s, limit)
				if limit >= len(want) {
					if err != nil || !bytes.Equal(out[len(dst):], want) {
						t.Fatalf("%s: limit %d of %d: %v", name, limit, len(want), err)
					}
					continue
				}
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("%s: limit %d of %d: error %v", name, limit, len(want), err)
				}
				if len(out) != len(dst) {
					t.Fatalf("%s: failed call returned %d bytes", name, len(out))
				}
			}
		}
	}
	empty := deflateLevel(t, nil, flate.BestSpeed, 0)
	if _, seg, err := Inflate(nil, empty, 0); err != nil || seg.Size != 0 {
		t.Fatalf("empty stream with limit 0: %v", err)
	}
}

// TestInflateGrowth decodes into buffers of every small capacity, so that
// growth happens at every point of the hot loop.
func TestInflateGrowth(t *testing.T) {
	data := otlpTraces(10, 13)
	s := deflateLevel(t, data, flate.DefaultCompression, 0)
	var d Inflater
	for c := 0; c < 600; c += 7 {
		out, _, err := d.Inflate(make([]byte, 0, c), s, -1)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("capacity %d: %v", c, err)
		}
	}
}

func TestInflateZeroAllocs(t *testing.T) {
	data := otlpTraces(100, 14)
	s := deflateLevel(t, data, flate.DefaultCompression, 0)
	var d Inflater
	buf := make([]byte, 0, len(data))
	allocs := testing.AllocsPerRun(20, func() {
		var err error
		if buf, _, err = d.Inflate(buf[:0], s, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Inflate", allocs)
	}
}
