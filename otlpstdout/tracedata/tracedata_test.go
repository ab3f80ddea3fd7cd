package tracedata

import (
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestTracesFromProtobufAndJSON(t *testing.T) {
	want := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
		TraceId: []byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanId:  []byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		Name:    "GET /items/{id}", Kind: tracepb.Span_SPAN_KIND_SERVER, StartTimeUnixNano: 1700000000000000000,
	}}}}}}}
	pb, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Traces(pb, false)
	if err != nil || !proto.Equal(got, want) {
		t.Fatalf("protobuf: %v %v", got, err)
	}
	// OTLP/JSON writes ids in hex, enums as numbers and int64s as strings.
	js := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7",
		"name":"GET /items/{id}","kind":2,"startTimeUnixNano":"1700000000000000000","unknownField":true}]}]}]}`
	got, err = Traces([]byte(js), true)
	if err != nil || !proto.Equal(got, want) {
		t.Fatalf("json: %v %v", got, err)
	}
	if _, err := Traces([]byte("\xff\xff"), false); err == nil || !strings.Contains(err.Error(), "not an OTLP trace request") {
		t.Fatalf("garbage protobuf: %v", err)
	}
	if _, err := Traces([]byte(`{"resourceSpans":5}`), true); err == nil {
		t.Fatal("malformed JSON accepted")
	}
}

// FuzzTraces checks that no payload makes decoding panic.
func FuzzTraces(f *testing.F) {
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}]}]}]}`), true)
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00}, false)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		_, _ = Traces(body, isJSON)
	})
}
