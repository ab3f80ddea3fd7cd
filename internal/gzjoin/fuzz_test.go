package gzjoin

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// fuzzLimit maps the fuzzer's limit to one that matters: negative (none),
// or small enough to be hit.
func fuzzLimit(limit int) int {
	if limit < 0 {
		return -1
	}
	return limit % (1 << 16)
}

// FuzzGunzip: on any bytes, Gunzip must agree with compress/gzip on
// acceptance and output, respect the limit, and return segments that splice
// back to the output. With wrap odd, the input is first taken as a raw
// DEFLATE stream and, if compress/flate accepts it, wrapped into a gzip
// member with correct trailer (and header fields chosen by wrap's bits), so
// the fuzzer reaches the acceptance paths despite the CRC.
func FuzzGunzip(f *testing.F) {
	data := otlpTraces(3, 1)
	for level := flate.HuffmanOnly; level <= flate.BestCompression; level++ {
		f.Add(gzipLevel(f, data, level), -1, byte(0))
	}
	f.Add(gzipLevel(f, nil, flate.BestSpeed), 0, byte(0))
	two := append(gzipLevel(f, []byte("one"), 1), gzipLevel(f, []byte("two"), 9)...)
	f.Add(two, 5, byte(0))
	f.Add(append(append([]byte(nil), two...), 0x1f, 0x8b), -1, byte(0))
	f.Add(gzipMember(fEXTRA|fNAME|fCOMMENT|fHCRC, []byte("x"), "n", "c", false, data), -1, byte(0))
	f.Add(gzipMember(fHCRC, nil, "", "", true, data), -1, byte(0))
	f.Add([]byte{}, -1, byte(0))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, -1, byte(0))
	for _, c := range handMade() {
		f.Add(c.src, -1, byte(1))
	}
	for _, k := range []encKind{encFixed, encDynamic, encStored, encDynamicLong} {
		s, _, _ := encodeStream(data, []encKind{k}, 300, 0x3c)
		f.Add(s, 100, byte(1|2|16))
		f.Add(gzipWrap(s, data), -1, byte(0))
	}
	f.Fuzz(func(t *testing.T, src []byte, limit int, wrap byte) {
		if _, _, err := Gunzip(nil, src, len(src)*maxRatio+maxMatch, nil); errors.Is(err, ErrTooLarge) {
			t.Fatalf("expanded beyond the DEFLATE maximum: %x", src)
		}
		if wrap&1 != 0 {
			out, n, err := stdInflate(src)
			if err != nil {
				return
			}
			src = wrapMember(src[:n], out, wrap, src[n:])
		}
		compareGunzip(t, src, fuzzLimit(limit))
	})
}

// wrapMember builds a gzip member around a raw stream, with header fields
// from the bits of wrap, then a copy of it if wrap&2, then tail if wrap&4.
func wrapMember(stream, data []byte, wrap byte, tail []byte) []byte {
	flg := wrap & (fEXTRA | fNAME | fCOMMENT | fHCRC | 0xe0) &^ 1
	h := []byte{0x1f, 0x8b, 8, flg, 0, 0, 0, 0, 0, 255}
	if flg&fEXTRA != 0 {
		h = append(h, 3, 0, 'a', 'b', 'c')
	}
	if flg&fNAME != 0 {
		h = append(h, "name\x00"...)
	}
	if flg&fCOMMENT != 0 {
		h = append(h, "comment\x00"...)
	}
	if flg&fHCRC != 0 {
		h = binary.LittleEndian.AppendUint16(h, uint16(crc32.ChecksumIEEE(h)))
	}
	m := append(h, stream...)
	m = binary.LittleEndian.AppendUint32(m, crc32.ChecksumIEEE(data))
	m = binary.LittleEndian.AppendUint32(m, uint32(len(data)))
	if wrap&2 != 0 {
		m = append(m, m...)
	}
	if wrap&4 != 0 {
		m = append(m, tail...)
	}
	return m
}

