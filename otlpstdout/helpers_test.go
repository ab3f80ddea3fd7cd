package otlpstdout

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// clearEnv neutralises every variable the exporter reads, so tests do not
// depend on the machine's environment. An empty value counts as unset.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{
		EnvCompressionLevel, EnvLogLevel, EnvOutputType, EnvHeaders, EnvTracesHeaders,
		EnvServiceName, EnvFunctionName,
	} {
		t.Setenv(name, "")
	}
}

// logCapture is a slog.Handler that keeps every record, for asserting on
// warnings.
type logCapture struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCapture) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *logCapture) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logCapture) WithGroup(string) slog.Handler      { return h }

// at returns the records logged at level, each rendered as its message plus
// attributes.
func (h *logCapture) at(level slog.Level) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		if r.Level != level {
			continue
		}
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.String())
			return true
		})
		out = append(out, b.String())
	}
	return out
}

// seqIDs hands out predictable IDs so records are reproducible.
type seqIDs struct {
	mu sync.Mutex
	n  byte
}

func (g *seqIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return trace.TraceID{0x4b, 0xf9, 15: g.n}, trace.SpanID{0x00, 0xf0, 7: g.n}
}

func (g *seqIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return trace.SpanID{0x00, 0xf0, 7: g.n}
}

var baseTime = time.Unix(1_750_000_000, 0)

// testSpans records n spans through a real TracerProvider with fixed IDs,
// times and resource, so the resulting records are byte-for-byte stable.
// The first span is a server span with a remote parent; the rest are its
// children.
func testSpans(n int) []sdktrace.ReadOnlySpan {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(rec),
		sdktrace.WithIDGenerator(&seqIDs{}),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", "orders"),
			attribute.String("cloud.provider", "aws"),
		)),
	)
	tracer := tp.Tracer("github.com/lambdaotel/lambdaotel", trace.WithInstrumentationVersion("0.1.0"))
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 15: 0xff},
		SpanID:     trace.SpanID{0x01, 7: 0xff},
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	}))
	ctx, root := tracer.Start(ctx, "GET /orders/{id}",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(baseTime),
		trace.WithAttributes(
			attribute.String("http.route", "/orders/{id}"),
			attribute.Int("http.response.status_code", 200),
			attribute.Bool("faas.coldstart", true),
		))
	for i := 1; i < n; i++ {
		_, child := tracer.Start(ctx, "query", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(baseTime.Add(time.Duration(i)*time.Millisecond)),
			trace.WithAttributes(attribute.String("db.system", "dynamodb"), attribute.Int("db.rows", i)))
		child.AddEvent("retry", trace.WithTimestamp(baseTime.Add(time.Duration(i)*time.Millisecond+time.Microsecond)))
		if i%2 == 0 {
			child.SetStatus(codes.Error, "throttled \"hard\"\n")
		}
		child.End(trace.WithTimestamp(baseTime.Add(time.Duration(i)*time.Millisecond + 500*time.Microsecond)))
	}
	root.SetStatus(codes.Ok, "")
	root.End(trace.WithTimestamp(baseTime.Add(time.Second)))
	return rec.Ended()
}
