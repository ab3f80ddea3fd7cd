// Package e2e tests lambdaotel against real peers. It is its own module so
// that the peers (grpc-go, the OTel SDK exporters, …) never enter the main
// module's dependency graph.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/grpcrecv"
	"github.com/lambdaotel/lambdaotel/extension/receiver"
	"github.com/lambdaotel/lambdaotel/extension/wire"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// offer is one call to recSink.Offer.
type offer struct {
	sig   wire.Signal
	body  []byte
	items int
}

// recSink records accepted offers; it refuses with err, or with ErrFull for
// the first fullFor offers.
type recSink struct {
	mu      sync.Mutex
	err     error
	fullFor int
	refused int
	offers  []offer
	got     chan struct{} // receives a value per accepted offer
}

func newSink() *recSink { return &recSink{got: make(chan struct{}, 100)} }

func (s *recSink) Offer(sig wire.Signal, body []byte, items int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.refused < s.fullFor {
		s.refused++
		return fmt.Errorf("%w: test queue full", receiver.ErrFull)
	}
	s.offers = append(s.offers, offer{sig, body, items})
	s.got <- struct{}{}
	return nil
}

func (s *recSink) all() []offer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]offer(nil), s.offers...)
}

// startReceiver serves a grpcrecv.Receiver on a free loopback port.
func startReceiver(t *testing.T, sink receiver.Sink, maxBytes int64) string {
	t.Helper()
	ln, err := grpcrecv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := grpcrecv.New(sink, grpcrecv.Options{MaxRequestBytes: maxBytes}).Start(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Bounded: grpc-go keeps its connection open until Close, and
		// the client's cleanup runs first, but do not wait on it.
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv.Addr().String()
}

// dial returns a grpc-go client connection with insecure credentials: h2c
// with prior knowledge, as OTLP exporters use on loopback.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func traceRequest(spanName string) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: str("e2e")}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{
			{TraceId: bytes.Repeat([]byte{0xab}, 16), SpanId: bytes.Repeat([]byte{0xcd}, 8), Name: spanName, Kind: tracepb.Span_SPAN_KIND_SERVER},
			{TraceId: bytes.Repeat([]byte{0xab}, 16), SpanId: bytes.Repeat([]byte{0xef}, 8), ParentSpanId: bytes.Repeat([]byte{0xcd}, 8), Name: "child"},
		}}},
	}}}
}

func metricsRequest() *colmetricspb.ExportMetricsServiceRequest {
	return &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{
		ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{{
			Name: "requests",
			Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{IsMonotonic: true, DataPoints: []*metricspb.NumberDataPoint{
				{Value: &metricspb.NumberDataPoint_AsInt{AsInt: 7}},
				{Value: &metricspb.NumberDataPoint_AsInt{AsInt: 9}, Attributes: []*commonpb.KeyValue{{Key: "k", Value: str("v")}}},
			}}},
		}}}},
	}}}
}

func logsRequest() *collogspb.ExportLogsServiceRequest {
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{
			{Body: str("hello from grpc-go"), SeverityText: "INFO"},
		}}},
	}}}
}

