package pbwire

// Differential tests: pbwire must behave exactly like protowire, which it
// replaces, for every input. The error codes are compared as numbers, since
// pbwire uses protowire's values.

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// edgeUint64s returns 0, 1, 127, 128, 2^k-1, 2^k and 2^k+1 for every k, and
// the largest uint64: every varint length boundary and its neighbours.
func edgeUint64s() []uint64 {
	vs := []uint64{0, 1, 2, 127, 128, 129, 255, 256, 16383, 16384, math.MaxUint64, math.MaxUint64 - 1}
	for k := 1; k < 64; k++ {
		p := uint64(1) << k
		vs = append(vs, p-1, p, p+1)
	}
	return vs
}

// edgeInt64s returns edgeUint64s reinterpreted, and negated, as int64s:
// zero, both extremes and the neighbours of every power of two on both sides.
func edgeInt64s() []int64 {
	var vs []int64
	for _, u := range edgeUint64s() {
		vs = append(vs, int64(u), -int64(u))
	}
	return append(vs, math.MinInt64, math.MaxInt64, math.MinInt64+1)
}

// edgeNumbers returns field numbers at every boundary that matters: the
// valid range, the one- to five-byte tag lengths, the reserved range, and
// the invalid numbers either side (which AppendTag still encodes).
func edgeNumbers() []Number {
	ns := []Number{
		math.MinInt32, math.MinInt32 + 1, -2, -1, 0, 1, 2,
		15, 16, // one-byte tags end at 15
		2047, 2048, // two-byte tags end at 2047
		1<<18 - 1, 1 << 18, // three-byte
		1<<25 - 1, 1 << 25, // four-byte
		18999, 19000, 19999, 20000, // protobuf's reserved range
		MaxValidNumber - 1, MaxValidNumber, MaxValidNumber + 1,
		1<<30 - 1, 1 << 30, math.MaxInt32 - 1, math.MaxInt32,
	}
	return ns
}

// allTypes is every value a Type's three bits can hold, plus values outside
// them (AppendTag masks those).
var allTypes = []Type{0, 1, 2, 3, 4, 5, 6, 7, 8, 15, -1, math.MinInt8, math.MaxInt8}

func TestConstants(t *testing.T) {
	if MaxValidNumber != Number(protowire.MaxValidNumber) {
		t.Errorf("MaxValidNumber = %d, protowire %d", MaxValidNumber, protowire.MaxValidNumber)
	}
	types := []struct {
		got  Type
		want protowire.Type
	}{
		{VarintType, protowire.VarintType},
		{Fixed32Type, protowire.Fixed32Type},
		{Fixed64Type, protowire.Fixed64Type},
		{BytesType, protowire.BytesType},
		{StartGroupType, protowire.StartGroupType},
		{EndGroupType, protowire.EndGroupType},
	}
	for _, tt := range types {
		if int8(tt.got) != int8(tt.want) {
			t.Errorf("type %d, protowire %d", tt.got, tt.want)
		}
	}
	if recursionLimit != protowire.DefaultRecursionLimit {
		t.Errorf("recursionLimit = %d, protowire %d", recursionLimit, protowire.DefaultRecursionLimit)
	}
}

func TestVarint(t *testing.T) {
	prefix := []byte{0xaa, 0xbb}
	for _, v := range edgeUint64s() {
		checkAppendVarint(t, v)
		enc := AppendVarint(nil, v)
		// Appending must keep what is already there.
		if got := AppendVarint(append([]byte(nil), prefix...), v); !bytes.Equal(got, append(append([]byte(nil), prefix...), enc...)) {
			t.Errorf("AppendVarint(%x, %d) = %x", prefix, v, got)
		}
		// Round trip, with and without trailing bytes.
		for _, b := range [][]byte{enc, append(append([]byte(nil), enc...), 0xff, 0x01)} {
			got, n := ConsumeVarint(b)
			if got != v || n != len(enc) {
				t.Errorf("ConsumeVarint(%x) = %d, %d; want %d, %d", b, got, n, v, len(enc))
			}
		}
		// Every truncation is an error, and the same one.
		for i := range len(enc) {
			checkConsume(t, enc[:i])
		}
	}
}

func TestNonCanonicalVarints(t *testing.T) {
	// Padded encodings, ten-byte encodings around the 64-bit limit, and
	// eleven-byte ones: protowire accepts the first kind and rejects
	// overflow, and so must we.
	inputs := [][]byte{
		{0x80, 0x00},
		{0xff, 0x00},
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00},
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{},
	}
	for _, b := range inputs {
		checkConsume(t, b)
	}
}

