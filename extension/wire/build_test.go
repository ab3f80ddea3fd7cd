package wire

import (
	"fmt"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Builders for valid requests, made with the generated types so that the
// encodings are the ones real SDKs produce.

func strVal(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// allValues returns one attribute of every AnyValue kind, with nested
// arrays and key-value lists.
func allValues() []*commonpb.KeyValue {
	return []*commonpb.KeyValue{
		kv("s", strVal("héllo")),
		kv("b", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
		kv("i", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: -42}}),
		kv("d", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 3.5}}),
		kv("by", &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0xff, 0xfe}}}),
		kv("arr", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
			Values: []*commonpb.AnyValue{strVal("a"), {Value: &commonpb.AnyValue_IntValue{IntValue: 1}}, nested(3)},
		}}}),
		kv("kvl", &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{
			Values: []*commonpb.KeyValue{kv("x", strVal("y")), kv("deep", nested(4))},
		}}}),
		kv("empty", &commonpb.AnyValue{}),
		{Key: "noval"},
		{KeyStrindex: 3, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValueStrindex{StringValueStrindex: 7}}},
	}
}

// nested returns an AnyValue that is depth levels deep, alternating arrays
// and key-value lists.
func nested(depth int) *commonpb.AnyValue {
	v := strVal("leaf")
	for d := 1; d < depth; d++ {
		if d%2 == 0 {
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{v}}}}
		} else {
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{kv("k", v)}}}}
		}
	}
	return v
}

func testResource(name string) *resourcepb.Resource {
	return &resourcepb.Resource{
		Attributes: []*commonpb.KeyValue{
			kv("service.name", strVal(name)),
			kv("cloud.provider", strVal("aws")),
		},
		DroppedAttributesCount: 1,
		EntityRefs: []*commonpb.EntityRef{{
			SchemaUrl: "https://opentelemetry.io/schemas/1.30.0", Type: "service",
			IdKeys: []string{"service.name"}, DescriptionKeys: []string{"service.version"},
		}},
	}
}

func testScope(name string) *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{Name: name, Version: "1.2.3", Attributes: []*commonpb.KeyValue{kv("scope.attr", strVal("v"))}, DroppedAttributesCount: 2}
}

var (
	traceID16 = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	spanID8   = []byte{1, 2, 3, 4, 5, 6, 7, 8}
)

func testSpan(i int, attrs []*commonpb.KeyValue) *tracepb.Span {
	return &tracepb.Span{
		TraceId: traceID16, SpanId: spanID8, ParentSpanId: spanID8,
		TraceState: "k=v", Name: fmt.Sprintf("GET /items/%d", i), Kind: tracepb.Span_SPAN_KIND_SERVER,
		StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_000_100_000_000,
		Attributes: attrs, DroppedAttributesCount: 1,
		Events: []*tracepb.Span_Event{{TimeUnixNano: 1, Name: "exception", Attributes: []*commonpb.KeyValue{kv("exception.message", strVal("boom"))}}},
		Links:  []*tracepb.Span_Link{{TraceId: traceID16, SpanId: spanID8, TraceState: "a=b", Attributes: []*commonpb.KeyValue{kv("l", strVal("1"))}, Flags: 0x301}},
		Status: &tracepb.Status{Message: "not found", Code: tracepb.Status_STATUS_CODE_ERROR},
		Flags:  0x101, DroppedEventsCount: 2, DroppedLinksCount: 3,
	}
}

// testTraces has 2 resources and 1+2+3+4 = 10 spans across 4 scopes.
func testTraces() *tracepb.TracesData {
	td := &tracepb.TracesData{}
	n := 0
	for r := 0; r < 2; r++ {
		rs := &tracepb.ResourceSpans{Resource: testResource(fmt.Sprint("svc", r)), SchemaUrl: "https://opentelemetry.io/schemas/1.30.0"}
		for s := 0; s < 2; s++ {
			ss := &tracepb.ScopeSpans{Scope: testScope("lib"), SchemaUrl: "https://x"}
			for k := 0; k <= 2*r+s; k++ {
				ss.Spans = append(ss.Spans, testSpan(n, allValues()))
				n++
			}
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		td.ResourceSpans = append(td.ResourceSpans, rs)
	}
	return td
}

// benchTraces is one resource, one scope and n spans with attributes typical
// of an HTTP server span.
func benchTraces(n int) *tracepb.TracesData {
	ss := &tracepb.ScopeSpans{Scope: testScope("github.com/lambdaotel/lambdaotel")}
	for i := 0; i < n; i++ {
		sp := testSpan(i, []*commonpb.KeyValue{
			kv("http.request.method", strVal("GET")),
			kv("url.path", strVal(fmt.Sprintf("/items/%d", i))),
			kv("http.response.status_code", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 200}}),
			kv("server.address", strVal("api.example.com")),
			kv("user_agent.original", strVal("Mozilla/5.0 (X11; Linux x86_64)")),
			kv("faas.invocation_id", strVal("af9c4b2c-3f9e-4e55-9d3e-7f1c9c1b0a11")),
			kv("faas.coldstart", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: i == 0}}),
			kv("network.peer.port", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 443}}),
		})
		ss.Spans = append(ss.Spans, sp)
	}
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{Resource: testResource("bench"), ScopeSpans: []*tracepb.ScopeSpans{ss}}}}
}

