package xray

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// HeaderName is the HTTP header (and carrier key) that carries the X-Ray trace header.
const HeaderName = "X-Amzn-Trace-Id"

// headerNameLower is the key under which this project's carriers (which lower-case
// keys, like HTTP/2 and API Gateway v2 do) hold the header.
const headerNameLower = "x-amzn-trace-id"

// MaxHeaderLen is the longest header Parse accepts, in bytes. It is the largest X-Ray
// header length AWS documents anywhere (the Lambda API's TraceHeader.XAmznTraceId:
// "Maximum length of 8192", https://docs.aws.amazon.com/lambda/latest/api/API_TraceHeader.html),
// so nothing AWS would pass along is rejected, while a hostile header costs at most one
// pass over 8 KiB. Real headers are about 100 bytes; Lineage grows them a little.
const MaxHeaderLen = 8192

// maxExtraFields bounds the fields kept besides Root, Parent, Sampled and Lineage, so
// that a header made of thousands of tiny "a=b" fields cannot make Parse allocate a
// large slice. AWS services add at most one (Self); 32 leaves room for applications.
const maxExtraFields = 32

// Field names as written by String. Parse matches them ignoring ASCII case, as the
// X-Ray SDKs do (aws-xray-sdk-node made its parser case-insensitive in PR #284).
const (
	keyRoot    = "Root"
	keyParent  = "Parent"
	keySampled = "Sampled"
	keyLineage = "Lineage"
)

// rootLen is len("1-") + 8 epoch digits + len("-") + 24 id digits.
const rootLen = 2 + 8 + 1 + 24

// Sampling is the X-Ray sampling decision carried by the Sampled field.
type Sampling uint8

const (
	// SampledUnknown means no decision: Sampled=?, a value X-Ray does not define, or no
	// Sampled field at all. X-Ray SDKs treat all of these alike (the receiver runs its
	// own sampler), so they are one state here. It is the zero value.
	SampledUnknown Sampling = iota
	// SampledYes is Sampled=1: the caller is recording this trace.
	SampledYes
	// SampledNo is Sampled=0: the caller decided not to record this trace.
	SampledNo
)

// String returns the Sampled value as written in a header: "1", "0", or "?".
func (s Sampling) String() string {
	switch s {
	case SampledYes:
		return "1"
	case SampledNo:
		return "0"
	default:
		return "?"
	}
}

// Field is a header field other than Root, Parent, Sampled and Lineage, for example the
// Self field an Application Load Balancer inserts. Key keeps the spelling it had.
type Field struct {
	Key   string
	Value string
}

// Header is a parsed X-Ray trace header.
type Header struct {
	// TraceID is the Root field: its 8 epoch and 24 id hex digits, in that order.
	TraceID trace.TraceID
	// ParentID is the Parent field; zero when the header has none (a load balancer
	// sends only Root).
	ParentID trace.SpanID
	// Sampled is the Sampled field.
	Sampled Sampling
	// Lineage is the Lineage field verbatim, empty when absent. Lambda uses it to
	// detect recursive loops; this package does not interpret it.
	Lineage string
	// Fields are the other fields, in the order they appeared; nil when there are none.
	// When building a Header by hand, keep keys distinct from Root, Parent, Sampled and
	// Lineage, and keep ';' out of keys and values (and '=' out of keys), or String
	// will produce a header that does not parse back to the same value.
	Fields []Field
}

// ErrInvalidHeader is wrapped by every error Parse returns, so callers can test for a
// malformed header with errors.Is.
var ErrInvalidHeader = errors.New("xray: invalid trace header")

// ParseError says what is wrong with a header.
type ParseError struct {
	// Field is the field at fault ("Root", "Parent", ...), empty when the fault is in
	// the header as a whole (too long, control character, missing Root).
	Field string
	// Value is the offending field value, shortened to at most 64 bytes so that an
	// error about a huge header stays small.
	Value string
	// Reason says what is wrong, in words.
	Reason string
}

// Error formats the error as "xray: invalid trace header: Field "value": reason".
func (e *ParseError) Error() string {
	switch {
	case e.Field == "":
		return fmt.Sprintf("%v: %s", ErrInvalidHeader, e.Reason)
	default:
		return fmt.Sprintf("%v: %s %q: %s", ErrInvalidHeader, e.Field, e.Value, e.Reason)
	}
}

// Unwrap returns ErrInvalidHeader.
func (e *ParseError) Unwrap() error { return ErrInvalidHeader }

