// Command lambdaotelfn is the benchmark function instrumented with lambdaotel:
// lambdaotel.Init and Wrap around the shared handler (bench/internal/fn),
// started with aws-lambda-go's lambda.Start.
//
// Everything else comes from the library's usual environment variables: the
// benchmarks set LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE (sync or async) and
// OTEL_TRACES_EXPORTER=otlp with OTEL_EXPORTER_OTLP_ENDPOINT, so that spans
// go over OTLP/HTTP to a collector, as the SDK peer's do. With BENCHFN_PLAIN
// set it runs the handler uninstrumented.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambdaotel/lambdaotel"
	"github.com/lambdaotel/lambdaotel/bench/internal/fn"
)

func main() {
	if os.Getenv(fn.EnvPlain) != "" {
		lambda.Start(fn.Plain)
		return
	}
	ctx := context.Background()
	tel, err := lambdaotel.Init(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdaotel init:", err)
		os.Exit(1)
	}
	tracer := tel.Tracer()
	lambda.Start(lambdaotel.Wrap(tel, func(ctx context.Context, ev fn.Event) (map[string]string, error) {
		return fn.Handle(ctx, tracer, ev)
	}))
}
