package receiver

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// offer is one call to recSink.Offer.
type offer struct {
	sig   wire.Signal
	body  []byte
	items int
}

// recSink records offers and answers with err.
type recSink struct {
	mu     sync.Mutex
	err    error
	offers []offer
}

func (s *recSink) Offer(sig wire.Signal, body []byte, items int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offers = append(s.offers, offer{sig, body, items})
	return s.err
}

func (s *recSink) all() []offer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]offer(nil), s.offers...)
}

// nopSink accepts everything and keeps nothing.
type nopSink struct{}

func (nopSink) Offer(wire.Signal, []byte, int) error { return nil }

type recCompleter struct {
	mu  sync.Mutex
	ids []string
}

func (c *recCompleter) Complete(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, id)
}

// req describes a test request.
type req struct {
	method, path string
	ct, ce       string // "" = header absent
	body         []byte
	chunked      bool // ContentLength -1, as with Transfer-Encoding: chunked
	header       map[string]string
}

func serve(t testing.TB, h http.Handler, q req) *httptest.ResponseRecorder {
	t.Helper()
	if q.method == "" {
		q.method = http.MethodPost
	}
	var body io.Reader = bytes.NewReader(q.body)
	if q.chunked {
		body = io.MultiReader(bytes.NewReader(q.body)) // hides the length
	}
	r := httptest.NewRequest(q.method, q.path, body)
	if q.chunked {
		r.ContentLength = -1
	}
	if q.ct != "" {
		r.Header.Set("Content-Type", q.ct)
	}
	if q.ce != "" {
		r.Header.Set("Content-Encoding", q.ce)
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// statusMessage decodes the google.rpc.Status message of an OTLP error
// response, in whichever encoding the response says it uses.
func statusMessage(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	body := w.Body.Bytes()
	if w.Header().Get("Content-Type") == "application/json" {
		var st struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("error body %q is not a JSON Status: %v", body, err)
		}
		return st.Message
	}
	msg := ""
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			t.Fatalf("error body %q is not a protobuf Status", w.Body.Bytes())
		}
		body = body[n:]
		if num == 2 && typ == protowire.BytesType {
			v, m := protowire.ConsumeString(body)
			if m < 0 {
				t.Fatalf("bad Status.message in %q", w.Body.Bytes())
			}
			msg, body = v, body[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, body)
		if m < 0 {
			t.Fatalf("bad Status in %q", w.Body.Bytes())
		}
		body = body[m:]
	}
	return msg
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzStored gzips b without compression (stored blocks): larger than b.
func gzStored(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// otlpJSON encodes m as OTLP/JSON: protojson with hex IDs, as SDKs send it.
func otlpJSON(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if err := base64IDsToHex(doc); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// idFields are the keys protojson writes as base64 and OTLP/JSON as hex.
var idFields = map[string]bool{"traceId": true, "spanId": true, "parentSpanId": true}

// base64IDsToHex turns protojson's base64 ids into OTLP/JSON's hex.
func base64IDsToHex(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if _, ok := idFields[k]; ok {
				if s, ok := child.(string); ok {
					b, err := base64.StdEncoding.DecodeString(s)
					if err != nil {
						return fmt.Errorf("%s: %v", k, err)
					}
					v[k] = hex.EncodeToString(b)
					continue
				}
			}
			if err := base64IDsToHex(child); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range v {
			if err := base64IDsToHex(child); err != nil {
				return err
			}
		}
	}
	return nil
}

func unmarshalSignal(sig wire.Signal, b []byte) (proto.Message, error) {
	var m proto.Message
	switch sig {
	case wire.Traces:
		m = &tracepb.TracesData{}
	case wire.Metrics:
		m = &metricspb.MetricsData{}
	default:
		m = &logspb.LogsData{}
	}
	return m, proto.Unmarshal(b, m)
}

// ---- realistic telemetry, built with the generated types ----

var (
	traceID = []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	spanID  = []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
	parent  = []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73}
)

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func i64(v int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func resource() *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		kv("service.name", str("orders")),
		kv("cloud.provider", str("aws")),
		kv("faas.max_memory", i64(134217728)),
	}}
}

func scope() *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{Name: "github.com/lambdaotel/lambdaotel", Version: "0.1.0"}
}

