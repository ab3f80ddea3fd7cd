package trigger

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// maxHTTPAttrs is the most attributes httpRequest.info emits: method,
// original method, path, query, scheme, route, protocol version, client
// address, user agent, server address and port.
const maxHTTPAttrs = 11

// httpRequest is what the four HTTP event types have in common, read from
// each by its own function and turned into an Info by one.
type httpRequest struct {
	method    string
	path      string
	query     string // without '?', sensitive values already redacted
	scheme    string
	route     string // the route template, "" when unknown
	protocol  string // as the event gives it, e.g. "HTTP/1.1"
	client    string
	userAgent string
	host      string // source of server.address; may end in ":port"
	port      string // x-forwarded-port, used when host has no port
	headers   Headers
}

// info builds the Info of an HTTP server span following the stable HTTP
// semantic conventions.
func (r *httpRequest) info() Info {
	// Attributes are gathered on the stack and copied once into a slice of
	// exactly the right size: one allocation per event.
	var buf [maxHTTPAttrs]attribute.KeyValue
	attrs, spanMethod := appendMethod(buf[:0], knownMethods(), r.method)
	if r.path != "" {
		attrs = append(attrs, semconv.URLPath(r.path))
	}
	if r.query != "" {
		attrs = append(attrs, semconv.URLQuery(r.query))
	}
	if r.scheme != "" {
		attrs = append(attrs, semconv.URLScheme(r.scheme))
	}
	if r.route != "" {
		attrs = append(attrs, semconv.HTTPRoute(r.route))
	}
	if v := protocolVersion(r.protocol); v != "" {
		attrs = append(attrs, semconv.NetworkProtocolVersion(v))
	}
	if r.client != "" {
		attrs = append(attrs, semconv.ClientAddress(r.client))
	}
	if r.userAgent != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(r.userAgent))
	}
	// server.port is only meaningful with server.address (the conventions
	// make it conditional on it).
	if host, port := splitHostPort(r.host); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port == 0 {
			port = parsePort(r.port)
		}
		if port != 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	out := make([]attribute.KeyValue, len(attrs))
	copy(out, attrs)

	// The span name is "{method} {http.route}", or "{method}" alone: never
	// the path, whose cardinality is unbounded.
	name := spanMethod
	if r.route != "" {
		name = spanMethod + " " + r.route
	}
	return Info{
		SpanName:   name,
		Kind:       trace.SpanKindServer,
		Trigger:    TriggerHTTP,
		Attributes: out,
		Carrier:    r.headers,
		HTTP:       true,
	}
}

// fillFromHeaders completes what the event's own fields did not say from
// the headers: the original client from X-Forwarded-For, the user agent
// from User-Agent, the server from Host, and the port the client connected
// to from X-Forwarded-Port. The event's fields come first because API
// Gateway sets them itself, while a client can send any header; headers are
// only looked up when needed.
func (r *httpRequest) fillFromHeaders() {
	h := r.headers
	if r.client == "" {
		r.client = firstListValue(h["x-forwarded-for"])
	}
	if r.userAgent == "" {
		r.userAgent = h["user-agent"]
	}
	if r.host == "" {
		r.host = h["host"]
	}
	r.port = h["x-forwarded-port"]
}

// fromAPIGatewayV1 reads an API Gateway REST API (payload format 1.0) event.
func fromAPIGatewayV1(e *events.APIGatewayProxyRequest) Info {
	h := mergeHeaders(e.Headers, e.MultiValueHeaders)
	rc := &e.RequestContext
	r := httpRequest{
		method: e.HTTPMethod,
		path:   e.Path,
		// API Gateway decodes the query string into the parameter maps.
		query: buildQuery(e.MultiValueQueryStringParameters, e.QueryStringParameters, true),
		// API Gateway endpoints only accept HTTPS.
		scheme:    "https",
		route:     v1Route(e.Resource),
		protocol:  rc.Protocol,
		client:    rc.Identity.SourceIP,
		userAgent: rc.Identity.UserAgent,
		host:      rc.DomainName,
		headers:   h,
	}
	r.fillFromHeaders()
	return r.info()
}

// fromAPIGatewayV2 reads an API Gateway HTTP API (payload format 2.0) event.
func fromAPIGatewayV2(e *events.APIGatewayV2HTTPRequest) Info {
	h := lowerHeaders(e.Headers)
	rc := &e.RequestContext
	routeKey := e.RouteKey
	if routeKey == "" {
		routeKey = rc.RouteKey
	}
	r := httpRequest{
		method:    rc.HTTP.Method,
		path:      firstNonEmpty(e.RawPath, rc.HTTP.Path),
		query:     redactRawQuery(e.RawQueryString),
		scheme:    "https",
		route:     v2Route(routeKey),
		protocol:  rc.HTTP.Protocol,
		client:    rc.HTTP.SourceIP,
		userAgent: rc.HTTP.UserAgent,
		host:      rc.DomainName,
		headers:   h,
	}
	r.fillFromHeaders()
	return r.info()
}

