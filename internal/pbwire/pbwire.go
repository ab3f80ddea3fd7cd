// Package pbwire reads and writes the protobuf wire format at the level of
// single tags, varints, fixed-width values and length-delimited fields, as
// described in https://protobuf.dev/programming-guides/encoding/.
//
// It exists to replace google.golang.org/protobuf/encoding/protowire in the
// extension and in functions using the library. protowire imports the
// protobuf runtime's internal/errors, whose package init runs
// internal/detrand: that opens the running executable and reads samples of
// it to seed the runtime's deliberately unstable output. In the extension
// this cost about 3 % of its CPU from exec to registering with the Extensions
// API, and at a real cold start those reads may go to disk. Nothing here
// needs that randomness; we only use protowire's low-level wire helpers.
//
// The API is the subset of protowire's that this module uses, with the same
// names, types and semantics (including the negative-length error codes that
// the Consume functions return, and the handling of groups), so that moving
// between the two is an import-path change. Tests check it against protowire
// differentially. Add to it only what a caller needs.
package pbwire

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/bits"
	"slices"
)

// Number is a field number. Valid field numbers are 1 to MaxValidNumber;
// ConsumeTag returns numbers up to math.MaxInt32, as protowire does, because
// MessageSet uses that wider range: callers decoding ordinary messages must
// check against MaxValidNumber themselves.
type Number int32

// MaxValidNumber is the largest valid field number (2^29-1): a tag keeps
// three bits for the wire type and must fit in 32 bits.
const MaxValidNumber Number = 1<<29 - 1

// Type is a wire type: the low three bits of a tag, which say how the value
// after it is encoded (and so how to skip it without knowing the schema).
type Type int8

// The wire types. 3 and 4 are the deprecated proto2 group markers; 6 and 7
// are reserved and rejected by ConsumeFieldValue.
const (
	VarintType     Type = 0 // int32, int64, uint32, uint64, sint32, sint64, bool, enum
	Fixed64Type    Type = 1 // fixed64, sfixed64, double
	BytesType      Type = 2 // length-delimited: string, bytes, messages, packed repeated fields
	StartGroupType Type = 3 // start of a group (deprecated)
	EndGroupType   Type = 4 // end of a group (deprecated)
	Fixed32Type    Type = 5 // fixed32, sfixed32, float
)

// maxVarintLen is the longest encoding of a 64-bit varint: 64 bits at seven
// per byte.
const maxVarintLen = 10

// recursionLimit bounds group nesting in ConsumeFieldValue, so that hostile
// input ends in an error rather than a huge stack. It is protowire's
// DefaultRecursionLimit, so that both accept exactly the same inputs.
const recursionLimit = 10000

// The error codes returned, as negative lengths, by the Consume functions.
// The values are protowire's, so that a code means the same whichever
// package produced it.
const (
	errCodeTruncated      = -1 // the input ended inside a value
	errCodeFieldNumber    = -2 // field number 0 or beyond math.MaxInt32
	errCodeOverflow       = -3 // varint longer than 10 bytes or above 2^64-1
	errCodeReserved       = -4 // wire type 6 or 7
	errCodeEndGroup       = -5 // end-group marker with no matching start
	errCodeRecursionDepth = -6 // groups nested deeper than recursionLimit
)

// The errors ParseError returns. Their text is protowire's with an ordinary
// space after "proto:" (protowire randomises that space, which is what pulls
// in detrand), so that messages users have seen keep their wording.
var (
	errFieldNumber = errors.New("proto: invalid field number")
	errOverflow    = errors.New("proto: variable length integer overflow")
	errReserved    = errors.New("proto: cannot parse reserved wire type")
	errEndGroup    = errors.New("proto: mismatching end group marker")
	errParse       = errors.New("proto: parse error")
)

// ParseError turns a negative length returned by a Consume function into an
// error; it returns nil for n >= 0. A truncated input gives
// io.ErrUnexpectedEOF itself, so that errors.Is and == work as with
// protowire.
func ParseError(n int) error {
	switch {
	case n >= 0:
		return nil
	case n == errCodeTruncated:
		return io.ErrUnexpectedEOF
	case n == errCodeFieldNumber:
		return errFieldNumber
	case n == errCodeOverflow:
		return errOverflow
	case n == errCodeReserved:
		return errReserved
	case n == errCodeEndGroup:
		return errEndGroup
	default: // errCodeRecursionDepth and anything unknown, as protowire
		return errParse
	}
}

// AppendTag appends the tag of field num with wire type typ: the varint
// num<<3 | typ.
func AppendTag(b []byte, num Number, typ Type) []byte {
	// uint64(num) sign-extends a negative num, as protowire's EncodeTag
	// does, so that even invalid input encodes identically.
	return AppendVarint(b, uint64(num)<<3|uint64(typ&7))
}