func httpSpan(i int) *tracepb.Span {
	sid := append([]byte(nil), spanID...)
	sid[7] += byte(i)
	return &tracepb.Span{
		TraceId:           traceID,
		SpanId:            sid,
		ParentSpanId:      parent,
		Name:              "GET /items/{id}",
		Kind:              tracepb.Span_SPAN_KIND_SERVER,
		StartTimeUnixNano: 1700000000000000000 + uint64(i),
		EndTimeUnixNano:   1700000000001500000 + uint64(i),
		Attributes: []*commonpb.KeyValue{
			kv("http.request.method", str("GET")),
			kv("url.path", str(fmt.Sprintf("/items/%d", i))),
			kv("http.response.status_code", i64(200)),
			kv("server.address", str("api.example.com")),
			kv("user_agent.original", str("Mozilla/5.0 (X11; Linux x86_64)")),
			kv("faas.invocation_id", str("af9c4b2c-3f9e-4e55-9d3e-7f1c9c1b0a11")),
			kv("faas.coldstart", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: i == 0}}),
			kv("network.peer.port", i64(443)),
		},
		Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
	}
}

// testTraces holds n HTTP server spans, the first with an event and a link.
func testTraces(n int) *tracepb.TracesData {
	ss := &tracepb.ScopeSpans{Scope: scope()}
	for i := 0; i < n; i++ {
		ss.Spans = append(ss.Spans, httpSpan(i))
	}
	if n > 0 {
		ss.Spans[0].Events = []*tracepb.Span_Event{{TimeUnixNano: 1700000000000100000, Name: "cache.miss",
			Attributes: []*commonpb.KeyValue{kv("key", str("items/0"))}}}
		ss.Spans[0].Links = []*tracepb.Span_Link{{TraceId: traceID, SpanId: parent, Attributes: []*commonpb.KeyValue{kv("messaging.system", str("aws_sqs"))}}}
	}
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: resource(), ScopeSpans: []*tracepb.ScopeSpans{ss}, SchemaUrl: "https://opentelemetry.io/schemas/1.30.0"}}}
}

func f64(v float64) *float64 { return &v }

// testMetrics holds a gauge, a sum, a histogram and an exponential
// histogram (with an exemplar), and a summary: 6 data points.
func testMetrics() *metricspb.MetricsData {
	ex := []*metricspb.Exemplar{{TimeUnixNano: 1700000000000000000, Value: &metricspb.Exemplar_AsDouble{AsDouble: 12.5}, TraceId: traceID, SpanId: spanID}}
	attrs := []*commonpb.KeyValue{kv("faas.trigger", str("http"))}
	ms := []*metricspb.Metric{
		{Name: "process.memory.usage", Unit: "By", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{
			{TimeUnixNano: 1700000000000000000, Value: &metricspb.NumberDataPoint_AsInt{AsInt: 52428800}}}}}},
		{Name: "faas.invocations", Unit: "{invocation}", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
			AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true,
			DataPoints: []*metricspb.NumberDataPoint{
				{StartTimeUnixNano: 1699999990000000000, TimeUnixNano: 1700000000000000000, Attributes: attrs, Value: &metricspb.NumberDataPoint_AsInt{AsInt: 42}},
				{StartTimeUnixNano: 1699999990000000000, TimeUnixNano: 1700000000000000000, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 0.5}}}}}},
		{Name: "faas.invoke_duration", Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
			AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
			DataPoints: []*metricspb.HistogramDataPoint{{TimeUnixNano: 1700000000000000000, Count: 3, Sum: f64(37.5),
				BucketCounts: []uint64{1, 2, 0}, ExplicitBounds: []float64{10, 100}, Exemplars: ex, Min: f64(5), Max: f64(20)}}}}},
		{Name: "faas.init_duration", Unit: "ms", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
			AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
			DataPoints: []*metricspb.ExponentialHistogramDataPoint{{TimeUnixNano: 1700000000000000000, Count: 2, Scale: 3, ZeroCount: 0,
				Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 5, BucketCounts: []uint64{1, 1}}, Exemplars: ex}}}}},
		{Name: "rpc.latency", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{DataPoints: []*metricspb.SummaryDataPoint{
			{TimeUnixNano: 1700000000000000000, Count: 10, Sum: 100, QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.99, Value: 42}}}}}}},
	}
	return &metricspb.MetricsData{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource: resource(), ScopeMetrics: []*metricspb.ScopeMetrics{{Scope: scope(), Metrics: ms}}}}}
}

// testLogs holds 3 log records, two correlated with a span.
func testLogs() *logspb.LogsData {
	recs := []*logspb.LogRecord{
		{TimeUnixNano: 1700000000000000000, ObservedTimeUnixNano: 1700000000000000001, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO,
			SeverityText: "INFO", Body: str("order accepted"), TraceId: traceID, SpanId: spanID, Flags: 1,
			Attributes: []*commonpb.KeyValue{kv("order.id", str("o-1"))}},
		{TimeUnixNano: 1700000000000000002, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, SeverityText: "ERROR",
			Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
				kv("error", str("timeout")), kv("retries", i64(3))}}}}, TraceId: traceID, SpanId: spanID},
		{TimeUnixNano: 1700000000000000003, Body: str("cold start"), EventName: "faas.coldstart"},
	}
	return &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: resource(), ScopeLogs: []*logspb.ScopeLogs{{Scope: scope(), LogRecords: recs}}}}}
}

