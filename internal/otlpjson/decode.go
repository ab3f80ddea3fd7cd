package otlpjson

import (
	"bytes"
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

// decoder transcodes one OTLP/JSON document to protobuf: a recursive-descent
// JSON scanner that appends each value's wire encoding to out as soon as it
// has read it.
//
// A nested message is written after a length placeholder sized by the
// message's lenWidth guess, and the body is moved only when the guess was
// wrong. The length prefixes are therefore minimal varints, as proto.Marshal
// writes them, at the cost of an occasional memmove instead of a second
// pass or a tree. (A hostile document can make every level of a deep
// AnyValue move a large body once: O(size × depth), bounded by the depth
// limit.)
type decoder struct {
	in       []byte
	pos      int
	out      []byte
	anyDepth int
	scratch  []byte // unescaped keys and quoted numbers; grows once, if ever
}

// zeros are length placeholders, as long as the longest varint.
var zeros [10]byte

// document reads the whole input: one object of message root, and nothing
// but white space after it.
func (d *decoder) document(root *message) error {
	d.skipWS()
	if d.peek() != '{' {
		return newError("want a JSON object at the top level, got " + d.describe())
	}
	d.pos++
	if err := d.message(root); err != nil {
		return err
	}
	d.skipWS()
	if d.pos < len(d.in) {
		return d.syntaxError("data after the top-level object")
	}
	return nil
}

// message reads the members of an object of type m; the '{' is consumed.
func (d *decoder) message(m *message) error {
	if m != &messages[mAnyValue] {
		return d.object(m)
	}
	if d.anyDepth >= maxAnyDepth {
		return newError(anyDepthError)
	}
	d.anyDepth++
	err := d.object(m)
	d.anyDepth--
	return err
}

func (d *decoder) object(m *message) error {
	var seen uint32 // fields already given, by index
	oneofSet := false
	hint := 0 // where the next key probably is in m.fields
	d.skipWS()
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		key, err := d.key()
		if err != nil {
			return err
		}
		d.skipWS()
		if i := m.lookup(key, hint); i < 0 {
			if err := d.skip(0); err != nil {
				return err
			}
		} else {
			hint = i + 1
			f := &m.fields[i]
			if seen&(1<<i) != 0 {
				return within(newError("duplicate field"), f.name, -1)
			}
			seen |= 1 << i
			if !d.null() {
				if f.flags&oneof != 0 {
					if oneofSet {
						return within(newError("another member of the same oneof is already set"), f.name, -1)
					}
					oneofSet = true
				}
				if err := d.field(f); err != nil {
					return err
				}
			}
		}
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
			d.skipWS()
		case '}':
			d.pos++
			return nil
		default:
			return d.syntaxError("want ',' or '}' after object member, got " + d.describe())
		}
	}
}

// lookup returns the index of the field named key (in either spelling), or
// -1. It starts at hint because keys usually come in schema order.
func (m *message) lookup(key []byte, hint int) int {
	n := len(m.fields)
	for j := 0; j < n; j++ {
		i := hint + j
		if i >= n {
			i -= n
		}
		f := &m.fields[i]
		if string(key) == f.name || string(key) == f.snake {
			return i
		}
	}
	return -1
}

// field reads the value of f (not null) and appends its encoding.
func (d *decoder) field(f *field) error {
	if f.flags&repeated == 0 {
		if err := d.value(f, f.flags&presence != 0, true); err != nil {
			return within(err, f.name, -1)
		}
		return nil
	}
	if d.peek() != '[' {
		return within(newError("want an array, got "+d.describe()), f.name, -1)
	}
	d.pos++
	packed := f.kind.packable()
	start, at := len(d.out), 0
	if packed {
		d.out = pbwire.AppendTag(d.out, f.num, pbwire.BytesType)
		at = len(d.out)
		d.out = append(d.out, 0)
	}
	d.skipWS()
	if d.peek() == ']' {
		d.pos++
		d.out = d.out[:start] // proto.Marshal writes nothing for an empty packed field
		return nil
	}
	for i := 0; ; i++ {
		if err := d.value(f, true, !packed); err != nil {
			return within(err, f.name, i)
		}
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
			d.skipWS()
		case ']':
			d.pos++
			if packed {
				d.out = finishLen(d.out, at, 1)
			}
			return nil
		default:
			return within(d.syntaxError("want ',' or ']' after array element, got "+d.describe()), f.name, i)
		}
	}
}

