package otlpjson

import (
	"bytes"
	"math"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// spanDoc wraps one span object in a traces request.
func spanDoc(span string) string {
	return `{"resourceSpans":[{"scopeSpans":[{"spans":[` + span + `]}]}]}`
}

const spanPath = "resourceSpans[0].scopeSpans[0].spans[0]"

// spansData wraps spans in a TracesData.
func spansData(spans ...*tracepb.Span) *tracepb.TracesData {
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}}}}}
}

// logDoc wraps one log record object in a logs request.
func logDoc(record string) string {
	return `{"resourceLogs":[{"scopeLogs":[{"logRecords":[` + record + `]}]}]}`
}

const logPath = "resourceLogs[0].scopeLogs[0].logRecords[0]"

func logsData(records ...*logspb.LogRecord) *logspb.LogsData {
	return &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: records}}}}}
}

// metricDoc wraps one metric object in a metrics request.
func metricDoc(metric string) string {
	return `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[` + metric + `]}]}]}`
}

const metricPath = "resourceMetrics[0].scopeMetrics[0].metrics[0]"

func metricsData(metrics ...*metricspb.Metric) *metricspb.MetricsData {
	return &metricspb.MetricsData{ResourceMetrics: []*metricspb.ResourceMetrics{{ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: metrics}}}}}
}

