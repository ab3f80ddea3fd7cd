package otlpjson

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The oracle tests build messages with the generated types that set every
// field of every message, every oneof branch, zero values (which presence
// fields must keep), NaN and infinities, unicode and large integers, and
// check both directions against proto.Marshal and protojson.

func anyStr(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}
func anyInt(v int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}
}
func anyDouble(v float64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v}}
}
func anyBool(v bool) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v}}
}
func anyBytes(v []byte) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v}}
}
func anyArray(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}
func anyKV(kvs ...*commonpb.KeyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}
}
func anyStrindex(v int32) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValueStrindex{StringValueStrindex: v}}
}
func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// unicodeText has quotes, backslashes, control characters, NUL, non-ASCII,
// a character outside the BMP and the JavaScript line separators.
const unicodeText = "héllo \"wörld\" \\ / \n\r\t\b\f \x00 \x1f \x7f \u2028\u2029 😀 日本語 <&>"

// richAttributes has one of everything an attribute value can be.
func richAttributes() []*commonpb.KeyValue {
	return []*commonpb.KeyValue{
		kv("string", anyStr(unicodeText)),
		kv("empty string", anyStr("")),
		kv("true", anyBool(true)),
		kv("false", anyBool(false)),
		kv("int zero", anyInt(0)),
		kv("int", anyInt(-1)),
		kv("int min", anyInt(math.MinInt64)),
		kv("int max", anyInt(math.MaxInt64)),
		kv("double zero", anyDouble(0)),
		kv("double negative zero", anyDouble(math.Copysign(0, -1))),
		kv("NaN", anyDouble(math.NaN())),
		kv("+Inf", anyDouble(math.Inf(1))),
		kv("-Inf", anyDouble(math.Inf(-1))),
		kv("double big", anyDouble(1e300)),
		kv("double tiny", anyDouble(5e-324)),
		kv("double", anyDouble(0.1)),
		kv("double 1e21", anyDouble(1e21)),
		kv("double 1e-7", anyDouble(-1e-7)),
		kv("double exact", anyDouble(123456789.125)),
		kv("bytes", anyBytes([]byte{0, 1, 2, 0xfb, 0xff})),
		kv("empty bytes", anyBytes([]byte{})),
		kv("array", anyArray(anyStr("a"), anyInt(1), anyArray(anyBool(true)), anyKV(kv("k", anyDouble(2))), &commonpb.AnyValue{})),
		kv("empty array", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}}),
		kv("kvlist", anyKV(kv("a", anyInt(1)), kv("nested", anyKV(kv("deeper", anyArray(anyStr("x"))))))),
		kv("empty kvlist", &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{}}}),
		kv("strindex zero", anyStrindex(0)),
		kv("strindex", anyStrindex(42)),
		kv("strindex negative", anyStrindex(-1)),
		kv("no value", &commonpb.AnyValue{}),
		{Key: "nil value"},
		{KeyStrindex: 7, Value: anyStr("by index")},
		{KeyStrindex: -5},
		kv("", anyStr("empty key")),
		kv(unicodeText, anyStr("unicode key")),
	}
}

func richResource() *resourcepb.Resource {
	return &resourcepb.Resource{
		Attributes:             richAttributes(),
		DroppedAttributesCount: 3,
		EntityRefs: []*commonpb.EntityRef{
			{
				SchemaUrl:       "https://opentelemetry.io/schemas/1.30.0",
				Type:            "service",
				IdKeys:          []string{"service.name", "service.namespace", ""},
				DescriptionKeys: []string{"service.version"},
			},
			{},
		},
	}
}

func richScope() *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{
		Name:                   "io.opentelemetry.contrib.mongodb",
		Version:                "1.0.0",
		Attributes:             []*commonpb.KeyValue{kv("scope.attr", anyStr("v"))},
		DroppedAttributesCount: math.MaxUint32,
	}
}

var (
	traceID = []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	spanID  = []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
	spanID2 = []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73}
)

