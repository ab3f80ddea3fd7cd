package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/extension/config"
	"github.com/lambdaotel/lambdaotel/extension/export"
	"github.com/lambdaotel/lambdaotel/extension/queue"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
)

// exportProtocols are the OTEL_EXPORTER_OTLP_PROTOCOL values the collector
// tests run with. Each names an extension/export protocol; the collector
// backend serves all of them (OTLP/HTTP protobuf and JSON on one port, gRPC
// on another), and collectorEndpoint picks the port. Add "grpc" and
// "http/json" here once extension/export speaks them: nothing else changes.
var exportProtocols = []string{"http/protobuf", "http/json", "grpc"}

// collectorBackend is the OpenTelemetry Collector's own OTLP receiver
// (go.opentelemetry.io/collector/receiver/otlpreceiver), started in process
// with OTLP/HTTP and OTLP/gRPC on free loopback ports, feeding consumertest
// sinks: the reference implementation of the server side of OTLP.
type collectorBackend struct {
	traces  *consumertest.TracesSink
	metrics *consumertest.MetricsSink
	logs    *consumertest.LogsSink
	// httpAddr and grpcAddr are the host:port the receiver bound.
	httpAddr, grpcAddr string
}

// collectorConsumers override the sinks, e.g. with a consumer that refuses.
type collectorConsumers struct {
	traces  consumer.Traces
	metrics consumer.Metrics
	logs    consumer.Logs
}

// startCollector starts an otlpreceiver that stops when t ends. Headers of
// the requests are kept in the client metadata of the sinks' contexts.
func startCollector(t *testing.T, override collectorConsumers) *collectorBackend {
	t.Helper()
	b := &collectorBackend{traces: new(consumertest.TracesSink), metrics: new(consumertest.MetricsSink), logs: new(consumertest.LogsSink)}
	tc, mc, lc := consumer.Traces(b.traces), consumer.Metrics(b.metrics), consumer.Logs(b.logs)
	if override.traces != nil {
		tc = override.traces
	}
	if override.metrics != nil {
		mc = override.metrics
	}
	if override.logs != nil {
		lc = override.logs
	}

	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	// Port 0: the kernel picks free ports, so parallel runs never collide.
	// The receiver's config cannot tell which ports it got, but the
	// receiver logs "Starting HTTP server"/"Starting GRPC server" with the
	// bound address (otlp.go, startHTTPServer/startGRPCServer), so the
	// addresses are read from an observed logger: no free-port race.
	httpCfg := cfg.Protocols.HTTP.GetOrInsertDefault()
	httpCfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	httpCfg.ServerConfig.IncludeMetadata = true
	grpcCfg := cfg.Protocols.GRPC.GetOrInsertDefault()
	grpcCfg.NetAddr.Endpoint = "127.0.0.1:0"
	grpcCfg.IncludeMetadata = true

	core, logged := observer.New(zap.InfoLevel)
	set := receivertest.NewNopSettings(f.Type())
	set.Logger = zap.New(core)
	ctx := context.Background()
	// One config, so the three signals share one receiver (the factory
	// keys its shared component by the config), started once.
	tr, err := f.CreateTraces(ctx, set, cfg, tc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateMetrics(ctx, set, cfg, mc); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateLogs(ctx, set, cfg, lc); err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(ctx, componenttest.NewNopHost()); err != nil {
		t.Fatalf("start otlpreceiver: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(sctx); err != nil {
			t.Errorf("otlpreceiver shutdown: %v", err)
		}
	})
	b.httpAddr = loggedEndpoint(t, logged, "Starting HTTP server")
	b.grpcAddr = loggedEndpoint(t, logged, "Starting GRPC server")
	return b
}

func loggedEndpoint(t *testing.T, logged *observer.ObservedLogs, msg string) string {
	t.Helper()
	for _, e := range logged.FilterMessage(msg).All() {
		if ep, ok := e.ContextMap()["endpoint"].(string); ok && !strings.HasSuffix(ep, ":0") {
			return ep
		}
	}
	t.Fatalf("the otlpreceiver did not log %q with the bound endpoint (logged: %v); its log messages may have changed", msg, logged.All())
	return ""
}

