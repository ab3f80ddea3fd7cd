package trigger

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// fixture is one event in testdata and, for the HTTP ones, the
// aws-lambda-go type a typed handler would decode it into.
type fixture struct {
	file  string
	typed func() any // a pointer to a new zero value; nil: no typed path
}

var fixtures = []fixture{
	{"apigw-rest.json", func() any { return new(events.APIGatewayProxyRequest) }},
	{"apigw-http-payload-v1.json", func() any { return new(events.APIGatewayProxyRequest) }},
	{"apigw-http-route.json", func() any { return new(events.APIGatewayV2HTTPRequest) }},
	{"apigw-http-default.json", func() any { return new(events.APIGatewayV2HTTPRequest) }},
	{"alb-single.json", func() any { return new(events.ALBTargetGroupRequest) }},
	{"alb-multi.json", func() any { return new(events.ALBTargetGroupRequest) }},
	{"function-url.json", func() any { return new(events.LambdaFunctionURLRequest) }},
	{"generic-headers.json", nil},
	{"websocket-connect.json", nil},
	{"sqs.json", nil},
	{"garbage.txt", nil},
}

// goldenInfo is Info in a stable, readable form.
type goldenInfo struct {
	SpanName   string            `json:"spanName"`
	Kind       string            `json:"kind"`
	Trigger    string            `json:"trigger"`
	HTTP       bool              `json:"http"`
	Attributes []goldenAttr      `json:"attributes"`
	Carrier    map[string]string `json:"carrier"`
	Links      int               `json:"links"`
}

type goldenAttr struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

func render(t testing.TB, info Info) []byte {
	t.Helper()
	g := goldenInfo{
		SpanName: info.SpanName,
		Kind:     info.Kind.String(),
		Trigger:  info.Trigger,
		HTTP:     info.HTTP,
		Carrier:  info.Carrier,
		Links:    len(info.Links),
	}
	for _, kv := range sortedAttrs(info.Attributes) {
		g.Attributes = append(g.Attributes, goldenAttr{string(kv.Key), kv.Value.Type().String(), kv.Value.AsInterface()})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep '&' in url.query readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sortedAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	s := slices.Clone(attrs)
	slices.SortStableFunc(s, func(a, b attribute.KeyValue) int { return strings.Compare(string(a.Key), string(b.Key)) })
	return s
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGolden checks the full Info of every fixture through every path that
// should produce it: raw JSON alone, raw JSON given as the event, raw JSON
// alongside a map decode, and, for HTTP events, the typed value and pointer
// without raw JSON.
func TestGolden(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.file, func(t *testing.T) {
			raw := readFixture(t, f.file)
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(f.file, filepath.Ext(f.file))+".golden.json")
			got := render(t, Extract(nil, raw))
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			check := func(path string, info Info) {
				t.Helper()
				if got := render(t, info); !bytes.Equal(got, want) {
					t.Errorf("%s path:\n got: %s\nwant: %s", path, got, want)
				}
			}
			check("raw", Extract(nil, raw))
			check("raw as event", Extract(json.RawMessage(raw), nil))
			check("bytes as event", Extract(raw, nil))
			var m map[string]any
			if json.Unmarshal(raw, &m) == nil {
				check("map with raw", Extract(m, raw))
			}
			if f.typed == nil {
				return
			}
			ptr := f.typed()
			if err := json.Unmarshal(raw, ptr); err != nil {
				t.Fatalf("typed decode: %v", err)
			}
			check("typed pointer", Extract(ptr, nil))
			check("typed value", Extract(deref(ptr), nil))
			// A typed event wins over raw JSON that says something else.
			check("typed with other raw", Extract(ptr, readFixture(t, "sqs.json")))
		})
	}
}

// deref returns the value a fixture pointer points to.
func deref(p any) any {
	switch e := p.(type) {
	case *events.APIGatewayProxyRequest:
		return *e
	case *events.APIGatewayV2HTTPRequest:
		return *e
	case *events.ALBTargetGroupRequest:
		return *e
	case *events.LambdaFunctionURLRequest:
		return *e
	}
	panic("unknown fixture type")
}