func fullSpan() *tracepb.Span {
	return &tracepb.Span{
		TraceId:                traceID,
		SpanId:                 spanID,
		TraceState:             "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
		ParentSpanId:           spanID2,
		Flags:                  0x301,
		Name:                   "GET /api/" + unicodeText,
		Kind:                   tracepb.Span_SPAN_KIND_SERVER,
		StartTimeUnixNano:      1544712660000000000,
		EndTimeUnixNano:        1544712661000000001,
		Attributes:             richAttributes(),
		DroppedAttributesCount: 1,
		Events: []*tracepb.Span_Event{
			{TimeUnixNano: 1544712660500000000, Name: "exception", Attributes: richAttributes()[:3], DroppedAttributesCount: 2},
			{},
		},
		DroppedEventsCount: 3,
		Links: []*tracepb.Span_Link{
			{TraceId: traceID, SpanId: spanID, TraceState: "k=v", Attributes: richAttributes()[3:5], DroppedAttributesCount: 4, Flags: 0x100},
			{},
		},
		DroppedLinksCount: 5,
		Status:            &tracepb.Status{Message: "boom", Code: tracepb.Status_STATUS_CODE_ERROR},
	}
}

func richTraces() *tracepb.TracesData {
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{
		{
			Resource:  richResource(),
			SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
			ScopeSpans: []*tracepb.ScopeSpans{
				{
					Scope:     richScope(),
					SchemaUrl: "https://opentelemetry.io/schemas/1.25.0",
					Spans: []*tracepb.Span{
						fullSpan(),
						{}, // an empty span still counts as a span
						{Name: "zero IDs", TraceId: make([]byte, 16), SpanId: make([]byte, 8)},
						{
							Kind:              tracepb.Span_SPAN_KIND_CONSUMER,
							StartTimeUnixNano: math.MaxUint64,
							EndTimeUnixNano:   1 << 63,
							Flags:             math.MaxUint32,
							Status:            &tracepb.Status{},
						},
						{Kind: 42, Status: &tracepb.Status{Code: 7}}, // enum values this version does not know
					},
				},
				{},
			},
		},
		{},
	}}
}

func f64(v float64) *float64 { return &v }

func exemplars() []*metricspb.Exemplar {
	return []*metricspb.Exemplar{
		{
			FilteredAttributes: []*commonpb.KeyValue{kv("filtered", anyStr("yes"))},
			TimeUnixNano:       1544712660300000000,
			Value:              &metricspb.Exemplar_AsDouble{AsDouble: 0},
			SpanId:             spanID,
			TraceId:            traceID,
		},
		{Value: &metricspb.Exemplar_AsInt{AsInt: math.MinInt64}},
		{Value: &metricspb.Exemplar_AsInt{AsInt: 0}},
		{},
	}
}

func richMetrics() *metricspb.MetricsData {
	numberPoints := []*metricspb.NumberDataPoint{
		{
			Attributes:        richAttributes(),
			StartTimeUnixNano: 1544712660000000000,
			TimeUnixNano:      1544712661000000000,
			Value:             &metricspb.NumberDataPoint_AsDouble{AsDouble: 3.5},
			Exemplars:         exemplars(),
			Flags:             uint32(metricspb.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK),
		},
		{Value: &metricspb.NumberDataPoint_AsInt{AsInt: -7}},
		{Value: &metricspb.NumberDataPoint_AsInt{AsInt: 0}},
		{Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 0}},
		{Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: math.NaN()}},
		{},
	}
	return &metricspb.MetricsData{ResourceMetrics: []*metricspb.ResourceMetrics{
		{
			Resource:  richResource(),
			SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
			ScopeMetrics: []*metricspb.ScopeMetrics{{
				Scope:     richScope(),
				SchemaUrl: "s",
				Metrics: []*metricspb.Metric{
					{
						Name: "gauge", Description: "a gauge: " + unicodeText, Unit: "1",
						Data:     &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: numberPoints}},
						Metadata: richAttributes()[:4],
					},
					{
						Name: "sum", Unit: "By",
						Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
							DataPoints:             numberPoints[:2],
							AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
							IsMonotonic:            true,
						}},
					},
					{Name: "empty sum", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{}}},
					{Name: "empty gauge", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{}}},
					{
						Name: "histogram", Unit: "ms",
						Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
							DataPoints: []*metricspb.HistogramDataPoint{
								{
									Attributes:        richAttributes()[:2],
									StartTimeUnixNano: 1,
									TimeUnixNano:      2,
									Count:             math.MaxUint64,
									Sum:               f64(0), // optional: zero but present
									BucketCounts:      []uint64{0, 1, math.MaxUint64, 0},
									ExplicitBounds:    []float64{math.Inf(-1), 0, 1.5, math.NaN()},
									Exemplars:         exemplars(),
									Flags:             1,
									Min:               f64(-1),
									Max:               f64(math.Inf(1)),
								},
								{Min: f64(0), Max: f64(math.Copysign(0, -1))},
								{},
							},
							AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
						}},
					},
					{
						Name: "exponential histogram",
						Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
							DataPoints: []*metricspb.ExponentialHistogramDataPoint{
								{
									Attributes:        richAttributes()[4:6],
									StartTimeUnixNano: 10,
									TimeUnixNano:      20,
									Count:             30,
									Sum:               f64(-12.25),
									Scale:             -3,
									ZeroCount:         4,
									Positive:          &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: -2, BucketCounts: []uint64{1, 0, 1 << 40, math.MaxUint64}},
									Negative:          &metricspb.ExponentialHistogramDataPoint_Buckets{},
									Flags:             1,
									Exemplars:         exemplars()[:1],
									Min:               f64(-100),
									Max:               f64(100),
									ZeroThreshold:     1e-9,
								},
								{Scale: math.MaxInt32, Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: math.MinInt32}},
								{Sum: f64(0)},
							},
							AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
						}},
					},
					{
						Name: "summary",
						Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{
							DataPoints: []*metricspb.SummaryDataPoint{
								{
									Attributes:        richAttributes()[6:8],
									StartTimeUnixNano: 100,
									TimeUnixNano:      200,
									Count:             3,
									Sum:               12.5,
									QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{
										{Quantile: 0, Value: 1},
										{Quantile: 0.5, Value: math.Copysign(0, -1)},
										{Quantile: 1, Value: math.Inf(1)},
										{},
									},
									Flags: 1,
								},
								{},
							},
						}},
					},
					{Name: "no data"},
					{},
				},
			}},
		},
		{},
	}}
}

