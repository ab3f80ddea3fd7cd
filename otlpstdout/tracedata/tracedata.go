// Package tracedata turns an OTLP trace payload (protobuf, or OTLP/JSON with
// its hex ids) into OTLP trace data. It is the heavy half of reading
// otlp-stdout records: it links the generated proto types and protojson, so
// it lives apart from the exporter that functions import.
package tracedata

import (
	"fmt"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Protobuf returns body as protobuf bytes of an ExportTraceServiceRequest,
// converting it when isJSON.
func Protobuf(body []byte, isJSON bool) ([]byte, error) {
	if !isJSON {
		return body, nil
	}
	return jsonToProtobuf(body)
}

// Traces decodes body. TracesData has the wire format of
// ExportTraceServiceRequest (one repeated ResourceSpans, field 1) but its
// package does not pull gRPC into the binary.
func Traces(body []byte, isJSON bool) (*tracepb.TracesData, error) {
	pb, err := Protobuf(body, isJSON)
	if err != nil {
		return nil, err
	}
	td := &tracepb.TracesData{}
	if err := proto.Unmarshal(pb, td); err != nil {
		return nil, fmt.Errorf("tracedata: payload is not an OTLP trace request: %w", err)
	}
	return td, nil
}
