package receiver

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// idFields are the JSON keys OTLP/JSON writes as hex where the standard
// protobuf JSON mapping (protojson) expects base64, the one place the two
// mappings disagree, in both spellings protojson accepts, with their length
// in bytes. They name the same fields in spans, links, log records and
// exemplars.
var idFields = map[string]int{
	"traceId": 16, "trace_id": 16,
	"spanId": 8, "span_id": 8,
	"parentSpanId": 8, "parent_span_id": 8,
}

// jsonUnmarshal ignores unknown fields, as the OTLP specification requires
// of receivers so that newer producers keep working.
var jsonUnmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

// protobufFromJSON converts an OTLP/JSON export request of signal sig to its
// protobuf encoding and validates the result with wire.Validate, so that
// whatever it accepts is exactly what the protobuf path would accept.
//
// JSON is not the hot path (OTel SDKs default to protobuf), so this favours
// obviously-correct over fast: parse generically, rewrite hex IDs to base64,
// then let protojson do the rest (it already accepts lowerCamelCase and
// snake_case keys, integer or named enums, and 64-bit integers as strings or
// numbers). The TracesData, MetricsData and LogsData messages share their
// encodings with the Export*ServiceRequest messages, and using them keeps
// the gRPC-bound collector packages out of the binary.
//
// IDs must be hex of the right length or empty, as the OTLP specification
// says; anything else is rejected with a message naming the field. Because
// the rewrite does not know the schema, an ID-named key inside an unknown
// field is checked too, before protojson would have discarded it.
func protobufFromJSON(sig wire.Signal, data []byte) ([]byte, wire.Counts, error) {
	var m proto.Message
	switch sig {
	case wire.Traces:
		m = &tracepb.TracesData{}
	case wire.Metrics:
		m = &metricspb.MetricsData{}
	case wire.Logs:
		m = &logspb.LogsData{}
	default:
		return nil, wire.Counts{}, fmt.Errorf("unknown signal %d", int(sig))
	}
	fail := func(format string, args ...any) ([]byte, wire.Counts, error) {
		return nil, wire.Counts{}, fmt.Errorf("invalid OTLP/JSON %s request: "+format, append([]any{sig}, args...)...)
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep 64-bit nanosecond timestamps exact
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fail("%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail("data after the top-level object")
	}
	if _, ok := doc.(map[string]any); !ok {
		return fail("the top level is not a JSON object")
	}
	if err := hexIDsToBase64(doc); err != nil {
		return fail("%v", err)
	}
	norm, err := json.Marshal(doc)
	if err != nil {
		return fail("%v", err)
	}
	if err := jsonUnmarshal.Unmarshal(norm, m); err != nil {
		return fail("%v", err)
	}
	out, err := proto.Marshal(m)
	if err != nil {
		return fail("%v", err)
	}
	counts, err := wire.Validate(sig, out)
	if err != nil {
		// protojson does not know OTLP's own rules (e.g. the AnyValue
		// nesting limit); the error names the offending field.
		return nil, wire.Counts{}, err
	}
	return out, counts, nil
}

// hexIDsToBase64 rewrites, in place, every trace or span ID from hex to the
// base64 protojson expects. An empty string is an absent ID; a non-string
// value is left for protojson to reject.
func hexIDsToBase64(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if n, ok := idFields[k]; ok {
				if s, ok := child.(string); ok {
					if s == "" {
						continue
					}
					b, err := hex.DecodeString(s)
					if err != nil || len(b) != n {
						return fmt.Errorf("%s %q: want %d hex digits", k, truncate(s, 64), 2*n)
					}
					v[k] = base64.StdEncoding.EncodeToString(b)
					continue
				}
			}
			if err := hexIDsToBase64(child); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range v {
			if err := hexIDsToBase64(child); err != nil {
				return err
			}
		}
	}
	return nil
}

// truncate keeps error messages about hostile input short.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