// accepted lists documents and the message each must decode to.
var accepted = []struct {
	name string
	sig  Signal
	doc  string
	want proto.Message
}{
	// Keys in either spelling.
	{"snake_case keys", Traces,
		`{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174",` +
			`"parent_span_id":"eee19b7ec3c1b173","trace_state":"a=b","start_time_unix_nano":"1","end_time_unix_nano":"2",` +
			`"dropped_attributes_count":1,"dropped_events_count":2,"dropped_links_count":3}],"schema_url":"s"}],"schema_url":"r"}]}`,
		&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{SchemaUrl: "r", ScopeSpans: []*tracepb.ScopeSpans{{SchemaUrl: "s", Spans: []*tracepb.Span{{
			TraceId: traceID, SpanId: spanID, ParentSpanId: spanID2, TraceState: "a=b", StartTimeUnixNano: 1, EndTimeUnixNano: 2,
			DroppedAttributesCount: 1, DroppedEventsCount: 2, DroppedLinksCount: 3,
		}}}}}}}},
	{"snake_case AnyValue", Logs, logDoc(`{"body":{"kvlist_value":{"values":[{"key":"a","value":{"int_value":"1"}},{"key":"b","value":{"string_value_strindex":3}},{"key_strindex":4}]}}}`),
		logsData(&logspb.LogRecord{Body: anyKV(kv("a", anyInt(1)), kv("b", anyStrindex(3)), &commonpb.KeyValue{KeyStrindex: 4})})},
	{"escaped key", Traces, spanDoc(`{"n\u0061me":"x","\u006bind":1}`), spansData(&tracepb.Span{Name: "x", Kind: 1})},
	{"keys are case-sensitive", Traces, spanDoc(`{"Name":"x","NAME":"y","TraceId":"zz"}`), spansData(&tracepb.Span{})},

	// Enums.
	{"enum names", Traces, spanDoc(`{"kind":"SPAN_KIND_SERVER","status":{"code":"STATUS_CODE_ERROR"}}`),
		spansData(&tracepb.Span{Kind: tracepb.Span_SPAN_KIND_SERVER, Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR}})},
	{"enum numbers", Traces, spanDoc(`{"kind":3,"status":{"code":2.0}}`),
		spansData(&tracepb.Span{Kind: tracepb.Span_SPAN_KIND_CLIENT, Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR}})},
	{"unknown enum number kept", Traces, spanDoc(`{"kind":-7}`), spansData(&tracepb.Span{Kind: -7})},
	{"unknown enum name ignored", Traces, spanDoc(`{"kind":"SPAN_KIND_FUTURE","name":"x"}`), spansData(&tracepb.Span{Name: "x"})},
	{"enum number in a string is a name", Traces, spanDoc(`{"kind":"2"}`), spansData(&tracepb.Span{})},
	{"enum zero name omitted", Traces, spanDoc(`{"kind":"SPAN_KIND_UNSPECIFIED"}`), spansData(&tracepb.Span{})},
	{"severity and temporality names", Logs, logDoc(`{"severityNumber":"SEVERITY_NUMBER_WARN3"}`),
		logsData(&logspb.LogRecord{SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_WARN3})},
	{"temporality name", Metrics, metricDoc(`{"sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA","isMonotonic":true}}`),
		metricsData(&metricspb.Metric{Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{AggregationTemporality: 1, IsMonotonic: true}}})},

	// 64-bit integers: numbers or strings, exact, any notation protojson reads.
	{"uint64 as number and string", Traces, spanDoc(`{"startTimeUnixNano":18446744073709551615,"endTimeUnixNano":"18446744073709551614"}`),
		spansData(&tracepb.Span{StartTimeUnixNano: math.MaxUint64, EndTimeUnixNano: math.MaxUint64 - 1})},
	{"uint64 exponent", Traces, spanDoc(`{"startTimeUnixNano":1.544712660000000001e18,"endTimeUnixNano":"1e3"}`),
		spansData(&tracepb.Span{StartTimeUnixNano: 1544712660000000001, EndTimeUnixNano: 1000})},
	{"uint64 fraction of zeros", Traces, spanDoc(`{"startTimeUnixNano":"1000.000","endTimeUnixNano":12300e-2}`),
		spansData(&tracepb.Span{StartTimeUnixNano: 1000, EndTimeUnixNano: 123})},
	{"minus zero", Traces, spanDoc(`{"startTimeUnixNano":"-0","droppedAttributesCount":-0.0}`), spansData(&tracepb.Span{})},
	{"int64 extremes", Logs, logDoc(`{"attributes":[{"key":"min","value":{"intValue":"-9223372036854775808"}},{"key":"max","value":{"intValue":9223372036854775807}}]}`),
		logsData(&logspb.LogRecord{Attributes: []*commonpb.KeyValue{kv("min", anyInt(math.MinInt64)), kv("max", anyInt(math.MaxInt64))}})},
	{"sfixed64 negative", Metrics, metricDoc(`{"gauge":{"dataPoints":[{"asInt":"-5"},{"asInt":-9223372036854775808}]}}`),
		metricsData(&metricspb.Metric{Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{
			{Value: &metricspb.NumberDataPoint_AsInt{AsInt: -5}}, {Value: &metricspb.NumberDataPoint_AsInt{AsInt: math.MinInt64}}}}}})},
	{"uint32 and sint32", Metrics, metricDoc(`{"exponentialHistogram":{"dataPoints":[{"flags":"4294967295","scale":-2147483648,"positive":{"offset":"2147483647","bucketCounts":["1",2,"18446744073709551615"]}}]}}`),
		metricsData(&metricspb.Metric{Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{DataPoints: []*metricspb.ExponentialHistogramDataPoint{{
			Flags: math.MaxUint32, Scale: math.MinInt32, Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: math.MaxInt32, BucketCounts: []uint64{1, 2, math.MaxUint64}}}}}}})},

	// Doubles.
	{"doubles", Metrics, metricDoc(`{"histogram":{"dataPoints":[{"explicitBounds":["NaN","Infinity","-Infinity","1.5",-2.5e-3,0,"-0",1E2]}]}}`),
		metricsData(&metricspb.Metric{Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: []*metricspb.HistogramDataPoint{{
			ExplicitBounds: []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1.5, -2.5e-3, 0, math.Copysign(0, -1), 100}}}}}})},
	{"empty packed array", Metrics, metricDoc(`{"histogram":{"dataPoints":[{"bucketCounts":[],"explicitBounds":[]}]}}`),
		metricsData(&metricspb.Metric{Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: []*metricspb.HistogramDataPoint{{}}}}})},

	// Bytes: standard or URL-safe base64, padded or not.
	{"base64 variants", Logs, logDoc(`{"attributes":[{"key":"std","value":{"bytesValue":"+/8="}},{"key":"raw","value":{"bytesValue":"+/8"}},` +
		`{"key":"url","value":{"bytesValue":"-_8="}},{"key":"rawurl","value":{"bytesValue":"-_8"}},{"key":"empty","value":{"bytesValue":""}}]}`),
		logsData(&logspb.LogRecord{Attributes: []*commonpb.KeyValue{
			kv("std", anyBytes([]byte{0xfb, 0xff})), kv("raw", anyBytes([]byte{0xfb, 0xff})),
			kv("url", anyBytes([]byte{0xfb, 0xff})), kv("rawurl", anyBytes([]byte{0xfb, 0xff})), kv("empty", anyBytes(nil))}})},

	// IDs: hex in either case; empty means absent.
	{"upper-case hex IDs", Traces, spanDoc(`{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19b7ec3c1B174"}`),
		spansData(&tracepb.Span{TraceId: traceID, SpanId: spanID})},
	{"empty IDs", Traces, spanDoc(`{"traceId":"","spanId":"","parentSpanId":"","links":[{"traceId":"","spanId":""}]}`),
		spansData(&tracepb.Span{Links: []*tracepb.Span_Link{{}}})},
	{"escaped hex ID", Traces, spanDoc(`{"spanId":"\u0065ee19b7ec3c1b174"}`), spansData(&tracepb.Span{SpanId: spanID})},
	{"exemplar and log IDs", Metrics, metricDoc(`{"gauge":{"dataPoints":[{"exemplars":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}}`),
		metricsData(&metricspb.Metric{Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{{
			Exemplars: []*metricspb.Exemplar{{TraceId: traceID, SpanId: spanID}}}}}}})},

	// null is absence, everywhere.
	{"nulls", Traces, `{"resourceSpans":[{"resource":null,"schemaUrl":null,"scopeSpans":[{"scope":null,"spans":[{"traceId":null,"name":null,` +
		`"kind":null,"startTimeUnixNano":null,"attributes":null,"status":null,"flags":null,"events":[{"attributes":[{"key":"k","value":null}]}]}]}]}]}`,
		spansData(&tracepb.Span{Events: []*tracepb.Span_Event{{Attributes: []*commonpb.KeyValue{{Key: "k"}}}}})},
	{"null top-level field", Logs, `{"resourceLogs":null}`, &logspb.LogsData{}},
	{"null oneof member then another", Logs, logDoc(`{"body":{"stringValue":null,"intValue":"5"}}`), logsData(&logspb.LogRecord{Body: anyInt(5)})},

	// Defaults are not written; present messages are, even empty.
	{"defaults", Traces, spanDoc(`{"name":"","kind":0,"flags":0,"startTimeUnixNano":"0","droppedAttributesCount":0,"traceState":""}`), spansData(&tracepb.Span{})},
	{"empty messages", Traces, `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{},{"status":{}}]},{}]},{}]}`,
		&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{
			{Resource: &resourcepb.Resource{}, ScopeSpans: []*tracepb.ScopeSpans{
				{Scope: &commonpb.InstrumentationScope{}, Spans: []*tracepb.Span{{}, {Status: &tracepb.Status{}}}}, {}}},
			{}}}},
	{"empty arrays", Traces, `{"resourceSpans":[{"scopeSpans":[]}]}`, &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{}}}},
	{"empty document", Metrics, `{}`, &metricspb.MetricsData{}},
	{"white space", Logs, " \t\r\n{ \"resourceLogs\" : [ { } , { \"schemaUrl\" :\n\"x\" } ] } \n",
		&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{}, {SchemaUrl: "x"}}}},

	// Unknown fields are skipped at every depth, whatever they hold.
	{"unknown fields everywhere", Traces,
		`{"u0":{"a":[1,{"b":null}],"traceId":"not hex"},"resourceSpans":[{"u1":[[],{}],"resource":{"u2":"\u00e9\"","attributes":[{"u3":true,"key":"k","value":{"u4":-1.5e-7,"stringValue":"v"}}]},` +
			`"scopeSpans":[{"scope":{"u5":false},"spans":[{"u6":null,"name":"n","events":[{"u7":{}}],"links":[{"u8":[]}],"status":{"u9":"x","code":1}}]}]}],"u10":"end"}`,
		&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("k", anyStr("v"))}},
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{}, Spans: []*tracepb.Span{{
				Name: "n", Events: []*tracepb.Span_Event{{}}, Links: []*tracepb.Span_Link{{}}, Status: &tracepb.Status{Code: 1}}}}}}}}},
	{"duplicate keys inside unknown fields", Traces, `{"x":{"a":1,"a":2}}`, &tracepb.TracesData{}},
	{"the other signal's fields are unknown", Traces, `{"resourceLogs":[{}],"resourceMetrics":[]}`, &tracepb.TracesData{}},

	// Strings.
	{"escapes", Traces, spanDoc(`{"name":"\"\\\/\b\f\n\r\t\u0000\u00e9\u20AC\ud83d\ude00"}`),
		spansData(&tracepb.Span{Name: "\"\\/\b\f\n\r\t\x00é€😀"})},
	{"raw UTF-8", Traces, spanDoc(`{"name":"é€😀` + "\x7f" + `"}`), spansData(&tracepb.Span{Name: "é€😀\x7f"})},
	{"long escaped string", Traces, spanDoc(`{"name":"` + strings.Repeat(`\n`, 200) + `"}`), spansData(&tracepb.Span{Name: strings.Repeat("\n", 200)})},
	{"repeated strings", Traces, `{"resourceSpans":[{"resource":{"entityRefs":[{"idKeys":["a","","\u0062"],"descriptionKeys":[]}]}}]}`,
		&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{Resource: &resourcepb.Resource{EntityRefs: []*commonpb.EntityRef{{IdKeys: []string{"a", "", "b"}}}}}}}},
}

