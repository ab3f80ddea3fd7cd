package trigger

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

func TestMethodNormalisation(t *testing.T) {
	tests := []struct {
		method   string
		want     string
		original string // "" means absent
		spanName string
	}{
		{"GET", "GET", "", "GET /items/{id}"},
		{"POST", "POST", "", "POST /items/{id}"},
		{"PUT", "PUT", "", "PUT /items/{id}"},
		{"DELETE", "DELETE", "", "DELETE /items/{id}"},
		{"HEAD", "HEAD", "", "HEAD /items/{id}"},
		{"OPTIONS", "OPTIONS", "", "OPTIONS /items/{id}"},
		{"PATCH", "PATCH", "", "PATCH /items/{id}"},
		{"CONNECT", "CONNECT", "", "CONNECT /items/{id}"},
		{"TRACE", "TRACE", "", "TRACE /items/{id}"},
		{"QUERY", "QUERY", "", "QUERY /items/{id}"},
		// Methods are case-sensitive: a lower-case method is not known.
		{"get", "_OTHER", "get", "HTTP /items/{id}"},
		{"Post", "_OTHER", "Post", "HTTP /items/{id}"},
		{"PROPFIND", "_OTHER", "PROPFIND", "HTTP /items/{id}"},
		{"FOO BAR", "_OTHER", "FOO BAR", "HTTP /items/{id}"},
	}
	for _, tt := range tests {
		e := events.APIGatewayProxyRequest{HTTPMethod: tt.method, Resource: "/items/{id}", Path: "/items/1"}
		info := Extract(e, nil)
		if info.SpanName != tt.spanName {
			t.Errorf("%q: span name %q, want %q", tt.method, info.SpanName, tt.spanName)
		}
		a := attrMap(t, info)
		if got := a[semconv.HTTPRequestMethodKey].AsString(); got != tt.want {
			t.Errorf("%q: http.request.method %q, want %q", tt.method, got, tt.want)
		}
		orig, ok := a[semconv.HTTPRequestMethodOriginalKey]
		if (tt.original == "") == ok || orig.AsString() != tt.original {
			t.Errorf("%q: method_original %q (present %v), want %q", tt.method, orig.AsString(), ok, tt.original)
		}
	}
}

func TestUnknownMethodWithoutRoute(t *testing.T) {
	e := events.ALBTargetGroupRequest{HTTPMethod: "PROPFIND", Path: "/dav/file.txt"}
	if got := Extract(e, nil).SpanName; got != "HTTP" {
		t.Errorf("span name %q, want HTTP (never the path)", got)
	}
}

func TestKnownMethodsOverride(t *testing.T) {
	if parseKnownMethods("") != nil || parseKnownMethods("  ") != nil {
		t.Error("empty override must mean the default list")
	}
	set := parseKnownMethods("GET, PROPFIND ,,MKCOL")
	if len(set) != 3 {
		t.Fatalf("set %v", set)
	}
	attrs, name := appendMethod(nil, set, "PROPFIND")
	if name != "PROPFIND" || len(attrs) != 1 || attrs[0] != semconv.HTTPRequestMethodKey.String("PROPFIND") {
		t.Errorf("PROPFIND: %q %v", name, attrs)
	}
	// The override is a full replacement: POST is no longer known.
	attrs, name = appendMethod(nil, set, "POST")
	want := []attribute.KeyValue{semconv.HTTPRequestMethodOther, semconv.HTTPRequestMethodOriginal("POST")}
	if name != "HTTP" || len(attrs) != 2 || attrs[0] != want[0] || attrs[1] != want[1] {
		t.Errorf("POST: %q %v", name, attrs)
	}
	// An empty method is _OTHER with no original.
	attrs, name = appendMethod(nil, nil, "")
	if name != "HTTP" || len(attrs) != 1 || attrs[0] != semconv.HTTPRequestMethodOther {
		t.Errorf("empty: %q %v", name, attrs)
	}
}