// attrMap returns info's attributes by key, failing on duplicates.
func attrMap(t *testing.T, info Info) map[attribute.Key]attribute.Value {
	t.Helper()
	m := make(map[attribute.Key]attribute.Value, len(info.Attributes))
	for _, kv := range info.Attributes {
		if _, dup := m[kv.Key]; dup {
			t.Errorf("duplicate attribute %s", kv.Key)
		}
		m[kv.Key] = kv.Value
	}
	return m
}

// TestHTTPSemantics spells out, per event type, the decisions the golden
// files encode, so that a careless -update cannot silently change them.
func TestHTTPSemantics(t *testing.T) {
	tests := []struct {
		file      string
		name      string
		route     string // "" means absent
		query     string
		scheme    string
		proto     string
		client    string
		server    string
		port      int64
		uaPresent bool
	}{
		{"apigw-rest.json", "GET /items/{id}", "/items/{id}", "q=a+b%26c&sig=REDACTED&tag=red&tag=blue", "https", "1.1", "198.51.100.23", "abcdef1234.execute-api.eu-west-1.amazonaws.com", 443, true},
		{"apigw-http-payload-v1.json", "POST /orders", "/orders", "", "https", "1.1", "192.0.2.10", "h7xmpl9c1d.execute-api.ap-southeast-2.amazonaws.com", 443, true},
		{"apigw-http-route.json", "PUT /items/{id}", "/items/{id}", "a=1&a=2&b=x%20y", "https", "2", "205.255.255.176", "r3pmxmplak.execute-api.us-east-2.amazonaws.com", 443, true},
		{"apigw-http-default.json", "DELETE", "", "", "https", "1.1", "1.2.3.4", "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com", 443, true},
		{"alb-single.json", "GET", "", "lang=en&myKey=%3FshowAll%3Dtrue", "https", "", "72.21.198.66", "lambda-846800462-us-east-2.elb.amazonaws.com", 443, true},
		{"alb-multi.json", "POST", "", "X-Amz-Signature=REDACTED&myKey=val1&myKey=val2", "http", "", "72.21.198.67", "internal-alb-1234567.us-east-1.elb.amazonaws.com", 8080, true},
		{"function-url.json", "GET", "", "X-Amz-Credential=REDACTED&page=2&X-Amz-Signature=REDACTED", "https", "1.1", "123.123.123.123", "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-east-1.on.aws", 443, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			info := Extract(nil, readFixture(t, tt.file))
			if info.SpanName != tt.name || info.Kind != trace.SpanKindServer || info.Trigger != TriggerHTTP || !info.HTTP {
				t.Errorf("name %q kind %v trigger %q http %v", info.SpanName, info.Kind, info.Trigger, info.HTTP)
			}
			a := attrMap(t, info)
			str := func(k attribute.Key, want string) {
				t.Helper()
				v, ok := a[k]
				switch {
				case want == "" && ok:
					t.Errorf("%s = %q, want absent", k, v.String())
				case want != "" && (!ok || v.Type() != attribute.STRING || v.AsString() != want):
					t.Errorf("%s = %q (present %v), want %q", k, v.String(), ok, want)
				}
			}
			str(semconv.HTTPRouteKey, tt.route)
			str(semconv.URLQueryKey, tt.query)
			str(semconv.URLSchemeKey, tt.scheme)
			str(semconv.NetworkProtocolVersionKey, tt.proto)
			str(semconv.ClientAddressKey, tt.client)
			str(semconv.ServerAddressKey, tt.server)
			if p := a[semconv.ServerPortKey]; p.Type() != attribute.INT64 || p.AsInt64() != tt.port {
				t.Errorf("server.port = %v, want int %d", p.String(), tt.port)
			}
			if _, ok := a[semconv.UserAgentOriginalKey]; ok != tt.uaPresent {
				t.Errorf("user_agent.original present %v", ok)
			}
			if _, ok := a[semconv.URLPathKey]; !ok {
				t.Error("url.path missing")
			}
			// The Rust crate's keys and stringified values must not appear.
			for _, k := range []attribute.Key{"http.method", "http.target", "http.scheme", "alb.target_group_arn", "faas.trigger"} {
				if _, ok := a[k]; ok {
					t.Errorf("unexpected attribute %s", k)
				}
			}
			for k := range info.Carrier {
				if k != strings.ToLower(k) {
					t.Errorf("carrier key %q not lower-case", k)
				}
			}
			if len(info.Carrier) == 0 {
				t.Error("empty carrier")
			}
		})
	}
}

