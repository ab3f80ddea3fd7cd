// Package otlpjson converts OTLP export requests between OTLP/JSON and the
// protobuf wire format, both ways, for traces, metrics and logs.
//
// It exists so that the extension can accept OTLP/JSON, and export with
// protocol http/json, without linking protojson and the generated OTLP
// types, which put its binary over the size budget and decode through
// reflection. One hand-written schema table (schema.go) drives a streaming
// transcoder each way: JSON is scanned once and protobuf appended as it
// goes; protobuf is walked once per message and JSON appended. Nothing is
// decoded into structs, so a call allocates nothing beyond the growth of
// dst.
//
// The JSON is the OTLP specification's: the protobuf JSON mapping, except
// that trace and span IDs are hex rather than base64, and AppendJSON writes
// enums as integers. AppendProtobuf reads what protojson (discarding unknown
// fields) reads, so that producers which work with other receivers work
// here; where it differs, it is stricter:
//   - IDs must be hex of exactly the right length, or "" (absent).
//   - AnyValue may nest at most 64 deep and an ignored JSON value at most
//     128 deep; protojson allows 10,000.
//   - A number inside an ignored value must be a valid JSON number.
//
// As protojson does, it ignores enum names it does not know, and it rejects
// a key given twice in one object (in either spelling) rather than letting
// the last one win: a streaming encoder has already written the first, and
// a document that says two things about one field is more likely a bug than
// an intention. Two non-null members of one oneof are an error likewise.
//
// AppendJSON follows proto.Unmarshal's rules for what the wire may say (the
// last scalar wins, a message given twice is the merge of both, packed and
// unpacked elements mix, the last oneof member wins) and rejects what
// proto.Unmarshal rejects, and also IDs of the wrong length, which OTLP/JSON
// cannot carry. Its output converts back to the bytes Go's proto.Marshal
// writes for the same message, NaN payloads aside.
package otlpjson

import (
	"io"
	"strconv"
	"strings"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

// Signal selects the root message: ExportTraceServiceRequest,
// ExportMetricsServiceRequest or ExportLogsServiceRequest, which share their
// encodings with TracesData, MetricsData and LogsData.
type Signal int

// The signals, in the order OTLP lists them.
const (
	Traces Signal = iota
	Metrics
	Logs
)

// String returns the signal's name as it appears in OTLP paths
// ("/v1/traces") and in error messages.
func (s Signal) String() string {
	switch s {
	case Traces:
		return "traces"
	case Metrics:
		return "metrics"
	case Logs:
		return "logs"
	}
	return "Signal(" + strconv.Itoa(int(s)) + ")"
}

// root returns the schema of the signal's export request.
func (s Signal) root() (*message, error) {
	prepareSchema()
	switch s {
	case Traces:
		return &messages[mTracesData], nil
	case Metrics:
		return &messages[mMetricsData], nil
	case Logs:
		return &messages[mLogsData], nil
	}
	return nil, &pathError{msg: "unknown signal " + s.String()}
}

// AppendProtobuf appends the protobuf encoding of the OTLP/JSON document
// data, an export request of signal sig, to dst. On error it returns dst
// unchanged and an error that names the offending field by its JSON path.
func AppendProtobuf(dst []byte, sig Signal, data []byte) ([]byte, error) {
	root, err := sig.root()
	if err != nil {
		return dst, err
	}
	d := decoder{in: data, out: dst}
	if err := d.document(root); err != nil {
		return dst, err
	}
	return d.out, nil
}

// AppendJSON appends the OTLP/JSON encoding of data, the protobuf encoding
// of an export request of signal sig, to dst. On error it returns dst
// unchanged and an error that names the offending field by its JSON path.
func AppendJSON(dst []byte, sig Signal, data []byte) ([]byte, error) {
	root, err := sig.root()
	if err != nil {
		return dst, err
	}
	e := encoder{out: dst}
	if err := e.message(root, data); err != nil {
		return dst, err
	}
	return e.out, nil
}

// pathError is the error both directions return. It is built only on
// failure, innermost path segment first as the recursion unwinds, so that
// success costs nothing for it.
type pathError struct {
	path []pathSegment // innermost first
	msg  string
}

// pathSegment is one step of an error's JSON path: a field name and, for
// an element of a repeated field, its index (else -1).
type pathSegment struct {
	name  string
	index int
}

// Error returns the JSON path of the offending value and what is wrong
// with it, such as
// "resourceSpans[0].scopeSpans[1].spans[3].traceId: want 32 hex digits, got 31".
func (e *pathError) Error() string {
	var b []byte
	for i := len(e.path) - 1; i >= 0; i-- {
		s := e.path[i]
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, s.name...)
		if s.index >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s.index), 10)
			b = append(b, ']')
		}
	}
	if len(b) > 0 {
		b = append(b, ": "...)
	}
	return string(append(b, e.msg...))
}

// newError returns a *pathError with message msg and no path yet.
func newError(msg string) error { return &pathError{msg: msg} }

// within adds a path segment to err as it unwinds out of field name
// (element index, or -1).
func within(err error, name string, index int) error {
	if e, ok := err.(*pathError); ok {
		e.path = append(e.path, pathSegment{name, index})
	}
	return err
}

// Limits on nesting, so that hostile input ends in an error rather than a
// stack overflow. OTLP messages other than AnyValue nest at most eight deep.
const (
	maxAnyDepth  = 64  // AnyValue inside AnyValue (through arrays and kvlists)
	maxSkipDepth = 128 // objects and arrays inside an ignored JSON value
)

// anyDepthError is returned when AnyValue nests deeper than maxAnyDepth.
const anyDepthError = "AnyValue nested more than 64 deep"

// wireError describes a pbwire parse failure (n is the negative length a
// pbwire Consume function returned).
func wireError(n int) error {
	err := pbwire.ParseError(n)
	// pbwire's messages start "proto: ", as protowire's do.
	msg := strings.TrimPrefix(err.Error(), "proto: ")
	if err == io.ErrUnexpectedEOF {
		msg = "unexpected end of data"
	}
	return newError("invalid protobuf: " + msg)
}