// TestGRPCGoClientExport calls the three Export methods with grpc-go's
// generated clients, with and without gzip, and checks that the sink gets
// bytes that decode to exactly the request sent.
func TestGRPCGoClientExport(t *testing.T) {
	for _, comp := range []string{"identity", gzip.Name} {
		t.Run(comp, func(t *testing.T) {
			sink := newSink()
			cc := dial(t, startReceiver(t, sink, 0))
			var opts []grpc.CallOption
			if comp == gzip.Name {
				opts = append(opts, grpc.UseCompressor(gzip.Name))
			}
			ctx := ctxT(t)

			treq := traceRequest("GET /e2e")
			if _, err := coltracepb.NewTraceServiceClient(cc).Export(ctx, treq, opts...); err != nil {
				t.Fatalf("traces: %v", err)
			}
			mreq := metricsRequest()
			if _, err := colmetricspb.NewMetricsServiceClient(cc).Export(ctx, mreq, opts...); err != nil {
				t.Fatalf("metrics: %v", err)
			}
			lreq := logsRequest()
			if _, err := collogspb.NewLogsServiceClient(cc).Export(ctx, lreq, opts...); err != nil {
				t.Fatalf("logs: %v", err)
			}

			offers := sink.all()
			if len(offers) != 3 {
				t.Fatalf("%d offers, want 3", len(offers))
			}
			want := []struct {
				sig   wire.Signal
				items int
				msg   proto.Message
				into  proto.Message
			}{
				{wire.Traces, 2, treq, &coltracepb.ExportTraceServiceRequest{}},
				{wire.Metrics, 2, mreq, &colmetricspb.ExportMetricsServiceRequest{}},
				{wire.Logs, 1, lreq, &collogspb.ExportLogsServiceRequest{}},
			}
			for i, w := range want {
				o := offers[i]
				if o.sig != w.sig || o.items != w.items {
					t.Errorf("offer %d: %v with %d items, want %v with %d", i, o.sig, o.items, w.sig, w.items)
				}
				if err := proto.Unmarshal(o.body, w.into); err != nil {
					t.Fatalf("offer %d does not decode: %v", i, err)
				}
				if !proto.Equal(w.into, w.msg) {
					t.Errorf("offer %d decodes to %v, want %v", i, w.into, w.msg)
				}
			}
		})
	}
}

// TestGRPCGoClientStatuses checks the error statuses as grpc-go reports them.
func TestGRPCGoClientStatuses(t *testing.T) {
	t.Run("queue full", func(t *testing.T) {
		sink := newSink()
		sink.err = fmt.Errorf("%w: test", receiver.ErrFull)
		cc := dial(t, startReceiver(t, sink, 0))
		_, err := coltracepb.NewTraceServiceClient(cc).Export(ctxT(t), traceRequest("x"))
		st := wantCode(t, err, codes.ResourceExhausted, "queue full, retry later")
		var ri *errdetails.RetryInfo
		for _, d := range st.Details() {
			if r, ok := d.(*errdetails.RetryInfo); ok {
				ri = r
			}
		}
		if ri == nil {
			t.Fatalf("no RetryInfo in status details %v", st.Details())
		}
		if d := ri.GetRetryDelay().AsDuration(); d != time.Second {
			t.Errorf("retry delay %v, want 1s", d)
		}
	})
	t.Run("too large for the queue", func(t *testing.T) {
		sink := newSink()
		sink.err = fmt.Errorf("%w: test", receiver.ErrTooLarge)
		cc := dial(t, startReceiver(t, sink, 0))
		_, err := colmetricspb.NewMetricsServiceClient(cc).Export(ctxT(t), metricsRequest())
		st := wantCode(t, err, codes.ResourceExhausted, "request larger than the extension's queue")
		if len(st.Details()) != 0 {
			t.Errorf("unexpected details %v: only a full queue is worth retrying", st.Details())
		}
	})
	const limit = 1024
	big := traceRequest(strings.Repeat("n", 2*limit))
	for _, comp := range []string{"identity", gzip.Name} {
		t.Run("over MaxRequestBytes/"+comp, func(t *testing.T) {
			sink := newSink()
			cc := dial(t, startReceiver(t, sink, limit))
			var opts []grpc.CallOption
			if comp == gzip.Name {
				// Compresses far below the limit: the decompressed size
				// is what is refused.
				opts = append(opts, grpc.UseCompressor(gzip.Name))
			}
			_, err := coltracepb.NewTraceServiceClient(cc).Export(ctxT(t), big, opts...)
			wantCode(t, err, codes.ResourceExhausted, fmt.Sprintf("larger than %d bytes", limit))
			if n := len(sink.all()); n != 0 {
				t.Errorf("%d oversized requests reached the sink", n)
			}
		})
	}
	t.Run("unknown method", func(t *testing.T) {
		cc := dial(t, startReceiver(t, newSink(), 0))
		err := cc.Invoke(ctxT(t), "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export",
			&coltracepb.ExportTraceServiceRequest{}, &coltracepb.ExportTraceServiceResponse{})
		wantCode(t, err, codes.Unimplemented, "unknown service or method")
	})
	t.Run("unsupported compressor", func(t *testing.T) {
		cc := dial(t, startReceiver(t, newSink(), 0))
		_, err := coltracepb.NewTraceServiceClient(cc).Export(ctxT(t), traceRequest("x"), grpc.UseCompressor(testCompressorName))
		wantCode(t, err, codes.Unimplemented, `grpc-encoding "`+testCompressorName+`" is not supported`)
	})
}

