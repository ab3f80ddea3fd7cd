package lambdaotel

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		lambda, fallback string
		want             Level
	}{
		{"", "", LevelInfo},
		{"debug", "", LevelDebug},
		{"", "WARN", LevelWarn},
		{"Error", "debug", LevelError},
		{"trace", "", LevelTrace},
		{"loud", "", LevelInfo},
		{" warning ", "", LevelWarn},
	} {
		got := parseLevel(envOf(map[string]string{EnvLambdaLogLevel: tc.lambda, EnvLogLevelFallback: tc.fallback}))
		if got != tc.want {
			t.Errorf("%q/%q: %v, want %v", tc.lambda, tc.fallback, got, tc.want)
		}
	}
}

func TestLevelText(t *testing.T) {
	for l, want := range map[Level]string{LevelTrace: "TRACE", LevelDebug: "DEBUG", LevelInfo: "INFO", LevelWarn: "WARN", LevelError: "ERROR"} {
		if l.String() != want {
			t.Errorf("%d: %s, want %s", l, l.String(), want)
		}
	}
}

func TestEvent(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	Event(ctx, LevelWarn, "disk nearly full", attribute.Int("free_mb", 12))
	Event(ctx, LevelDebug, "below the default threshold")
	Event(ctx, LevelError, "")
	Event(context.Background(), LevelError, "no span: dropped")
	span.End()
	evs := rec.Ended()[0].Events()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	attrs := attribute.NewSet(evs[0].Attributes...)
	if evs[0].Name != "event" {
		t.Fatalf("name %q", evs[0].Name)
	}
	for k, want := range map[attribute.Key]any{AttrSeverityText: "WARN", AttrSeverityNumber: int64(13), AttrEventBody: "disk nearly full", "free_mb": int64(12)} {
		v, ok := attrs.Value(k)
		if !ok || v.AsInterface() != want {
			t.Errorf("%s = %v, want %v", k, v.AsInterface(), want)
		}
	}
	second := attribute.NewSet(evs[1].Attributes...)
	if _, ok := second.Value(AttrEventBody); ok {
		t.Errorf("an empty message must not set event.body")
	}
}
