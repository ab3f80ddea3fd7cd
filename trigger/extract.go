package trigger

import (
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
)

// Extract describes an invocation from its event. event is the decoded event
// the handler receives (possibly nil or of any type); raw is the event's JSON
// (possibly nil). The first of these that applies wins:
//
//  1. the custom extractors, in order: the first that returns ok;
//  2. event's own TriggerInfo, when it implements Describer;
//  3. event as one of aws-lambda-go's HTTP request types, or a pointer to
//     one: events.APIGatewayProxyRequest (REST API),
//     events.APIGatewayV2HTTPRequest (HTTP API), events.ALBTargetGroupRequest
//     and events.LambdaFunctionURLRequest. A value with an empty HTTP method
//     is skipped: it is what a handler typed for HTTP decodes from some other
//     trigger's event;
//  4. raw (or event itself when it is a json.RawMessage or []byte and raw is
//     nil) recognised as one of those four shapes by one cheap probe decode,
//     then decoded into the recognised type and read as in step 3;
//  5. otherwise, a JSON object (raw, or event as a map[string]any) with a
//     "headers" object yields those headers' string values as the carrier,
//     with Trigger "other" and nothing else.
//
// Raw JSON with "version" "2.0" and a requestContext.http.method is a
// Function URL event when requestContext.domainName is
// "<url-id>.lambda-url.<region>.on.aws" or when it has no routeKey at all,
// and an HTTP API event otherwise: real Function URL events carry routeKey
// "$default" like an HTTP API's default route, so the domain decides. Raw JSON
// with an httpMethod is an ALB event when requestContext.elb is an object,
// and a REST API event when it has a requestContext without connectionId
// (WebSocket APIs have one) and a "version" other than "2.0" (HTTP APIs with
// payload format 1.0 send "1.0"). Lambda authorizer events, which copy the
// request they authorize but carry a methodArn or routeArn, are not HTTP
// events: the function answers them with a policy.
//
// HTTP events yield an HTTP server span as the stable HTTP semantic
// conventions describe it: kind SERVER; name "{method} {http.route}" when API
// Gateway matched a route template and "{method}" otherwise (never the path),
// {method} being "HTTP" for a method outside the known list;
// http.request.method (or "_OTHER" with http.request.method_original),
// url.path, url.query, url.scheme, http.route, network.protocol.version,
// client.address, user_agent.original, server.address and server.port, each
// when the event has it. faas.trigger is left to the caller, which sets it
// from Info.Trigger.
//
// The carrier holds every header with its name lower-cased. It may be the
// event's own header map when that is already lower-case, so it must be
// treated as read-only.
//
// Extract never panics, whatever the input; a custom extractor or Describer
// that panics counts as not recognising the event.
func Extract(event any, raw []byte, custom ...Extractor) Info {
	for _, x := range custom {
		if x == nil {
			continue
		}
		if info, ok := callExtractor(x, event, raw); ok {
			return info
		}
	}
	if d, ok := event.(Describer); ok {
		if info, ok := callDescriber(d); ok {
			return info
		}
	}
	if info, ok := extractTyped(event); ok {
		return info
	}
	if raw == nil {
		switch e := event.(type) {
		case json.RawMessage:
			raw = e
		case []byte:
			raw = e
		}
	}
	if len(raw) > 0 {
		return extractRaw(raw)
	}
	if m, ok := event.(map[string]any); ok {
		var carrier Headers
		switch h := m["headers"].(type) {
		case map[string]any:
			carrier = headersFromJSON(h)
		case map[string]string:
			carrier = lowerHeaders(h)
		}
		return Info{Trigger: TriggerOther, Carrier: carrier}
	}
	return Info{Trigger: TriggerOther}
}

// callExtractor runs user code, turning a panic into "not recognised":
// telemetry must never fail the function it observes.
func callExtractor(x Extractor, event any, raw []byte) (info Info, ok bool) {
	defer func() {
		if recover() != nil {
			info, ok = Info{}, false
		}
	}()
	return x.Extract(event, raw)
}

// callDescriber runs d.TriggerInfo, turning a panic (e.g. a nil pointer
// receiver) into "not recognised".
func callDescriber(d Describer) (info Info, ok bool) {
	defer func() {
		if recover() != nil {
			info, ok = Info{}, false
		}
	}()
	return d.TriggerInfo(), true
}

// extractTyped handles aws-lambda-go's HTTP request types. Nil pointers and
// values without a method are not recognised, so that the raw JSON, if any,
// gets its turn.
func extractTyped(event any) (Info, bool) {
	switch e := event.(type) {
	case events.APIGatewayProxyRequest:
		if e.HTTPMethod != "" {
			return fromAPIGatewayV1(&e), true
		}
	case *events.APIGatewayProxyRequest:
		if e != nil && e.HTTPMethod != "" {
			return fromAPIGatewayV1(e), true
		}
	case events.APIGatewayV2HTTPRequest:
		if e.RequestContext.HTTP.Method != "" {
			return fromAPIGatewayV2(&e), true
		}
	case *events.APIGatewayV2HTTPRequest:
		if e != nil && e.RequestContext.HTTP.Method != "" {
			return fromAPIGatewayV2(e), true
		}
	case events.ALBTargetGroupRequest:
		if e.HTTPMethod != "" {
			return fromALB(&e), true
		}
	case *events.ALBTargetGroupRequest:
		if e != nil && e.HTTPMethod != "" {
			return fromALB(e), true
		}
	case events.LambdaFunctionURLRequest:
		if e.RequestContext.HTTP.Method != "" {
			return fromFunctionURL(&e), true
		}
	case *events.LambdaFunctionURLRequest:
		if e != nil && e.RequestContext.HTTP.Method != "" {
			return fromFunctionURL(e), true
		}
	}
	return Info{}, false
}