func wantCode(t *testing.T, err error, code codes.Code, msgPart string) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v is not a gRPC status", err)
	}
	if st.Code() != code || !strings.Contains(st.Message(), msgPart) {
		t.Fatalf("status %v %q, want %v containing %q", st.Code(), st.Message(), code, msgPart)
	}
	return st
}

// testCompressor is a compressor the receiver does not know: identity under
// another name.
type testCompressor struct{}

const testCompressorName = "e2e-identity"

func init() { encoding.RegisterCompressor(testCompressor{}) }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (testCompressor) Compress(w io.Writer) (io.WriteCloser, error) { return nopCloser{w}, nil }
func (testCompressor) Decompress(r io.Reader) (io.Reader, error)    { return r, nil }
func (testCompressor) Name() string                                 { return testCompressorName }

// TestOTelSDKExporter exports real spans with the OTel Go SDK's OTLP/gRPC
// exporter, with and without gzip.
func TestOTelSDKExporter(t *testing.T) {
	for _, comp := range []string{"none", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			sink := newSink()
			addr := startReceiver(t, sink, 0)
			spans := exportSpans(t, sink, addr, comp, []string{"handler", "db.query", "http.get"})
			if len(spans) != 3 {
				t.Fatalf("got spans %v, want 3", spans)
			}
			for _, name := range []string{"handler", "db.query", "http.get"} {
				if !spans[name] {
					t.Errorf("span %q not received (got %v)", name, spans)
				}
			}
		})
	}
}

// TestOTelSDKExporterRetriesQueueFull: the SDK retries RESOURCE_EXHAUSTED
// only when the status carries RetryInfo, so a full queue must not lose the
// batch: the first attempt is refused, the retry (after the 1 s hint) lands.
func TestOTelSDKExporterRetriesQueueFull(t *testing.T) {
	sink := newSink()
	sink.fullFor = 1
	addr := startReceiver(t, sink, 0)
	start := time.Now()
	spans := exportSpans(t, sink, addr, "gzip", []string{"retried"})
	if !spans["retried"] || len(spans) != 1 {
		t.Fatalf("got spans %v, want the retried span", spans)
	}
	sink.mu.Lock()
	refused := sink.refused
	sink.mu.Unlock()
	if refused != 1 {
		t.Errorf("refused %d times, want 1", refused)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("retried after %v: the 1 s RetryInfo delay was not honoured", el)
	}
}

// exportSpans ends one span per name through an SDK TracerProvider whose
// exporter is otlptracegrpc, shuts it down (flushing), and returns the span
// names the sink received, decoded from its bytes.
func exportSpans(t *testing.T, sink *recSink, addr, compression string, names []string) map[string]bool {
	t.Helper()
	ctx := ctxT(t)
	opts := []otlptracegrpc.Option{
		otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithEndpoint(addr),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 2 * time.Second, MaxElapsedTime: 8 * time.Second}),
	}
	if compression == "gzip" {
		opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	tr := tp.Tracer("e2e")
	for _, n := range names {
		_, span := tr.Start(ctx, n)
		span.End()
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("TracerProvider shutdown (export): %v", err)
	}
	got := map[string]bool{}
	for _, o := range sink.all() {
		if o.sig != wire.Traces {
			t.Errorf("offer of signal %v", o.sig)
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(o.body, &req); err != nil {
			t.Fatalf("offer does not decode: %v", err)
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					got[s.Name] = true
				}
			}
		}
	}
	return got
}
