package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/lambdaotel/lambdaotel/lambdasim"
)

// TestExtensionBinaryToCollector runs the real lambdaotel-extension on
// lambdasim in front of a function instrumented with the OpenTelemetry
// SDK's OTLP/HTTP exporter (bench/cmd/sdkfn), with the OpenTelemetry
// Collector's otlpreceiver as the extension's backend. After every
// invocation — when lambdasim freezes the environment — the collector
// already holds that invocation's spans, and each one is right: one trace
// per invocation, its SERVER span named after the function with the
// invocation's request id, the children under it, the function's resource.
func TestExtensionBinaryToCollector(t *testing.T) {
	ext := build(t, "..", "./cmd/lambdaotel-extension", "lambdaotel-extension")
	fn := build(t, "../bench", "./cmd/sdkfn", "sdkfn")
	for _, protocol := range exportProtocols {
		t.Run(protocol, func(t *testing.T) {
			b := startCollector(t, collectorConsumers{})
			port := freePort(t)
			s, err := lambdasim.New(lambdasim.Config{
				Runtime:    &lambdasim.Process{Path: fn},
				Extensions: []lambdasim.Process{{Path: ext}},
				Timeout:    10 * time.Second,
				Env: map[string]string{
					// The function's SDK exports to the extension …
					"OTEL_EXPORTER_OTLP_ENDPOINT":    "http://127.0.0.1:" + port,
					"LAMBDA_OTEL_RECEIVER_HTTP_PORT": port,
					"LAMBDA_OTEL_RECEIVER_GRPC_PORT": freePort(t),
					// … and the extension to the collector (LAMBDA_OTEL_*
					// win over OTEL_* for the extension).
					"LAMBDA_OTEL_EXPORTER_ENDPOINT": b.endpoint(protocol),
					"LAMBDA_OTEL_EXPORTER_PROTOCOL": protocol,
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			const invocations, children = 5, 2
			requestIDs := map[string]bool{}
			for i := 0; i < invocations; i++ {
				ev, _ := json.Marshal(map[string]int{"spans": children})
				res, err := s.Invoke(ctx, lambdasim.Request{Payload: ev})
				if err != nil || res.Status != "success" {
					t.Fatalf("invocation %d: %v %+v", i, err, res)
				}
				requestIDs[res.RequestID] = true
				if got, want := functionSpans(t, b), (i+1)*(children+1); got != want {
					t.Fatalf("invocation %d: the collector has %d of the function's spans when the environment froze, want %d", i, got, want)
				}
			}
			sr, err := s.Shutdown(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(sr.Extensions) != 1 || sr.Extensions[0].Killed || sr.Extensions[0].ExitCode != 0 {
				t.Fatalf("shutdown %+v: the extension must exit 0 within its deadline", sr)
			}

			checkSDKFunctionTraces(t, b, requestIDs, children)
		})
	}
}

// sdkfnScope is the instrumentation scope of bench/cmd/sdkfn's spans. The
// extension exports telemetry of its own too (platform spans, metrics and
// logs), under other scopes and resources; these tests are about the
// function's.
const sdkfnScope = "github.com/lambdaotel/lambdaotel/bench/cmd/sdkfn"

// functionSpans counts the function's spans at the collector.
func functionSpans(t *testing.T, b *collectorBackend) int {
	n := 0
	for _, rs := range b.receivedTraces(t).ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			if ss.GetScope().GetName() == sdkfnScope {
				n += len(ss.Spans)
			}
		}
	}
	return n
}

// checkSDKFunctionTraces checks what sdkfn sent, as the collector decoded
// it: per invocation one trace, whose SERVER span is named "function"
// (lambdasim's default function name) and carries faas.invocation_id, and
// whose children child-0 … are its direct children; the resource is the
// function's.
func checkSDKFunctionTraces(t *testing.T, b *collectorBackend, requestIDs map[string]bool, children int) {
	t.Helper()
	type traceSpans struct {
		server *tracepb.Span
		kids   []*tracepb.Span
	}
	traces := map[string]*traceSpans{}
	got := b.receivedTraces(t)
	others := 0
	for _, rs := range got.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			if ss.GetScope().GetName() != sdkfnScope {
				others += len(ss.Spans)
				continue
			}
			if svc := attr(rs.GetResource().GetAttributes(), "service.name"); svc != "function" {
				t.Errorf("the function's resource has service.name %q, want function", svc)
			}
			if p := attr(rs.GetResource().GetAttributes(), "cloud.provider"); p != "aws" {
				t.Errorf("the function's resource has cloud.provider %q, want aws", p)
			}
			for _, sp := range ss.Spans {
				if len(sp.TraceId) != 16 || len(sp.SpanId) != 8 || sp.EndTimeUnixNano < sp.StartTimeUnixNano || sp.StartTimeUnixNano == 0 {
					t.Errorf("span %q: malformed ids or times: %v", sp.Name, sp)
				}
				key := string(sp.TraceId)
				if traces[key] == nil {
					traces[key] = &traceSpans{}
				}
				if sp.Kind == tracepb.Span_SPAN_KIND_SERVER {
					if traces[key].server != nil {
						t.Errorf("two SERVER spans in trace %x", sp.TraceId)
					}
					traces[key].server = sp
				} else {
					traces[key].kids = append(traces[key].kids, sp)
				}
			}
		}
	}
	t.Logf("the collector also received %d spans of the extension's own, %d data points and %d log records",
		others, b.metrics.DataPointCount(), b.logs.LogRecordCount())
	if len(traces) != len(requestIDs) {
		t.Fatalf("%d traces at the collector, want one per invocation (%d)", len(traces), len(requestIDs))
	}
	for tid, ts := range traces {
		if ts.server == nil {
			t.Errorf("trace %x has no SERVER span", tid)
			continue
		}
		if ts.server.Name != "function" || len(ts.server.ParentSpanId) != 0 {
			t.Errorf("SERVER span %q with parent %x, want a root named function", ts.server.Name, ts.server.ParentSpanId)
		}
		rid := attr(ts.server.Attributes, "faas.invocation_id")
		if !requestIDs[rid] {
			t.Errorf("SERVER span's faas.invocation_id %q is none of the invocations' request ids %v", rid, requestIDs)
		}
		delete(requestIDs, rid) // each request id once
		if len(ts.kids) != children {
			t.Errorf("trace %x: %d child spans, want %d", tid, len(ts.kids), children)
		}
		names := map[string]bool{}
		for _, k := range ts.kids {
			names[k.Name] = true
			if !bytes.Equal(k.ParentSpanId, ts.server.SpanId) {
				t.Errorf("child %q has parent %x, want the SERVER span %x", k.Name, k.ParentSpanId, ts.server.SpanId)
			}
		}
		for i := 0; i < children; i++ {
			if n := "child-" + strconv.Itoa(i); !names[n] {
				t.Errorf("trace %x: no child %q (got %v)", tid, n, names)
			}
		}
	}
}

// attr is the string value of key in attrs, or "".
func attr(attrs []*commonpb.KeyValue, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.GetValue().GetStringValue()
		}
	}
	return ""
}
