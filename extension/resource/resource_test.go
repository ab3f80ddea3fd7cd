package resource

import (
	"reflect"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	res, bad := FromEnv(env(map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": "checkout", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
		"AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]abc", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=prod,cloud.region=override%2D1,broken",
	}), "123456789012")
	want := []otlpbuild.KeyValue{
		otlpbuild.String("cloud.provider", "aws"), otlpbuild.String("cloud.platform", "aws_lambda"),
		otlpbuild.String("cloud.region", "override-1"), otlpbuild.String("cloud.account.id", "123456789012"),
		otlpbuild.String("faas.name", "checkout"), otlpbuild.String("faas.version", "$LATEST"),
		otlpbuild.String("faas.instance", "2026/11/23/[$LATEST]abc"), otlpbuild.Int("faas.max_memory", 512<<20),
		otlpbuild.String("deployment.environment.name", "prod"), otlpbuild.String("service.name", "checkout"),
	}
	if !reflect.DeepEqual(res.Attributes, want) || bad != 1 || res.SchemaURL != SchemaURL {
		t.Fatalf("got %v (bad %d)\nwant %v", res.Attributes, bad, want)
	}
}

func TestServiceNamePrecedence(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "unknown_service"},
		{map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "fn"}, "fn"},
		{map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "fn", "OTEL_RESOURCE_ATTRIBUTES": "service.name=attr"}, "attr"},
		{map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "fn", "OTEL_RESOURCE_ATTRIBUTES": "service.name=attr", "OTEL_SERVICE_NAME": "svc"}, "svc"},
	} {
		res, _ := FromEnv(env(tc.env), "")
		var got []otlpbuild.KeyValue
		for _, kv := range res.Attributes {
			if kv.Key == "service.name" {
				got = append(got, kv)
			}
		}
		if want := []otlpbuild.KeyValue{otlpbuild.String("service.name", tc.want)}; !reflect.DeepEqual(got, want) {
			t.Errorf("%v: service.name %v, want exactly %q", tc.env, got, tc.want)
		}
	}
}