// endpoint is the base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT) that reaches
// this backend with protocol.
func (b *collectorBackend) endpoint(protocol string) string {
	if protocol == "grpc" {
		return "http://" + b.grpcAddr
	}
	return "http://" + b.httpAddr
}

// receivedTraces is everything the traces sink holds, as one OTLP request
// (the collector's pdata marshalled back to protobuf, and decoded with the
// OTLP proto types the test sent).
func (b *collectorBackend) receivedTraces(t *testing.T) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	all := &coltracepb.ExportTraceServiceRequest{}
	for _, td := range b.traces.AllTraces() {
		raw, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		var one coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &one); err != nil {
			t.Fatal(err)
		}
		all.ResourceSpans = append(all.ResourceSpans, one.ResourceSpans...)
	}
	return all
}

func (b *collectorBackend) receivedMetrics(t *testing.T) *colmetricspb.ExportMetricsServiceRequest {
	t.Helper()
	all := &colmetricspb.ExportMetricsServiceRequest{}
	for _, md := range b.metrics.AllMetrics() {
		raw, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		var one colmetricspb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(raw, &one); err != nil {
			t.Fatal(err)
		}
		all.ResourceMetrics = append(all.ResourceMetrics, one.ResourceMetrics...)
	}
	return all
}

func (b *collectorBackend) receivedLogs(t *testing.T) *collogspb.ExportLogsServiceRequest {
	t.Helper()
	all := &collogspb.ExportLogsServiceRequest{}
	for _, ld := range b.logs.AllLogs() {
		raw, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		var one collogspb.ExportLogsServiceRequest
		if err := proto.Unmarshal(raw, &one); err != nil {
			t.Fatal(err)
		}
		all.ResourceLogs = append(all.ResourceLogs, one.ResourceLogs...)
	}
	return all
}

// wantEqual fails unless got and want are the same message, showing both.
func wantEqual(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	if proto.Equal(got, want) {
		return
	}
	// The first difference, in text form, with some context: the messages
	// are long.
	opts := prototext.MarshalOptions{Multiline: true, Indent: "  "}
	g, w := strings.Split(opts.Format(got), "\n"), strings.Split(opts.Format(want), "\n")
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	from := max(i-8, 0)
	t.Errorf("%s: what the collector received differs from what was sent at line %d:\nreceived:\n%s\nsent:\n%s",
		what, i+1, strings.Join(g[from:min(i+4, len(g))], "\n"), strings.Join(w[from:min(i+4, len(w))], "\n"))
}

// asPdataMarshals is a copy of m as the collector's pdata marshals it back:
// pdata has no "absent" for a span's status or a log record's body, so an
// absent one comes back as an empty message, which OTLP defines to mean the
// same (status UNSET, no body). Everything else must come back as sent.
func asPdataMarshals[M proto.Message](m M) M {
	c := proto.Clone(m).(M)
	switch r := any(c).(type) {
	case *coltracepb.ExportTraceServiceRequest:
		for _, rs := range r.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					if sp.Status == nil {
						sp.Status = &tracepb.Status{}
					}
				}
			}
		}
	case *collogspb.ExportLogsServiceRequest:
		for _, rl := range r.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					if lr.Body == nil {
						lr.Body = &commonpb.AnyValue{}
					}
				}
			}
		}
	}
	return c
}

// Inputs: every kind of value the OTLP data model has, so that a field the
// exporter mangled or dropped shows.

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func anyInt(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}

func anyDouble(f float64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
}

func anyBool(b bool) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
}

func anyBytes(b []byte) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: b}}
}

func anyArray(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}

func anyMap(kvs ...*commonpb.KeyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}
}

// richAttributes has one attribute of each value type.
func richAttributes(tag string) []*commonpb.KeyValue {
	return []*commonpb.KeyValue{
		kv("str", str("value-"+tag)),
		kv("unicode", str("grüße, 世界 ✓")),
		kv("int", anyInt(-1<<40)),
		kv("double", anyDouble(3.25)),
		kv("bool", anyBool(true)),
		kv("bytes", anyBytes([]byte{0, 1, 0xfe, 0xff})),
		kv("array", anyArray(str("a"), anyInt(2), anyBool(false))),
		kv("map", anyMap(kv("nested", str("yes")), kv("depth", anyMap(kv("two", anyDouble(2)))))),
	}
}

