package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

// walk validates b as an encoding of m, adding what it finds to c. base is
// b's offset in the request body, for error offsets; depth is the current
// AnyValue nesting.
//
// It returns *Error rather than error so that the success path never builds
// an interface value, and it records no path while descending: the path is
// assembled from the failing field outwards only when something is wrong.
func walk(m *message, b []byte, base, depth int, c *Counts) *Error {
	switch m.role {
	case roleResource:
		c.Resources++
	case roleItem:
		c.Items++
	case roleAnyValue:
		depth++
		if depth > MaxDepth {
			return newError(base, fmt.Sprintf("values nested deeper than %d levels", MaxDepth))
		}
	}
	for i := 0; i < len(b); {
		start := i
		var num pbwire.Number
		var typ pbwire.Type
		var n int
		if t := b[i]; t < 0x80 && t>>3 != 0 {
			// One-byte tag (fields 1-15), by far the most common: skip
			// the general decoder's call.
			num, typ, n = pbwire.Number(t>>3), pbwire.Type(t&7), 1
		} else {
			num, typ, n = pbwire.ConsumeTag(b[i:])
			if n < 0 {
				return newError(base+i, "bad tag: "+pbwire.ParseError(n).Error())
			}
			if num > pbwire.MaxValidNumber {
				// ConsumeTag allows up to MaxInt32 (for MessageSet); the
				// protobuf runtime rejects this range, so must we.
				return newError(base+i, fmt.Sprintf("bad tag: field number %d out of range", num))
			}
		}
		i += n

		var f *field
		if int(num) < len(m.fields) && m.fields[num].kind != kindUnknown {
			f = &m.fields[num]
		}

		// Skip over the value, checking that it is all there.
		var val []byte // payload of a length-delimited field
		valOff := base + i
		switch typ {
		case pbwire.VarintType:
			if i < len(b) && b[i] < 0x80 {
				n = 1
				break
			}
			_, n = pbwire.ConsumeVarint(b[i:])
			if n < 0 {
				return fieldError(f, num, b[:start], base+i, "bad varint: "+pbwire.ParseError(n).Error())
			}
		case pbwire.Fixed32Type:
			n = 4
			if len(b)-i < n {
				return fieldError(f, num, b[:start], base+i, fmt.Sprintf("truncated fixed32: %d bytes left", len(b)-i))
			}
		case pbwire.Fixed64Type:
			n = 8
			if len(b)-i < n {
				return fieldError(f, num, b[:start], base+i, fmt.Sprintf("truncated fixed64: %d bytes left", len(b)-i))
			}
		case pbwire.BytesType:
			var l uint64
			var ln int
			if i < len(b) && b[i] < 0x80 {
				l, ln = uint64(b[i]), 1
			} else if l, ln = pbwire.ConsumeVarint(b[i:]); ln < 0 {
				return fieldError(f, num, b[:start], base+i, "bad length: "+pbwire.ParseError(ln).Error())
			}
			if left := uint64(len(b) - i - ln); l > left {
				return fieldError(f, num, b[:start], base+i, fmt.Sprintf("length %d past the end of the enclosing message (%d bytes left)", l, left))
			}
			n = ln + int(l)
			val = b[i+ln : i+n]
			valOff = base + i + ln
		case pbwire.StartGroupType, pbwire.EndGroupType:
			// Groups are proto2-only; OTLP never uses them.
			return fieldError(f, num, b[:start], base+start, fmt.Sprintf("group wire type %d not allowed in OTLP", typ))
		default:
			return fieldError(f, num, b[:start], base+start, fmt.Sprintf("invalid wire type %d", typ))
		}
		i += n
		if f == nil {
			continue // unknown field: forward compatibility
		}
		if typ == pbwire.BytesType {
			// Strings and nested messages are most of OTLP: checked
			// here without checkField's call and type switch.
			switch f.kind {
			case kindMessage:
				if e := walk(f.msg, val, valOff, depth, c); e != nil {
					return e.at(segment(f, num, b[:start]))
				}
				continue
			case kindString:
				if !validUTF8(val) {
					return newError(valOff, "invalid UTF-8").at(segment(f, num, b[:start]))
				}
				continue
			}
		}
		if e := checkField(f, typ, val, valOff, depth, c); e != nil {
			return e.at(segment(f, num, b[:start]))
		}
	}
	return nil
}

// checkField checks the value of a known field. typ is its wire type and val
// its payload when typ is BytesType.
func checkField(f *field, typ pbwire.Type, val []byte, off, depth int, c *Counts) *Error {
	if typ != f.wire {
		packed := typ == pbwire.BytesType && (f.kind == kindPackedVarint || f.kind == kindPackedFixed64)
		if !packed {
			return newError(off, fmt.Sprintf("wire type %d, want %d", typ, f.wire))
		}
	}
	switch f.kind {
	case kindString:
		if !utf8.Valid(val) {
			return newError(off, "invalid UTF-8")
		}
	case kindTraceID:
		if len(val) != 0 && len(val) != 16 {
			return newError(off, fmt.Sprintf("length %d, want 16", len(val)))
		}
	case kindSpanID:
		if len(val) != 0 && len(val) != 8 {
			return newError(off, fmt.Sprintf("length %d, want 8", len(val)))
		}
	case kindMessage:
		return walk(f.msg, val, off, depth, c)
	case kindPackedVarint:
		for j := 0; j < len(val); {
			_, n := pbwire.ConsumeVarint(val[j:])
			if n < 0 {
				return newError(off+j, "bad packed varint: "+pbwire.ParseError(n).Error())
			}
			j += n
		}
	case kindPackedFixed64:
		if len(val)%8 != 0 {
			return newError(off, fmt.Sprintf("packed fixed64 length %d is not a multiple of 8", len(val)))
		}
	}
	return nil
}

func newError(off int, reason string) *Error {
	return &Error{Offset: off, Reason: reason}
}

// at prepends a path segment (the path is built innermost first).
func (e *Error) at(seg string) *Error {
	e.segs = append(e.segs, seg)
	return e
}

// fieldError reports a problem with the value of field num. A known field
// names itself in the path; an unknown one is named by number in the reason,
// since it has no name to put in a path.
func fieldError(f *field, num pbwire.Number, before []byte, off int, reason string) *Error {
	if f == nil {
		return newError(off, fmt.Sprintf("field %d: %s", num, reason))
	}
	return newError(off, reason).at(segment(f, num, before))
}

// segment names field f (number num) in an error path. For a repeated field
// the index is found by counting the field's earlier occurrences in before,
// the part of the message already walked: this costs a second pass, but only
// on the error path, where it saves keeping counters on the success path.
func segment(f *field, num pbwire.Number, before []byte) string {
	if !f.repeated {
		return f.name
	}
	idx := 0
	for len(before) > 0 {
		n, _, l := pbwire.ConsumeField(before)
		if l < 0 {
			break // cannot happen: walk has already checked this prefix
		}
		if n == num {
			idx++
		}
		before = before[l:]
	}
	return f.name + "[" + strconv.Itoa(idx) + "]"
}

// validUTF8 is utf8.Valid with the ASCII case, nearly every OTLP string,
// decided inline eight bytes at a time: most strings are short keys and
// values, for which the call and setup of utf8.Valid cost more than the
// check.
func validUTF8(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return utf8.Valid(b)
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return utf8.Valid(b)
		}
	}
	return true
}
