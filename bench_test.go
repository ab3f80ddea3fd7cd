package lambdaotel

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"testing"

	"github.com/lambdaotel/lambdaotel/otlpstdout"
)

// benchTelemetry is a Telemetry exporting otlp-stdout records to io.Discard
// in mode. Async mode outside Lambda gets an internal extension whose loop
// is not running, so the benchmark measures exactly what the handler's path
// pays: the span, and a completion signal instead of the export.
func benchTelemetry(b *testing.B, mode Mode) *Telemetry {
	b.Helper()
	exp, err := otlpstdout.New(otlpstdout.WithWriter(io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	tel, err := Init(context.Background(), withEnv(envOf(nil)), WithExporter(exp), WithoutGlobal(), WithMode(mode), WithQueueSize(1<<16), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	if mode == ModeAsync {
		tel.mode = ModeAsync
		tel.ext = &internalExtension{t: tel, completed: make(chan completion, 64)}
	}
	b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

// BenchmarkWrap is the cost a wrapped handler adds per invocation on the
// response path, with 1 and 10 spans (the invocation's and its children).
func BenchmarkWrap(b *testing.B) {
	for _, mode := range []Mode{ModeSync, ModeAsync, ModeFinalize} {
		for _, spans := range []int{1, 10} {
			b.Run(string(mode)+"/spans="+strconv.Itoa(spans), func(b *testing.B) {
				tel := benchTelemetry(b, mode)
				tracer := tel.Tracer()
				h := Wrap(tel, func(ctx context.Context, in greeting) (greeting, error) {
					for i := 1; i < spans; i++ {
						_, s := tracer.Start(ctx, "child")
						s.End()
					}
					return in, nil
				})
				ctx := lambdaCtx("bench")
				ev := json.RawMessage(`{"name":"bench"}`)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					r, err := h(ctx, ev)
					if err != nil {
						b.Fatal(err)
					}
					if c, ok := r.(io.Closer); ok {
						_ = c.Close() // what aws-lambda-go does after posting
					}
					if mode == ModeAsync {
						<-tel.ext.completed
						if i%256 == 255 {
							b.StopTimer() // the export happens off the response path
							_ = tel.ForceFlush(context.Background())
							b.StartTimer()
						}
					}
				}
			})
		}
	}
}

// BenchmarkInit is the cold-start cost of Init in sync mode.
func BenchmarkInit(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tel, err := Init(context.Background(), withEnv(envOf(map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "f", "AWS_REGION": "us-east-1"})), WithoutGlobal())
		if err != nil {
			b.Fatal(err)
		}
		_ = tel.Shutdown(context.Background())
	}
}