// value reads one value of f and appends it, with its tag when tagged
// (false only for the elements of a packed field, which are never
// length-delimited). A zero scalar is written only when always is set
// (presence fields and repeated elements), as proto.Marshal does.
func (d *decoder) value(f *field, always, tagged bool) error {
	switch f.kind {
	case kindMessage:
		if d.peek() != '{' {
			return newError("want an object, got " + d.describe())
		}
		d.pos++
		sub := &messages[f.msg]
		d.out = pbwire.AppendTag(d.out, f.num, pbwire.BytesType)
		at := len(d.out)
		d.out = append(d.out, zeros[:sub.lenWidth]...)
		if err := d.message(sub); err != nil {
			return err
		}
		d.out = finishLen(d.out, at, sub.lenWidth)
		return nil

	case kindString:
		if d.peek() != '"' {
			return newError("want a string, got " + d.describe())
		}
		raw, esc, err := d.str()
		if err != nil {
			return err
		}
		if len(raw) == 0 && !always {
			return nil
		}
		d.out = pbwire.AppendTag(d.out, f.num, pbwire.BytesType)
		if !esc {
			d.out = pbwire.AppendBytes(d.out, raw)
			return nil
		}
		w := pbwire.SizeVarint(uint64(len(raw)))
		at := len(d.out)
		d.out = append(d.out, zeros[:w]...)
		d.out = unescape(d.out, raw)
		d.out = finishLen(d.out, at, w)
		return nil

	case kindBytes:
		if d.peek() != '"' {
			return newError("want a base64 string, got " + d.describe())
		}
		s, err := d.content()
		if err != nil {
			return err
		}
		if len(s) == 0 && !always {
			return nil
		}
		return d.base64(f, s)

	case kindID:
		if d.peek() != '"' {
			return newError("want a hex string, got " + d.describe())
		}
		s, err := d.content()
		if err != nil {
			return err
		}
		if len(s) == 0 { // OTLP: an empty ID is an absent one
			return nil
		}
		return d.hexID(f, s)

	case kindBool:
		var v uint64
		switch d.peek() {
		case 't':
			if err := d.literal("true"); err != nil {
				return err
			}
			v = 1
		case 'f':
			if err := d.literal("false"); err != nil {
				return err
			}
		default:
			return newError("want true or false, got " + d.describe())
		}
		if v == 0 && !always {
			return nil
		}
		if tagged {
			d.out = pbwire.AppendTag(d.out, f.num, pbwire.VarintType)
		}
		d.out = append(d.out, byte(v))
		return nil

	case kindDouble:
		v, err := d.double()
		if err != nil {
			return err
		}
		bits := math.Float64bits(v)
		if bits == 0 && !always { // -0 is not the default, as in proto.Marshal
			return nil
		}
		if tagged {
			d.out = pbwire.AppendTag(d.out, f.num, pbwire.Fixed64Type)
		}
		d.out = pbwire.AppendFixed64(d.out, bits)
		return nil

	case kindEnum:
		var v uint64
		if d.peek() == '"' {
			s, err := d.content()
			if err != nil {
				return err
			}
			i := enumValue(f.enum, s)
			if i < 0 {
				return nil // an unknown name, as protojson discarding unknowns
			}
			v = uint64(i)
		} else {
			n, err := d.integer(f.kind)
			if err != nil {
				return err
			}
			v = n
		}
		if v == 0 && !always {
			return nil
		}
		if tagged {
			d.out = pbwire.AppendTag(d.out, f.num, pbwire.VarintType)
		}
		d.out = pbwire.AppendVarint(d.out, v)
		return nil
	}

	v, err := d.integer(f.kind)
	if err != nil {
		return err
	}
	if v == 0 && !always {
		return nil
	}
	typ := f.kind.wireType()
	if tagged {
		d.out = pbwire.AppendTag(d.out, f.num, typ)
	}
	switch typ {
	case pbwire.Fixed32Type:
		d.out = pbwire.AppendFixed32(d.out, uint32(v))
	case pbwire.Fixed64Type:
		d.out = pbwire.AppendFixed64(d.out, v)
	default:
		d.out = pbwire.AppendVarint(d.out, v)
	}
	return nil
}

