package otlpjson

// The JSON lexical layer of the decoder: strings, numbers, literals, white
// space and skipping ignored values. It checks syntax as strictly as
// protojson does (UTF-8, escapes, surrogate pairs, control characters).

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// unhex decodes one hex digit.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// number reads a JSON number and returns its text.
func (d *decoder) number() ([]byte, error) {
	n := numberLen(d.in[d.pos:])
	if n < 0 {
		return nil, d.syntaxError("invalid number")
	}
	text := d.in[d.pos : d.pos+n]
	d.pos += n
	return text, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// numberLen returns the length of the JSON number at the start of b, or -1.
func numberLen(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}

// quoteText quotes a value for an error message, shortened if long.
func quoteText(b []byte) string {
	const limit = 40
	if len(b) > limit {
		return strconv.Quote(string(b[:limit])) + "…"
	}
	return strconv.Quote(string(b))
}

// key reads an object key and the ':' after it. The key is unescaped (into
// scratch) only when it has escapes.
func (d *decoder) key() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.syntaxError("want an object key, got " + d.describe())
	}
	k, err := d.content()
	if err != nil {
		return nil, err
	}
	d.skipWS()
	if d.peek() != ':' {
		return nil, d.syntaxError("want ':' after object key, got " + d.describe())
	}
	d.pos++
	return k, nil
}

// content reads a string and returns its unescaped content, which is valid
// only until the next call.
func (d *decoder) content() ([]byte, error) {
	raw, esc, err := d.str()
	if err != nil || !esc {
		return raw, err
	}
	d.scratch = unescape(d.scratch[:0], raw)
	return d.scratch, nil
}

// strPlain marks the bytes that may appear in a JSON string as themselves:
// not a control character, quote, backslash or the start of a multi-byte
// UTF-8 sequence (which needs checking).
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string, checking escapes and UTF-8, and returns its raw
// (still escaped) content and whether it has escapes.
func (d *decoder) str() (raw []byte, esc bool, err error) {
	in := d.in
	start := d.pos + 1
	for i := start; i < len(in); {
		c := in[i]
		if strPlain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			d.pos = i + 1
			return in[start:i], esc, nil
		case c == '\\':
			esc = true
			n := escapeLen(in[i:])
			if n < 0 {
				d.pos = i
				return nil, false, d.syntaxError("invalid escape in string")
			}
			i += n
		case c < 0x20:
			d.pos = i
			return nil, false, d.syntaxError("control character in string")
		default:
			r, n := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && n == 1 {
				d.pos = i
				return nil, false, d.syntaxError("invalid UTF-8 in string")
			}
			i += n
		}
	}
	d.pos = len(in)
	return nil, false, d.syntaxError("unterminated string")
}

// escapeLen returns the length of the escape sequence at the start of b, or
// -1 when it is invalid. As in protojson, a \u escape of a UTF-16 surrogate
// must be the first half of a pair completed by the next \u escape.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return -1
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return -1
		}
		if r < 0xD800 || r >= 0xE000 {
			return 6
		}
		if r >= 0xDC00 || len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
			return -1
		}
		if r2, ok := hex4(b[8:]); !ok || r2 < 0xDC00 || r2 >= 0xE000 {
			return -1
		}
		return 12
	}
	return -1
}

// hex4 decodes the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		v, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// unescape appends the content of raw, a checked string body, to dst with
// its escapes decoded.
func unescape(dst, raw []byte) []byte {
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\\')
		if i < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:i]...)
		raw = raw[i:]
		c := raw[1]
		switch c {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r, _ := hex4(raw[2:])
			n := 6
			if r >= 0xD800 && r < 0xDC00 {
				r2, _ := hex4(raw[8:])
				r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
				n = 12
			}
			dst = utf8.AppendRune(dst, r)
			raw = raw[n:]
			continue
		}
		dst = append(dst, c)
		raw = raw[2:]
	}
	return dst
}

// skip reads and discards any JSON value, checking its syntax: the value of
// an unknown field, which OTLP receivers must ignore.
func (d *decoder) skip(depth int) error {
	switch c := d.peek(); {
	case c == '{' || c == '[':
		if depth >= maxSkipDepth {
			return d.syntaxError("ignored value nested more than " + strconv.Itoa(maxSkipDepth) + " deep")
		}
		d.pos++
		d.skipWS()
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if d.peek() == end {
			d.pos++
			return nil
		}
		for {
			if c == '{' {
				if _, err := d.key(); err != nil {
					return err
				}
				d.skipWS()
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.skipWS()
			switch d.peek() {
			case ',':
				d.pos++
				d.skipWS()
			case end:
				d.pos++
				return nil
			default:
				return d.syntaxError("want ',' or '" + string(end) + "', got " + d.describe())
			}
		}
	case c == '"':
		_, _, err := d.str()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || isDigit(c):
		_, err := d.number()
		return err
	}
	return d.syntaxError("want a value, got " + d.describe())
}

// literal reads the literal lit (true, false or null).
func (d *decoder) literal(lit string) error {
	if len(d.in)-d.pos < len(lit) || string(d.in[d.pos:d.pos+len(lit)]) != lit {
		return d.syntaxError("invalid literal, want " + lit)
	}
	d.pos += len(lit)
	return nil
}

// null reads a null, if that is what comes next.
func (d *decoder) null() bool {
	if len(d.in)-d.pos >= 4 && string(d.in[d.pos:d.pos+4]) == "null" {
		d.pos += 4
		return true
	}
	return false
}

// peek returns the next byte, or 0 at the end of the input.
func (d *decoder) peek() byte {
	if d.pos < len(d.in) {
		return d.in[d.pos]
	}
	return 0
}

func (d *decoder) skipWS() {
	for d.pos < len(d.in) {
		switch d.in[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// describe names what is at the current position, for error messages.
func (d *decoder) describe() string {
	if d.pos >= len(d.in) {
		return "end of input"
	}
	switch c := d.in[d.pos]; {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || isDigit(c):
		return "number"
	case c < utf8.RuneSelf:
		return "character " + strconv.QuoteRune(rune(c))
	}
	r, _ := utf8.DecodeRune(d.in[d.pos:])
	return "character " + strconv.QuoteRune(r)
}

// syntaxError reports malformed JSON at the current position.
func (d *decoder) syntaxError(msg string) error {
	return newError("syntax error at offset " + strconv.Itoa(d.pos) + ": " + msg)
}
