// Package protoappend holds the protobuf encoding steps that this module's
// hand-written OTLP encoders share (internal/otlpwire for the library's
// spans, internal/otlpbuild for the extension's own telemetry): nested
// messages written in place with a back-patched length, and the scalar
// fields as proto.Marshal writes them (proto3 defaults left out). Output is
// canonical — minimal varints — so it is byte-identical to proto.Marshal's.
package protoappend

import (
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

var zeros [10]byte

// OpenMsg writes the tag of a length-delimited field and a placeholder of
// width bytes for its length, and returns where the placeholder starts. A
// good width (the varint size of the body's expected length) saves
// CloseMsg a move.
func OpenMsg(b []byte, tag byte, width int) ([]byte, int) {
	b = append(b, tag)
	pos := len(b)
	return append(b, zeros[:width]...), pos
}

// CloseMsg patches the length placeholder opened at pos with the size of
// everything written since. When the size needs a different number of
// varint bytes than reserved, the body is moved so that the output stays
// canonical (minimal varints), which is what proto.Marshal writes and
// strict readers expect.
func CloseMsg(b []byte, pos, width int) []byte {
	n := len(b) - pos - width
	w := pbwire.SizeVarint(uint64(n))
	switch {
	case w > width:
		end := len(b)
		b = append(b, zeros[:w-width]...)
		copy(b[pos+w:], b[pos+width:end])
	case w < width:
		copy(b[pos+w:], b[pos+width:])
		b = b[:len(b)-(width-w)]
	}
	putVarint(b[pos:pos+w], uint64(n))
	return b
}

// putVarint writes v as a varint filling exactly len(dst) bytes, which the
// caller has sized with pbwire.SizeVarint.
func putVarint(dst []byte, v uint64) {
	last := len(dst) - 1
	for i := 0; i < last; i++ {
		dst[i] = byte(v) | 0x80
		v >>= 7
	}
	dst[last] = byte(v)
}

// String writes a string field, leaving it out when empty (the proto3
// default), as proto.Marshal does.
func String(b []byte, tag byte, s string) []byte {
	if s == "" {
		return b
	}
	return StringAlways(b, tag, s)
}

// StringAlways writes a string field even when empty: for a oneof member,
// whose presence is the point.
func StringAlways(b []byte, tag byte, s string) []byte {
	b = append(b, tag)
	b = pbwire.AppendVarint(b, uint64(len(s)))
	return append(b, s...)
}

// Fixed64 writes a fixed64 field, left out when zero.
func Fixed64(b []byte, tag byte, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, tag)
	return pbwire.AppendFixed64(b, v)
}

// UnixNano is t in nanoseconds since the epoch, keeping the zero (unset)
// time at zero, as OTLP means it: time.Time{}.UnixNano() is far negative.
func UnixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return uint64(n)
}