func TestAccepted(t *testing.T) {
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			got := toProtobuf(t, tc.sig, []byte(tc.doc))
			assertEqual(t, "AppendProtobuf", got, tc.want)

			// protojson agrees wherever it can read the document.
			if oracle, err := protojsonFromOTLP(tc.sig, []byte(tc.doc)); err == nil {
				assertEqual(t, "protojson", oracle, tc.want)
			}
		})
	}
}

// rejected lists documents AppendProtobuf must refuse, with the exact error.
var rejected = []struct {
	name string
	sig  Signal
	doc  string
	err  string
}{
	// IDs.
	{"short trace ID", Traces, spanDoc(`{"traceId":"5b8efff798038103d269b633813fc60"}`), spanPath + ".traceId: want 32 hex digits, got 31"},
	{"long span ID", Traces, spanDoc(`{"spanId":"5b8efff798038103d269b633813fc60c"}`), spanPath + ".spanId: want 16 hex digits, got 32"},
	{"base64 trace ID", Traces, spanDoc(`{"traceId":"W47/95gDgQPSabYzgT/GDA=="}`), spanPath + ".traceId: want 32 hex digits, got 24"},
	{"non-hex parent", Traces, spanDoc(`{"parentSpanId":"eee19b7ec3c1b17g"}`), spanPath + `.parentSpanId: invalid hex digit 'g' at index 15`},
	{"non-ASCII in ID", Traces, spanDoc(`{"spanId":"eee19b7ec3c1b1é"}`), spanPath + `.spanId: invalid hex digit 'é' at index 14`},
	{"numeric ID", Traces, spanDoc(`{"spanId":12}`), spanPath + ".spanId: want a hex string, got number"},
	{"link ID", Traces, spanDoc(`{"links":[{},{"traceId":"00"}]}`), spanPath + ".links[1].traceId: want 32 hex digits, got 2"},
	{"log ID", Logs, logDoc(`{"spanId":"0"}`), logPath + ".spanId: want 16 hex digits, got 1"},
	{"exemplar ID", Metrics, metricDoc(`{"sum":{"dataPoints":[{"exemplars":[{"traceId":"x"}]}]}}`),
		metricPath + ".sum.dataPoints[0].exemplars[0].traceId: want 32 hex digits, got 1"},
	{"path through snake_case", Traces, `{"resource_spans":[{},{"scope_spans":[{},{"spans":[{},{},{},{"trace_id":"5b8efff798038103d269b633813fc60"}]}]}]}`,
		"resourceSpans[1].scopeSpans[1].spans[3].traceId: want 32 hex digits, got 31"},

	// Bytes.
	{"bad base64", Logs, logDoc(`{"body":{"bytesValue":"!!!!"}}`), logPath + ".body.bytesValue: invalid base64: illegal base64 data at input byte 0"},
	{"bad base64 padding", Logs, logDoc(`{"body":{"bytesValue":"+/8=="}}`), logPath + ".body.bytesValue: invalid base64: illegal base64 data at input byte 3"},
	{"numeric bytes", Logs, logDoc(`{"body":{"bytesValue":1}}`), logPath + ".body.bytesValue: want a base64 string, got number"},

	// Numbers.
	{"uint64 overflow", Traces, spanDoc(`{"startTimeUnixNano":"18446744073709551616"}`), spanPath + `.startTimeUnixNano: invalid uint64 value "18446744073709551616"`},
	{"uint64 negative", Traces, spanDoc(`{"startTimeUnixNano":-1}`), spanPath + `.startTimeUnixNano: invalid uint64 value "-1"`},
	{"uint64 fraction", Traces, spanDoc(`{"endTimeUnixNano":1.5}`), spanPath + `.endTimeUnixNano: invalid uint64 value "1.5"`},
	{"uint64 space", Traces, spanDoc(`{"endTimeUnixNano":" 1"}`), spanPath + `.endTimeUnixNano: invalid uint64 value " 1"`},
	{"uint64 hex", Traces, spanDoc(`{"endTimeUnixNano":"0x10"}`), spanPath + `.endTimeUnixNano: invalid uint64 value "0x10"`},
	{"uint64 empty string", Traces, spanDoc(`{"endTimeUnixNano":""}`), spanPath + `.endTimeUnixNano: invalid uint64 value ""`},
	{"uint64 bool", Traces, spanDoc(`{"endTimeUnixNano":true}`), spanPath + `.endTimeUnixNano: want a number, got boolean`},
	{"int64 overflow", Logs, logDoc(`{"body":{"intValue":"9223372036854775808"}}`), logPath + `.body.intValue: invalid int64 value "9223372036854775808"`},
	{"int64 underflow", Logs, logDoc(`{"body":{"intValue":-9223372036854775809}}`), logPath + `.body.intValue: invalid int64 value "-9223372036854775809"`},
	{"uint32 overflow", Traces, spanDoc(`{"droppedAttributesCount":4294967296}`), spanPath + `.droppedAttributesCount: invalid uint32 value "4294967296"`},
	{"uint32 negative", Traces, spanDoc(`{"flags":-1}`), spanPath + `.flags: invalid uint32 value "-1"`},
	{"int32 overflow", Traces, spanDoc(`{"kind":2147483648}`), spanPath + `.kind: invalid int32 value "2147483648"`},
	{"huge exponent", Traces, spanDoc(`{"endTimeUnixNano":1e21}`), spanPath + `.endTimeUnixNano: invalid uint64 value "1e21"`},
	{"double out of range", Logs, logDoc(`{"body":{"doubleValue":1e400}}`), logPath + `.body.doubleValue: invalid double value "1e400"`},
	{"double lower-case nan", Logs, logDoc(`{"body":{"doubleValue":"nan"}}`), logPath + `.body.doubleValue: invalid double value "nan"`},
	{"double object", Logs, logDoc(`{"body":{"doubleValue":{}}}`), logPath + `.body.doubleValue: want a number, got object`},
	{"leading zero", Traces, spanDoc(`{"flags":01}`), spanPath + `: syntax error at offset 53: want ',' or '}' after object member, got number`},
	{"bare minus", Traces, spanDoc(`{"flags":-}`), spanPath + `.flags: syntax error at offset 52: invalid number`},
	{"number with dot", Traces, spanDoc(`{"flags":1.}`), spanPath + `.flags: syntax error at offset 52: invalid number`},

	// Other type errors.
	{"string as number", Traces, spanDoc(`{"name":5}`), spanPath + ".name: want a string, got number"},
	{"object as array", Traces, `{"resourceSpans":{}}`, "resourceSpans: want an array, got object"},
	{"array as object", Traces, `{"resourceSpans":[{"resource":[]}]}`, "resourceSpans[0].resource: want an object, got array"},
	{"bool as string", Metrics, metricDoc(`{"sum":{"isMonotonic":"true"}}`), metricPath + ".sum.isMonotonic: want true or false, got string"},
	{"null element", Traces, `{"resourceSpans":[{},null]}`, "resourceSpans[1]: want an object, got null"},
	{"null scalar element", Metrics, metricDoc(`{"histogram":{"dataPoints":[{"bucketCounts":["1",null]}]}}`),
		metricPath + ".histogram.dataPoints[0].bucketCounts[1]: want a number, got null"},
	{"enum as bool", Traces, spanDoc(`{"kind":true}`), spanPath + ".kind: want a number, got boolean"},

	// Duplicates and oneofs.
	{"duplicate key", Traces, spanDoc(`{"name":"a","name":"b"}`), spanPath + ".name: duplicate field"},
	{"duplicate in both spellings", Traces, spanDoc(`{"traceId":"","trace_id":""}`), spanPath + ".traceId: duplicate field"},
	{"duplicate null", Traces, spanDoc(`{"name":null,"name":"b"}`), spanPath + ".name: duplicate field"},
	{"duplicate array", Traces, `{"resourceSpans":[],"resourceSpans":[]}`, "resourceSpans: duplicate field"},
	{"two oneof members", Logs, logDoc(`{"body":{"stringValue":"a","intValue":"1"}}`), logPath + ".body.intValue: another member of the same oneof is already set"},
	{"two metric data", Metrics, metricDoc(`{"gauge":{},"sum":{}}`), metricPath + ".sum: another member of the same oneof is already set"},

	// Strings.
	{"invalid UTF-8", Traces, spanDoc("{\"name\":\"a\xffb\"}"), spanPath + ".name: syntax error at offset 53: invalid UTF-8 in string"},
	{"invalid UTF-8 in key", Traces, "{\"resource\xc0Spans\":[]}", "syntax error at offset 10: invalid UTF-8 in string"},
	{"invalid UTF-8 in unknown value", Traces, "{\"x\":[\"\xed\xa0\x80\"]}", "syntax error at offset 7: invalid UTF-8 in string"},
	{"lone high surrogate", Traces, spanDoc(`{"name":"\ud800"}`), spanPath + `.name: syntax error at offset 52: invalid escape in string`},
	{"lone low surrogate", Traces, spanDoc(`{"name":"\udc00\udc00"}`), spanPath + `.name: syntax error at offset 52: invalid escape in string`},
	{"bad escape", Traces, spanDoc(`{"name":"\x41"}`), spanPath + `.name: syntax error at offset 52: invalid escape in string`},
	{"short unicode escape", Traces, spanDoc(`{"name":"\u41"}`), spanPath + `.name: syntax error at offset 52: invalid escape in string`},
	{"control character", Traces, spanDoc("{\"name\":\"a\tb\"}"), spanPath + ".name: syntax error at offset 53: control character in string"},
	{"unterminated string", Traces, `{"resourceSpans":[{"schemaUrl":"abc`, "resourceSpans[0].schemaUrl: syntax error at offset 35: unterminated string"},

	// Document structure.
	{"trailing garbage", Traces, `{} x`, "syntax error at offset 3: data after the top-level object"},
	{"two objects", Logs, `{}{}`, "syntax error at offset 2: data after the top-level object"},
	{"array at top level", Traces, `[]`, "want a JSON object at the top level, got array"},
	{"string at top level", Traces, `"x"`, "want a JSON object at the top level, got string"},
	{"null at top level", Traces, `null`, "want a JSON object at the top level, got null"},
	{"number at top level", Traces, ` 1`, "want a JSON object at the top level, got number"},
	{"empty input", Traces, ``, "want a JSON object at the top level, got end of input"},
	{"only white space", Traces, " \n", "want a JSON object at the top level, got end of input"},
	{"byte order mark", Traces, "\ufeff{}", "want a JSON object at the top level, got character '\\ufeff'"},
	{"truncated", Traces, `{"resourceSpans":[{"scopeSpans":[`, "resourceSpans[0].scopeSpans[0]: want an object, got end of input"},
	{"truncated after key", Traces, `{"resourceSpans"`, "syntax error at offset 16: want ':' after object key, got end of input"},
	{"trailing comma", Traces, `{"resourceSpans":[],}`, "syntax error at offset 20: want an object key, got character '}'"},
	{"trailing comma in array", Traces, `{"resourceSpans":[{},]}`, "resourceSpans[1]: want an object, got character ']'"},
	{"missing comma", Traces, `{"resourceSpans":[] "x":1}`, "syntax error at offset 20: want ',' or '}' after object member, got string"},
	{"single quotes", Traces, `{'resourceSpans':[]}`, "syntax error at offset 1: want an object key, got character '\\''"},
	{"bad literal", Traces, spanDoc(`{"x":nul}`), spanPath + ": syntax error at offset 48: invalid literal, want null"},
	{"literal prefix", Traces, spanDoc(`{"name":nullx}`), spanPath + ": syntax error at offset 55: want ',' or '}' after object member, got character 'x'"},
	{"unknown value garbage", Traces, `{"x":[1,}]}`, "syntax error at offset 8: want a value, got character '}'"},
	{"unknown value mismatched", Traces, `{"x":[1}`, "syntax error at offset 7: want ',' or ']', got character '}'"},
	{"unknown number", Traces, `{"x":1e}`, "syntax error at offset 5: invalid number"},
}

