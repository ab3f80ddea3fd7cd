// Package resource describes the function an extension runs beside as an
// OTLP resource, for the telemetry the extension produces itself (its own
// metrics, and the platform telemetry it turns into spans, metrics and
// logs). It follows what the lambdaotel library reports for the function,
// so that both land on the same service in a backend: the OpenTelemetry
// cloud and FaaS attributes Lambda's environment gives, service.name, and
// OTEL_RESOURCE_ATTRIBUTES over them. It does not link the OpenTelemetry
// SDK: the extension's binary stays small.
package resource

import (
	"sort"
	"strconv"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/internal/otlpenv"
)

// SchemaURL is the semantic-conventions version of the attribute names.
const SchemaURL = "https://opentelemetry.io/schemas/1.43.0"

// FromEnv builds the resource from Lambda's environment variables.
// service.name is OTEL_SERVICE_NAME, else service.name in
// OTEL_RESOURCE_ATTRIBUTES, else the function's name, else
// unknown_service. accountID (from the extension's registration; empty if
// unknown) becomes cloud.account.id. The second result counts entries of
// OTEL_RESOURCE_ATTRIBUTES that could not be read.
func FromEnv(getenv func(string) string, accountID string) (otlpbuild.Resource, int) {
	attrs := []otlpbuild.KeyValue{
		otlpbuild.String("cloud.provider", "aws"),
		otlpbuild.String("cloud.platform", "aws_lambda"),
	}
	add := func(key, env string) {
		if v := getenv(env); v != "" {
			attrs = append(attrs, otlpbuild.String(key, v))
		}
	}
	add("cloud.region", "AWS_REGION")
	if accountID != "" {
		attrs = append(attrs, otlpbuild.String("cloud.account.id", accountID))
	}
	add("faas.name", "AWS_LAMBDA_FUNCTION_NAME")
	add("faas.version", "AWS_LAMBDA_FUNCTION_VERSION")
	add("faas.instance", "AWS_LAMBDA_LOG_STREAM_NAME")
	if mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64); err == nil && mb > 0 {
		attrs = append(attrs, otlpbuild.Int("faas.max_memory", mb<<20))
	}

	fromEnv, problems := otlpenv.ParseResourceAttributes(getenv("OTEL_RESOURCE_ATTRIBUTES"))
	service := getenv("OTEL_SERVICE_NAME")
	if service == "" {
		service = fromEnv["service.name"]
	}
	if service == "" {
		service = getenv("AWS_LAMBDA_FUNCTION_NAME")
	}
	if service == "" {
		service = "unknown_service"
	}
	if fromEnv == nil {
		fromEnv = map[string]string{}
	}
	fromEnv["service.name"] = service
	return otlpbuild.Resource{Attributes: override(attrs, fromEnv), SchemaURL: SchemaURL}, len(problems)
}

// override sets each key of over on attrs, replacing an attribute of the
// same key, and appends the new ones in key order (a stable encoding).
func override(attrs []otlpbuild.KeyValue, over map[string]string) []otlpbuild.KeyValue {
	keys := make([]string, 0, len(over))
	for k := range over {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		replaced := false
		for i := range attrs {
			if attrs[i].Key == k {
				attrs[i] = otlpbuild.String(k, over[k])
				replaced = true
				break
			}
		}
		if !replaced {
			attrs = append(attrs, otlpbuild.String(k, over[k]))
		}
	}
	return attrs
}