func TestCarrierMerge(t *testing.T) {
	raw := readFixture(t, "apigw-rest.json")
	info := Extract(nil, raw)
	if got := info.Carrier.Get("Accept"); got != "application/json,text/plain" {
		t.Errorf("accept = %q: multi-value headers must win, joined with ','", got)
	}
	if got := info.Carrier.Get("traceparent"); got != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Errorf("traceparent = %q", got)
	}

	// Single and multi-value maps with disjoint keys are merged; keys that
	// differ only in case resolve the same way whatever the map order.
	e := events.ALBTargetGroupRequest{
		HTTPMethod:        "GET",
		Headers:           map[string]string{"X-Only-Single": "s", "X-A": "1", "x-a": "2"},
		MultiValueHeaders: map[string][]string{"Cookie": {"a=1", "b=2"}, "X-Empty": {}},
	}
	for range 50 {
		c := Extract(e, nil).Carrier
		want := Headers{"x-only-single": "s", "x-a": "2", "cookie": "a=1,b=2"}
		if !mapsEqual(c, want) {
			t.Fatalf("carrier %v, want %v", c, want)
		}
	}

	// v2 headers already lower-case are used as they are.
	v2 := events.APIGatewayV2HTTPRequest{Headers: map[string]string{"traceparent": "x"}}
	v2.RequestContext.HTTP.Method = "GET"
	if c := Extract(v2, nil).Carrier; c["traceparent"] != "x" {
		t.Errorf("v2 carrier %v", c)
	}
	v2.Headers = map[string]string{"TraceParent": "y", "traceparent": "x"}
	for range 50 {
		if c := Extract(v2, nil).Carrier; len(c) != 1 || c["traceparent"] != "y" {
			t.Fatalf("v2 mixed-case carrier %v", c)
		}
	}
}

func mapsEqual(a, b Headers) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestPrecedence(t *testing.T) {
	raw := readFixture(t, "apigw-http-route.json")
	var typed events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &typed); err != nil {
		t.Fatal(err)
	}
	decline := ExtractorFunc(func(any, []byte) (Info, bool) { return Info{SpanName: "declined"}, false })
	first := ExtractorFunc(func(any, []byte) (Info, bool) { return Info{SpanName: "first", Trigger: TriggerPubSub}, true })
	second := ExtractorFunc(func(any, []byte) (Info, bool) { return Info{SpanName: "second"}, true })
	panics := ExtractorFunc(func(any, []byte) (Info, bool) { panic("boom") })
	var nilFunc ExtractorFunc

	if got := Extract(typed, raw, decline, first, second); got.SpanName != "first" || got.Trigger != TriggerPubSub {
		t.Errorf("first ok extractor must win, got %+v", got)
	}
	if got := Extract(typed, raw, nil, panics, nilFunc, decline); got.SpanName != "PUT /items/{id}" {
		t.Errorf("declining, nil and panicking extractors must fall through to the built-ins, got %q", got.SpanName)
	}

	// The extractor sees both the event and the raw JSON.
	var sawEvent any
	var sawRaw []byte
	spy := ExtractorFunc(func(e any, r []byte) (Info, bool) { sawEvent, sawRaw = e, r; return Info{}, false })
	Extract(42, raw, spy)
	if sawEvent != 42 || !bytes.Equal(sawRaw, raw) {
		t.Errorf("extractor saw %v, %d bytes", sawEvent, len(sawRaw))
	}

	// A Describer wins over the built-ins and the raw JSON, but not over a
	// custom extractor.
	d := describedEvent{name: "described"}
	if got := Extract(d, raw); got.SpanName != "described" {
		t.Errorf("describer: %q", got.SpanName)
	}
	if got := Extract(d, raw, first); got.SpanName != "first" {
		t.Errorf("extractor over describer: %q", got.SpanName)
	}
	// A Describer that panics (nil pointer receiver) falls through to raw.
	var nilDescriber *ptrDescriber
	if got := Extract(nilDescriber, raw); got.SpanName != "PUT /items/{id}" {
		t.Errorf("nil describer: %q", got.SpanName)
	}
	if got := Extract(&ptrDescriber{name: "ptr"}, nil); got.SpanName != "ptr" {
		t.Errorf("pointer describer: %q", got.SpanName)
	}
}