func exemplars() []*metricspb.Exemplar {
	return []*metricspb.Exemplar{
		{FilteredAttributes: []*commonpb.KeyValue{kv("f", strVal("1"))}, TimeUnixNano: 5, Value: &metricspb.Exemplar_AsDouble{AsDouble: 1.5}, SpanId: spanID8, TraceId: traceID16},
		{TimeUnixNano: 6, Value: &metricspb.Exemplar_AsInt{AsInt: 7}},
	}
}

func f64(v float64) *float64 { return &v }

// testMetrics has 1 resource and one metric of every type; data points:
// gauge 2, sum 3, histogram 2, exponential histogram 2, summary 1 = 10.
func testMetrics() *metricspb.MetricsData {
	attrs := allValues()
	ndp := func(v float64) *metricspb.NumberDataPoint {
		return &metricspb.NumberDataPoint{Attributes: attrs, StartTimeUnixNano: 1, TimeUnixNano: 2, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: v}, Exemplars: exemplars(), Flags: 1}
	}
	idp := &metricspb.NumberDataPoint{Attributes: attrs, TimeUnixNano: 2, Value: &metricspb.NumberDataPoint_AsInt{AsInt: -3}}
	hdp := &metricspb.HistogramDataPoint{Attributes: attrs, StartTimeUnixNano: 1, TimeUnixNano: 2, Count: 6, Sum: f64(10),
		BucketCounts: []uint64{1, 2, 3}, ExplicitBounds: []float64{1, 5}, Exemplars: exemplars(), Flags: 1, Min: f64(0.5), Max: f64(9)}
	edp := &metricspb.ExponentialHistogramDataPoint{Attributes: attrs, StartTimeUnixNano: 1, TimeUnixNano: 2, Count: 9, Sum: f64(20), Scale: -3, ZeroCount: 1,
		Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: -2, BucketCounts: []uint64{1, 300, 70000}},
		Negative: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 4, BucketCounts: []uint64{1}},
		Flags:    1, Exemplars: exemplars(), Min: f64(-1), Max: f64(100), ZeroThreshold: 1e-9}
	sdp := &metricspb.SummaryDataPoint{Attributes: attrs, StartTimeUnixNano: 1, TimeUnixNano: 2, Count: 4, Sum: 8,
		QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.5, Value: 2}, {Quantile: 0.99, Value: 4}}, Flags: 1}
	ms := []*metricspb.Metric{
		{Name: "g", Description: "a gauge", Unit: "1", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{ndp(1), idp}}}},
		{Name: "s", Unit: "By", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{DataPoints: []*metricspb.NumberDataPoint{ndp(1), ndp(2), idp},
			AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true}}},
		{Name: "h", Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: []*metricspb.HistogramDataPoint{hdp, hdp},
			AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA}}},
		{Name: "e", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{DataPoints: []*metricspb.ExponentialHistogramDataPoint{edp, edp},
			AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA}}},
		{Name: "sm", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{DataPoints: []*metricspb.SummaryDataPoint{sdp}}},
			Metadata: []*commonpb.KeyValue{kv("m", strVal("d"))}},
		{Name: "nodata"},
	}
	return &metricspb.MetricsData{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource: testResource("m"), SchemaUrl: "https://x",
		ScopeMetrics: []*metricspb.ScopeMetrics{{Scope: testScope("meter"), Metrics: ms[:3]}, {Metrics: ms[3:], SchemaUrl: "https://y"}},
	}}}
}

// testLogs has 3 resources (one empty) and 4 log records.
func testLogs() *logspb.LogsData {
	lr := func(body *commonpb.AnyValue) *logspb.LogRecord {
		return &logspb.LogRecord{TimeUnixNano: 1, ObservedTimeUnixNano: 2, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_WARN, SeverityText: "WARN",
			Body: body, Attributes: allValues(), DroppedAttributesCount: 1, Flags: 1, TraceId: traceID16, SpanId: spanID8, EventName: "ev"}
	}
	return &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{
		{Resource: testResource("l"), ScopeLogs: []*logspb.ScopeLogs{{Scope: testScope("logger"), LogRecords: []*logspb.LogRecord{lr(strVal("hello")), lr(nested(MaxDepth))}, SchemaUrl: "s"}}},
		{},
		{ScopeLogs: []*logspb.ScopeLogs{{}, {LogRecords: []*logspb.LogRecord{lr(nil), {}}}}},
	}}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Hand encoders for inputs the generated types cannot produce.

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// lenf is a length-delimited field holding the concatenation of parts.
func lenf(num protowire.Number, parts ...[]byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, cat(parts...))
}

func varf(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func fix64f(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), v)
}

func fix32f(num protowire.Number, v uint32) []byte {
	return protowire.AppendFixed32(protowire.AppendTag(nil, num, protowire.Fixed32Type), v)
}

// unknownFields is one unknown field of every wire type OTLP allows, with
// field numbers no OTLP message uses.
func unknownFields() []byte {
	return cat(varf(1000, 7), fix64f(1001, 1), fix32f(1002, 2), lenf(1003, []byte("opaque \xff bytes")), varf(536870911, 1))
}