func TestRejected(t *testing.T) {
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := AppendProtobuf(dst, tc.sig, []byte(tc.doc))
			if err == nil {
				t.Fatalf("no error; want %q", tc.err)
			}
			if err.Error() != tc.err {
				t.Errorf("error\n got %q\nwant %q", err, tc.err)
			}
			if string(got) != "prefix" || len(got) != len(dst) {
				t.Errorf("dst changed to %q", got)
			}
		})
	}
}

// TestDepth: nesting limits end in errors, never in a stack overflow.
func TestDepth(t *testing.T) {
	nest := func(n int) string { // an AnyValue nested n deep
		return strings.Repeat(`{"arrayValue":{"values":[`, n-1) + `{"intValue":1}` + strings.Repeat(`]}}`, n-1)
	}
	if _, err := AppendProtobuf(nil, Logs, []byte(logDoc(`{"body":`+nest(64)+`}`))); err != nil {
		t.Errorf("64 deep: %v", err)
	}
	_, err := AppendProtobuf(nil, Logs, []byte(logDoc(`{"body":`+nest(65)+`}`)))
	want := logPath + ".body" + strings.Repeat(".arrayValue.values[0]", 64) + ": AnyValue nested more than 64 deep"
	if err == nil || err.Error() != want {
		t.Errorf("65 deep: got %v, want %s", err, want)
	}
	kvNest := strings.Repeat(`{"kvlistValue":{"values":[{"key":"k","value":`, 70) + `{}` + strings.Repeat(`}]}}`, 70)
	if _, err := AppendProtobuf(nil, Logs, []byte(logDoc(`{"body":`+kvNest+`}`))); err == nil || !strings.HasSuffix(err.Error(), "AnyValue nested more than 64 deep") {
		t.Errorf("kvlist 71 deep: %v", err)
	}

	unknown := func(n int) string { return `{"x":` + strings.Repeat(`[{"y":`, n) + `1` + strings.Repeat(`}]`, n) + `}` }
	if _, err := AppendProtobuf(nil, Traces, []byte(unknown(64))); err != nil {
		t.Errorf("ignored value 128 deep: %v", err)
	}
	if _, err := AppendProtobuf(nil, Traces, []byte(unknown(65))); err == nil || !strings.Contains(err.Error(), "ignored value nested more than 128 deep") {
		t.Errorf("ignored value 130 deep: %v", err)
	}

	// Far beyond any limit, in every position.
	for _, doc := range []string{
		strings.Repeat("[", 1e6),
		`{"x":` + strings.Repeat("[", 1e6),
		`{"x":` + strings.Repeat(`{"a":`, 1e6),
		logDoc(`{"body":` + strings.Repeat(`{"arrayValue":{"values":[`, 1e5)),
	} {
		if _, err := AppendProtobuf(nil, Logs, []byte(doc)); err == nil {
			t.Errorf("%.40s…: no error", doc)
		}
	}
}