func TestTag(t *testing.T) {
	for _, num := range edgeNumbers() {
		for _, typ := range allTypes {
			got := AppendTag(nil, num, typ)
			want := protowire.AppendTag(nil, protowire.Number(num), protowire.Type(typ))
			if !bytes.Equal(got, want) {
				t.Errorf("AppendTag(%d, %d) = %x, protowire %x", num, typ, got, want)
			}
			checkConsume(t, got)
			// A tag followed by one value of each kind, for ConsumeField.
			for _, v := range [][]byte{{0x00}, {0x96, 0x01}, {1, 2, 3, 4, 5, 6, 7, 8}, {0x03, 'a', 'b', 'c'}} {
				checkConsume(t, append(append([]byte(nil), got...), v...))
			}
		}
	}
}

func TestTagBeyondInt32(t *testing.T) {
	// Tags whose field number does not fit a Number, which AppendTag cannot
	// write: ConsumeTag must reject them exactly as protowire does.
	for _, num := range []uint64{math.MaxInt32, 1 << 31, 1<<31 + 1, 1<<32 - 1, 1 << 32, 1<<61 - 1} {
		for typ := range uint64(8) {
			checkConsume(t, AppendVarint(nil, num<<3|typ))
		}
	}
}

func TestFixed(t *testing.T) {
	for _, v := range edgeUint64s() {
		if got, want := AppendFixed64([]byte{9}, v), protowire.AppendFixed64([]byte{9}, v); !bytes.Equal(got, want) {
			t.Errorf("AppendFixed64(%d) = %x, protowire %x", v, got, want)
		}
		if got, want := AppendFixed32([]byte{9}, uint32(v)), protowire.AppendFixed32([]byte{9}, uint32(v)); !bytes.Equal(got, want) {
			t.Errorf("AppendFixed32(%d) = %x, protowire %x", uint32(v), got, want)
		}
		b := AppendFixed64(nil, v)
		for i := range len(b) + 1 {
			checkConsume(t, b[:i])
		}
	}
}

func TestBytes(t *testing.T) {
	for _, l := range []int{0, 1, 2, 127, 128, 129, 16383, 16384, 16385, 1 << 17} {
		v := bytes.Repeat([]byte{'x'}, l)
		for _, prefix := range [][]byte{nil, {0x0a}} {
			if got, want := AppendBytes(append([]byte(nil), prefix...), v), protowire.AppendBytes(append([]byte(nil), prefix...), v); !bytes.Equal(got, want) {
				t.Errorf("AppendBytes(%x, %d bytes) differs from protowire", prefix, l)
			}
			if got, want := AppendString(append([]byte(nil), prefix...), string(v)), protowire.AppendString(append([]byte(nil), prefix...), string(v)); !bytes.Equal(got, want) {
				t.Errorf("AppendString(%x, %d bytes) differs from protowire", prefix, l)
			}
		}
		enc := AppendBytes(nil, v)
		checkConsume(t, enc)
		checkConsume(t, enc[:len(enc)-1])
		checkConsume(t, enc[:SizeVarint(uint64(l))])
	}
	// Lengths that do not fit the input or an int.
	for _, l := range []uint64{1 << 31, 1 << 32, 1<<63 - 1, 1 << 63, math.MaxUint64} {
		checkConsume(t, AppendVarint(nil, l))
		checkConsume(t, AppendVarint([]byte{0x0a}, l))
	}
}

func TestSizes(t *testing.T) {
	for _, v := range edgeUint64s() {
		if got, want := SizeVarint(v), protowire.SizeVarint(v); got != want {
			t.Errorf("SizeVarint(%d) = %d, protowire %d", v, got, want)
		}
	}
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28, math.MaxInt32, math.MaxInt32 + 1, 1 << 40} {
		if got, want := SizeBytes(n), protowire.SizeBytes(n); got != want {
			t.Errorf("SizeBytes(%d) = %d, protowire %d", n, got, want)
		}
	}
}

func TestZigZag(t *testing.T) {
	for _, v := range edgeInt64s() {
		got, want := EncodeZigZag(v), protowire.EncodeZigZag(v)
		if got != want {
			t.Errorf("EncodeZigZag(%d) = %d, protowire %d", v, got, want)
		}
		if back := DecodeZigZag(got); back != v {
			t.Errorf("DecodeZigZag(EncodeZigZag(%d)) = %d", v, back)
		}
	}
	for _, x := range edgeUint64s() {
		if got, want := DecodeZigZag(x), protowire.DecodeZigZag(x); got != want {
			t.Errorf("DecodeZigZag(%d) = %d, protowire %d", x, got, want)
		}
	}
	// The small cases spelled out, as the spec lists them.
	for v, want := range map[int64]uint64{0: 0, -1: 1, 1: 2, -2: 3, 2: 4, math.MaxInt32: 0xfffffffe, math.MinInt32: 0xffffffff} {
		if got := EncodeZigZag(v); got != want {
			t.Errorf("EncodeZigZag(%d) = %d, want %d", v, got, want)
		}
	}
}

