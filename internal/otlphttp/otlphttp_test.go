package otlphttp

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel/internal/otlpenv"
)

// collector is a test OTLP/HTTP endpoint answering with the statuses given,
// in turn (the last one repeats).
type collector struct {
	mu       sync.Mutex
	statuses []int
	retryHdr string
	requests []*http.Request
	bodies   [][]byte
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, _ = io.ReadAll(zr)
		}
	}
	c.mu.Lock()
	c.requests = append(c.requests, r)
	c.bodies = append(c.bodies, body)
	status := c.statuses[min(len(c.requests)-1, len(c.statuses)-1)]
	c.mu.Unlock()
	if c.retryHdr != "" {
		w.Header().Set("Retry-After", c.retryHdr)
	}
	w.WriteHeader(status)
}

func spans(n int) []sdktrace.ReadOnlySpan {
	out := make([]sdktrace.ReadOnlySpan, n)
	for i := range out {
		out[i] = tracetest.SpanStub{Name: "s", SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1}, SpanID: trace.SpanID{byte(i + 1)}, TraceFlags: trace.FlagsSampled,
		})}.Snapshot()
	}
	return out
}

func newExporter(t *testing.T, c *collector, mod func(*otlpenv.Traces)) (*Exporter, *bytes.Buffer) {
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	cfg, _ := otlpenv.ReadTraces(func(string) string { return "" })
	cfg.Endpoint = srv.URL + "/v1/traces"
	if mod != nil {
		mod(&cfg)
	}
	var logs bytes.Buffer
	e := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e, &logs
}

func TestExportSendsOneProtobufRequest(t *testing.T) {
	for _, compression := range []string{"none", "gzip"} {
		c := &collector{statuses: []int{200}}
		e, _ := newExporter(t, c, func(cfg *otlpenv.Traces) {
			cfg.Compression = compression
			cfg.Headers = map[string]string{"authorization": "Bearer token"}
		})
		if err := e.ExportSpans(context.Background(), spans(3)); err != nil {
			t.Fatal(err)
		}
		if len(c.requests) != 1 {
			t.Fatalf("%d requests", len(c.requests))
		}
		r := c.requests[0]
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || r.Header.Get("Authorization") != "Bearer token" {
			t.Fatalf("%s %s %v", r.Method, r.URL.Path, r.Header)
		}
		var req tracepb.TracesData // the wire format of ExportTraceServiceRequest, without gRPC
		if err := proto.Unmarshal(c.bodies[0], &req); err != nil {
			t.Fatalf("%s: body is not an ExportTraceServiceRequest: %v", compression, err)
		}
		if n := len(req.ResourceSpans[0].ScopeSpans[0].Spans); n != 3 {
			t.Fatalf("%d spans", n)
		}
	}
}

func TestEmptyBatchSendsNothing(t *testing.T) {
	c := &collector{statuses: []int{200}}
	e, _ := newExporter(t, c, nil)
	if err := e.ExportSpans(context.Background(), nil); err != nil || len(c.requests) != 0 {
		t.Fatalf("%v, %d requests", err, len(c.requests))
	}
}

func TestRetriesRetryableStatusesThenSucceeds(t *testing.T) {
	c := &collector{statuses: []int{503, 429, 200}, retryHdr: "0"}
	e, _ := newExporter(t, c, nil)
	if err := e.ExportSpans(context.Background(), spans(1)); err != nil {
		t.Fatal(err)
	}
	if len(c.requests) != 3 {
		t.Fatalf("%d attempts, want 3", len(c.requests))
	}
}

func TestDoesNotRetryClientErrorsAndLogsOncePerStreak(t *testing.T) {
	c := &collector{statuses: []int{400}}
	e, logs := newExporter(t, c, nil)
	for i := 0; i < 3; i++ {
		if err := e.ExportSpans(context.Background(), spans(1)); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
			t.Fatalf("err %v", err)
		}
	}
	if len(c.requests) != 3 {
		t.Fatalf("%d requests: a 400 must not be retried", len(c.requests))
	}
	if n := strings.Count(logs.String(), "exporting spans failed"); n != 1 {
		t.Fatalf("%d warnings for one failure streak:\n%s", n, logs.String())
	}
	c.mu.Lock()
	c.statuses = []int{200}
	c.mu.Unlock()
	if err := e.ExportSpans(context.Background(), spans(1)); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.statuses = []int{400}
	c.mu.Unlock()
	_ = e.ExportSpans(context.Background(), spans(1))
	if n := strings.Count(logs.String(), "exporting spans failed"); n != 2 {
		t.Fatalf("a new streak after a success must be logged again: %d", n)
	}
}

func TestExportIsBoundedByContextAndTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	cfg, _ := otlpenv.ReadTraces(func(string) string { return "" })
	cfg.Endpoint = srv.URL
	cfg.Timeout = 50 * time.Millisecond
	e := New(cfg, nil)
	start := time.Now()
	if err := e.ExportSpans(context.Background(), spans(1)); err == nil {
		t.Fatal("a hanging backend must fail the export")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("export took %v despite a 50 ms timeout", d)
	}
}

func TestUnreachableEndpointFails(t *testing.T) {
	cfg, _ := otlpenv.ReadTraces(func(string) string { return "" })
	cfg.Endpoint = "http://127.0.0.1:1/v1/traces"
	cfg.Timeout = time.Second
	e := New(cfg, nil)
	if err := e.ExportSpans(context.Background(), spans(1)); err == nil {
		t.Fatal("want an error")
	}
}

func TestShutdownStopsExports(t *testing.T) {
	c := &collector{statuses: []int{200}}
	e, _ := newExporter(t, c, nil)
	_ = e.Shutdown(context.Background())
	if err := e.ExportSpans(context.Background(), spans(1)); err == nil {
		t.Fatal("export after shutdown must fail")
	}
}
