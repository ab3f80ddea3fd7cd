package otlpbuild

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

var (
	t0 = time.Date(2024, 7, 1, 8, 54, 54, 108_000_000, time.UTC)
	t1 = t0.Add(17120 * time.Microsecond)

	traceID = [16]byte{0x57, 0x59, 0xe9, 0x88, 0xbd, 0x86, 0x2e, 0x3f, 0xe1, 0xbe, 0x46, 0xa9, 0x94, 0x27, 0x27, 0x93}
	spanID  = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	parent  = [8]byte{0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8}
)

func ns(t time.Time) uint64 { return uint64(t.UnixNano()) }

func testResource() *Resource {
	return &Resource{
		Attributes: []KeyValue{
			String("service.name", "fn"),
			String("cloud.provider", "aws"),
			Int("faas.max_memory", 128<<20),
			Strings("aws.log.group.names", []string{"/aws/lambda/fn"}),
			Bool("flag", true),
			Double("ratio", 0.25),
		},
		SchemaURL: "https://opentelemetry.io/schemas/1.37.0",
	}
}

func testScope() *Scope {
	return &Scope{Name: "platformtel", Version: "1.2.3", Attributes: []KeyValue{String("k", "v")}, SchemaURL: "https://example/scope"}
}

func strKV(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}
func intKV(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}
func boolKV(k string, v bool) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v}}}
}
func doubleKV(k string, v float64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v}}}
}

func wantResource() *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		strKV("service.name", "fn"),
		strKV("cloud.provider", "aws"),
		intKV("faas.max_memory", 128<<20),
		{Key: "aws.log.group.names", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
			Values: []*commonpb.AnyValue{{Value: &commonpb.AnyValue_StringValue{StringValue: "/aws/lambda/fn"}}}}}}},
		boolKV("flag", true),
		doubleKV("ratio", 0.25),
	}}
}

func wantScope() *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{Name: "platformtel", Version: "1.2.3", Attributes: []*commonpb.KeyValue{strKV("k", "v")}}
}

// The tests decode into TracesData, MetricsData and LogsData: they share
// their encodings with the Export*ServiceRequest messages, whose packages
// would pull in gRPC gateway code.

// check decodes got as a fresh message like want, compares, and checks that
// the bytes are exactly what proto.Marshal writes for want (field order and
// minimal varints), so any OTLP reader sees the canonical encoding.
func check(t *testing.T, got []byte, want proto.Message) {
	t.Helper()
	dec := want.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(got, dec); err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	if !proto.Equal(dec, want) {
		t.Fatalf("decoded output differs\n got: %s\nwant: %s", prototext.Format(dec), prototext.Format(want))
	}
	wantBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantBytes) {
		t.Errorf("bytes differ from proto.Marshal\n got: %x\nwant: %x", got, wantBytes)
	}
}