func richLogs() *logspb.LogsData {
	return &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{
		{
			Resource:  richResource(),
			SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
			ScopeLogs: []*logspb.ScopeLogs{
				{
					Scope:     richScope(),
					SchemaUrl: "s",
					LogRecords: []*logspb.LogRecord{
						{
							TimeUnixNano:           1544712660000000000,
							ObservedTimeUnixNano:   1544712660000000001,
							SeverityNumber:         logspb.SeverityNumber_SEVERITY_NUMBER_FATAL4,
							SeverityText:           "FATAL",
							Body:                   anyKV(richAttributes()...),
							Attributes:             richAttributes(),
							DroppedAttributesCount: 9,
							Flags:                  uint32(logspb.LogRecordFlags_LOG_RECORD_FLAGS_TRACE_FLAGS_MASK),
							TraceId:                traceID,
							SpanId:                 spanID,
							EventName:              "browser.click",
						},
						{Body: anyStr(unicodeText), SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO},
						{Body: anyBytes([]byte("\x00binary\xff"))},
						{Body: anyInt(0)},
						{Body: &commonpb.AnyValue{}},
						{SeverityNumber: 99},
						{},
					},
				},
				{},
			},
		},
		{},
	}}
}

// richMessages returns the rich message of each signal.
func richMessages() map[Signal]proto.Message {
	return map[Signal]proto.Message{
		Traces:  richTraces(),
		Metrics: richMetrics(),
		Logs:    richLogs(),
	}
}

// marshalOptions are the protojson variants producers use: lowerCamelCase
// keys or proto names, enum names or numbers, defaults omitted or emitted
// (zeros, empty arrays and nulls).
var marshalOptions = map[string]protojson.MarshalOptions{
	"default":     {},
	"proto names": {UseProtoNames: true},
	"enum ints":   {UseEnumNumbers: true},
	"unpopulated": {EmitUnpopulated: true, Multiline: true},
	"everything":  {UseProtoNames: true, UseEnumNumbers: true, EmitUnpopulated: true, Multiline: true, Indent: "\t"},
}

// TestOracleFromProtojson: what protojson writes (with hex IDs), AppendProtobuf
// reads back to the original message.
func TestOracleFromProtojson(t *testing.T) {
	for sig, want := range richMessages() {
		for name, opts := range marshalOptions {
			t.Run(sig.String()+"/"+name, func(t *testing.T) {
				js := otlpJSON(t, opts, want)
				assertEqual(t, "AppendProtobuf(protojson)", toProtobuf(t, sig, js), want)
			})
		}
	}
}