func TestSignal(t *testing.T) {
	for sig, want := range map[Signal]string{Traces: "traces", Metrics: "metrics", Logs: "logs", 7: "Signal(7)", -1: "Signal(-1)"} {
		if got := sig.String(); got != want {
			t.Errorf("Signal(%d).String() = %q, want %q", int(sig), got, want)
		}
	}
	for _, f := range []func([]byte, Signal, []byte) ([]byte, error){AppendProtobuf, AppendJSON} {
		dst := []byte("x")
		got, err := f(dst, 7, []byte("{}"))
		if err == nil || err.Error() != "unknown signal Signal(7)" || string(got) != "x" {
			t.Errorf("unknown signal: %q, %v", got, err)
		}
	}
}

// TestAppend: both functions append to dst, and only on success.
func TestAppend(t *testing.T) {
	pb := mustMarshal(t, richTraces())
	js := toJSON(t, Traces, pb)
	prefix := []byte("already here|")

	got, err := AppendProtobuf(bytes.Clone(prefix), Traces, js)
	if err != nil || !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], pb) {
		t.Errorf("AppendProtobuf did not append: %v", err)
	}
	got, err = AppendJSON(bytes.Clone(prefix), Traces, pb)
	if err != nil || !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], js) {
		t.Errorf("AppendJSON did not append: %v", err)
	}

	// A failure deep into a large document leaves dst as it was, even when
	// dst had to grow on the way.
	bad := bytes.Replace(js, []byte(`"name":"zero IDs"`), []byte(`"name":7`), 1)
	small := make([]byte, 3, 4)
	copy(small, "abc")
	got, err = AppendProtobuf(small, Traces, bad)
	if err == nil || string(got) != "abc" || cap(got) != 4 {
		t.Errorf("AppendProtobuf on error: %q (cap %d), %v", got, cap(got), err)
	}
	badPB := append(bytes.Clone(pb), 0x0a, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0xff) // a ResourceSpans whose schemaUrl... truncated
	got, err = AppendJSON(small, Traces, badPB)
	if err == nil || string(got) != "abc" || cap(got) != 4 {
		t.Errorf("AppendJSON on error: %q (cap %d), %v", got, cap(got), err)
	}
}
