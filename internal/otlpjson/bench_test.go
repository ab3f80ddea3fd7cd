package otlpjson

import (
	"fmt"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// benchTraces is a traces request of 100 spans shaped like a Lambda
// function's: a resource with a dozen attributes, HTTP and database spans
// with eight attributes each, and an event on every tenth.
func benchTraces() *tracepb.TracesData {
	res := &resourcepb.Resource{}
	for i, k := range []string{"service.name", "service.version", "cloud.provider", "cloud.region", "faas.name", "faas.version",
		"faas.instance", "telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version", "host.arch", "process.runtime.name"} {
		res.Attributes = append(res.Attributes, kv(k, anyStr(fmt.Sprintf("value-%d-of-resource", i))))
	}
	res.Attributes = append(res.Attributes, kv("faas.max_memory", anyInt(134217728)))
	var spans []*tracepb.Span
	for i := range 100 {
		s := &tracepb.Span{
			TraceId:           traceID,
			SpanId:            []byte{1, 2, 3, 4, 5, 6, 7, byte(i)},
			ParentSpanId:      spanID,
			Name:              fmt.Sprintf("GET /api/items/%d", i),
			Kind:              tracepb.Span_SPAN_KIND_CLIENT,
			Flags:             0x301,
			StartTimeUnixNano: 1727866392100000000 + uint64(i)*1000,
			EndTimeUnixNano:   1727866392100000000 + uint64(i)*1000 + 123456,
			Attributes: []*commonpb.KeyValue{
				kv("http.request.method", anyStr("GET")),
				kv("url.full", anyStr(fmt.Sprintf("https://api.example.com/items/%d?expand=true", i))),
				kv("server.address", anyStr("api.example.com")),
				kv("server.port", anyInt(443)),
				kv("http.response.status_code", anyInt(200)),
				kv("network.protocol.version", anyStr("1.1")),
				kv("db.system", anyStr("dynamodb")),
				kv("aws.dynamodb.consistent_read", anyBool(true)),
			},
			Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
		}
		if i%10 == 0 {
			s.Events = []*tracepb.Span_Event{{
				TimeUnixNano: s.StartTimeUnixNano + 50,
				Name:         "exception",
				Attributes:   []*commonpb.KeyValue{kv("exception.type", anyStr("TimeoutError")), kv("exception.message", anyStr("timed out after 3 s"))},
			}}
		}
		spans = append(spans, s)
	}
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   res,
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "github.com/lambdaotel/lambdaotel", Version: "0.1.0"}, Spans: spans}},
	}}}
}

func BenchmarkAppendProtobuf(b *testing.B) {
	pb := mustMarshal(b, benchTraces())
	js := toJSON(b, Traces, pb)
	dst := make([]byte, 0, len(pb))
	b.SetBytes(int64(len(js)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = AppendProtobuf(dst[:0], Traces, js); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	pb := mustMarshal(b, benchTraces())
	dst := make([]byte, 0, len(toJSON(b, Traces, pb)))
	b.SetBytes(int64(len(pb)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = AppendJSON(dst[:0], Traces, pb); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProtojson measures the paths this package replaces, on the same
// request: protojson into the generated types and proto.Marshal (JSON in),
// and proto.Unmarshal and protojson.Marshal (JSON out). The "+hex" variants
// add the ID rewrite OTLP/JSON needs on top, as extension/receiver did it.
func BenchmarkProtojson(b *testing.B) {
	m := benchTraces()
	pb := mustMarshal(b, m)
	std, err := protojson.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	otlp := toJSON(b, Traces, pb)

	b.Run("JSON-to-protobuf", func(b *testing.B) {
		b.SetBytes(int64(len(otlp)))
		b.ReportAllocs()
		for b.Loop() {
			var m tracepb.TracesData
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(std, &m); err != nil {
				b.Fatal(err)
			}
			if _, err := proto.Marshal(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("JSON-to-protobuf+hex", func(b *testing.B) {
		b.SetBytes(int64(len(otlp)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := protojsonFromOTLP(Traces, otlp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protobuf-to-JSON", func(b *testing.B) {
		b.SetBytes(int64(len(pb)))
		b.ReportAllocs()
		for b.Loop() {
			var m tracepb.TracesData
			if err := proto.Unmarshal(pb, &m); err != nil {
				b.Fatal(err)
			}
			if _, err := protojson.Marshal(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protobuf-to-JSON+hex", func(b *testing.B) {
		b.SetBytes(int64(len(pb)))
		b.ReportAllocs()
		for b.Loop() {
			var m tracepb.TracesData
			if err := proto.Unmarshal(pb, &m); err != nil {
				b.Fatal(err)
			}
			js, err := protojson.Marshal(&m)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := base64ToHexIDs(js); err != nil {
				b.Fatal(err)
			}
		}
	})
}