// enumValue returns the number of the value of enum e named s, or -1.
func enumValue(e enumID, s []byte) int {
	for i, name := range enumNames[e] {
		if string(s) == name {
			return i
		}
	}
	return -1
}

// base64 appends bytes field f with the value decoded from s, accepting
// what protojson accepts: standard or URL alphabet, padded or not.
func (d *decoder) base64(f *field, s []byte) error {
	enc := base64.StdEncoding
	if bytes.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		if enc == base64.StdEncoding {
			enc = base64.RawStdEncoding
		} else {
			enc = base64.RawURLEncoding
		}
	}
	n := enc.DecodedLen(len(s))
	w := pbwire.SizeVarint(uint64(n))
	d.out = pbwire.AppendTag(d.out, f.num, pbwire.BytesType)
	at := len(d.out)
	d.out = append(d.out, zeros[:w]...)
	d.out = append(d.out, make([]byte, n)...)
	m, err := enc.Decode(d.out[at+w:], s)
	if err != nil {
		return newError("invalid base64: " + err.Error())
	}
	d.out = finishLen(d.out[:at+w+m], at, w)
	return nil
}

// hexID appends ID field f decoded from the hex string s, which must be
// exactly as long as the ID: OTLP/JSON has no other spelling for IDs.
func (d *decoder) hexID(f *field, s []byte) error {
	if len(s) != 2*f.size {
		return newError("want " + strconv.Itoa(2*f.size) + " hex digits, got " + strconv.Itoa(len(s)))
	}
	d.out = pbwire.AppendTag(d.out, f.num, pbwire.BytesType)
	d.out = append(d.out, byte(f.size))
	for i := 0; i < len(s); i += 2 {
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			j := i
			if ok1 {
				j++
			}
			r, _ := utf8.DecodeRune(s[j:])
			return newError("invalid hex digit " + strconv.QuoteRune(r) + " at index " + strconv.Itoa(j))
		}
		d.out = append(d.out, hi<<4|lo)
	}
	return nil
}

// finishLen writes the varint length of the body that follows a w-byte
// placeholder at b[at:], moving the body when the length needs another
// width than w.
func finishLen(b []byte, at, w int) []byte {
	n := len(b) - at - w
	s := pbwire.SizeVarint(uint64(n))
	switch {
	case s > w:
		end := len(b)
		b = append(b, zeros[:s-w]...)
		copy(b[at+s:], b[at+w:end])
	case s < w:
		copy(b[at+s:], b[at+w:])
		b = b[:len(b)-(w-s)]
	}
	pbwire.AppendVarint(b[:at], uint64(n))
	return b
}

// integer reads a JSON number or a string holding one, as an integer of
// kind k, and returns its wire value: sign-extended for int32 and int64,
// zigzag-encoded for sint32. It never goes through float64, so every 64-bit
// value is exact, and it accepts what protojson accepts ("1e3", "1000.0",
// "-0").
func (d *decoder) integer(k kind) (uint64, error) {
	text, err := d.numberText(k)
	if err != nil {
		return 0, err
	}
	neg, mag, ok := integerValue(text)
	if ok {
		switch k {
		case kindInt32, kindEnum, kindSint32:
			var v int64
			if neg && mag <= 1<<31 {
				v = -int64(mag)
			} else if !neg && mag <= math.MaxInt32 {
				v = int64(mag)
			} else {
				break
			}
			if k == kindSint32 {
				return pbwire.EncodeZigZag(v), nil
			}
			return uint64(v), nil
		case kindInt64, kindSfixed64:
			if neg && mag <= 1<<63 {
				return -mag, nil
			} else if !neg && mag <= math.MaxInt64 {
				return mag, nil
			}
		case kindUint32, kindFixed32:
			if !neg && mag <= math.MaxUint32 {
				return mag, nil
			}
		default:
			if !neg {
				return mag, nil
			}
		}
	}
	return 0, newError("invalid " + k.typeName() + " value " + quoteText(text))
}

