package platformtel

import (
	"encoding/hex"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Request IDs and trace headers used across the tests.
const (
	reqA = "b2de8fdb-4f2a-4d7e-9a3b-1c2d3e4f5a6b"
	reqB = "3a7f1c2e-8b9d-4e6f-a1b2-c3d4e5f60718"
	reqC = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

	xrayA      = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	xrayTraceA = "5759e988bd862e3fe1be46a994272793"
	xrayParent = "53995c3f42cd8ad8"
)

var base = time.Date(2024, 7, 1, 8, 54, 54, 0, time.UTC)

// at is base plus ms milliseconds.
func at(ms float64) time.Time { return base.Add(time.Duration(ms * float64(time.Millisecond))) }

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var testResource = []otlpbuild.KeyValue{
	otlpbuild.String("service.name", "orders"),
	otlpbuild.String("cloud.provider", "aws"),
	otlpbuild.String("faas.name", "orders"),
}

// newProc returns a processor with a fixed seed and a clock at base.
func newProc(t testing.TB, opts Options) (*Processor, *clock) {
	t.Helper()
	c := &clock{t: base}
	opts.Now = c.Now
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Resource == nil {
		opts.Resource = testResource
	}
	if opts.ExtensionName == "" {
		opts.ExtensionName = "lambdaotel-extension"
	}
	return New(opts), c
}

// event builds a telemetry event; record is marshalled as JSON (a Go
// string becomes a JSON string, a json.RawMessage is used as it is).
func event(typ string, t time.Time, record any) lambdaapi.TelemetryEvent {
	raw, ok := record.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(record); err != nil {
			panic(err)
		}
	}
	return lambdaapi.TelemetryEvent{Time: t, Type: typ, Record: raw}
}

func xray(v string) *lambdaapi.Tracing {
	return &lambdaapi.Tracing{Type: lambdaapi.TracingTypeXRay, Value: v}
}

func startEv(id string, t time.Time, trace string) lambdaapi.TelemetryEvent {
	r := lambdaapi.Start{RequestID: id, Version: "$LATEST"}
	if trace != "" {
		r.Tracing = xray(trace)
	}
	return event(lambdaapi.EventStart, t, r)
}

// runtimeDoneEv is a runtimeDone for an invocation that started at start
// and ran durMs, with the platform's three spans.
func runtimeDoneEv(id string, start time.Time, durMs float64, status, errType, trace string) lambdaapi.TelemetryEvent {
	r := lambdaapi.RuntimeDone{RequestID: id, Status: status, ErrorType: errType,
		Metrics: &lambdaapi.RuntimeDoneMetrics{DurationMs: durMs, ProducedBytes: 50},
		Spans: []lambdaapi.Span{
			{Name: "responseLatency", Start: start, DurationMs: durMs * 0.5},
			{Name: "responseDuration", Start: start.Add(msDuration(durMs * 0.5)), DurationMs: durMs * 0.1},
			{Name: "runtimeOverhead", Start: start.Add(msDuration(durMs * 0.6)), DurationMs: durMs * 0.4},
		}}
	if trace != "" {
		r.Tracing = xray(trace)
	}
	return event(lambdaapi.EventRuntimeDone, start.Add(msDuration(durMs)), r)
}

func reportEv(id string, t time.Time, durMs float64, status, errType string, initMs *float64) lambdaapi.TelemetryEvent {
	return event(lambdaapi.EventReport, t, lambdaapi.Report{RequestID: id, Status: status, ErrorType: errType,
		Metrics: lambdaapi.ReportMetrics{DurationMs: durMs, BilledDurationMs: float64(int(durMs) + 1),
			MemorySizeMB: 128, MaxMemoryUsedMB: 75, InitDurationMs: initMs}})
}

func fnLog(t time.Time, line string) lambdaapi.TelemetryEvent {
	return event(lambdaapi.EventFunction, t, line)
}

func handleAll(p *Processor, evs ...lambdaapi.TelemetryEvent) {
	for _, ev := range evs {
		p.Handle(ev)
	}
}

// output is one Collect, decoded with the generated types. TracesData,
// MetricsData and LogsData share their encodings with the export requests.
type output struct {
	traces  *tracepb.TracesData
	metrics *metricspb.MetricsData
	logs    *logspb.LogsData
}

func collect(t testing.TB, p *Processor) output {
	t.Helper()
	tr, me, lo := p.Collect(nil, nil, nil)
	var o output
	o.traces, o.metrics, o.logs = new(tracepb.TracesData), new(metricspb.MetricsData), new(logspb.LogsData)
	for _, x := range []struct {
		b []byte
		m proto.Message
	}{{tr, o.traces}, {me, o.metrics}, {lo, o.logs}} {
		if err := proto.Unmarshal(x.b, x.m); err != nil {
			t.Fatalf("Collect output does not parse as %T: %v", x.m, err)
		}
	}
	return o
}

func (o output) spans() []*tracepb.Span {
	var out []*tracepb.Span
	for _, rs := range o.traces.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			out = append(out, ss.Spans...)
		}
	}
	return out
}

func (o output) records() []*logspb.LogRecord {
	var out []*logspb.LogRecord
	for _, rl := range o.logs.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			out = append(out, sl.LogRecords...)
		}
	}
	return out
}

func (o output) metric(name string) *metricspb.Metric {
	for _, rm := range o.metrics.ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name == name {
					return m
				}
			}
		}
	}
	return nil
}

// sumValue is a Sum metric's single point's value, -1 when absent.
func (o output) sumValue(name string) int64 {
	m := o.metric(name)
	if m == nil || m.GetSum() == nil || len(m.GetSum().DataPoints) != 1 {
		return -1
	}
	return m.GetSum().DataPoints[0].GetAsInt()
}

// histogram is a Histogram metric's single point, nil when absent.
func (o output) histogram(name string) *metricspb.HistogramDataPoint {
	m := o.metric(name)
	if m == nil || m.GetHistogram() == nil || len(m.GetHistogram().DataPoints) != 1 {
		return nil
	}
	return m.GetHistogram().DataPoints[0]
}

func spanNamed(spans []*tracepb.Span, name string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func attr(kvs []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

func ns(t time.Time) uint64 { return uint64(t.UnixNano()) }

func ptr[T any](v T) *T { return &v }
