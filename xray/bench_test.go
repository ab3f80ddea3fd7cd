package xray

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// lambdaHeader is what Lambda-Runtime-Trace-Id typically looks like.
const lambdaHeader = "Root=1-67891233-abcdef012345678912345678;Parent=a87bd80c6f1d5e42;Sampled=1;Lineage=a87bd80c:1"

var sinkHeader Header

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		h, err := Parse(lambdaHeader)
		if err != nil {
			b.Fatal(err)
		}
		sinkHeader = h
	}
}

func BenchmarkParseInvalid(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("Root=1-67891233-abcdef01234567891234567z;Parent=a87bd80c6f1d5e42"); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkString(b *testing.B) {
	h, _ := Parse(lambdaHeader)
	b.ReportAllocs()
	for b.Loop() {
		_ = h.String()
	}
}

var sinkCtx context.Context

func BenchmarkExtract(b *testing.B) {
	c := propagation.MapCarrier{"x-amzn-trace-id": lambdaHeader}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkCtx = Propagator{}.Extract(ctx, c)
	}
}

func BenchmarkExtractCanonicalKey(b *testing.B) {
	c := propagation.MapCarrier{"X-Amzn-Trace-Id": lambdaHeader}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkCtx = Propagator{}.Extract(ctx, c)
	}
}

func BenchmarkExtractInvalid(b *testing.B) {
	c := propagation.MapCarrier{"x-amzn-trace-id": "Root=1-67891233-abcdef01234567891234567z;Parent=a87bd80c6f1d5e42"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkCtx = Propagator{}.Extract(ctx, c)
	}
}

func BenchmarkLambdaExtractContextFallback(b *testing.B) {
	c := propagation.MapCarrier{}
	ctx := withLambdaHeader(context.Background(), lambdaHeader)
	p := LambdaPropagator{}
	b.ReportAllocs()
	for b.Loop() {
		sinkCtx = p.Extract(ctx, c)
	}
}

func BenchmarkLambdaExtractEnvFallback(b *testing.B) {
	b.Setenv(envMaxConcurrency, "")
	b.Setenv(envTraceID, lambdaHeader)
	c := propagation.MapCarrier{}
	ctx := context.Background()
	p := LambdaPropagator{}
	b.ReportAllocs()
	for b.Loop() {
		sinkCtx = p.Extract(ctx, c)
	}
}

func BenchmarkInject(b *testing.B) {
	h, _ := Parse(lambdaHeader)
	sc, _ := h.SpanContext()
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	c := propagation.MapCarrier{}
	b.ReportAllocs()
	for b.Loop() {
		Propagator{}.Inject(ctx, c)
	}
}

// BenchmarkTraceContextExtract is the W3C propagator on an equivalent traceparent, as a
// yardstick for BenchmarkExtract in the same run.
func BenchmarkTraceContextExtract(b *testing.B) {
	c := propagation.MapCarrier{"traceparent": "00-67891233abcdef012345678912345678-a87bd80c6f1d5e42-01"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkCtx = propagation.TraceContext{}.Extract(ctx, c)
	}
}
