package lambdaotel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/trigger"
)

// testTelemetry is sync-mode Telemetry outside Lambda whose spans land in a
// recorder and an exporter that counts flushes.
func testTelemetry(t *testing.T, env map[string]string, opts ...Option) (*Telemetry, *tracetest.SpanRecorder, *recordingExporter) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	exp := &recordingExporter{}
	if env == nil {
		env = map[string]string{}
	}
	opts = append([]Option{withEnv(envOf(env)), WithExporter(exp), WithSpanProcessor(rec), WithoutGlobal()}, opts...)
	tel, err := Init(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel, rec, exp
}

func lambdaCtx(id string) context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID:       id,
		InvokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:orders:live",
	})
}

func attrsOf(s sdktrace.ReadOnlySpan) map[attribute.Key]any {
	m := map[attribute.Key]any{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.AsInterface()
	}
	return m
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type greeting struct {
	Name string `json:"name"`
}

func TestWrapSyncSpanAndFlushBeforeReturn(t *testing.T) {
	coldStart.Store(true)
	tel, rec, exp := testTelemetry(t, nil)
	h := Wrap(tel, func(ctx context.Context, in greeting) (map[string]string, error) {
		if !trace.SpanFromContext(ctx).SpanContext().IsValid() {
			t.Error("the handler's context has no span")
		}
		if _, ok := lambdacontext.FromContext(ctx); !ok {
			t.Error("the handler's context lost the Lambda context")
		}
		return map[string]string{"hello": in.Name}, nil
	})
	r, err := h(lambdaCtx("req-1"), json.RawMessage(`{"name":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := exp.all(); len(got) != 1 || len(got[0]) != 1 {
		t.Fatalf("sync mode must have exported the span before returning: %v", got)
	}
	if body := readAll(t, r); body != `{"hello":"Ada"}` {
		t.Fatalf("response %s", body)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	a := attrsOf(s)
	if s.Name() != DefaultSpanName || s.SpanKind() != trace.SpanKindServer {
		t.Errorf("name %q kind %v", s.Name(), s.SpanKind())
	}
	for k, want := range map[attribute.Key]any{
		"faas.invocation_id": "req-1",
		"cloud.resource_id":  "arn:aws:lambda:eu-west-1:123456789012:function:orders:live",
		"cloud.account.id":   "123456789012",
		"faas.trigger":       "other",
		"faas.coldstart":     true,
	} {
		if a[k] != want {
			t.Errorf("%s = %v, want %v", k, a[k], want)
		}
	}
	// The second invocation of the process is warm.
	if _, err := h(lambdaCtx("req-2"), json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if a := attrsOf(rec.Ended()[1]); a["faas.coldstart"] != false {
		t.Errorf("second invocation faas.coldstart = %v", a["faas.coldstart"])
	}
}

func TestWrapNoColdStartWhenProvisioned(t *testing.T) {
	coldStart.Store(true)
	tel, rec, _ := testTelemetry(t, map[string]string{"AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency"})
	h := Wrap(tel, func(context.Context, greeting) (string, error) { return "", nil })
	if _, err := h(lambdaCtx("r"), nil); err != nil {
		t.Fatal(err)
	}
	if a := attrsOf(rec.Ended()[0]); a["faas.coldstart"] != false {
		t.Fatalf("faas.coldstart = %v under provisioned concurrency", a["faas.coldstart"])
	}
}

func TestWrapHandlerErrorMarksSpan(t *testing.T) {
	tel, rec, exp := testTelemetry(t, nil)
	h := Wrap(tel, func(context.Context, greeting) (string, error) { return "", errors.New("out of stock") })
	if _, err := h(lambdaCtx("r"), json.RawMessage(`{}`)); err == nil || err.Error() != "out of stock" {
		t.Fatalf("err %v: the handler's error must come back unchanged", err)
	}
	s := rec.Ended()[0]
	if s.Status().Code != codes.Error || s.Status().Description != "out of stock" {
		t.Fatalf("status %+v", s.Status())
	}
	if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
		t.Fatalf("events %+v, want one exception", s.Events())
	}
	if len(exp.all()) != 1 {
		t.Fatalf("a failed invocation must be exported too: %v", exp.all())
	}
}

func TestWrapPanicFlushesThenRepanics(t *testing.T) {
	tel, rec, exp := testTelemetry(t, nil)
	h := Wrap(tel, func(context.Context, greeting) (string, error) { panic("boom") })
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the original panic value", r)
			}
		}()
		_, _ = h(lambdaCtx("r"), json.RawMessage(`{}`))
		t.Fatal("no panic")
	}()
	s := rec.Ended()[0]
	if s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, "boom") {
		t.Fatalf("status %+v", s.Status())
	}
	ev := s.Events()
	set := attribute.NewSet(ev[0].Attributes...)
	if len(ev) != 1 || !strings.Contains(set.Encoded(attribute.DefaultEncoder()), "exception.stacktrace") {
		t.Fatalf("want an exception event with a stack trace: %+v", ev)
	}
	if len(exp.all()) != 1 {
		t.Fatal("the span must be exported before the panic continues")
	}
}

func TestWrapBadEventIsTracedError(t *testing.T) {
	tel, rec, _ := testTelemetry(t, nil)
	called := false
	h := Wrap(tel, func(context.Context, greeting) (string, error) { called = true; return "", nil })
	if _, err := h(lambdaCtx("r"), json.RawMessage(`[1,2]`)); err == nil {
		t.Fatal("an event that does not decode must fail the invocation")
	}
	if called {
		t.Fatal("the handler must not run")
	}
	if rec.Ended()[0].Status().Code != codes.Error {
		t.Fatal("the failed decode must mark the span")
	}
}

func TestWrapHTTPStatus(t *testing.T) {
	for _, tc := range []struct {
		code int
		want codes.Code
	}{{200, codes.Unset}, {404, codes.Unset}, {503, codes.Error}} {
		tel, rec, _ := testTelemetry(t, nil)
		h := Wrap(tel, func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{StatusCode: tc.code}, nil
		})
		ev := `{"version":"2.0","routeKey":"GET /items/{id}","rawPath":"/items/7","requestContext":{"http":{"method":"GET","path":"/items/7","protocol":"HTTP/1.1","sourceIp":"1.2.3.4"},"domainName":"x.execute-api.eu-west-1.amazonaws.com"},"headers":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}`
		if _, err := h(lambdaCtx("r"), json.RawMessage(ev)); err != nil {
			t.Fatal(err)
		}
		s := rec.Ended()[0]
		a := attrsOf(s)
		if a["http.response.status_code"] != int64(tc.code) {
			t.Errorf("%d: http.response.status_code = %#v, want an integer", tc.code, a["http.response.status_code"])
		}
		if s.Status().Code != tc.want {
			t.Errorf("%d: status %v, want %v", tc.code, s.Status().Code, tc.want)
		}
		if a["faas.trigger"] != "http" || s.Name() != "GET /items/{id}" {
			t.Errorf("trigger %v name %q", a["faas.trigger"], s.Name())
		}
		if s.Parent().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || !s.Parent().IsRemote() {
			t.Errorf("parent %v: the traceparent header must parent the span", s.Parent())
		}
	}
}

func TestWrapHandlerInterface(t *testing.T) {
	tel, rec, _ := testTelemetry(t, nil)
	h := WrapHandler(tel, handlerFunc(func(_ context.Context, p []byte) ([]byte, error) { return p, nil }))
	r, err := h(lambdaCtx("r"), json.RawMessage(`{"headers":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readAll(t, r), "traceparent") {
		t.Fatal("the handler's bytes must come back")
	}
	if got := rec.Ended()[0].Parent().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("parent trace %s: a plain JSON event's headers carry the context", got)
	}
}

type handlerFunc func(context.Context, []byte) ([]byte, error)

func (f handlerFunc) Invoke(ctx context.Context, p []byte) ([]byte, error) { return f(ctx, p) }

func TestDisabledIsPassThrough(t *testing.T) {
	tel, err := Init(context.Background(), withEnv(envOf(map[string]string{EnvSDKDisabled: "TRUE"})), WithoutGlobal())
	if err != nil {
		t.Fatal(err)
	}
	h := Wrap(tel, func(_ context.Context, in greeting) (greeting, error) { return in, nil })
	r, err := h(context.Background(), json.RawMessage(`{"name":"x"}`))
	if err != nil || readAll(t, r) != `{"name":"x"}` {
		t.Fatalf("%v", err)
	}
	if tel.TracerProvider() == nil || tel.ForceFlush(context.Background()) != nil || tel.Shutdown(context.Background()) != nil {
		t.Fatal("disabled telemetry must still be usable")
	}
}

// X-Ray leaves sampling to the function with Sampled=? (or no Sampled): the
// span must be sampled in the caller's trace. Sampled=0 means not sampled.
func TestWrapXRaySamplingDecision(t *testing.T) {
	for _, tc := range []struct {
		sampled string
		record  bool
	}{{";Sampled=?", true}, {"", true}, {";Sampled=1", true}, {";Sampled=0", false}} {
		tel, rec, _ := testTelemetry(t, nil)
		h := Wrap(tel, func(context.Context, json.RawMessage) (string, error) { return "", nil })
		ev := `{"headers":{"X-Amzn-Trace-Id":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8` + tc.sampled + `"}}`
		if _, err := h(lambdaCtx("r"), json.RawMessage(ev)); err != nil {
			t.Fatal(err)
		}
		ended := rec.Ended()
		if got := len(ended) == 1 && ended[0].SpanContext().IsSampled(); got != tc.record {
			t.Errorf("%q: sampled %v, want %v", tc.sampled, got, tc.record)
			continue
		}
		if tc.record && ended[0].SpanContext().TraceID().String() != "5759e988bd862e3fe1be46a994272793" {
			t.Errorf("%q: trace %s, want the X-Ray trace", tc.sampled, ended[0].SpanContext().TraceID())
		}
	}
}

// OTEL_TRACES_EXPORTER=otlp sends the invocation's spans as OTLP/HTTP
// protobuf to the configured endpoint, and wins over WithExporter.
func TestOTLPExporterFromEnvironment(t *testing.T) {
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			got <- b
		}
	}))
	defer srv.Close()
	exp := &recordingExporter{}
	tel, err := Init(context.Background(), WithoutGlobal(), WithExporter(exp), withEnv(envOf(map[string]string{
		EnvTracesExport: "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_SERVICE_NAME": "orders",
	})))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	h := Wrap(tel, func(context.Context, greeting) (string, error) { return "ok", nil })
	if _, err := h(lambdaCtx("r"), json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	var req tracepb.TracesData // the wire format of ExportTraceServiceRequest, without gRPC
	select {
	case b := <-got:
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("sync mode returned before the OTLP export reached the endpoint")
	}
	if len(exp.all()) != 0 {
		t.Fatal("the environment's exporter must win over WithExporter")
	}
	rs := req.ResourceSpans[0]
	var service string
	for _, kv := range rs.Resource.Attributes {
		if kv.Key == "service.name" {
			service = kv.Value.GetStringValue()
		}
	}
	if service != "orders" || rs.ScopeSpans[0].Spans[0].Name != DefaultSpanName {
		t.Fatalf("service %q spans %v", service, rs.ScopeSpans[0].Spans)
	}
}