// numberText returns the text of the number at the current position, a
// JSON number or a string holding exactly one.
func (d *decoder) numberText(k kind) ([]byte, error) {
	switch c := d.peek(); {
	case c == '"':
		s, err := d.content()
		if err != nil {
			return nil, err
		}
		if numberLen(s) != len(s) {
			return nil, newError("invalid " + k.typeName() + " value " + quoteText(s))
		}
		return s, nil
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	return nil, newError("want a number, got " + d.describe())
}

// double reads a JSON number, or a string holding one or "NaN",
// "Infinity" or "-Infinity".
func (d *decoder) double() (float64, error) {
	var text []byte
	if d.peek() == '"' {
		s, err := d.content()
		if err != nil {
			return 0, err
		}
		switch string(s) {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		if numberLen(s) != len(s) {
			return 0, newError("invalid double value " + quoteText(s))
		}
		text = s
	} else {
		var err error
		if text, err = d.numberText(kindDouble); err != nil {
			return 0, err
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil { // out of range; the syntax is checked
		return 0, newError("invalid double value " + quoteText(text))
	}
	return f, nil
}

// integerValue returns the value of text, a valid JSON number, when it is an
// integer that fits in 64 bits, the way protojson reads integers: the digits
// are shifted by the exponent and must leave no fraction.
func integerValue(text []byte) (neg bool, mag uint64, ok bool) {
	i := 0
	if text[0] == '-' {
		neg = true
		i++
	}
	var intp, frac, exp []byte
	if text[i] == '0' {
		i++
	} else {
		s := i
		for i < len(text) && isDigit(text[i]) {
			i++
		}
		intp = text[s:i]
	}
	if i < len(text) && text[i] == '.' {
		i++
		s := i
		for i < len(text) && isDigit(text[i]) {
			i++
		}
		frac = text[s:i]
	}
	if i < len(text) {
		exp = text[i+1:] // after 'e' or 'E'
	}
	frac = bytes.TrimRight(frac, "0")
	if len(intp) == 0 && len(frac) == 0 {
		return false, 0, true
	}
	e := 0
	if len(exp) > 0 {
		eneg := false
		switch exp[0] {
		case '-':
			eneg = true
			exp = exp[1:]
		case '+':
			exp = exp[1:]
		}
		for _, c := range exp {
			e = e*10 + int(c-'0')
			if e > math.MaxInt32+1 {
				return false, 0, false
			}
		}
		if eneg {
			e = -e
		} else if e > math.MaxInt32 {
			return false, 0, false
		}
	}
	add := func(c byte) bool {
		v := uint64(c - '0')
		if mag > (math.MaxUint64-v)/10 {
			return false
		}
		mag = mag*10 + v
		return true
	}
	if e >= 0 {
		if len(frac) > e || len(intp)+e > 20 {
			return false, 0, false
		}
		for _, c := range intp {
			if !add(c) {
				return false, 0, false
			}
		}
		for _, c := range frac {
			if !add(c) {
				return false, 0, false
			}
		}
		for range e - len(frac) {
			if !add('0') {
				return false, 0, false
			}
		}
		return neg, mag, true
	}
	idx := len(intp) + e
	if len(frac) > 0 || idx <= 0 {
		return false, 0, false
	}
	for _, c := range intp[idx:] {
		if c != '0' {
			return false, 0, false
		}
	}
	for _, c := range intp[:idx] {
		if !add(c) {
			return false, 0, false
		}
	}
	return neg, mag, true
}
