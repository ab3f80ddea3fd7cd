package trigger

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

func TestBuildQuery(t *testing.T) {
	tests := []struct {
		name   string
		multi  map[string][]string
		single map[string]string
		escape bool
		want   string
	}{
		{"none", nil, nil, true, ""},
		{"empty maps", map[string][]string{}, map[string]string{}, true, ""},
		{"single sorted", nil, map[string]string{"b": "2", "a": "1", "c": ""}, true, "a=1&b=2&c="},
		{"multi wins, values keep order", map[string][]string{"k": {"z", "a"}, "a": {"1"}}, map[string]string{"k": "a"}, true, "a=1&k=z&k=a"},
		{"escaped", map[string][]string{"q": {"a b&c=d/é"}, "x y": {"1"}}, nil, true, "q=a+b%26c%3Dd%2F%C3%A9&x+y=1"},
		{"alb passes encoding through", nil, map[string]string{"myKey": "%3FshowAll%3Dtrue", "sp": "a%20b"}, false, "myKey=%3FshowAll%3Dtrue&sp=a%20b"},
		{"redacted single", nil, map[string]string{"sig": "s3cr3t", "X-Goog-Signature": "g", "page": "1"}, true, "X-Goog-Signature=REDACTED&page=1&sig=REDACTED"},
		{"redacted multi", map[string][]string{"X-Amz-Security-Token": {"t1", "t2"}}, nil, false, "X-Amz-Security-Token=REDACTED&X-Amz-Security-Token=REDACTED"},
		{"redaction is case-sensitive", nil, map[string]string{"SIG": "keep"}, true, "SIG=keep"},
		{"multi with only empty lists falls back", map[string][]string{"k": {}}, map[string]string{"s": "1"}, true, "s=1"},
		{"many keys", nil, map[string]string{
			"k01": "v", "k02": "v", "k03": "v", "k04": "v", "k05": "v", "k06": "v", "k07": "v", "k08": "v", "k09": "v",
			"k10": "v", "k11": "v", "k12": "v", "k13": "v", "k14": "v", "k15": "v", "k16": "v", "k17": "v", "k18": "v",
		}, true, "k01=v&k02=v&k03=v&k04=v&k05=v&k06=v&k07=v&k08=v&k09=v&k10=v&k11=v&k12=v&k13=v&k14=v&k15=v&k16=v&k17=v&k18=v"},
	}
	for _, tt := range tests {
		for range 20 { // map order must not matter
			if got := buildQuery(tt.multi, tt.single, tt.escape); got != tt.want {
				t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
				break
			}
		}
	}
}

func TestRedactRawQuery(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "",
		"a=1&b=2":                     "a=1&b=2",
		"sig=abc":                     "sig=REDACTED",
		"a=1&X-Amz-Signature=abc&b=2": "a=1&X-Amz-Signature=REDACTED&b=2",
		"X-Amz-Credential=a%2Fb&sig=": "X-Amz-Credential=REDACTED&sig=REDACTED",
		"sig":                         "sig",
		"x-amz-signature=keep":        "x-amz-signature=keep",
		"a=sig=1":                     "a=sig=1",
		"&&sig=1&&":                   "&&sig=REDACTED&&",
		"X-Amz-Security-Token=t&X-Goog-Signature=g": "X-Amz-Security-Token=REDACTED&X-Goog-Signature=REDACTED",
	} {
		if got := redactRawQuery(in); got != want {
			t.Errorf("redactRawQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestQueryThroughExtract: the v2 raw query is kept as sent; v1 is rebuilt.
func TestQueryThroughExtract(t *testing.T) {
	v2 := events.APIGatewayV2HTTPRequest{RawQueryString: "z=1&a=%20"}
	v2.RequestContext.HTTP.Method = "GET"
	if got := attrMap(t, Extract(v2, nil))[semconv.URLQueryKey].AsString(); got != "z=1&a=%20" {
		t.Errorf("v2 url.query %q", got)
	}
	v1 := events.APIGatewayProxyRequest{HTTPMethod: "GET", QueryStringParameters: map[string]string{"z": "1", "a": " "}}
	if got := attrMap(t, Extract(v1, nil))[semconv.URLQueryKey].AsString(); got != "a=+&z=1" {
		t.Errorf("v1 url.query %q", got)
	}
	v1.QueryStringParameters = nil
	if _, ok := attrMap(t, Extract(v1, nil))[semconv.URLQueryKey]; ok {
		t.Error("url.query must be absent without a query")
	}
}
