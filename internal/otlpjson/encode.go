package otlpjson

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

// encoder transcodes protobuf to OTLP/JSON. Each message is walked twice: a
// first pass checks the wire format and notes where each known field occurs;
// a second writes the fields in the order of m.order. That is what lets it follow
// protobuf's merge rules, which JSON cannot express directly: a repeated
// field may be split across the message (even packed and unpacked at once),
// the last value of a scalar wins, a message field given twice is the merge
// of both, and the last oneof member wins.
type encoder struct {
	out      []byte
	anyDepth int
}

// occurrences says where one field occurs in a message's bytes.
type occurrences struct {
	first, last int // offsets of the first and last tags
	count       int
}

// accepts reports whether a field of f may have wire type typ. Any other
// wire type makes it an unknown field, as in proto.Unmarshal.
func (f *field) accepts(typ pbwire.Type) bool {
	want := f.kind.wireType()
	return typ == want || f.flags&repeated != 0 && want != pbwire.BytesType && typ == pbwire.BytesType
}

// message appends the JSON object for b, a message of type m.
func (e *encoder) message(m *message, b []byte) error {
	if m != &messages[mAnyValue] {
		return e.object(m, b)
	}
	if e.anyDepth >= maxAnyDepth {
		return newError(anyDepthError)
	}
	e.anyDepth++
	err := e.object(m, b)
	e.anyDepth--
	return err
}

func (e *encoder) object(m *message, b []byte) error {
	var occ [maxFields]occurrences
	chosen := -1 // the oneof member that wins: the last one on the wire
	losers := false
	for off := 0; off < len(b); {
		num, typ, n := pbwire.ConsumeTag(b[off:])
		if n < 0 {
			return wireError(n)
		}
		if num > pbwire.MaxValidNumber {
			return newError("invalid protobuf: invalid field number")
		}
		v := pbwire.ConsumeFieldValue(num, typ, b[off+n:])
		if v < 0 {
			return wireError(v)
		}
		if i, f := m.field(num); f != nil && f.accepts(typ) {
			o := &occ[i]
			if f.flags&oneof != 0 && chosen != i {
				if chosen >= 0 {
					losers = true
				}
				chosen = i
				o.count = 0
			}
			if o.count == 0 {
				o.first = off
			} else if f.flags&repeated == 0 && f.kind != kindMessage {
				losers = true
			}
			o.count++
			o.last = off
		}
		off += n + v
	}
	if losers {
		if err := e.checkLosers(m, b, &occ, chosen); err != nil {
			return err
		}
	}

	e.out = append(e.out, '{')
	comma := false
	for _, i8 := range m.order {
		i := int(i8)
		o := &occ[i]
		f := &m.fields[i]
		if o.count == 0 || f.flags&oneof != 0 && i != chosen {
			continue
		}
		mark := len(e.out)
		if comma {
			e.out = append(e.out, ',')
		}
		e.out = append(e.out, f.key...)
		var wrote bool
		var err error
		switch {
		case f.flags&repeated != 0:
			wrote, err = e.repeated(f, b, o)
		case f.kind == kindMessage:
			wrote, err = true, e.merged(f, b, o)
		default:
			val := valueAt(b, o.last)
			wrote, err = e.scalar(f, val, f.flags&presence != 0)
			if err != nil {
				err = within(err, f.name, -1)
			}
		}
		if err != nil {
			return err
		}
		if !wrote {
			e.out = e.out[:mark]
			continue
		}
		comma = true
	}
	e.out = append(e.out, '}')
	return nil
}

// valueAt returns the value bytes (after the tag) of the field at b[off:],
// which the first pass has checked.
func valueAt(b []byte, off int) []byte {
	num, typ, n := pbwire.ConsumeTag(b[off:])
	v := pbwire.ConsumeFieldValue(num, typ, b[off+n:])
	return b[off+n : off+n+v]
}