// TestOracleRoundTrip: AppendJSON of proto.Marshal's bytes converts back to
// exactly those bytes, and protojson reads it to the original message.
func TestOracleRoundTrip(t *testing.T) {
	for sig, want := range richMessages() {
		t.Run(sig.String(), func(t *testing.T) {
			pb := mustMarshal(t, want)
			js := toJSON(t, sig, pb)

			back, err := AppendProtobuf(nil, sig, js)
			if err != nil {
				t.Fatalf("AppendProtobuf(AppendJSON): %v", err)
			}
			if !bytes.Equal(back, pb) {
				t.Errorf("AppendProtobuf(AppendJSON(pb)) != pb")
			}
			got, err := unmarshalPB(sig, back)
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, "round trip", got, want)

			viaProtojson, err := protojsonFromOTLP(sig, js)
			if err != nil {
				t.Fatalf("protojson cannot read AppendJSON output: %v\n%s", err, js)
			}
			assertEqual(t, "protojson(AppendJSON)", viaProtojson, want)
		})
	}
}

// TestOracleJSONStyle checks what the OTLP specification requires of the
// JSON itself, beyond protojson's mapping: hex IDs, integer enums, and
// lowerCamelCase keys only.
func TestOracleJSONStyle(t *testing.T) {
	for sig, m := range richMessages() {
		js := toJSON(t, sig, mustMarshal(t, m))
		for _, name := range []string{"SPAN_KIND_", "STATUS_CODE_", "AGGREGATION_TEMPORALITY_", "SEVERITY_NUMBER_"} {
			if strings.Contains(string(js), name) {
				t.Errorf("%v: enum name %q in output", sig, name)
			}
		}
		var doc any
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if strings.Contains(k, "_") {
						t.Errorf("%v: snake_case key %q", sig, k)
					}
					if s, ok := x.(string); ok && idKeys[k] && (len(s) != 32 && len(s) != 16 || strings.ToLower(s) != s) {
						t.Errorf("%v: %s = %q, want lowercase hex", sig, k, s)
					}
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		walk(doc)
	}
}

// TestZeroInOneof pins the presence rule against proto.Marshal byte for
// byte: a oneof member or optional field set to its zero value is written.
func TestZeroInOneof(t *testing.T) {
	for _, tc := range []struct {
		json string
		want *commonpb.AnyValue
	}{
		{`{"intValue":"0"}`, anyInt(0)},
		{`{"intValue":0}`, anyInt(0)},
		{`{"stringValue":""}`, anyStr("")},
		{`{"boolValue":false}`, anyBool(false)},
		{`{"doubleValue":0}`, anyDouble(0)},
		{`{"bytesValue":""}`, anyBytes(nil)},
		{`{"arrayValue":{}}`, &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}}},
		{`{"kvlistValue":{}}`, &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{}}}},
		{`{"stringValueStrindex":0}`, anyStrindex(0)},
		{`{}`, &commonpb.AnyValue{}},
		{`{"intValue":null}`, &commonpb.AnyValue{}},
	} {
		want := &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{{Body: tc.want}}}}}}}
		doc := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":` + tc.json + `}]}]}]}`
		got, err := AppendProtobuf(nil, Logs, []byte(doc))
		if err != nil {
			t.Errorf("%s: %v", tc.json, err)
			continue
		}
		if wantPB := mustMarshal(t, want); !bytes.Equal(got, wantPB) {
			t.Errorf("%s: got % x, want % x", tc.json, got, wantPB)
		}
		// And back: the zero value is written in JSON too.
		if js := toJSON(t, Logs, got); !strings.Contains(string(js), tc.json) && tc.json != `{"intValue":null}` && tc.json != `{"intValue":0}` {
			t.Errorf("%s: AppendJSON wrote %s", tc.json, js)
		}
	}

	// Proto3 optional doubles keep a zero; plain doubles drop it.
	doc := `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"histogram":{"dataPoints":[{"sum":0,"min":0,"max":-0}]}},` +
		`{"summary":{"dataPoints":[{"sum":0,"count":"0"}]}}]}]}]}`
	want := &metricspb.MetricsData{ResourceMetrics: []*metricspb.ResourceMetrics{{ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{
		{Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: []*metricspb.HistogramDataPoint{{Sum: f64(0), Min: f64(0), Max: f64(math.Copysign(0, -1))}}}}},
		{Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{DataPoints: []*metricspb.SummaryDataPoint{{}}}}},
	}}}}}}
	got, err := AppendProtobuf(nil, Metrics, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if wantPB := mustMarshal(t, want); !bytes.Equal(got, wantPB) {
		t.Errorf("optional zeros: got % x, want % x", got, wantPB)
	}
}