// AppendVarint appends v as a base-128 varint: seven bits per byte, least
// significant group first, the high bit set on every byte but the last.
func AppendVarint(b []byte, v uint64) []byte {
	// Small enough to inline: most varints written (tags, small lengths,
	// enums) are one byte, and those need no call.
	if v < 0x80 {
		return append(b, byte(v))
	}
	return appendVarintSlow(b, v)
}

// appendVarintSlow is AppendVarint for v >= 0x80. Two bytes (128 to 16383,
// most lengths) are one append; longer varints are written in place into b
// grown once, rather than byte by byte with a capacity check each. It is
// kept out of line: inlined into AppendVarint, and so into every caller, it
// would grow the extension for no measurable gain in the encoders'
// benchmarks.
//
//go:noinline
func appendVarintSlow(b []byte, v uint64) []byte {
	if v < 1<<14 {
		return append(b, byte(v)|0x80, byte(v>>7))
	}
	n := SizeVarint(v)
	b = slices.Grow(b, n)
	p := b[len(b) : len(b)+n]
	for i := range n - 1 {
		p[i] = byte(v) | 0x80
		v >>= 7
	}
	p[n-1] = byte(v)
	return b[:len(b)+n]
}

// AppendFixed32 appends v as four little-endian bytes (wire type
// Fixed32Type).
func AppendFixed32(b []byte, v uint32) []byte {
	return binary.LittleEndian.AppendUint32(b, v)
}

// AppendFixed64 appends v as eight little-endian bytes (wire type
// Fixed64Type).
func AppendFixed64(b []byte, v uint64) []byte {
	return binary.LittleEndian.AppendUint64(b, v)
}

// AppendBytes appends v as a length-delimited value: its length as a varint,
// then its bytes.
func AppendBytes(b []byte, v []byte) []byte {
	return append(AppendVarint(b, uint64(len(v))), v...)
}

// AppendString appends v as a length-delimited value, like AppendBytes.
func AppendString(b []byte, v string) []byte {
	return append(AppendVarint(b, uint64(len(v))), v...)
}

// ConsumeTag parses a tag at the start of b, returning the field number, the
// wire type and the tag's length, or a negative length (see ParseError).
// Field number 0 and numbers above math.MaxInt32 are errors; numbers between
// MaxValidNumber and math.MaxInt32 are not (see Number).
func ConsumeTag(b []byte) (Number, Type, int) {
	var v uint64
	var n int
	// Two-byte tags (fields 16 to 2047) are common in OTLP, and ConsumeTag
	// is too big to inline anyway: decoding them here directly is cheaper
	// than ConsumeVarint's loop.
	if len(b) >= 2 && b[0] >= 0x80 && b[1] < 0x80 {
		v, n = uint64(b[0]&0x7f)|uint64(b[1])<<7, 2
	} else if v, n = ConsumeVarint(b); n < 0 {
		return 0, 0, n
	}
	// One unsigned compare for 1 <= v>>3 <= MaxInt32: 0 wraps round to
	// the top.
	if v>>3-1 >= math.MaxInt32 {
		return 0, 0, errCodeFieldNumber
	}
	return Number(v >> 3), Type(v & 7), n
}

// ConsumeVarint parses a varint at the start of b, returning its value and
// length, or a negative length (see ParseError). Like protowire it accepts
// non-minimal encodings (such as 0x80 0x00 for 0) and rejects an encoding
// longer than ten bytes or whose value does not fit in 64 bits. On error v
// is 0.
func ConsumeVarint(b []byte) (v uint64, n int) {
	// Written to be inlined, with no call: a one-byte fast path plus a call
	// to an unrolled slow path, the usual shape, is over the inlining
	// budget (the call alone costs most of it). The loop is bounded to ten
	// bytes so that it needs no overflow test per byte.
	if len(b) == 0 {
		return 0, errCodeTruncated
	}
	v = uint64(b[0])
	if v < 0x80 {
		return v, 1
	}
	// Byte k (k >= 1) goes in at bit 7k, where v holds the continuation
	// bit of byte k-1, always 1, and nothing above. XORing in the byte with
	// its bit 0 flipped leaves that bit as the byte's bit 0, and the byte's
	// own continuation bit for byte k+1 to clear in turn: no mask is
	// needed, which keeps this within the inlining budget.
	for i, c := range b[1:min(len(b), maxVarintLen)] {
		// The shift is at most 63 (i <= 8); the mask tells the
		// compiler so, sparing it the code for larger shifts.
		v ^= uint64(c^1) << ((7*i + 7) & 63)
		if c < 0x80 {
			// The tenth byte holds bit 63 only: more would not fit
			// in 64 bits.
			if i == maxVarintLen-2 && c > 1 {
				return 0, errCodeOverflow
			}
			return v, i + 2
		}
	}
	if len(b) >= maxVarintLen {
		return 0, errCodeOverflow // ten bytes, all with the continuation bit
	}
	return 0, errCodeTruncated
}