// fromFunctionURL reads a Lambda Function URL event. Function URLs have no
// routing, so there is no http.route and the span is named by the method.
func fromFunctionURL(e *events.LambdaFunctionURLRequest) Info {
	h := lowerHeaders(e.Headers)
	rc := &e.RequestContext
	r := httpRequest{
		method:    rc.HTTP.Method,
		path:      firstNonEmpty(e.RawPath, rc.HTTP.Path),
		query:     redactRawQuery(e.RawQueryString),
		scheme:    "https",
		protocol:  rc.HTTP.Protocol,
		client:    rc.HTTP.SourceIP,
		userAgent: rc.HTTP.UserAgent,
		host:      rc.DomainName,
		headers:   h,
	}
	r.fillFromHeaders()
	return r.info()
}

// fromALB reads an Application Load Balancer target group event. ALB
// matches listener rules, not route templates, so there is no http.route;
// it does not say which HTTP version the client used, so there is no
// network.protocol.version either (the conventions say not to guess). The
// target group ARN is not recorded: no semantic-convention attribute exists
// for it.
func fromALB(e *events.ALBTargetGroupRequest) Info {
	h := mergeHeaders(e.Headers, e.MultiValueHeaders)
	r := httpRequest{
		method: e.HTTPMethod,
		path:   e.Path,
		// ALB passes the query string as the client sent it, undecoded.
		query:   buildQuery(e.MultiValueQueryStringParameters, e.QueryStringParameters, false),
		scheme:  forwardedScheme(h["x-forwarded-proto"]),
		headers: h,
	}
	r.fillFromHeaders()
	return r.info()
}

// v1Route returns the resource of a REST API event as http.route: it is the
// route template API Gateway matched (e.g. "/items/{id}" or "/{proxy+}").
func v1Route(resource string) string {
	if strings.HasPrefix(resource, "/") {
		return resource
	}
	return ""
}

// v2Route returns the path template of an HTTP API route key ("GET
// /items/{id}" → "/items/{id}"; "ANY /{proxy+}" → "/{proxy+}"). The method is
// dropped because http.route is a path template. "$default" matches any
// request, so it is no route at all.
func v2Route(routeKey string) string {
	if _, path, ok := strings.Cut(routeKey, " "); ok {
		routeKey = strings.TrimSpace(path)
	}
	if strings.HasPrefix(routeKey, "/") {
		return routeKey
	}
	return ""
}

// protocolVersion turns "HTTP/1.1" into "1.1" and "HTTP/2.0" into "2": the
// conventions' network.protocol.version values are "1.0", "1.1", "2" and
// "3". Anything that is not an HTTP version yields "".
func protocolVersion(p string) string {
	if len(p) < 6 || !strings.EqualFold(p[:5], "HTTP/") {
		return ""
	}
	v := p[5:]
	major, minor, hasMinor := strings.Cut(v, ".")
	if !isSmallNumber(major) || (hasMinor && !isSmallNumber(minor)) {
		return ""
	}
	if hasMinor && minor == "0" && major != "0" && major != "1" {
		return major
	}
	return v
}

// isSmallNumber reports whether s is one to three ASCII digits.
func isSmallNumber(s string) bool {
	if len(s) == 0 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// forwardedScheme returns the scheme named by an X-Forwarded-Proto header,
// "http" when it names none: ALB sets the header, and without it the
// request reached ALB over plain HTTP.
func forwardedScheme(proto string) string {
	p := firstListValue(proto)
	if strings.EqualFold(p, "https") {
		return "https"
	}
	return "http"
}

// firstListValue returns the first entry of a comma-separated header value,
// trimmed: the original client in X-Forwarded-For, the client-facing value
// in X-Forwarded-Proto and X-Forwarded-Port.
func firstListValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// firstNonEmpty returns a, or b when a is empty.
func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// splitHostPort splits a Host header or domain name into host and port
// (0 when absent or invalid). It accepts "host", "host:port", "[v6]" and
// "[v6]:port"; a bare IPv6 address is returned whole.
func splitHostPort(hp string) (string, int) {
	hp = strings.TrimSpace(hp)
	if hp == "" {
		return "", 0
	}
	if hp[0] == '[' {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return hp, 0
		}
		host, rest := hp[1:end], hp[end+1:]
		if p, ok := strings.CutPrefix(rest, ":"); ok {
			return host, parsePort(p)
		}
		return host, 0
	}
	i := strings.IndexByte(hp, ':')
	if i < 0 || strings.IndexByte(hp[i+1:], ':') >= 0 {
		return hp, 0
	}
	return hp[:i], parsePort(hp[i+1:])
}

// parsePort parses a port number (the first entry when it is a list), 0 when
// it is not one in 1–65535.
func parsePort(s string) int {
	s = firstListValue(s)
	if len(s) == 0 || len(s) > 5 {
		return 0
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0
	}
	return n
}