func TestParseError(t *testing.T) {
	for n := -20; n <= 3; n++ {
		got, want := ParseError(n), protowire.ParseError(n)
		if (got == nil) != (want == nil) {
			t.Fatalf("ParseError(%d) = %v, protowire %v", n, got, want)
		}
		if got == nil {
			continue
		}
		if (got == io.ErrUnexpectedEOF) != (want == io.ErrUnexpectedEOF) || errors.Is(got, io.ErrUnexpectedEOF) != errors.Is(want, io.ErrUnexpectedEOF) {
			t.Errorf("ParseError(%d) = %v, protowire %v: differ in being io.ErrUnexpectedEOF", n, got, want)
		}
		// protowire puts a space or, at random, a no-break space after
		// "proto:"; pbwire always a space.
		if g, w := got.Error(), strings.Replace(want.Error(), "proto:\u00a0", "proto: ", 1); g != w {
			t.Errorf("ParseError(%d) = %q, protowire %q", n, g, w)
		}
	}
}

// group returns field num as a group holding inner, ended with end's number.
func group(num, end Number, inner ...[]byte) []byte {
	b := AppendTag(nil, num, StartGroupType)
	for _, in := range inner {
		b = append(b, in...)
	}
	return AppendTag(b, end, EndGroupType)
}

// nested returns depth groups of field num, one inside the next.
func nested(num Number, depth int) []byte {
	start := AppendTag(nil, num, StartGroupType)
	end := AppendTag(nil, num, EndGroupType)
	b := bytes.Repeat(start, depth)
	return append(b, bytes.Repeat(end, depth)...)
}

func TestGroups(t *testing.T) {
	varint := AppendVarint(AppendTag(nil, 1, VarintType), 300)
	fixed32 := AppendFixed32(AppendTag(nil, 2, Fixed32Type), 7)
	fixed64 := AppendFixed64(AppendTag(nil, 3, Fixed64Type), 7)
	bytesF := AppendString(AppendTag(nil, 4, BytesType), "hello")
	inputs := [][]byte{
		group(5, 5),
		group(5, 5, varint, fixed32, fixed64, bytesF),
		group(5, 5, group(6, 6, varint), bytesF),
		group(5, 6),                                  // mismatched end
		group(5, 5, group(6, 5)),                     // mismatched inner end
		group(5, 5, AppendTag(nil, 7, 6)),            // reserved wire type inside
		group(5, 5, AppendTag(nil, 7, EndGroupType)), // stray end inside
		AppendTag(nil, 5, EndGroupType),              // end with no start
		AppendTag(nil, 5, StartGroupType),            // start with no end
		append(AppendTag(nil, 5, StartGroupType), varint...),
		group(5, 5, []byte{0x00}), // field number 0 inside
		group(MaxValidNumber, MaxValidNumber, varint),
		group(math.MaxInt32, math.MaxInt32, varint),
		group(1, 1, bytesF[:len(bytesF)-1]), // truncated value inside
		nested(1, 2),
		nested(1, 1000),
		// The nesting limit: protowire allows DefaultRecursionLimit+1
		// levels. Check both sides of it.
		nested(1, recursionLimit),
		nested(1, recursionLimit+1),
		nested(1, recursionLimit+2),
		nested(1, recursionLimit+3),
		nested(20000, recursionLimit+1),
		nested(20000, recursionLimit+2),
	}
	for _, b := range inputs {
		checkConsume(t, b)
		for _, typ := range allTypes {
			checkFieldValue(t, 5, typ, b)
		}
	}
	// The limit itself, so that a change to it shows here and not only
	// as agreement with protowire.
	if n := ConsumeFieldValue(1, StartGroupType, nested(1, recursionLimit+1)[1:]); n < 0 {
		t.Errorf("%d nested groups: %v", recursionLimit+1, ParseError(n))
	}
	if n := ConsumeFieldValue(1, StartGroupType, nested(1, recursionLimit+2)[1:]); n != errCodeRecursionDepth {
		t.Errorf("%d nested groups: n = %d, want %d", recursionLimit+2, n, errCodeRecursionDepth)
	}
}