func testResource(service string) *resourcepb.Resource {
	return &resourcepb.Resource{
		Attributes: []*commonpb.KeyValue{
			kv("service.name", str(service)),
			kv("cloud.provider", str("aws")),
			kv("faas.max_memory", anyInt(128<<20)),
		},
		DroppedAttributesCount: 2,
	}
}

func testScope(name string) *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{Name: name, Version: "1.2.3", Attributes: []*commonpb.KeyValue{kv("scope.attr", str("s"))}, DroppedAttributesCount: 1}
}

func id(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// richTraces is a request of two resources with spans of every kind, with
// events, links, statuses and trace state.
func richTraces(tag string) *coltracepb.ExportTraceServiceRequest {
	t0 := uint64(time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.UTC).UnixNano())
	traceID := id(0xa1, 16)
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{
		{
			Resource:  testResource("collector-e2e-" + tag),
			SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
			ScopeSpans: []*tracepb.ScopeSpans{{
				Scope:     testScope("e2e/" + tag),
				SchemaUrl: "https://opentelemetry.io/schemas/1.25.0",
				Spans: []*tracepb.Span{
					{
						TraceId: traceID, SpanId: id(0xb1, 8), TraceState: "vendor=x,other=y", Flags: 0x301,
						Name: "GET /orders/{id} " + tag, Kind: tracepb.Span_SPAN_KIND_SERVER,
						StartTimeUnixNano: t0, EndTimeUnixNano: t0 + 1_500_000,
						Attributes: richAttributes(tag), DroppedAttributesCount: 3,
						Events: []*tracepb.Span_Event{
							{TimeUnixNano: t0 + 10, Name: "exception", Attributes: []*commonpb.KeyValue{kv("exception.message", str("boom"))}, DroppedAttributesCount: 1},
							{TimeUnixNano: t0 + 20, Name: "retry"},
						},
						DroppedEventsCount: 4,
						Links: []*tracepb.Span_Link{{
							TraceId: id(0xc1, 16), SpanId: id(0xc2, 8), TraceState: "k=v", Flags: 0x101,
							Attributes: []*commonpb.KeyValue{kv("link.kind", str("sqs"))}, DroppedAttributesCount: 5,
						}},
						DroppedLinksCount: 6,
						Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "failed: " + tag},
					},
					{
						TraceId: traceID, SpanId: id(0xb2, 8), ParentSpanId: id(0xb1, 8),
						Name: "db.query", Kind: tracepb.Span_SPAN_KIND_CLIENT,
						StartTimeUnixNano: t0 + 100, EndTimeUnixNano: t0 + 900,
						Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
					},
					{TraceId: traceID, SpanId: id(0xb3, 8), ParentSpanId: id(0xb1, 8), Name: "publish", Kind: tracepb.Span_SPAN_KIND_PRODUCER, StartTimeUnixNano: t0, EndTimeUnixNano: t0 + 1},
				},
			}},
		},
		{
			Resource: testResource("collector-e2e-other-" + tag),
			ScopeSpans: []*tracepb.ScopeSpans{
				{Scope: testScope("consumer"), Spans: []*tracepb.Span{
					{TraceId: id(0xd1, 16), SpanId: id(0xd2, 8), Name: "consume", Kind: tracepb.Span_SPAN_KIND_CONSUMER, StartTimeUnixNano: t0, EndTimeUnixNano: t0 + 5},
				}},
				{Scope: &commonpb.InstrumentationScope{Name: "internal"}, Spans: []*tracepb.Span{
					{TraceId: id(0xd1, 16), SpanId: id(0xd3, 8), ParentSpanId: id(0xd2, 8), Name: "work", Kind: tracepb.Span_SPAN_KIND_INTERNAL, StartTimeUnixNano: t0 + 1, EndTimeUnixNano: t0 + 4},
				}},
			},
		},
	}}
}

