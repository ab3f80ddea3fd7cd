package otlpstdout

import "github.com/lambdaotel/lambdaotel/internal/stdoutrecord"

// Field names and fixed values of the record format (prior art §C1).
const (
	// MarkerField is the record's first field. Its presence marks a log line
	// as an otlp-stdout record; its value is the producer's version.
	MarkerField = stdoutrecord.MarkerField
	// Endpoint is the constant "endpoint" this exporter writes. The forwarder
	// decides the real destination; the field only says what the payload is.
	Endpoint = stdoutrecord.Endpoint
	// ContentTypeProtobuf is the payload type this exporter writes.
	ContentTypeProtobuf = stdoutrecord.ContentTypeProtobuf
	// ContentTypeJSON is the OTLP/JSON payload type some producers write.
	ContentTypeJSON = stdoutrecord.ContentTypeJSON
	// MaxBodySize caps a decoded payload. gzip expands up to about 1000:1, so
	// without a cap one log line could make the decoder allocate gigabytes.
	MaxBodySize = stdoutrecord.MaxBodySize
)

// ErrNotRecord is returned by Decode for input that is not an otlp-stdout
// record: not a JSON object, or without a string marker field.
var ErrNotRecord = stdoutrecord.ErrNotRecord

// ErrBodyTooLarge is returned by Body when the decoded payload would exceed
// MaxBodySize.
var ErrBodyTooLarge = stdoutrecord.ErrBodyTooLarge

// Record is one otlp-stdout line: an OTLP/HTTP request (endpoint, method,
// headers, body) carried through a log stream. Its Body method returns the
// decoded payload (protobuf, or OTLP/JSON when IsJSON says so); package
// tracedata turns that into spans. The format lives in a package of its own
// so that the extension can read records without linking this exporter,
// and with it the OpenTelemetry SDK.
type Record = stdoutrecord.Record

// IsRecord reports cheaply whether line might be an otlp-stdout record: a
// JSON object carrying the marker field. Decode gives the definite answer.
func IsRecord(line []byte) bool { return stdoutrecord.IsRecord(line) }

// Decode parses one log line as an otlp-stdout record, from this exporter
// or the Rust, Node and Python ones. Unknown fields are ignored; a line
// that is not a record at all returns ErrNotRecord.
func Decode(line []byte) (*Record, error) { return stdoutrecord.Decode(line) }
