package lambdaotel

import (
	"context"
	"fmt"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// lambdaResource describes this function: the OpenTelemetry cloud and FaaS
// resource attributes Lambda's environment gives, service.name
// (OTEL_SERVICE_NAME, then the option, then the function name, then
// unknown_service), the SDK's telemetry.sdk.* attributes, the caller's
// resource, and OTEL_RESOURCE_ATTRIBUTES over all of them.
func lambdaResource(ctx context.Context, c *config) (*resource.Resource, error) {
	env := c.getenv
	attrs := []attribute.KeyValue{semconv.CloudProviderAWS, semconv.CloudPlatformAWSLambda}
	if v := env("AWS_REGION"); v != "" {
		attrs = append(attrs, semconv.CloudRegion(v))
	}
	fn := env("AWS_LAMBDA_FUNCTION_NAME")
	if fn != "" {
		attrs = append(attrs, semconv.FaaSName(fn))
	}
	if v := env("AWS_LAMBDA_FUNCTION_VERSION"); v != "" {
		attrs = append(attrs, semconv.FaaSVersion(v))
	}
	if v := env("AWS_LAMBDA_LOG_STREAM_NAME"); v != "" {
		attrs = append(attrs, semconv.FaaSInstance(v))
	}
	if v := env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"); v != "" {
		if mb, err := strconv.Atoi(v); err == nil && mb > 0 {
			attrs = append(attrs, semconv.FaaSMaxMemory(mb<<20))
		}
	}
	service := c.serviceName
	if service == "" {
		service = fn
	}
	if service == "" {
		service = "unknown_service"
	}
	attrs = append(attrs, semconv.ServiceName(service))
	// The settings that shape export, recorded when set so a backend can
	// tell how a function was instrumented.
	attrs = append(attrs, attribute.String("lambdaotel.span_processor.mode", string(c.mode)))

	opts := []resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(attrs...),
	}
	if c.resource != nil {
		opts = append(opts, resource.WithAttributes(c.resource.Attributes()...))
	}
	// Environment last: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME win.
	opts = append(opts, resource.WithFromEnv())
	r, err := resource.New(ctx, opts...)
	if err != nil {
		return r, fmt.Errorf("lambda resource: %w", err)
	}
	return r, nil
}