// richMetrics has a data point of each metric type: gauge, sum, histogram,
// exponential histogram and summary, with exemplars.
func richMetrics(tag string) *colmetricspb.ExportMetricsServiceRequest {
	t0 := uint64(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixNano())
	t1 := t0 + uint64(time.Minute)
	attrs := []*commonpb.KeyValue{kv("route", str("/orders")), kv("code", anyInt(200))}
	exemplar := &metricspb.Exemplar{
		FilteredAttributes: []*commonpb.KeyValue{kv("user", str("u1"))}, TimeUnixNano: t0 + 5,
		Value: &metricspb.Exemplar_AsDouble{AsDouble: 0.25}, SpanId: id(0xb1, 8), TraceId: id(0xa1, 16),
	}
	return &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource:  testResource("collector-e2e-" + tag),
		SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
		ScopeMetrics: []*metricspb.ScopeMetrics{{
			Scope: testScope("e2e/" + tag),
			Metrics: []*metricspb.Metric{
				{Name: "memory.used." + tag, Description: "bytes in use", Unit: "By", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{
					DataPoints: []*metricspb.NumberDataPoint{
						{Attributes: attrs, TimeUnixNano: t1, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 1.5e6}},
						{TimeUnixNano: t1, Value: &metricspb.NumberDataPoint_AsInt{AsInt: -7}, Flags: uint32(metricspb.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK)},
					},
				}}},
				{Name: "requests", Unit: "{request}", Metadata: []*commonpb.KeyValue{kv("m", str("meta"))}, Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true,
					DataPoints: []*metricspb.NumberDataPoint{{Attributes: attrs, StartTimeUnixNano: t0, TimeUnixNano: t1, Value: &metricspb.NumberDataPoint_AsInt{AsInt: 42}, Exemplars: []*metricspb.Exemplar{exemplar}}},
				}}},
				{Name: "duration", Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
					DataPoints: []*metricspb.HistogramDataPoint{{
						Attributes: attrs, StartTimeUnixNano: t0, TimeUnixNano: t1, Count: 6, Sum: proto.Float64(12.5),
						BucketCounts: []uint64{1, 2, 3}, ExplicitBounds: []float64{1, 5}, Exemplars: []*metricspb.Exemplar{exemplar},
						Min: proto.Float64(0.5), Max: proto.Float64(9),
					}},
				}}},
				{Name: "latency.exp", Unit: "s", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
					DataPoints: []*metricspb.ExponentialHistogramDataPoint{{
						Attributes: attrs, StartTimeUnixNano: t0, TimeUnixNano: t1, Count: 7, Sum: proto.Float64(3.5), Scale: 3, ZeroCount: 1,
						ZeroThreshold: 1e-9, Min: proto.Float64(-2), Max: proto.Float64(4),
						Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: -2, BucketCounts: []uint64{1, 0, 4}},
						Negative: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 1, BucketCounts: []uint64{1}},
					}},
				}}},
				{Name: "rpc.summary", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{
					DataPoints: []*metricspb.SummaryDataPoint{{
						Attributes: attrs, StartTimeUnixNano: t0, TimeUnixNano: t1, Count: 10, Sum: 55,
						QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.5, Value: 5}, {Quantile: 0.99, Value: 9.9}},
					}},
				}}},
			},
		}},
	}}}
}

// richLogs has records with every kind of body, severities and trace
// context.
func richLogs(tag string) *collogspb.ExportLogsServiceRequest {
	t0 := uint64(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixNano())
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource:  testResource("collector-e2e-" + tag),
		SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope: testScope("e2e/" + tag),
			LogRecords: []*logspb.LogRecord{
				{
					TimeUnixNano: t0, ObservedTimeUnixNano: t0 + 1, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, SeverityText: "ERROR",
					Body: str("order " + tag + " failed: ünïcödé"), Attributes: richAttributes(tag), DroppedAttributesCount: 1,
					Flags: 1, TraceId: id(0xa1, 16), SpanId: id(0xb1, 8), EventName: "order.failed",
				},
				{ObservedTimeUnixNano: t0 + 2, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, Body: anyMap(kv("msg", str("structured")), kv("n", anyInt(3)))},
				{ObservedTimeUnixNano: t0 + 3, Body: anyBytes([]byte("raw\x00bytes"))},
				{ObservedTimeUnixNano: t0 + 4}, // no body at all
			},
		}},
	}}}
}

