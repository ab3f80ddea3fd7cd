// Command otelfn is an aws-lambda-go function instrumented with lambdaotel,
// for the library's whole-system tests on lambdasim. The event says what to
// do; the mode and exporter come from the usual environment variables.
//
// Every export is bracketed by lines on stderr, "EXPORT start=<unix ns>
// spans=<n>" and "EXPORT end=<unix ns>", so that tests can order the export
// against lambdasim's own timeline of the invocation.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel"
	"github.com/lambdaotel/lambdaotel/otlpstdout"
)

type event struct {
	Spans int    `json:"spans"` // child spans to create
	Fail  bool   `json:"fail"`
	Panic bool   `json:"panic"`
	Sleep int    `json:"sleepMs"`
	Name  string `json:"name"`
	Log   string `json:"log"`  // a line to print on stdout (a function log)
	Exit  bool   `json:"exit"` // exit mid-invocation: a crash
}

type timingExporter struct{ inner sdktrace.SpanExporter }

func (e timingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	fmt.Fprintf(os.Stderr, "EXPORT start=%d spans=%d\n", time.Now().UnixNano(), len(spans))
	err := e.inner.ExportSpans(ctx, spans)
	fmt.Fprintf(os.Stderr, "EXPORT end=%d\n", time.Now().UnixNano())
	return err
}

func (e timingExporter) Shutdown(ctx context.Context) error { return e.inner.Shutdown(ctx) }

func main() {
	ctx := context.Background()
	if os.Getenv("OTELFN_PLAIN") != "" {
		// The same handler without lambdaotel: the baseline of the
		// latency benchmarks.
		lambda.Start(func(ctx context.Context, ev event) (map[string]string, error) { return handle(ctx, nil, ev) })
	}
	var inner sdktrace.SpanExporter
	inner, err := otlpstdout.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlpstdout:", err)
		os.Exit(1)
	}
	opts := []lambdaotel.Option{lambdaotel.WithExporter(timingExporter{inner})}
	if os.Getenv("OTELFN_NO_EXIT") != "" {
		opts = append(opts, lambdaotel.WithExitOnSIGTERM(false))
	}
	tel, err := lambdaotel.Init(ctx, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "init:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "MODE", tel.Mode())
	tracer := tel.Tracer()
	var startOpts []lambda.Option
	if os.Getenv("OTELFN_SIGTERM_HOOK") != "" {
		// aws-lambda-go's own SIGTERM support, beside lambdaotel's.
		startOpts = append(startOpts, lambda.WithEnableSIGTERM(func() { fmt.Println("HOOK ran") }))
	}
	lambda.StartWithOptions(lambdaotel.Wrap(tel, func(ctx context.Context, ev event) (map[string]string, error) {
		return handle(ctx, tracer, ev)
	}), startOpts...)
}

func handle(ctx context.Context, tracer trace.Tracer, ev event) (map[string]string, error) {
	if tracer != nil {
		for i := 0; i < ev.Spans; i++ {
			_, s := tracer.Start(ctx, "child-"+strconv.Itoa(i))
			s.End()
		}
	}
	if ev.Log != "" {
		fmt.Println(ev.Log)
	}
	if ev.Exit {
		os.Exit(3)
	}
	if ev.Sleep > 0 {
		time.Sleep(time.Duration(ev.Sleep) * time.Millisecond)
	}
	if ev.Panic {
		panic("otelfn panics on purpose")
	}
	if ev.Fail {
		return nil, errors.New("otelfn fails on purpose")
	}
	return map[string]string{"hello": ev.Name}, nil
}