// FuzzInflate: on any bytes, Inflate must agree with compress/flate on
// acceptance, output and consumed length, respect the limit, and return a
// segment that splices.
func FuzzInflate(f *testing.F) {
	for _, c := range handMade() {
		f.Add(c.src, -1)
	}
	data := otlpTraces(2, 5)
	for level := flate.HuffmanOnly; level <= flate.BestCompression; level++ {
		f.Add(deflateLevel(f, data, level, 200), -1)
	}
	for _, k := range []encKind{encFixed, encDynamic, encStored, encDynamicLong} {
		s, _, _ := encodeStream(data, []encKind{k, encFixed}, 400, 0xff)
		f.Add(s, 1000)
	}
	f.Add([]byte{0x03, 0x00}, 0)
	f.Add([]byte{0x01, 0x00, 0x00, 0xff, 0xff}, 0)
	f.Fuzz(func(t *testing.T, src []byte, limit int) {
		// No DEFLATE stream expands more than 1032 times (2 bits per
		// 258-byte match): more output means a decoding loop that does
		// not consume input. Checked first, so that such a bug fails
		// instead of hanging.
		if _, _, err := Inflate(nil, src, len(src)*maxRatio+maxMatch); errors.Is(err, ErrTooLarge) {
			t.Fatalf("expanded beyond the DEFLATE maximum: %x", src)
		}
		seg, out, ok := compareInflate(t, src)
		if ok {
			checkSegment(t, seg, out)
		}
		limit = fuzzLimit(limit)
		got, _, err := Inflate(nil, src, limit)
		switch {
		case !ok:
			if err == nil {
				t.Fatal("accepted with a limit")
			}
		case limit >= 0 && len(out) > limit:
			if len(got) != 0 || err == nil {
				t.Fatalf("%d bytes over a limit of %d: %v", len(out), limit, err)
			}
		default:
			if err != nil || !bytes.Equal(got, out) {
				t.Fatalf("limit %d: %v", limit, err)
			}
		}
	})
}

// FuzzJoin: a fuzzer-chosen sequence of parts (raw runs; segments from
// compress/flate at any level with flushes, from the test encoder with any
// final block type, from multi-member gzip bodies; empty streams), joined,
// must be one gzip member that compress/gzip and Gunzip decode to the
// concatenation.
func FuzzJoin(f *testing.F) {
	otlp := otlpTraces(4, 7)
	f.Add([]byte{0, 10, 1, 20, 2, 30, 3, 40, 4, 50, 5, 60, 6, 70, 0, 5}, otlp)
	f.Add([]byte{1, 0xff, 9, 0x13, 17, 0x22}, otlp)
	f.Add([]byte{}, []byte{})
	f.Add([]byte{5, 0, 5, 0}, []byte{})
	f.Add([]byte{0, 1, 0, 1}, []byte("ab"))
	f.Add([]byte{2, 3, 3, 9, 4, 27, 11, 200}, bytes.Repeat([]byte("abcdefgh"), 100))
	f.Fuzz(func(t *testing.T, script, data []byte) {
		var parts []part
		for len(script) >= 2 && len(parts) < 16 {
			kind, param := script[0], script[1]
			script = script[2:]
			n := min(len(data), int(param)*int(param)/8)
			chunk := data[:n]
			data = data[n:]
			switch kind % 7 {
			case 0:
				parts = append(parts, part{raw: chunk, data: chunk})
			case 1:
				level := int(kind>>3)%12 - 2
				flush := int(param>>4) * 7
				parts = append(parts, segPart(t, deflateLevel(t, chunk, level, flush)))
			case 2, 3, 4:
				k := []encKind{encFixed, encDynamic, encStored, encDynamicLong}[int(kind>>3)%4]
				kinds := []encKind{k}
				if kind%7 == 3 {
					kinds = append(kinds, encFixed, encDynamic)
				}
				s, _, _ := encodeStream(chunk, kinds, int(param), kind)
				parts = append(parts, segPart(t, s))
			case 5:
				s, _, _ := encodeStream(nil, []encKind{encKind(kind>>3) % 4}, 0, param)
				parts = append(parts, segPart(t, s))
			case 6:
				half := len(chunk) / 2
				body := append(gzipLevel(t, chunk[:half], int(kind>>3)%10), gzipLevel(t, chunk[half:], int(param)%10)...)
				out, segs, err := Gunzip(nil, body, -1, nil)
				if err != nil || len(segs) != 2 {
					t.Fatalf("multi-member body: %d segments, %v", len(segs), err)
				}
				parts = append(parts,
					part{seg: &segs[0], data: out[:segs[0].Size]},
					part{seg: &segs[1], data: out[segs[0].Size:]})
			}
		}
		j := testJoiners.Get().(*Joiner)
		defer testJoiners.Put(j)
		joinParts(t, j, parts)
	})
}