// ConsumeFixed32 parses four little-endian bytes at the start of b,
// returning the value and 4, or a negative length if b is shorter.
func ConsumeFixed32(b []byte) (v uint32, n int) {
	if len(b) < 4 {
		return 0, errCodeTruncated
	}
	return binary.LittleEndian.Uint32(b), 4
}

// ConsumeFixed64 parses eight little-endian bytes at the start of b,
// returning the value and 8, or a negative length if b is shorter.
func ConsumeFixed64(b []byte) (v uint64, n int) {
	if len(b) < 8 {
		return 0, errCodeTruncated
	}
	return binary.LittleEndian.Uint64(b), 8
}

// ConsumeBytes parses a length-delimited value at the start of b, returning
// its payload (a subslice of b, not a copy) and the total length of the
// length prefix and payload, or a negative length (see ParseError).
func ConsumeBytes(b []byte) (v []byte, n int) {
	l, n := ConsumeVarint(b)
	if n < 0 {
		return nil, n
	}
	// Compared as uint64 so that a length beyond the int range cannot wrap.
	if l > uint64(len(b)-n) {
		return nil, errCodeTruncated
	}
	return b[n : n+int(l)], n + int(l)
}

// ConsumeField parses a whole field (tag and value) at the start of b,
// returning its number, wire type and total length, or a negative length
// (see ParseError).
func ConsumeField(b []byte) (Number, Type, int) {
	num, typ, n := ConsumeTag(b)
	if n < 0 {
		return 0, 0, n
	}
	m := ConsumeFieldValue(num, typ, b[n:])
	if m < 0 {
		return 0, 0, m
	}
	return num, typ, n + m
}

// ConsumeFieldValue returns the length of the value of field num, of wire
// type typ, at the start of b (the part after the tag), or a negative length
// (see ParseError). For StartGroupType the value runs up to and including
// the matching end-group tag, which must carry the same num; groups may nest
// up to a fixed limit (protowire's DefaultRecursionLimit). A lone
// EndGroupType and the reserved wire types 6 and 7 are errors.
func ConsumeFieldValue(num Number, typ Type, b []byte) (n int) {
	return consumeFieldValue(num, typ, b, recursionLimit)
}

// consumeFieldValue is ConsumeFieldValue with depth, the number of further
// group levels allowed.
func consumeFieldValue(num Number, typ Type, b []byte, depth int) int {
	var n int
	switch typ {
	case VarintType:
		_, n = ConsumeVarint(b)
	case Fixed32Type:
		_, n = ConsumeFixed32(b)
	case Fixed64Type:
		_, n = ConsumeFixed64(b)
	case BytesType:
		_, n = ConsumeBytes(b)
	case StartGroupType:
		n = consumeGroup(num, b, depth)
	case EndGroupType:
		n = errCodeEndGroup
	default:
		n = errCodeReserved
	}
	return n
}

// consumeGroup returns the length of a group's fields and its end-group tag
// at the start of b, for a group started by field num.
func consumeGroup(num Number, b []byte, depth int) int {
	// protowire checks the depth when a group starts, after counting the
	// level down on the way in; doing the same here makes both accept
	// exactly the same nesting.
	if depth < 0 {
		return errCodeRecursionDepth
	}
	off := 0
	for {
		num2, typ2, n := ConsumeTag(b[off:])
		if n < 0 {
			return n
		}
		off += n
		if typ2 == EndGroupType {
			if num2 != num {
				return errCodeEndGroup
			}
			return off
		}
		m := consumeFieldValue(num2, typ2, b[off:], depth-1)
		if m < 0 {
			return m
		}
		off += m
	}
}

// SizeVarint returns the length of v's varint encoding: one byte per seven
// significant bits, at least one.
func SizeVarint(v uint64) int {
	return 1 + (bits.Len64(v|1)-1)/7
}

// SizeBytes returns the length of a length-delimited value with an n-byte
// payload: the varint of n plus n.
func SizeBytes(n int) int {
	return SizeVarint(uint64(n)) + n
}

// EncodeZigZag maps a signed integer to an unsigned one so that values of
// small magnitude, negative ones included, get short varints (sint32,
// sint64): 0→0, -1→1, 1→2, -2→3, ...
func EncodeZigZag(v int64) uint64 {
	return uint64(v<<1) ^ uint64(v>>63)
}

// DecodeZigZag inverts EncodeZigZag.
func DecodeZigZag(x uint64) int64 {
	return int64(x>>1) ^ -int64(x&1)
}