type describedEvent struct{ name string }

func (d describedEvent) TriggerInfo() Info {
	return Info{SpanName: d.name, Trigger: TriggerDatasource}
}

type ptrDescriber struct{ name string }

func (d *ptrDescriber) TriggerInfo() Info { return Info{SpanName: d.name} }

// TestUnrecognised covers events that are not HTTP: they all give Trigger
// "other" and, at most, a carrier.
func TestUnrecognised(t *testing.T) {
	other := func(t *testing.T, info Info) {
		t.Helper()
		if info.Trigger != TriggerOther || info.SpanName != "" || info.HTTP || len(info.Attributes) != 0 || info.Kind != trace.SpanKindUnspecified {
			t.Errorf("not a plain other: %+v", info)
		}
	}
	var nilV1 *events.APIGatewayProxyRequest
	var nilV2 *events.APIGatewayV2HTTPRequest
	var nilALB *events.ALBTargetGroupRequest
	var nilURL *events.LambdaFunctionURLRequest
	for _, ev := range []any{nil, nilV1, nilV2, nilALB, nilURL, events.APIGatewayProxyRequest{}, events.APIGatewayV2HTTPRequest{},
		events.ALBTargetGroupRequest{}, events.LambdaFunctionURLRequest{}, 42, "text", []byte(nil), json.RawMessage(nil), map[string]any{}} {
		other(t, Extract(ev, nil))
	}
	for _, raw := range []string{"", "null", "true", "12", `"s"`, "[]", "[1,2]", "{", "{}", `{"headers":5}`, `{"headers":null}`,
		`{"headers":["a"]}`, `{"version":"2.0","requestContext":{"http":"GET"}}`, `{"httpMethod":"GET"}`,
		`{"httpMethod":"GET","requestContext":null}`, `{"httpMethod":"","requestContext":{}}`,
		`{"version":"2.0","httpMethod":"GET","requestContext":{}}`,
		`{"version":"2.0","requestContext":{"http":{"method":""}}}`, "\xff\xfe"} {
		info := Extract(nil, []byte(raw))
		other(t, info)
		if info.Carrier != nil {
			t.Errorf("%q: carrier %v", raw, info.Carrier)
		}
	}
	// A typed zero value (a handler typed for API Gateway invoked by
	// something else) gives the raw JSON its turn.
	info := Extract(events.APIGatewayProxyRequest{}, []byte(`{"headers":{"traceparent":"t"}}`))
	other(t, info)
	if info.Carrier.Get("traceparent") != "t" {
		t.Errorf("carrier %v", info.Carrier)
	}
	// Deep nesting and huge values neither panic nor confuse detection.
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	other(t, Extract(nil, []byte(deep)))
	other(t, Extract(nil, []byte(strings.Repeat("[", 1<<20))))
	huge := strings.Repeat("x", 4<<20)
	info = Extract(nil, []byte(`{"headers":{"traceparent":"`+huge+`"},"body":"`+huge+`"}`))
	other(t, info)
	if len(info.Carrier["traceparent"]) != len(huge) {
		t.Error("huge header value lost")
	}
	big := Extract(nil, []byte(`{"version":"2.0","routeKey":"GET /`+huge+`","rawPath":"/`+huge+`","requestContext":{"http":{"method":"GET"},"routeKey":"x"}}`))
	if big.Trigger != TriggerHTTP || len(big.SpanName) != len(huge)+5 {
		t.Errorf("huge v2 event: trigger %q, name length %d", big.Trigger, len(big.SpanName))
	}
	// A map event without raw JSON still yields its headers.
	info = Extract(map[string]any{"headers": map[string]any{"X-Trace": "v", "n": 1.0}}, nil)
	other(t, info)
	if len(info.Carrier) != 1 || info.Carrier["x-trace"] != "v" {
		t.Errorf("map carrier %v", info.Carrier)
	}
	info = Extract(map[string]any{"headers": map[string]string{"X-Trace": "s"}}, nil)
	other(t, info)
	if len(info.Carrier) != 1 || info.Carrier["x-trace"] != "s" {
		t.Errorf("map[string]string carrier %v", info.Carrier)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		raw  string
		want shape
	}{
		// Function URL: the domain decides, even with routeKey "$default".
		{`{"version":"2.0","routeKey":"$default","requestContext":{"http":{"method":"GET"},"domainName":"x.lambda-url.eu-west-1.on.aws","routeKey":"$default"}}`, shapeFunctionURL},
		// aws-lambda-go's sample: no routeKey anywhere.
		{`{"version":"2.0","requestContext":{"http":{"method":"GET"},"domainName":"<url-id>.lambda-url.us-west-2.on.aws"}}`, shapeFunctionURL},
		{`{"version":"2.0","requestContext":{"http":{"method":"GET"}}}`, shapeFunctionURL},
		{`{"version":"2.0","routeKey":"$default","requestContext":{"http":{"method":"GET"},"domainName":"api.example.com"}}`, shapeAPIGatewayV2},
		{`{"version":"2.0","requestContext":{"http":{"method":"GET"},"routeKey":"GET /x"}}`, shapeAPIGatewayV2},
		{`{"version":"2.0","routeKey":"GET /x","requestContext":{"http":{"method":"GET"},"domainName":"lambda-url.on.aws.example.com"}}`, shapeAPIGatewayV2},
		{`{"httpMethod":"GET","requestContext":{"elb":{"targetGroupArn":"arn"}}}`, shapeALB},
		{`{"httpMethod":"GET","requestContext":{"elb":{}}}`, shapeALB},
		{`{"httpMethod":"GET","requestContext":{"resourcePath":"/x","stage":"prod"}}`, shapeAPIGatewayV1},
		{`{"version":"1.0","httpMethod":"GET","requestContext":{}}`, shapeAPIGatewayV1},
		{`{"version":"2.0","httpMethod":"GET","requestContext":{}}`, shapeUnknown},
		{`{"httpMethod":"POST","requestContext":{"connectionId":"abc=","eventType":"CONNECT"}}`, shapeUnknown},
		{`{"requestContext":{"elb":{}}}`, shapeUnknown},
		{`{"httpMethod":"GET"}`, shapeUnknown},
		// Lambda authorizer events copy the request but are not HTTP events.
		{`{"type":"REQUEST","methodArn":"arn:aws:execute-api:us-east-1:1:a/test/GET/r","resource":"/r","httpMethod":"GET","requestContext":{"stage":"test"}}`, shapeUnknown},
		{`{"version":"2.0","type":"REQUEST","routeArn":"arn:aws:execute-api:us-east-1:1:a/test/GET/r","routeKey":"$default","requestContext":{"http":{"method":"POST"}}}`, shapeUnknown},
	}
	for _, tt := range tests {
		var p probe
		if !decodeLoose([]byte(tt.raw), &p) {
			t.Fatalf("%s: not JSON", tt.raw)
		}
		if got := classify(&p); got != tt.want {
			t.Errorf("%s: shape %d, want %d", tt.raw, got, tt.want)
		}
	}
}