// Parse parses an X-Ray trace header value (without the "X-Amzn-Trace-Id:" name).
//
// It is lenient where real senders differ: fields may come in any order, field names
// are matched ignoring ASCII case, spaces and tabs around fields, names and values are
// ignored, empty fields (";;", a trailing ";") and fields without "=" are skipped, and an
// unknown Sampled value counts as no decision. It is strict about the identifiers,
// because a wrong one silently joins unrelated traces: Root must be exactly
// 1-<8 lower-case hex>-<24 lower-case hex> and Parent exactly 16 lower-case hex digits,
// neither all zeros; Root, Parent, Sampled and Lineage may each appear only once. Root
// is required, Parent is not. A header longer than MaxHeaderLen, one with more than 32
// other fields, or one containing control characters (which no HTTP field value may
// hold, RFC 9110 §5.5) is rejected before any other work. Errors are *ParseError.
func Parse(s string) (Header, error) {
	h, perr, ok := parse(s, true)
	if !ok {
		e := perr // a copy, so that only a failing parse allocates the error
		return Header{}, &e
	}
	return h, nil
}

// parse does the work of Parse. The propagators call it with keepFields false: they
// need only the ids and the decision, and so never allocate. The error is returned by
// value so that a rejected header costs the propagators no allocation either.
func parse(s string, keepFields bool) (h Header, perr ParseError, ok bool) {
	if len(s) > MaxHeaderLen {
		return h, ParseError{Reason: fmt.Sprintf("%d bytes, over the %d-byte limit", len(s), MaxHeaderLen)}, false
	}
	if i := indexCTL(s); i >= 0 {
		return h, ParseError{Reason: fmt.Sprintf("control character %#02x at byte %d", s[i], i)}, false
	}
	var seenRoot, seenParent, seenSampled, seenLineage bool
	extra := 0
	for rest := s; rest != ""; {
		var field string
		if i := strings.IndexByte(rest, ';'); i >= 0 {
			field, rest = rest[:i], rest[i+1:]
		} else {
			field, rest = rest, ""
		}
		eq := strings.IndexByte(field, '=')
		if eq < 0 {
			continue // empty or a stray token: nothing to keep, nothing to check
		}
		key, val := trimOWS(field[:eq]), trimOWS(field[eq+1:])
		switch {
		case key == "":
			continue
		case asciiEqualFold(key, keyRoot):
			if seenRoot {
				return h, fieldError(keyRoot, val, "appears more than once"), false
			}
			seenRoot = true
			id, reason := parseRoot(val)
			if reason != "" {
				return h, fieldError(keyRoot, val, reason), false
			}
			h.TraceID = id
		case asciiEqualFold(key, keyParent):
			if seenParent {
				return h, fieldError(keyParent, val, "appears more than once"), false
			}
			seenParent = true
			id, reason := parseParent(val)
			if reason != "" {
				return h, fieldError(keyParent, val, reason), false
			}
			h.ParentID = id
		case asciiEqualFold(key, keySampled):
			if seenSampled {
				return h, fieldError(keySampled, val, "appears more than once"), false
			}
			seenSampled = true
			switch val {
			case "1":
				h.Sampled = SampledYes
			case "0":
				h.Sampled = SampledNo
			default:
				h.Sampled = SampledUnknown // "?" or a value X-Ray does not define
			}
		case asciiEqualFold(key, keyLineage):
			if seenLineage {
				return h, fieldError(keyLineage, val, "appears more than once"), false
			}
			seenLineage = true
			h.Lineage = val
		default:
			extra++
			if extra > maxExtraFields {
				return h, ParseError{Reason: fmt.Sprintf("more than %d fields besides Root, Parent, Sampled and Lineage", maxExtraFields)}, false
			}
			if keepFields {
				h.Fields = append(h.Fields, Field{Key: key, Value: val})
			}
		}
	}
	if !seenRoot {
		return h, ParseError{Reason: "no Root field"}, false
	}
	return h, ParseError{}, true
}

// isCTL marks the bytes no HTTP field value may contain: controls other than tab, and
// DEL.
var isCTL = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = c != '\t'
	}
	t[0x7f] = true
	return t
}()

// indexCTL returns the index of the first isCTL byte in s, or -1. It is the only pass
// over the whole header, so it tests eight bytes at a time: a word with no byte below
// 0x20 and no 0x7f is skipped at once, and only a word that may hold one (a tab also
// trips the test) is looked at byte by byte.
func indexCTL(s string) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		below := (x - 0x20*ones) &^ x & highs // some byte < 0x20
		y := x ^ 0x7f*ones
		del := (y - ones) &^ y & highs // some byte == 0x7f
		if below|del == 0 {
			continue
		}
		for j := i; j < i+8; j++ {
			if isCTL[s[j]] {
				return j
			}
		}
	}
	for ; i < len(s); i++ {
		if isCTL[s[i]] {
			return i
		}
	}
	return -1
}

// fieldError builds a ParseError for one field, shortening the value it quotes.
func fieldError(field, value, reason string) ParseError {
	if len(value) > 64 {
		value = value[:64]
	}
	return ParseError{Field: field, Value: value, Reason: reason}
}

