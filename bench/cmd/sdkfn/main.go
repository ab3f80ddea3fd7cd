// Command sdkfn is the peer of the response-latency benchmark: the shared
// handler (bench/internal/fn) instrumented the way the OpenTelemetry Go
// instrumentation for aws-lambda-go (otellambda) and most users do it.
//
//   - a plain sdktrace.TracerProvider with the otlptracehttp exporter behind
//     a BatchSpanProcessor; the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT
//     (an http:// endpoint means plain HTTP) and the other OTEL_EXPORTER_OTLP_*
//     variables itself;
//   - a resource with the Lambda attributes the environment gives (what the
//     contrib Lambda resource detector reports), service.name from
//     OTEL_SERVICE_NAME;
//   - one SERVER span per invocation, named after the function and carrying
//     faas.invocation_id, cloud.resource_id and cloud.account.id, as
//     otellambda's does;
//   - tp.ForceFlush(ctx) at the end of every invocation, before the handler
//     returns: what otellambda's WithFlusher does, so that nothing is lost
//     when Lambda freezes the process. The response waits for the export.
//
// With BENCHFN_PLAIN set it runs the handler uninstrumented.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel/bench/internal/fn"
)

// scope is the instrumentation scope of the peer's spans.
const scope = "github.com/lambdaotel/lambdaotel/bench/cmd/sdkfn"

func main() {
	if os.Getenv(fn.EnvPlain) != "" {
		lambda.Start(fn.Plain)
		return
	}
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlptracehttp:", err)
		os.Exit(1)
	}
	res, err := lambdaResource(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "resource:", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	tracer := tp.Tracer(scope)

	lambda.Start(func(ctx context.Context, ev fn.Event) (map[string]string, error) {
		ctx, span := tracer.Start(ctx, lambdacontext.FunctionName,
			trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(invocationAttributes(ctx)...))
		out, err := fn.Handle(ctx, tracer, ev)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
		if ferr := tp.ForceFlush(ctx); ferr != nil {
			fmt.Fprintln(os.Stderr, "flush:", ferr)
		}
		return out, err
	})
}

// invocationAttributes are the attributes otellambda puts on the
// invocation's span.
func invocationAttributes(ctx context.Context) []attribute.KeyValue {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return nil
	}
	attrs := []attribute.KeyValue{semconv.FaaSInvocationID(lc.AwsRequestID)}
	if arn := lc.InvokedFunctionArn; arn != "" {
		attrs = append(attrs, semconv.CloudResourceID(arn))
		if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
			attrs = append(attrs, semconv.CloudAccountID(parts[4]))
		}
	}
	return attrs
}

// lambdaResource is the SDK's default resource plus the attributes of the
// contrib Lambda resource detector, with OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES over them.
func lambdaResource(ctx context.Context) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{
		semconv.CloudProviderAWS, semconv.CloudPlatformAWSLambda,
		semconv.CloudRegion(os.Getenv("AWS_REGION")),
		semconv.FaaSName(os.Getenv("AWS_LAMBDA_FUNCTION_NAME")),
		semconv.FaaSVersion(os.Getenv("AWS_LAMBDA_FUNCTION_VERSION")),
		semconv.FaaSInstance(os.Getenv("AWS_LAMBDA_LOG_STREAM_NAME")),
		semconv.ServiceName(os.Getenv("AWS_LAMBDA_FUNCTION_NAME")),
	}
	if mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil {
		attrs = append(attrs, semconv.FaaSMaxMemory(mb<<20))
	}
	return resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attrs...),
		resource.WithFromEnv(),
	)
}
