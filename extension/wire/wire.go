// Package wire validates and counts OTLP export requests at the protobuf
// wire level, for the extension's receivers.
//
// The extension forwards telemetry as the bytes it received: an
// ExportTraceServiceRequest (and its metrics and logs siblings) has a single
// repeated field, so concatenating encoded requests merges them and a batch is
// a byte concatenation. Unmarshalling into the generated structs only to check
// the input and count it would cost one heap allocation per span, attribute
// and value, on the hot path. Validate instead walks the encoding once with
// internal/pbwire, following the OTLP schema, and allocates nothing unless the
// input is malformed.
//
// What Validate checks is meant to be at least as strict as proto.Unmarshal
// into the generated types (so that everything we accept, and forward, a
// standard OTLP backend can decode), plus the OTLP rules a generic decoder
// does not know about:
//
//   - every tag has a field number in 1..2^29-1 and one of the four wire
//     types OTLP can use (varint, fixed64, length-delimited, fixed32); groups
//     and the reserved wire types are rejected;
//   - every varint is well formed, every fixed-size value and every length
//     fits in the enclosing message;
//   - every field the schema knows has the wire type the schema gives it
//     (repeated scalars may be packed or not, as the protobuf spec requires);
//   - every message-typed field is walked recursively, down to the leaves:
//     resources, scopes, spans with their events, links and status, metrics
//     of all five types with their data points, buckets, quantiles and
//     exemplars, log records, and attribute values of every kind;
//   - every string field (names, keys, string values, schema URLs, trace
//     state, units, descriptions, severity texts, …) is valid UTF-8, as proto3
//     requires: Go's protobuf runtime rejects invalid UTF-8 in proto3 strings,
//     so forwarding it would make the backend reject the whole batch;
//   - trace IDs are empty or 16 bytes and span IDs empty or 8 bytes;
//   - AnyValue nesting (arrays and key-value lists inside values) is at most
//     MaxDepth levels deep, which bounds the recursion.
//
// Unknown fields are skipped without looking inside, so producers built on a
// newer OTLP version are accepted. Enum values are not range-checked, for the
// same reason (proto3 enums are open).
package wire

import (
	"errors"
	"fmt"
	"strings"
)

// Signal says which OTLP export request a body holds.
type Signal int

// The three OTLP signals.
const (
	Traces Signal = iota
	Metrics
	Logs
)

// String returns the signal's name as used in OTLP paths ("traces",
// "metrics", "logs").
func (s Signal) String() string {
	switch s {
	case Traces:
		return "traces"
	case Metrics:
		return "metrics"
	case Logs:
		return "logs"
	}
	return fmt.Sprintf("Signal(%d)", int(s))
}

// Counts is what a valid request holds.
type Counts struct {
	// Resources is the number of ResourceSpans, ResourceMetrics or
	// ResourceLogs messages.
	Resources int
	// Items is the number of spans, metric data points (of every metric
	// type; exemplars and buckets are not items) or log records.
	Items int
}

// MaxDepth is how deeply AnyValues may nest: an attribute's value is at
// depth 1, a value inside its array or key-value list at depth 2, and so on.
// Real telemetry stays within a few levels; the bound keeps a hostile body
// from driving the validator's recursion arbitrarily deep.
const MaxDepth = 32

// ErrMalformed is matched by errors.Is for every *Error, so that a receiver
// can map any validation failure to 400 Bad Request without knowing the
// details.
var ErrMalformed = errors.New("malformed OTLP request")

// Error describes why a request body is not a valid OTLP export request.
type Error struct {
	// Signal is the request type that was expected.
	Signal Signal
	// Path names the offending field from the request down, by the protobuf
	// field names of the OTLP schema, e.g. "resource_spans[0].scope_spans[1].spans[3].trace_id".
	// It is empty when the problem is in the request message itself.
	Path string
	// Offset is the byte offset in the body where the problem was found.
	Offset int
	// Reason says what is wrong, e.g. "length 15, want 16".
	Reason string

	// segs are the path segments, innermost first, collected while the
	// walk unwinds so that the success path builds nothing.
	segs []string
}

// Error returns a message fit for a 400 response body.
func (e *Error) Error() string {
	path := e.Path
	if path == "" {
		path = "request"
	}
	return fmt.Sprintf("malformed OTLP %s request: %s: %s (at byte %d)", e.Signal, path, e.Reason, e.Offset)
}

// Unwrap returns ErrMalformed.
func (e *Error) Unwrap() error { return ErrMalformed }

// Validate checks that body is a well-formed protobuf encoding of the OTLP
// export request for sig (ExportTraceServiceRequest, ExportMetricsService
// Request or ExportLogsServiceRequest; TracesData, MetricsData and LogsData
// share their encodings), as described in the package documentation, and
// counts what it holds.
//
// An empty body is a valid empty request. Because the requests have one
// repeated field, the concatenation of valid bodies is valid and its counts
// are the sums. On failure the error is an *Error (errors.Is(err,
// ErrMalformed) holds) and the counts are zero. Validate runs in time linear
// in len(body) and does not allocate when body is valid.
func Validate(sig Signal, body []byte) (Counts, error) {
	var root *message
	switch sig {
	case Traces:
		root = &tracesRequest
	case Metrics:
		root = &metricsRequest
	case Logs:
		root = &logsRequest
	default:
		return Counts{}, fmt.Errorf("wire: unknown signal %d", int(sig))
	}
	var c Counts
	if e := walk(root, body, 0, 0, &c); e != nil {
		e.Signal = sig
		e.Path = joinPath(e.segs)
		return Counts{}, e
	}
	return c, nil
}

// joinPath turns innermost-first segments into a dotted path.
func joinPath(segs []string) string {
	var b strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		b.WriteString(segs[i])
		if i > 0 {
			b.WriteByte('.')
		}
	}
	return b.String()
}