func countSpans(r *coltracepb.ExportTraceServiceRequest) (n int) {
	for _, rs := range r.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += len(ss.Spans)
		}
	}
	return n
}

func countPoints(r *colmetricspb.ExportMetricsServiceRequest) (n int) {
	for _, rm := range r.ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case *metricspb.Metric_Gauge:
					n += len(d.Gauge.DataPoints)
				case *metricspb.Metric_Sum:
					n += len(d.Sum.DataPoints)
				case *metricspb.Metric_Histogram:
					n += len(d.Histogram.DataPoints)
				case *metricspb.Metric_ExponentialHistogram:
					n += len(d.ExponentialHistogram.DataPoints)
				case *metricspb.Metric_Summary:
					n += len(d.Summary.DataPoints)
				}
			}
		}
	}
	return n
}

func countLogs(r *collogspb.ExportLogsServiceRequest) (n int) {
	for _, rl := range r.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			n += len(sl.LogRecords)
		}
	}
	return n
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newCollectorExporter is an extension/export.Exporter for protocol and
// compression, sending to b.
func newCollectorExporter(t *testing.T, b *collectorBackend, protocol, compression string, opts export.Options) *export.Exporter {
	t.Helper()
	exp, err := export.New(config.Exporter{
		Endpoint:    b.endpoint(protocol),
		Protocol:    protocol,
		Compression: compression,
		Timeout:     5 * time.Second,
		Headers:     map[string]string{"x-e2e-tenant": "tenant-42"},
	}, opts)
	if err != nil {
		t.Fatalf("export.New(%s): %v", protocol, err)
	}
	t.Cleanup(exp.Close)
	return exp
}

// queuedBatch queues plain, then gzipped as a receiver keeps a gzip
// request, in a queue of the extension, and takes them as one batch.
func queuedBatch(t *testing.T, sig queue.Signal, plain, gzipped []byte) *queue.Batch {
	t.Helper()
	q := queue.New(queue.Budget{MaxBytes: 16 << 20, MaxEntries: 10})
	if err := q.Offer(sig, plain, 1); err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(gzipped)
	zw.Close()
	raw, segs, err := gzjoin.Gunzip(nil, zb.Bytes(), len(gzipped), nil)
	if err != nil || !bytes.Equal(raw, gzipped) {
		t.Fatalf("gunzip: %v", err)
	}
	if err := q.OfferGzip(sig, zb.Bytes(), segs, len(gzipped), 1); err != nil {
		t.Fatal(err)
	}
	b := q.Take(sig, 0, 0)
	t.Cleanup(b.Done)
	return b
}