func TestAppendTraces(t *testing.T) {
	spans := []Span{
		{
			TraceID: traceID, SpanID: spanID, ParentSpanID: parent, TraceState: "k=v",
			Flags: FlagSampled | FlagContextHasRemote | FlagContextIsRemote,
			Name:  "invoke", Kind: SpanKindServer, Start: t0, End: t1,
			Attributes: []KeyValue{
				String("faas.invocation_id", "b2de8fdb"),
				Bool("faas.coldstart", true),
				Int("negative", -5),
				Double("zero", 0),
				String("empty", ""),
			},
			DroppedAttributes: 2,
			Events: []Event{{Time: t1, Name: "exception", Attributes: []KeyValue{String("exception.type", "Timeout")}},
				{Name: "bare"}},
			Status: Status{Code: StatusError, Message: "timeout"},
		},
		{TraceID: traceID, SpanID: [8]byte{9}, ParentSpanID: spanID, Name: "responseLatency", Kind: SpanKindInternal,
			Start: t0, End: t0.Add(time.Millisecond), Status: Status{Code: StatusOK, Message: "dropped: only errors carry one"}},
		{Name: "all zero"},
	}
	got := AppendTraces(nil, testResource(), testScope(), spans)

	want := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:  wantResource(),
		SchemaUrl: "https://opentelemetry.io/schemas/1.37.0",
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope:     wantScope(),
			SchemaUrl: "https://example/scope",
			Spans: []*tracepb.Span{
				{
					TraceId: traceID[:], SpanId: spanID[:], ParentSpanId: parent[:], TraceState: "k=v", Flags: 0x301,
					Name: "invoke", Kind: tracepb.Span_SPAN_KIND_SERVER, StartTimeUnixNano: ns(t0), EndTimeUnixNano: ns(t1),
					Attributes: []*commonpb.KeyValue{strKV("faas.invocation_id", "b2de8fdb"), boolKV("faas.coldstart", true),
						intKV("negative", -5), doubleKV("zero", 0), strKV("empty", "")},
					DroppedAttributesCount: 2,
					Events: []*tracepb.Span_Event{
						{TimeUnixNano: ns(t1), Name: "exception", Attributes: []*commonpb.KeyValue{strKV("exception.type", "Timeout")}},
						{Name: "bare"},
					},
					Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "timeout"},
				},
				{TraceId: traceID[:], SpanId: []byte{9, 0, 0, 0, 0, 0, 0, 0}, ParentSpanId: spanID[:], Name: "responseLatency",
					Kind: tracepb.Span_SPAN_KIND_INTERNAL, StartTimeUnixNano: ns(t0), EndTimeUnixNano: ns(t0.Add(time.Millisecond)),
					Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}},
				{Name: "all zero"},
			},
		}},
	}}}
	check(t, got, want)

	// Incremental building gives the same bytes.
	var items []byte
	for i := range spans {
		items = AppendSpan(items, &spans[i])
	}
	if inc := WrapTraces(nil, testResource(), testScope(), items); !bytes.Equal(inc, got) {
		t.Error("WrapTraces(AppendSpan...) differs from AppendTraces")
	}
}

func TestEmptyAppendsNothing(t *testing.T) {
	dst := []byte("prefix")
	if got := AppendTraces(dst, testResource(), testScope(), nil); string(got) != "prefix" {
		t.Errorf("traces: %q", got)
	}
	if got := AppendMetrics(dst, testResource(), testScope(), nil); string(got) != "prefix" {
		t.Errorf("metrics: %q", got)
	}
	if got := AppendLogs(dst, testResource(), testScope(), nil); string(got) != "prefix" {
		t.Errorf("logs: %q", got)
	}
	if got := WrapLogs(dst, nil, nil, nil); string(got) != "prefix" {
		t.Errorf("wrap: %q", got)
	}
}

func TestNilResourceAndScope(t *testing.T) {
	got := AppendTraces(nil, nil, nil, []Span{{Name: "x"}})
	check(t, got, &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{}, Spans: []*tracepb.Span{{Name: "x"}}}},
	}}})
}