// checkLosers checks the values that a later one overrides, which are not
// written but which proto.Unmarshal would still reject if malformed (bad
// UTF-8, say): a scalar given twice, or a oneof member replaced by another.
// Each is checked by encoding it and throwing the JSON away; overridden
// values are rare, so simplicity wins over speed here.
func (e *encoder) checkLosers(m *message, b []byte, occ *[maxFields]occurrences, chosen int) error {
	mark := len(e.out)
	for off := 0; off < len(b); {
		num, typ, n := pbwire.ConsumeTag(b[off:])
		v := pbwire.ConsumeFieldValue(num, typ, b[off+n:])
		i, f := m.field(num)
		here := off
		off += n + v
		if f == nil || f.flags&repeated != 0 || !f.accepts(typ) {
			continue
		}
		written := false
		switch {
		case f.flags&oneof != 0 && i != chosen:
		case f.kind == kindMessage:
			written = here >= occ[i].first // merged into the written value
		default:
			written = here == occ[i].last
		}
		if written {
			continue
		}
		val := b[here+n : here+n+v]
		var err error
		if f.kind == kindMessage {
			p, _ := pbwire.ConsumeBytes(val)
			err = e.message(&messages[f.msg], p)
		} else {
			_, err = e.scalar(f, val, true)
		}
		e.out = e.out[:mark]
		if err != nil {
			return within(err, f.name, -1)
		}
	}
	return nil
}

// merged appends the value of message field f: the merge of all its
// occurrences from o.first, which protobuf defines as the message their
// concatenated bodies encode.
func (e *encoder) merged(f *field, b []byte, o *occurrences) error {
	var body []byte
	if o.count == 1 {
		val := valueAt(b, o.first)
		body, _ = pbwire.ConsumeBytes(val)
	} else {
		seen := 0
		for off := o.first; seen < o.count; {
			num, typ, n := pbwire.ConsumeTag(b[off:])
			v := pbwire.ConsumeFieldValue(num, typ, b[off+n:])
			if num == f.num && typ == pbwire.BytesType {
				p, _ := pbwire.ConsumeBytes(b[off+n : off+n+v])
				// Each occurrence must be well-formed by itself, as
				// proto.Unmarshal parses them one by one: joined, a
				// truncated field could borrow bytes from the next.
				if err := checkFields(p); err != nil {
					return within(err, f.name, -1)
				}
				body = append(body, p...)
				seen++
			}
			off += n + v
		}
	}
	if err := e.message(&messages[f.msg], body); err != nil {
		return within(err, f.name, -1)
	}
	return nil
}

// checkFields checks that b is a sequence of whole fields: the framing
// only, as the fields' contents are checked when they are encoded.
func checkFields(b []byte) error {
	for len(b) > 0 {
		num, typ, n := pbwire.ConsumeTag(b)
		if n < 0 {
			return wireError(n)
		}
		if num > pbwire.MaxValidNumber {
			return newError("invalid protobuf: invalid field number")
		}
		v := pbwire.ConsumeFieldValue(num, typ, b[n:])
		if v < 0 {
			return wireError(v)
		}
		b = b[n+v:]
	}
	return nil
}

// repeated appends the JSON array for repeated field f, gathering its
// elements from every occurrence, packed or not. It writes nothing, and
// returns false, when the occurrences hold no element.
func (e *encoder) repeated(f *field, b []byte, o *occurrences) (bool, error) {
	e.out = append(e.out, '[')
	n := 0 // elements written
	seen := 0
	for off := o.first; seen < o.count; {
		num, typ, tn := pbwire.ConsumeTag(b[off:])
		v := pbwire.ConsumeFieldValue(num, typ, b[off+tn:])
		val := b[off+tn : off+tn+v]
		off += tn + v
		if num != f.num || !f.accepts(typ) {
			continue
		}
		seen++
		if typ != pbwire.BytesType || f.kind.wireType() == pbwire.BytesType {
			if n > 0 {
				e.out = append(e.out, ',')
			}
			var err error
			if f.kind == kindMessage {
				p, _ := pbwire.ConsumeBytes(val)
				err = e.message(&messages[f.msg], p)
			} else {
				_, err = e.scalar(f, val, true)
			}
			if err != nil {
				return false, within(err, f.name, n)
			}
			n++
			continue
		}
		packed, _ := pbwire.ConsumeBytes(val)
		size := 8
		switch f.kind.wireType() {
		case pbwire.Fixed32Type:
			size = 4
		case pbwire.VarintType:
			size = 0
		}
		for len(packed) > 0 {
			k := size
			if size == 0 {
				_, k = pbwire.ConsumeVarint(packed)
				if k < 0 {
					return false, within(wireError(k), f.name, n)
				}
			} else if len(packed) < size {
				return false, within(newError("invalid protobuf: packed field length is not a multiple of "+strconv.Itoa(size)), f.name, n)
			}
			if n > 0 {
				e.out = append(e.out, ',')
			}
			if _, err := e.scalar(f, packed[:k], true); err != nil {
				return false, within(err, f.name, n)
			}
			packed = packed[k:]
			n++
		}
	}
	if n == 0 {
		return false, nil
	}
	e.out = append(e.out, ']')
	return true, nil
}