// TestExporterToCollectorReceiver: extension/export sends traces, metrics
// and logs to the OpenTelemetry Collector's otlpreceiver, for every
// protocol and with and without gzip; every span, data point and log record
// arrives exactly as sent, as the collector decodes it (its pdata, turned
// back into OTLP protobuf and compared with the request messages), headers
// included. A batch is the byte concatenation of requests (the extension's
// zero-decode batching); the collector must see the union of their
// resources, in order.
func TestExporterToCollectorReceiver(t *testing.T) {
	for _, protocol := range exportProtocols {
		for _, compression := range []string{"gzip", "none"} {
			t.Run(protocol+"/"+compression, func(t *testing.T) {
				t.Parallel()
				b := startCollector(t, collectorConsumers{})
				exp := newCollectorExporter(t, b, protocol, compression, export.Options{})
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()

				// One request per signal, then a batch of two concatenated
				// requests per signal.
				t1, t2, t3 := richTraces("one"), richTraces("two"), richTraces("three")
				m1, m2, m3 := richMetrics("one"), richMetrics("two"), richMetrics("three")
				l1, l2, l3 := richLogs("one"), richLogs("two"), richLogs("three")
				// The batches come out of the extension's queue: the first
				// request held as protobuf, the second as the gzip body it
				// arrived in, which a gzip export splices into its own
				// stream — the collector's gunzip must read that one member
				// whole.
				sends := []struct {
					signal string
					body   export.Body
				}{
					{"traces", export.Proto(mustMarshal(t, t1))},
					{"metrics", export.Proto(mustMarshal(t, m1))},
					{"logs", export.Proto(mustMarshal(t, l1))},
					{"traces", queuedBatch(t, queue.Traces, mustMarshal(t, t2), mustMarshal(t, t3))},
					{"metrics", queuedBatch(t, queue.Metrics, mustMarshal(t, m2), mustMarshal(t, m3))},
					{"logs", queuedBatch(t, queue.Logs, mustMarshal(t, l2), mustMarshal(t, l3))},
				}
				for _, s := range sends {
					res := exp.Export(ctx, s.signal, s.body)
					if !res.OK || res.Attempts != 1 || res.Rejected != 0 {
						t.Fatalf("export %s: %+v", s.signal, res)
					}
				}

				wantT := &coltracepb.ExportTraceServiceRequest{ResourceSpans: append(append(t1.ResourceSpans, t2.ResourceSpans...), t3.ResourceSpans...)}
				wantM := &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: append(append(m1.ResourceMetrics, m2.ResourceMetrics...), m3.ResourceMetrics...)}
				wantL := &collogspb.ExportLogsServiceRequest{ResourceLogs: append(append(l1.ResourceLogs, l2.ResourceLogs...), l3.ResourceLogs...)}
				if got, want := b.traces.SpanCount(), countSpans(wantT); got != want {
					t.Errorf("collector counted %d spans, want %d", got, want)
				}
				if got, want := b.metrics.DataPointCount(), countPoints(wantM); got != want {
					t.Errorf("collector counted %d data points, want %d", got, want)
				}
				if got, want := b.logs.LogRecordCount(), countLogs(wantL); got != want {
					t.Errorf("collector counted %d log records, want %d", got, want)
				}
				// Two requests per signal: the concatenated batch is one.
				if n := len(b.traces.AllTraces()) + len(b.metrics.AllMetrics()) + len(b.logs.AllLogs()); n != 6 {
					t.Errorf("collector consumed %d requests, want 6", n)
				}
				wantEqual(t, "traces", b.receivedTraces(t), asPdataMarshals(wantT))
				wantEqual(t, "metrics", b.receivedMetrics(t), asPdataMarshals(wantM))
				wantEqual(t, "logs", b.receivedLogs(t), asPdataMarshals(wantL))

				// The configured header reached the collector with every
				// request.
				var ctxs []context.Context
				ctxs = append(ctxs, b.traces.Contexts()...)
				ctxs = append(ctxs, b.metrics.Contexts()...)
				ctxs = append(ctxs, b.logs.Contexts()...)
				for i, c := range ctxs {
					if got := client.FromContext(c).Metadata.Get("x-e2e-tenant"); len(got) != 1 || got[0] != "tenant-42" {
						t.Errorf("request %d: header x-e2e-tenant = %q at the collector, want [tenant-42]", i, got)
					}
				}
			})
		}
	}
}

// TestExporterCollectorRefusals: the collector's answers to a consumer that
// refuses are understood. A transient refusal (the collector's 503 /
// UNAVAILABLE) is retried up to MaxAttempts and reported as a failure; a
// permanent one (500 / INTERNAL for a permanent error without a status) is
// final after one attempt: retrying cannot help.
func TestExporterCollectorRefusals(t *testing.T) {
	for _, protocol := range exportProtocols {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			cases := []struct {
				name         string
				err          error
				wantAttempts int
			}{
				{"transient", errors.New("e2e: pipeline busy"), 3},
				{"permanent", consumererror.NewPermanent(errors.New("e2e: bad data")), 1},
			}
			for _, c := range cases {
				b := startCollector(t, collectorConsumers{traces: consumertest.NewErr(c.err)})
				exp := newCollectorExporter(t, b, protocol, "gzip", export.Options{MaxAttempts: 3})
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				res := exp.Export(ctx, "traces", export.Proto(mustMarshal(t, richTraces(c.name))))
				cancel()
				if res.OK || res.Attempts != c.wantAttempts || res.Err == nil {
					t.Errorf("%s refusal: %+v, want a failure after %d attempts", c.name, res, c.wantAttempts)
				}
				if c.name == "permanent" && !strings.Contains(fmt.Sprint(res.Err), "e2e: bad data") {
					t.Errorf("permanent refusal: error %v does not carry the collector's message", res.Err)
				}
			}
		})
	}
}