func TestAppendMetrics(t *testing.T) {
	start := t0.Add(-time.Minute)
	bounds := []float64{0.005, 0.01, 0.1, 1}
	metrics := []Metric{
		{Name: "faas.invocations", Description: "Number of successful invocations.", Unit: "{invocation}",
			Type: Sum, Temporality: Cumulative, Monotonic: true,
			Points: []NumberPoint{{Start: start, Time: t1, Int: 3}}},
		{Name: "updown", Type: Sum, Temporality: Delta,
			Points: []NumberPoint{{Start: start, Time: t1, Int: -2, Attributes: []KeyValue{String("k", "v")}, Flags: 1}}},
		{Name: "gauge", Unit: "1", Type: Gauge,
			Points: []NumberPoint{{Time: t1, Double: 0.5, IsDouble: true}, {Time: t1, Int: 0}, {Time: t1, IsDouble: true}}},
		{Name: "faas.invoke_duration", Unit: "s", Type: Histogram, Temporality: Cumulative,
			HistogramPoints: []HistogramPoint{
				{Start: start, Time: t1, Count: 3, Sum: 1.5, Min: 0.002, Max: 1.2, Bounds: bounds, BucketCounts: []uint64{1, 0, 1, 0, 1},
					Attributes: []KeyValue{Bool("faas.coldstart", false)}},
				{Start: start, Time: t1, Bounds: bounds, BucketCounts: []uint64{0, 0, 0, 0, 0}},
				{Time: t1, Count: 1, Sum: 0, Min: 0, Max: 0},
			}},
	}
	got := AppendMetrics(nil, testResource(), testScope(), metrics)
	sum, mn, mx, zero := 1.5, 0.002, 1.2, 0.0
	want := &metricspb.MetricsData{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource:  wantResource(),
		SchemaUrl: "https://opentelemetry.io/schemas/1.37.0",
		ScopeMetrics: []*metricspb.ScopeMetrics{{
			Scope:     wantScope(),
			SchemaUrl: "https://example/scope",
			Metrics: []*metricspb.Metric{
				{Name: "faas.invocations", Description: "Number of successful invocations.", Unit: "{invocation}",
					Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
						AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true,
						DataPoints: []*metricspb.NumberDataPoint{{StartTimeUnixNano: ns(start), TimeUnixNano: ns(t1),
							Value: &metricspb.NumberDataPoint_AsInt{AsInt: 3}}}}}},
				{Name: "updown", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
					DataPoints: []*metricspb.NumberDataPoint{{StartTimeUnixNano: ns(start), TimeUnixNano: ns(t1), Flags: 1,
						Attributes: []*commonpb.KeyValue{strKV("k", "v")},
						Value:      &metricspb.NumberDataPoint_AsInt{AsInt: -2}}}}}},
				{Name: "gauge", Unit: "1", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{
					{TimeUnixNano: ns(t1), Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 0.5}},
					{TimeUnixNano: ns(t1), Value: &metricspb.NumberDataPoint_AsInt{AsInt: 0}},
					{TimeUnixNano: ns(t1), Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 0}},
				}}}},
				{Name: "faas.invoke_duration", Unit: "s", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
					DataPoints: []*metricspb.HistogramDataPoint{
						{StartTimeUnixNano: ns(start), TimeUnixNano: ns(t1), Count: 3, Sum: &sum, Min: &mn, Max: &mx,
							ExplicitBounds: bounds, BucketCounts: []uint64{1, 0, 1, 0, 1},
							Attributes: []*commonpb.KeyValue{boolKV("faas.coldstart", false)}},
						{StartTimeUnixNano: ns(start), TimeUnixNano: ns(t1), ExplicitBounds: bounds, BucketCounts: []uint64{0, 0, 0, 0, 0}},
						{TimeUnixNano: ns(t1), Count: 1, Sum: &zero, Min: &zero, Max: &zero},
					}}}},
			},
		}},
	}}}
	check(t, got, want)

	var items []byte
	for i := range metrics {
		items = AppendMetric(items, &metrics[i])
	}
	if inc := WrapMetrics(nil, testResource(), testScope(), items); !bytes.Equal(inc, got) {
		t.Error("WrapMetrics(AppendMetric...) differs from AppendMetrics")
	}
}

func TestAppendLogs(t *testing.T) {
	recs := []LogRecord{
		{Time: t0, ObservedTime: t1, SeverityNumber: SeverityError, SeverityText: "ERROR",
			Body: StringValue("boom"), Attributes: []KeyValue{String("faas.invocation_id", "b2de8fdb")},
			DroppedAttributes: 1, Flags: FlagSampled, TraceID: traceID, SpanID: spanID, EventName: "ev"},
		{ObservedTime: t1, Body: StringValue("")},
		{ObservedTime: t1, Body: IntValue(42)},
		{ObservedTime: t1}, // no body at all
	}
	got := AppendLogs(nil, testResource(), testScope(), recs)
	want := &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{
		Resource:  wantResource(),
		SchemaUrl: "https://opentelemetry.io/schemas/1.37.0",
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope:     wantScope(),
			SchemaUrl: "https://example/scope",
			LogRecords: []*logspb.LogRecord{
				{TimeUnixNano: ns(t0), ObservedTimeUnixNano: ns(t1), SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR,
					SeverityText: "ERROR", Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "boom"}},
					Attributes: []*commonpb.KeyValue{strKV("faas.invocation_id", "b2de8fdb")}, DroppedAttributesCount: 1,
					Flags: 1, TraceId: traceID[:], SpanId: spanID[:], EventName: "ev"},
				{ObservedTimeUnixNano: ns(t1), Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{}}},
				{ObservedTimeUnixNano: ns(t1), Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 42}}},
				{ObservedTimeUnixNano: ns(t1)},
			},
		}},
	}}}
	check(t, got, want)

	var items []byte
	for i := range recs {
		items = AppendLogRecord(items, &recs[i])
	}
	if inc := WrapLogs(nil, testResource(), testScope(), items); !bytes.Equal(inc, got) {
		t.Error("WrapLogs(AppendLogRecord...) differs from AppendLogs")
	}
}

