package tracedata

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// idFields are the JSON keys OTLP/JSON encodes as hex where protojson expects
// base64 (the one place the two mappings disagree), in both spellings
// protojson accepts.
var idFields = map[string]int{
	"traceId": 16, "trace_id": 16,
	"spanId": 8, "span_id": 8,
	"parentSpanId": 8, "parent_span_id": 8,
}

// otlpJSONToProto converts an OTLP/JSON trace payload to protobuf bytes.
// Decoding is off the hot path (it runs in the forwarder, once per record),
// so it favours obviously-correct over fast: parse generically, rewrite hex
// IDs to base64, then let protojson do the rest (it already accepts
// lowerCamelCase keys, integer enums and int64s as strings). Unknown fields
// are ignored, as OTLP requires of receivers.
func jsonToProtobuf(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep 64-bit nanosecond timestamps exact
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("tracedata: JSON payload: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("tracedata: JSON payload: trailing data after the object")
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("tracedata: JSON payload is not an object")
	}
	hexIDsToBase64(doc)
	norm, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("tracedata: JSON payload: %w", err)
	}
	td := &tracepb.TracesData{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(norm, td); err != nil {
		return nil, fmt.Errorf("tracedata: JSON payload is not an OTLP trace request: %w", err)
	}
	return proto.Marshal(td)
}

// hexIDsToBase64 rewrites, in place, every trace or span ID written as hex
// of the right length. Anything else is left for protojson to judge, so a
// producer that already wrote base64 still works.
func hexIDsToBase64(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if n, ok := idFields[k]; ok {
				if s, ok := child.(string); ok && len(s) == 2*n {
					if b, err := hex.DecodeString(s); err == nil {
						v[k] = base64.StdEncoding.EncodeToString(b)
						continue
					}
				}
			}
			hexIDsToBase64(child)
		}
	case []any:
		for _, child := range v {
			hexIDsToBase64(child)
		}
	}
}