// scalar appends the JSON value of val, the wire value of non-message field
// f, unless it is the default and always is false; it reports whether it
// wrote anything.
func (e *encoder) scalar(f *field, val []byte, always bool) (bool, error) {
	switch f.kind.wireType() {
	case pbwire.VarintType:
		v, _ := pbwire.ConsumeVarint(val)
		switch f.kind {
		case kindBool:
			if v == 0 && !always {
				return false, nil
			}
			if v != 0 {
				e.out = append(e.out, "true"...)
			} else {
				e.out = append(e.out, "false"...)
			}
		case kindInt32, kindEnum:
			if int32(v) == 0 && !always {
				return false, nil
			}
			e.out = strconv.AppendInt(e.out, int64(int32(v)), 10)
		case kindUint32:
			if uint32(v) == 0 && !always {
				return false, nil
			}
			e.out = strconv.AppendUint(e.out, uint64(uint32(v)), 10)
		case kindSint32:
			if uint32(v) == 0 && !always {
				return false, nil
			}
			e.out = strconv.AppendInt(e.out, int64(int32(pbwire.DecodeZigZag(v&math.MaxUint32))), 10)
		case kindInt64:
			if v == 0 && !always {
				return false, nil
			}
			e.out = append(e.out, '"')
			e.out = strconv.AppendInt(e.out, int64(v), 10)
			e.out = append(e.out, '"')
		default: // kindUint64
			if v == 0 && !always {
				return false, nil
			}
			e.out = append(e.out, '"')
			e.out = strconv.AppendUint(e.out, v, 10)
			e.out = append(e.out, '"')
		}

	case pbwire.Fixed32Type:
		v, _ := pbwire.ConsumeFixed32(val)
		if v == 0 && !always {
			return false, nil
		}
		e.out = strconv.AppendUint(e.out, uint64(v), 10)

	case pbwire.Fixed64Type:
		v, _ := pbwire.ConsumeFixed64(val)
		if v == 0 && !always {
			return false, nil
		}
		switch f.kind {
		case kindDouble:
			e.out = appendDouble(e.out, math.Float64frombits(v))
		case kindSfixed64:
			e.out = append(e.out, '"')
			e.out = strconv.AppendInt(e.out, int64(v), 10)
			e.out = append(e.out, '"')
		default:
			e.out = append(e.out, '"')
			e.out = strconv.AppendUint(e.out, v, 10)
			e.out = append(e.out, '"')
		}

	default:
		p, _ := pbwire.ConsumeBytes(val)
		switch f.kind {
		case kindString:
			if !utf8.Valid(p) {
				return false, newError("invalid UTF-8 in string")
			}
			if len(p) == 0 && !always {
				return false, nil
			}
			e.out = appendString(e.out, p)
		case kindBytes:
			if len(p) == 0 && !always {
				return false, nil
			}
			e.out = append(e.out, '"')
			e.out = base64.StdEncoding.AppendEncode(e.out, p)
			e.out = append(e.out, '"')
		default: // kindID
			if len(p) == 0 { // absent, whatever always says
				return false, nil
			}
			if len(p) != f.size {
				return false, newError("want " + strconv.Itoa(f.size) + " bytes, got " + strconv.Itoa(len(p)))
			}
			e.out = append(e.out, '"')
			e.out = hex.AppendEncode(e.out, p)
			e.out = append(e.out, '"')
		}
	}
	return true, nil
}

// appendDouble appends f as a JSON number the way encoding/json and
// JavaScript write it (shortest round-trip digits, exponent only for very
// large or small magnitudes), or as the strings protobuf's JSON mapping uses
// for NaN and the infinities.
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // 1e-07 → 1e-7
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// jsonPlain marks the bytes a JSON string may hold unescaped.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s, valid UTF-8, as a JSON string, escaping only
// what JSON requires.
func appendString(b, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i, c := range s {
		if jsonPlain[c] {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