// TestLargeMessages crosses the length placeholders' guesses both ways: a
// body too big for its reserved bytes is moved up, one too small for them is
// moved down, and either way the output is canonical.
func TestLargeMessages(t *testing.T) {
	big := strings.Repeat("x", 20000) // > 16 KiB: three-byte lengths
	recs := []LogRecord{{Body: StringValue(big), Attributes: []KeyValue{String("k", big[:300])}}}
	got := AppendLogs(nil, nil, &Scope{Name: strings.Repeat("s", 200)}, recs)
	check(t, got, &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{},
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope: &commonpb.InstrumentationScope{Name: strings.Repeat("s", 200)},
			LogRecords: []*logspb.LogRecord{{Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: big}},
				Attributes: []*commonpb.KeyValue{strKV("k", big[:300])}}},
		}},
	}}})
}

func TestOddValues(t *testing.T) {
	// Times before the epoch cannot be represented and become unset; NaN
	// and infinities travel as IEEE 754 bits; negative enum values are
	// sign-extended as protobuf requires.
	spans := []Span{{Name: "n", Kind: -1, Start: time.Unix(-5, 0), End: time.Time{},
		Attributes: []KeyValue{Double("inf", math.Inf(1)), {Key: "empty"}}}}
	got := AppendTraces(nil, nil, nil, spans)
	var dec tracepb.TracesData
	if err := proto.Unmarshal(got, &dec); err != nil {
		t.Fatal(err)
	}
	s := dec.ResourceSpans[0].ScopeSpans[0].Spans[0]
	if s.Kind != -1 || s.StartTimeUnixNano != 0 || s.EndTimeUnixNano != 0 {
		t.Errorf("span: %v", s)
	}
	if v := s.Attributes[0].Value.GetDoubleValue(); !math.IsInf(v, 1) {
		t.Errorf("inf: %v", v)
	}
	if v := s.Attributes[1].Value; v == nil || v.Value != nil {
		t.Errorf("empty value: %v", v)
	}
}

func TestConcatenationMerges(t *testing.T) {
	a := AppendTraces(nil, testResource(), testScope(), []Span{{Name: "a"}})
	ab := AppendTraces(a, &Resource{}, nil, []Span{{Name: "b"}})
	var dec tracepb.TracesData
	if err := proto.Unmarshal(ab, &dec); err != nil {
		t.Fatal(err)
	}
	if len(dec.ResourceSpans) != 2 || dec.ResourceSpans[1].ScopeSpans[0].Spans[0].Name != "b" {
		t.Errorf("merged: %v", &dec)
	}
}

func TestAppendAllocatesNothing(t *testing.T) {
	res, sc := testResource(), testScope()
	spans := []Span{{TraceID: traceID, SpanID: spanID, Name: "invoke", Start: t0, End: t1,
		Attributes: []KeyValue{String("faas.invocation_id", "x"), Bool("faas.coldstart", true)}}}
	metrics := []Metric{{Name: "h", Type: Histogram, Temporality: Cumulative, HistogramPoints: []HistogramPoint{{
		Count: 1, Sum: 1, Bounds: []float64{1, 2}, BucketCounts: []uint64{1, 0, 0}}}}}
	logs := []LogRecord{{Body: StringValue("line"), TraceID: traceID}}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendTraces(buf[:0], res, sc, spans)
		b = AppendMetrics(b, res, sc, metrics)
		_ = AppendLogs(b, res, sc, logs)
	})
	if allocs != 0 {
		t.Errorf("allocs per run = %v, want 0", allocs)
	}
}

func BenchmarkAppendTraces(b *testing.B) {
	res, sc := testResource(), testScope()
	spans := make([]Span, 5)
	for i := range spans {
		spans[i] = Span{TraceID: traceID, SpanID: spanID, ParentSpanID: parent, Name: "responseLatency", Kind: SpanKindInternal,
			Start: t0, End: t1, Attributes: []KeyValue{String("faas.invocation_id", "b2de8fdb-0000-4000-8000-000000000000")}}
	}
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTraces(buf[:0], res, sc, spans)
	}
	b.SetBytes(int64(len(buf)))
}