// parseRoot checks a Root value and returns the trace id, or a reason it is invalid.
func parseRoot(v string) (id trace.TraceID, reason string) {
	if v == "" {
		return id, "empty"
	}
	version, rest, ok := strings.Cut(v, "-")
	if !ok {
		return id, "want 1-<8 hex digits>-<24 hex digits>"
	}
	if version != "1" {
		return id, "version must be 1"
	}
	epoch, unique, ok := strings.Cut(rest, "-")
	if !ok {
		return id, "want 1-<8 hex digits>-<24 hex digits>"
	}
	if len(epoch) != 8 || !decodeLowerHex(id[:4], epoch) {
		return id, "epoch must be 8 lower-case hex digits"
	}
	if len(unique) != 24 || !decodeLowerHex(id[4:], unique) {
		return id, "id must be 24 lower-case hex digits"
	}
	if !id.IsValid() {
		return id, "trace id is all zeros"
	}
	return id, ""
}

// parseParent checks a Parent value and returns the span id, or a reason it is invalid.
func parseParent(v string) (id trace.SpanID, reason string) {
	if len(v) != 16 || !decodeLowerHex(id[:], v) {
		return id, "must be 16 lower-case hex digits"
	}
	if !id.IsValid() {
		return id, "span id is all zeros"
	}
	return id, ""
}

// decodeLowerHex decodes s (len(dst)*2 lower-case hex digits) into dst. Upper case is
// refused: X-Ray and W3C ids are lower case, and accepting both would let one trace
// have two spellings.
func decodeLowerHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		if hi|lo > 0x0f { // either is 0xff
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// hexValue maps a lower-case hex digit to its value and every other byte to 0xff;
// a table keeps the per-digit cost to one load on the Extract path.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
	}
	return t
}()

// trimOWS removes the optional white space (spaces and tabs) HTTP allows around values.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// asciiEqualFold reports whether s equals the ASCII word want ignoring ASCII case.
// strings.EqualFold is not used because it folds Unicode too ("ſampled" would match),
// and header field names are ASCII.
func asciiEqualFold(s, want string) bool {
	if len(s) != len(want) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], want[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// String formats the header: Root first, then Parent and Sampled when known, Lineage
// when set, then the other fields in their order. SampledUnknown is written as no
// Sampled field, which X-Ray reads the same as Sampled=?. A header whose TraceID is
// zero formats as "", since X-Ray has no way to say "no trace".
func (h Header) String() string {
	if !h.TraceID.IsValid() {
		return ""
	}
	n := len(keyRoot) + 1 + rootLen
	if h.ParentID.IsValid() {
		n += 1 + len(keyParent) + 1 + 16
	}
	if h.Sampled != SampledUnknown {
		n += 1 + len(keySampled) + 2
	}
	if h.Lineage != "" {
		n += 1 + len(keyLineage) + 1 + len(h.Lineage)
	}
	for _, f := range h.Fields {
		n += 1 + len(f.Key) + 1 + len(f.Value)
	}
	var b strings.Builder
	b.Grow(n) // one allocation: this runs on every Inject
	b.WriteString("Root=1-")
	writeHex(&b, h.TraceID[:4])
	b.WriteByte('-')
	writeHex(&b, h.TraceID[4:])
	if h.ParentID.IsValid() {
		b.WriteString(";Parent=")
		writeHex(&b, h.ParentID[:])
	}
	if h.Sampled != SampledUnknown {
		b.WriteString(";Sampled=")
		b.WriteString(h.Sampled.String())
	}
	if h.Lineage != "" {
		b.WriteString(";Lineage=")
		b.WriteString(h.Lineage)
	}
	for _, f := range h.Fields {
		b.WriteByte(';')
		b.WriteString(f.Key)
		b.WriteByte('=')
		b.WriteString(f.Value)
	}
	return b.String()
}

const hexDigits = "0123456789abcdef"

func writeHex(b *strings.Builder, p []byte) {
	for _, c := range p {
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0x0f])
	}
}

// SpanContext returns the header as a remote OpenTelemetry span context, marked sampled
// only for Sampled=1. It reports false when the header has no Parent (or no trace id):
// an OpenTelemetry parent needs a span id, and inventing one would point the trace at
// a span nobody recorded.
func (h Header) SpanContext() (trace.SpanContext, bool) {
	if !h.TraceID.IsValid() || !h.ParentID.IsValid() {
		return trace.SpanContext{}, false
	}
	var flags trace.TraceFlags
	if h.Sampled == SampledYes {
		flags = trace.FlagsSampled
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    h.TraceID,
		SpanID:     h.ParentID,
		TraceFlags: flags,
		Remote:     true,
	}), true
}

// FromSpanContext returns the header that continues sc: Root from its trace id, Parent
// from its span id, and Sampled=1 or Sampled=0 from its sampled flag (a span context
// always carries a decision). An invalid sc gives the zero Header, whose String is "".
func FromSpanContext(sc trace.SpanContext) Header {
	if !sc.IsValid() {
		return Header{}
	}
	h := Header{TraceID: sc.TraceID(), ParentID: sc.SpanID(), Sampled: SampledNo}
	if sc.IsSampled() {
		h.Sampled = SampledYes
	}
	return h
}