// Outside Lambda there is no Runtime API to register with: async mode
// exports synchronously instead, and says so once.
func TestAsyncOutsideLambdaDegradesToSync(t *testing.T) {
	var logs strings.Builder
	tel, err := Init(context.Background(), WithoutGlobal(), WithMode(ModeAsync), WithExporter(&recordingExporter{}),
		withEnv(envOf(nil)), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	if tel.Mode() != ModeSync || tel.ext != nil {
		t.Fatalf("mode %s, extension %v", tel.Mode(), tel.ext)
	}
	if n := strings.Count(logs.String(), "async mode needs Lambda"); n != 1 {
		t.Fatalf("%d log lines:\n%s", n, logs.String())
	}
}

// A custom extractor given to Init names and describes the invocation's span.
func TestWrapCustomExtractor(t *testing.T) {
	ext := trigger.ExtractorFunc(func(event any, raw []byte) (trigger.Info, bool) {
		if !strings.Contains(string(raw), `"orderId"`) {
			return trigger.Info{}, false
		}
		return trigger.Info{SpanName: "process order", Kind: trace.SpanKindConsumer, Trigger: trigger.TriggerPubSub,
			Attributes: []attribute.KeyValue{attribute.String("order.id", "42")}}, true
	})
	tel, rec, _ := testTelemetry(t, nil, WithExtractor(ext))
	h := Wrap(tel, func(context.Context, json.RawMessage) (string, error) { return "", nil })
	if _, err := h(lambdaCtx("r"), json.RawMessage(`{"orderId":"42"}`)); err != nil {
		t.Fatal(err)
	}
	s := rec.Ended()[0]
	a := attrsOf(s)
	if s.Name() != "process order" || s.SpanKind() != trace.SpanKindConsumer || a["faas.trigger"] != "pubsub" || a["order.id"] != "42" {
		t.Fatalf("name %q kind %v attrs %v", s.Name(), s.SpanKind(), a)
	}
}

// Exporting OTLP to the extension on loopback, the wrapper tells it when
// each invocation's export is done, so the extension can flush at once.
func TestCompletionSignalToTheExtension(t *testing.T) {
	var mu sync.Mutex
	var order []string
	var traceparent string
	var exported []byte
	advertise := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if advertise {
			w.Header().Set("Lambdaotel-Completion", "/invocation/complete")
		}
		order = append(order, r.URL.Path+" "+r.Header.Get("Lambda-Request-Id")+r.Header.Get("Lambdaotel-Signals"))
		if r.URL.Path == "/invocation/complete" {
			traceparent = r.Header.Get("Traceparent")
		} else {
			exported = body
		}
	}))
	defer srv.Close()
	tel, err := Init(context.Background(), WithoutGlobal(), withEnv(envOf(map[string]string{
		EnvTracesExport: "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL,
	})))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	// Init announces that every invocation will be signalled.
	mu.Lock()
	if strings.Join(order, ",") != "/invocation/complete true" {
		t.Fatalf("requests at Init %v: want the announcement", order)
	}
	order = nil
	mu.Unlock()
	h := Wrap(tel, func(context.Context, greeting) (string, error) { return "", nil })
	// An endpoint that has not said it takes signals (a plain collector)
	// gets none.
	r, err := h(lambdaCtx("req-8"), json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = r.(io.Closer).Close()
	mu.Lock()
	if strings.Join(order, ",") != "/v1/traces " {
		t.Fatalf("requests %v: no signal to an endpoint that did not advertise it", order)
	}
	order, advertise = nil, true
	mu.Unlock()
	// The extension advertises it on every answer; from the next
	// invocation on, the signal follows each export.
	if r, err = h(lambdaCtx("req-0"), json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	_ = r.(io.Closer).Close()
	mu.Lock()
	order = nil
	mu.Unlock()
	r, err = h(lambdaCtx("req-9"), json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if strings.Join(order, ",") != "/v1/traces " {
		t.Fatalf("requests %v before the response was accepted: want only the export", order)
	}
	mu.Unlock()
	_ = r.(io.Closer).Close() // aws-lambda-go, once the Runtime API accepted the response
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != "/v1/traces ,/invocation/complete req-9" {
		t.Fatalf("requests %v: want the export, then the completion signal", order)
	}
	// The signal names the invocation's span, the one just exported, so
	// that the extension's platform spans join its trace.
	var tid, sid []byte
	if _, err := fmt.Sscanf(traceparent, "00-%32x-%16x-01", &tid, &sid); err != nil {
		t.Fatalf("traceparent %q: %v", traceparent, err)
	}
	var td tracepb.TracesData
	if err := proto.Unmarshal(exported, &td); err != nil {
		t.Fatal(err)
	}
	span := td.ResourceSpans[0].ScopeSpans[0].Spans[0]
	if !bytes.Equal(span.TraceId, tid) || !bytes.Equal(span.SpanId, sid) {
		t.Fatalf("traceparent %s names another span than the invocation's %x/%x", traceparent, span.TraceId, span.SpanId)
	}
}