// checkConsume checks that every Consume function gives the same results as
// protowire's for b.
func checkConsume(t *testing.T, b []byte) {
	t.Helper()
	if v, n := ConsumeVarint(b); true {
		wv, wn := protowire.ConsumeVarint(b)
		if v != wv || n != wn {
			t.Errorf("ConsumeVarint(%x) = %d, %d; protowire %d, %d", b, v, n, wv, wn)
		}
	}
	if v, n := ConsumeFixed32(b); true {
		wv, wn := protowire.ConsumeFixed32(b)
		if v != wv || n != wn {
			t.Errorf("ConsumeFixed32(%x) = %d, %d; protowire %d, %d", b, v, n, wv, wn)
		}
	}
	if v, n := ConsumeFixed64(b); true {
		wv, wn := protowire.ConsumeFixed64(b)
		if v != wv || n != wn {
			t.Errorf("ConsumeFixed64(%x) = %d, %d; protowire %d, %d", b, v, n, wv, wn)
		}
	}
	if v, n := ConsumeBytes(b); true {
		wv, wn := protowire.ConsumeBytes(b)
		if !bytes.Equal(v, wv) || (v == nil) != (wv == nil) || n != wn {
			t.Errorf("ConsumeBytes(%x) = %x, %d; protowire %x, %d", b, v, n, wv, wn)
		}
		if n > 0 && len(v) > 0 && &v[0] != &b[n-len(v)] {
			t.Errorf("ConsumeBytes(%x): payload is not a subslice of the input", b)
		}
	}
	num, typ, n := ConsumeTag(b)
	wnum, wtyp, wn := protowire.ConsumeTag(b)
	if int32(num) != int32(wnum) || int8(typ) != int8(wtyp) || n != wn {
		t.Errorf("ConsumeTag(%x) = %d, %d, %d; protowire %d, %d, %d", b, num, typ, n, wnum, wtyp, wn)
	}
	if n > 0 {
		checkFieldValue(t, num, typ, b[n:])
	}
	if num, typ, n := ConsumeField(b); true {
		wnum, wtyp, wn := protowire.ConsumeField(b)
		if int32(num) != int32(wnum) || int8(typ) != int8(wtyp) || n != wn {
			t.Errorf("ConsumeField(%x) = %d, %d, %d; protowire %d, %d, %d", b, num, typ, n, wnum, wtyp, wn)
		}
	}
}

// checkFieldValue checks ConsumeFieldValue against protowire's.
func checkFieldValue(t *testing.T, num Number, typ Type, b []byte) {
	t.Helper()
	if got, want := ConsumeFieldValue(num, typ, b), protowire.ConsumeFieldValue(protowire.Number(num), protowire.Type(typ), b); got != want {
		t.Errorf("ConsumeFieldValue(%d, %d, %x) = %d, protowire %d", num, typ, b, got, want)
	}
}

// checkAppendVarint checks AppendVarint and SizeVarint against protowire's
// for v, and that ConsumeVarint reads v back.
func checkAppendVarint(t *testing.T, v uint64) {
	t.Helper()
	got, want := AppendVarint(nil, v), protowire.AppendVarint(nil, v)
	if !bytes.Equal(got, want) {
		t.Errorf("AppendVarint(%d) = %x, protowire %x", v, got, want)
	}
	if s, ws := SizeVarint(v), protowire.SizeVarint(v); s != len(got) || s != ws {
		t.Errorf("SizeVarint(%d) = %d, encoding %d bytes, protowire %d", v, s, len(got), ws)
	}
	if back, n := ConsumeVarint(got); back != v || n != len(got) {
		t.Errorf("ConsumeVarint(AppendVarint(%d)) = %d, %d", v, back, n)
	}
}

// FuzzConsume compares every Consume function with protowire's on
// arbitrary bytes.
func FuzzConsume(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x96, 0x01})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02})
	f.Add([]byte{0x0a, 0x03, 'a', 'b', 'c'})
	f.Add([]byte{0x0d, 1, 2, 3, 4})
	f.Add([]byte{0x09, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(group(1, 1, []byte{0x08, 0x01}, group(2, 2)))
	f.Add(group(1, 2))
	f.Add(AppendTag(nil, MaxValidNumber+1, VarintType))
	f.Add(AppendTag(nil, math.MaxInt32, StartGroupType))
	f.Add([]byte{0x0e})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkConsume(t, b)
		for typ := range Type(8) {
			checkFieldValue(t, 1, typ, b)
		}
	})
}