// TestLooseDecode: a field of the wrong type does not lose the rest.
func TestLooseDecode(t *testing.T) {
	raw := `{"version":"2.0","routeKey":"GET /x","rawPath":"/x","isBase64Encoded":"yes","headers":{"traceparent":"t","n":5},
		"requestContext":{"http":{"method":"GET","sourceIp":7},"domainName":"d.example.com"}}`
	info := Extract(nil, []byte(raw))
	if info.SpanName != "GET /x" || info.Carrier["traceparent"] != "t" {
		t.Errorf("%+v", info)
	}
}

func TestV2Route(t *testing.T) {
	for in, want := range map[string]string{
		"GET /items/{id}":  "/items/{id}",
		"ANY /{proxy+}":    "/{proxy+}",
		"POST  /spaced":    "/spaced",
		"$default":         "",
		"":                 "",
		"/bare":            "/bare",
		"GET":              "",
		"GET items":        "",
		"$connect":         "",
		"GET /a b":         "/a b",
		"DELETE /x/{y}/z/": "/x/{y}/z/",
	} {
		if got := v2Route(in); got != want {
			t.Errorf("v2Route(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"/items/{id}": "/items/{id}", "": "", "$default": "", "items": ""} {
		if got := v1Route(in); got != want {
			t.Errorf("v1Route(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProtocolVersion(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP/1.1": "1.1", "HTTP/1.0": "1.0", "HTTP/2.0": "2", "HTTP/2": "2", "HTTP/3.0": "3", "HTTP/3": "3",
		"http/1.1": "1.1", "HTTP/": "", "HTTP/x": "", "SPDY/3": "", "": "", "HTTP/1.1.1": "", "HTTP/1234": "", "HTTP/2.1": "2.1",
	} {
		if got := protocolVersion(in); got != want {
			t.Errorf("protocolVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port int
	}{
		{"example.com", "example.com", 0},
		{"example.com:8080", "example.com", 8080},
		{"example.com:0", "example.com", 0},
		{"example.com:70000", "example.com", 0},
		{"example.com:x", "example.com", 0},
		{"[2001:db8::1]:443", "2001:db8::1", 443},
		{"[2001:db8::1]", "2001:db8::1", 0},
		{"2001:db8::1", "2001:db8::1", 0},
		{"[broken", "[broken", 0},
		{" spaced.example.com ", "spaced.example.com", 0},
		{"", "", 0},
	}
	for _, tt := range tests {
		if h, p := splitHostPort(tt.in); h != tt.host || p != tt.port {
			t.Errorf("splitHostPort(%q) = %q, %d; want %q, %d", tt.in, h, p, tt.host, tt.port)
		}
	}
	for in, want := range map[string]int{"443": 443, "443, 80": 443, " 80 ": 80, "": 0, "-1": 0, "65535": 65535, "65536": 0, "123456": 0} {
		if got := parsePort(in); got != want {
			t.Errorf("parsePort(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestForwardedScheme(t *testing.T) {
	for in, want := range map[string]string{"https": "https", "HTTPS": "https", "http": "http", "": "http", "https, http": "https", "ftp": "http", " https ": "https"} {
		if got := forwardedScheme(in); got != want {
			t.Errorf("forwardedScheme(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestALBNoProtocolAndNoARN: ALB does not report the client's HTTP version,
// and semconv has no key for the target group ARN.
func TestALBNoProtocolAndNoARN(t *testing.T) {
	info := Extract(nil, readFixture(t, "alb-single.json"))
	for _, kv := range info.Attributes {
		if kv.Key == semconv.NetworkProtocolVersionKey || strings.Contains(string(kv.Key), "target_group") {
			t.Errorf("unexpected %s", kv.Key)
		}
	}
}

// TestExactCapacity: the attribute slice is allocated at its final size.
func TestExactCapacity(t *testing.T) {
	for _, f := range fixtures {
		info := Extract(nil, readFixture(t, f.file))
		if cap(info.Attributes) != len(info.Attributes) {
			t.Errorf("%s: len %d cap %d", f.file, len(info.Attributes), cap(info.Attributes))
		}
	}
}

func TestLowerCommon(t *testing.T) {
	for _, s := range []string{"Accept", "X-Forwarded-For", "CloudFront-Is-SmartTV-Viewer", "DNT", "Traceparent", "Foo-Bar", "already-lower", "MiXeD"} {
		if got := lower(s); got != strings.ToLower(s) {
			t.Errorf("lower(%q) = %q", s, got)
		}
	}
}
