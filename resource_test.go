package lambdaotel

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func resourceAttrs(t *testing.T, env map[string]string, opts ...Option) map[attribute.Key]string {
	t.Helper()
	// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME are read by the SDK
	// from the process environment: set them, empty when not given.
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", env["OTEL_RESOURCE_ATTRIBUTES"])
	t.Setenv("OTEL_SERVICE_NAME", env["OTEL_SERVICE_NAME"])
	c := newConfig(append([]Option{withEnv(envOf(env))}, opts...))
	r, err := lambdaResource(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	out := map[attribute.Key]string{}
	for _, kv := range r.Attributes() {
		out[kv.Key] = kv.Value.String()
	}
	return out
}

var lambdaEnv = map[string]string{
	"AWS_REGION":                      "eu-west-1",
	"AWS_LAMBDA_FUNCTION_NAME":        "orders",
	"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
	"AWS_LAMBDA_LOG_STREAM_NAME":      "2026/11/23/[$LATEST]abc",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
}

func TestResourceFromLambdaEnvironment(t *testing.T) {
	got := resourceAttrs(t, lambdaEnv)
	for k, want := range map[attribute.Key]string{
		"cloud.provider": "aws", "cloud.platform": "aws_lambda", "cloud.region": "eu-west-1",
		"faas.name": "orders", "faas.version": "$LATEST", "faas.instance": "2026/11/23/[$LATEST]abc",
		"faas.max_memory": "536870912", "service.name": "orders", "telemetry.sdk.language": "go",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
}

func TestResourceWithoutEnvironment(t *testing.T) {
	got := resourceAttrs(t, map[string]string{})
	if got["service.name"] != "unknown_service" {
		t.Errorf("service.name %q", got["service.name"])
	}
	for _, k := range []attribute.Key{"cloud.region", "faas.name", "faas.max_memory"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s set without its variable", k)
		}
	}
}

func TestResourceServiceNamePrecedence(t *testing.T) {
	if got := resourceAttrs(t, lambdaEnv, WithServiceName("checkout"))["service.name"]; got != "checkout" {
		t.Errorf("option: %q", got)
	}
	env := map[string]string{"OTEL_SERVICE_NAME": "from-env"}
	for k, v := range lambdaEnv {
		env[k] = v
	}
	if got := resourceAttrs(t, env, WithServiceName("checkout"))["service.name"]; got != "from-env" {
		t.Errorf("env must win: %q", got)
	}
}

func TestResourceAttributesVariableWins(t *testing.T) {
	env := map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=prod,faas.name=renamed,team=pay%20ments"}
	for k, v := range lambdaEnv {
		env[k] = v
	}
	got := resourceAttrs(t, env)
	if got["deployment.environment.name"] != "prod" || got["faas.name"] != "renamed" || got["team"] != "pay ments" {
		t.Errorf("got %v", got)
	}
}

func TestResourceInvalidMemoryIsSkipped(t *testing.T) {
	got := resourceAttrs(t, map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"})
	if _, ok := got["faas.max_memory"]; ok {
		t.Errorf("faas.max_memory from an invalid size: %v", got["faas.max_memory"])
	}
}