// signalCase is one signal's realistic payload.
type signalCase struct {
	sig   wire.Signal
	path  string
	msg   proto.Message
	items int
}

func signalCases() []signalCase {
	return []signalCase{
		{wire.Traces, PathTraces, testTraces(3), 3},
		{wire.Metrics, PathMetrics, testMetrics(), 6},
		{wire.Logs, PathLogs, testLogs(), 3},
	}
}

// Hand-written OTLP/JSON as SDKs send it: hex IDs, 64-bit integers as
// strings, integer enums, lowerCamelCase keys. Each equals the message
// beside it.
var handJSON = []struct {
	sig  wire.Signal
	json string
	want func() proto.Message
}{
	{wire.Traces, `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},
		"scopeSpans":[{"scope":{"name":"manual"},"spans":[{
		"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173",
		"name":"checkout","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":1700000000001000000,
		"attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}}],
		"links":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b173"}],
		"status":{"code":1},"futureField":{"x":1}}]}]}]}`,
		func() proto.Message {
			return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
				Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", str("orders"))}},
				ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "manual"}, Spans: []*tracepb.Span{{
					TraceId: traceID, SpanId: spanID, ParentSpanId: parent, Name: "checkout", Kind: tracepb.Span_SPAN_KIND_SERVER,
					StartTimeUnixNano: 1700000000000000000, EndTimeUnixNano: 1700000000001000000,
					Attributes: []*commonpb.KeyValue{kv("http.response.status_code", i64(200))},
					Links:      []*tracepb.Span_Link{{TraceId: traceID, SpanId: parent}},
					Status:     &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}}}}}}}}
		}},
	{wire.Metrics, `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"faas.invocations","sum":{
		"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"timeUnixNano":"1700000000000000000","asInt":"7",
		"exemplars":[{"timeUnixNano":"1700000000000000000","asDouble":1.5,"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}}]}]}]}`,
		func() proto.Message {
			return &metricspb.MetricsData{ResourceMetrics: []*metricspb.ResourceMetrics{{ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{{
				Name: "faas.invocations", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true,
					DataPoints: []*metricspb.NumberDataPoint{{TimeUnixNano: 1700000000000000000, Value: &metricspb.NumberDataPoint_AsInt{AsInt: 7},
						Exemplars: []*metricspb.Exemplar{{TimeUnixNano: 1700000000000000000, Value: &metricspb.Exemplar_AsDouble{AsDouble: 1.5}, TraceId: traceID, SpanId: spanID}}}}}}}}}}}}}
		}},
	{wire.Logs, `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000","severityNumber":9,
		"severityText":"INFO","body":{"stringValue":"order accepted"},"traceId":"5b8efff798038103d269b633813fc60c",
		"spanId":"eee19b7ec3c1b174","flags":1},{"body":{"stringValue":"no context"},"traceId":"","spanId":""}]}]}]}`,
		func() proto.Message {
			return &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{
				{TimeUnixNano: 1700000000000000000, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, SeverityText: "INFO",
					Body: str("order accepted"), TraceId: traceID, SpanId: spanID, Flags: 1},
				{Body: str("no context")}}}}}}}
		}},
}

// padded returns a valid traces request of exactly n bytes (n >= 3): one
// unknown length-delimited field, which Validate skips.
func padded(n int) []byte {
	tag := protowire.AppendTag(nil, 99, protowire.BytesType)
	for p := n - len(tag) - 1; p >= 0; p-- {
		b := protowire.AppendBytes(append([]byte(nil), tag...), make([]byte, p))
		if len(b) == n {
			return b
		}
	}
	panic("padded: no fit")
}

// gzOffer is one call to recGzipSink.OfferGzip.
type gzOffer struct {
	sig            wire.Signal
	gz             []byte
	segs           []gzjoin.Segment
	encoded, items int
}

// recGzipSink is a recSink that also takes requests held compressed.
type recGzipSink struct {
	recSink
	gzOffers []gzOffer
}

func (s *recGzipSink) OfferGzip(sig wire.Signal, gz []byte, segs []gzjoin.Segment, encoded, items int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gzOffers = append(s.gzOffers, gzOffer{sig, gz, segs, encoded, items})
	return s.err
}

func (s *recGzipSink) allGzip() []gzOffer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gzOffer(nil), s.gzOffers...)
}