// FuzzGroups builds mostly well-formed input full of groups, which random
// bytes seldom are, from ops, and compares ConsumeField and
// ConsumeFieldValue with protowire's on it. Each op byte picks a wire type
// (low three bits) and a small field number; an end-group op closes the
// innermost open group, with a wrong number when the number bits are odd.
func FuzzGroups(f *testing.F) {
	f.Add([]byte{0x0b, 0x00, 0x0c}, []byte{1, 2, 3})
	f.Add([]byte{0x0b, 0x13, 0x0a, 0x14, 0x0c}, []byte("payload"))
	f.Add([]byte{0x0b, 0x0b, 0x0b, 0x0c, 0x0c}, []byte{})
	f.Add([]byte{0x1b, 0x0c, 0x06}, []byte{0xff})
	f.Fuzz(func(t *testing.T, ops, data []byte) {
		var b []byte
		var open []Number
		for i, op := range ops {
			typ := Type(op & 7)
			num := Number(op>>3) + 1
			if typ == EndGroupType && len(open) > 0 {
				end := open[len(open)-1]
				open = open[:len(open)-1]
				if op&0x08 != 0 {
					end++ // a mismatched end marker
				}
				b = AppendTag(b, end, EndGroupType)
				continue
			}
			b = AppendTag(b, num, typ)
			d := data
			if len(d) > 0 {
				d = d[:int(op)%len(d)]
			}
			switch typ {
			case VarintType:
				b = AppendVarint(b, uint64(len(d))<<(i%64))
			case Fixed32Type:
				b = AppendFixed32(b, uint32(i))
			case Fixed64Type:
				b = AppendFixed64(b, uint64(i))
			case BytesType:
				b = AppendBytes(b, d)
			case StartGroupType:
				open = append(open, num)
			}
		}
		checkConsume(t, b)
		if len(b) > 0 {
			checkConsume(t, b[:len(b)-1])
		}
	})
}

// FuzzAppend compares the Append, Size and ZigZag functions with
// protowire's for arbitrary values.
func FuzzAppend(f *testing.F) {
	f.Add(uint64(0), int32(1), int8(0), []byte{})
	f.Add(uint64(math.MaxUint64), int32(MaxValidNumber), int8(2), []byte("abc"))
	f.Add(uint64(1<<63), int32(-1), int8(-1), bytes.Repeat([]byte{1}, 200))
	f.Fuzz(func(t *testing.T, v uint64, num int32, typ int8, s []byte) {
		// No spare capacity, so that the two appends cannot write into
		// the same array and compare equal whatever they wrote.
		s = s[:len(s):len(s)]
		checkAppendVarint(t, v)
		if got, want := AppendTag(s, Number(num), Type(typ)), protowire.AppendTag(s, protowire.Number(num), protowire.Type(typ)); !bytes.Equal(got, want) {
			t.Errorf("AppendTag(%d, %d) = %x, protowire %x", num, typ, got, want)
		}
		if got, want := AppendFixed32(s, uint32(v)), protowire.AppendFixed32(s, uint32(v)); !bytes.Equal(got, want) {
			t.Errorf("AppendFixed32(%d) = %x, protowire %x", uint32(v), got, want)
		}
		if got, want := AppendFixed64(s, v), protowire.AppendFixed64(s, v); !bytes.Equal(got, want) {
			t.Errorf("AppendFixed64(%d) = %x, protowire %x", v, got, want)
		}
		if got, want := AppendBytes(s, s), protowire.AppendBytes(s, s); !bytes.Equal(got, want) {
			t.Errorf("AppendBytes(%x) = %x, protowire %x", s, got, want)
		}
		if got, want := AppendString(s, string(s)), protowire.AppendString(s, string(s)); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%x) = %x, protowire %x", s, got, want)
		}
		if got, want := SizeBytes(int(v>>1)), protowire.SizeBytes(int(v>>1)); got != want {
			t.Errorf("SizeBytes(%d) = %d, protowire %d", int(v>>1), got, want)
		}
		if got, want := EncodeZigZag(int64(v)), protowire.EncodeZigZag(int64(v)); got != want {
			t.Errorf("EncodeZigZag(%d) = %d, protowire %d", int64(v), got, want)
		}
		if got, want := DecodeZigZag(v), protowire.DecodeZigZag(v); got != want {
			t.Errorf("DecodeZigZag(%d) = %d, protowire %d", v, got, want)
		}
		if back := DecodeZigZag(EncodeZigZag(int64(v))); back != int64(v) {
			t.Errorf("DecodeZigZag(EncodeZigZag(%d)) = %d", int64(v), back)
		}
	})
}
