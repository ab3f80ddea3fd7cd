package otlpenv

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestReadTraces(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      map[string]string
		want     Traces
		problems []string
	}{
		{"defaults", nil, Traces{Endpoint: DefaultTracesEndpoint, Timeout: 10 * time.Second, Compression: "none", Protocol: "http/protobuf"}, nil},
		{"base endpoint gets the signal path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318/"},
			Traces{Endpoint: "https://collector:4318/v1/traces", Timeout: 10 * time.Second, Compression: "none", Protocol: "http/protobuf"}, nil},
		{"signal endpoint is used as is", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:9999/custom"},
			Traces{Endpoint: "http://b:9999/custom", Timeout: 10 * time.Second, Compression: "none", Protocol: "http/protobuf"}, nil},
		{"signal settings win", map[string]string{
			"OTEL_EXPORTER_OTLP_TIMEOUT": "500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "250",
			"OTEL_EXPORTER_OTLP_COMPRESSION": "none", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "GZIP",
			"OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=2", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "B=3,c=x%20y",
		}, Traces{Endpoint: DefaultTracesEndpoint, Timeout: 250 * time.Millisecond, Compression: "gzip", Protocol: "http/protobuf",
			Headers: map[string]string{"a": "1", "b": "3", "c": "x y"}}, nil},
		{"bad values fall back and are named", map[string]string{
			"OTEL_EXPORTER_OTLP_TIMEOUT": "soon", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_HEADERS": "novalue,k=%zz,ok=1",
		}, Traces{Endpoint: DefaultTracesEndpoint, Timeout: 10 * time.Second, Compression: "none", Protocol: "http/protobuf",
			Headers: map[string]string{"ok": "1"}},
			[]string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_PROTOCOL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, problems := ReadTraces(env(tc.env))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			var vars []string
			for _, p := range problems {
				vars = append(vars, p.Var)
				if !strings.Contains(p.Error(), p.Var) {
					t.Errorf("problem %q does not name its variable", p.Error())
				}
			}
			if strings.Join(vars, ",") != strings.Join(tc.problems, ",") {
				t.Errorf("problems %v, want %v", vars, tc.problems)
			}
		})
	}
}

// FuzzParseHeaders checks that any header list parses without panicking into
// lower-case, trimmed keys.
func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{"", "a=b", "A = b ,c=d%20e", "x", "=v", "k=%zz", "k==v", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, _ := ParseHeaders(s)
		for k := range h {
			if k == "" || k != strings.ToLower(strings.TrimSpace(k)) {
				t.Fatalf("key %q from %q", k, s)
			}
		}
	})
}

func TestParseResourceAttributes(t *testing.T) {
	got, problems := ParseResourceAttributes(" service.name = Checkout%20API ,Deployment.Env=prod,bad,k=%zz")
	want := map[string]string{"service.name": "Checkout API", "Deployment.Env": "prod"}
	if !reflect.DeepEqual(got, want) || len(problems) != 2 {
		t.Fatalf("got %v, %d problems", got, len(problems))
	}
}

// FuzzParseResourceAttributes: any list parses without panicking into
// trimmed, non-empty keys whose case is kept.
func FuzzParseResourceAttributes(f *testing.F) {
	for _, s := range []string{"", "a=b", "Service.Name=x%2Cy", "=v", "k=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		attrs, _ := ParseResourceAttributes(s)
		for k := range attrs {
			if k == "" || k != strings.TrimSpace(k) {
				t.Fatalf("key %q from %q", k, s)
			}
		}
	})
}
