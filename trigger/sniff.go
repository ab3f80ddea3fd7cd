package trigger

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// shape is an event type recognised in raw JSON.
type shape uint8

const (
	shapeUnknown shape = iota
	shapeAPIGatewayV1
	shapeAPIGatewayV2
	shapeFunctionURL
	shapeALB
)

// probe is the cheap first decode of a raw event: just the fields that tell
// the shapes apart, plus the headers object kept undecoded for the generic
// fallback (so that a large non-HTTP event, e.g. an SQS batch, is scanned
// once, not twice).
type probe struct {
	Version        string          `json:"version"`
	RouteKey       *string         `json:"routeKey"`
	HTTPMethod     string          `json:"httpMethod"`
	MethodArn      string          `json:"methodArn"`
	RouteArn       string          `json:"routeArn"`
	Headers        json.RawMessage `json:"headers"`
	RequestContext *probeContext   `json:"requestContext"`
}

// probeContext is the part of requestContext the shapes differ in.
type probeContext struct {
	HTTP *struct {
		Method string `json:"method"`
	} `json:"http"`
	ELB          *struct{} `json:"elb"`
	DomainName   string    `json:"domainName"`
	RouteKey     *string   `json:"routeKey"`
	ConnectionID string    `json:"connectionId"`
}

// decodeLoose decodes raw into v and reports whether raw was a JSON value
// at all. A value of the wrong type somewhere (a number where a string is
// expected) still leaves the rest decoded: extraction reads what it can.
func decodeLoose(raw []byte, v any) bool {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return true
	}
	_, ok := errors.AsType[*json.UnmarshalTypeError](err)
	return ok
}

// classify tells which event shape p is. The rules, in order:
//
//   - API Gateway HTTP API v2 and Function URL: "version" is "2.0" and
//     requestContext.http has a non-empty method. Both use payload format
//     2.0, and real Function URL events even carry routeKey "$default" like
//     an HTTP API's default route, so the route key cannot tell them apart.
//     It is a Function URL when requestContext.domainName is a Function URL
//     domain ("<url-id>.lambda-url.<region>.on.aws") or when there is no
//     routeKey at all (neither at the top nor in requestContext), which API
//     Gateway always sends; otherwise it is API Gateway v2.
//   - ALB: requestContext.elb is an object and httpMethod is non-empty.
//   - API Gateway REST v1: httpMethod is non-empty, "version" is not "2.0"
//     (HTTP APIs using payload format 1.0 send "1.0"), and
//     requestContext has no connectionId (that is a WebSocket API event,
//     which is not an HTTP request/response).
//
// Lambda authorizer events are excluded first: they copy the request they
// authorize (REQUEST authorizers carry its httpMethod or payload format 2.0
// context) but add methodArn (REST, and HTTP API format 1.0) or routeArn
// (HTTP API format 2.0), and the function answers with a policy, not an
// HTTP response. Anything else is unknown.
func classify(p *probe) shape {
	rc := p.RequestContext
	if rc == nil || p.MethodArn != "" || p.RouteArn != "" {
		return shapeUnknown
	}
	if p.Version == "2.0" && rc.HTTP != nil && rc.HTTP.Method != "" {
		if isFunctionURLDomain(rc.DomainName) || (p.RouteKey == nil && rc.RouteKey == nil) {
			return shapeFunctionURL
		}
		return shapeAPIGatewayV2
	}
	if p.HTTPMethod == "" {
		return shapeUnknown
	}
	if rc.ELB != nil {
		return shapeALB
	}
	if p.Version != "2.0" && rc.ConnectionID == "" {
		return shapeAPIGatewayV1
	}
	return shapeUnknown
}

// isFunctionURLDomain reports whether d is a Function URL's domain,
// "<url-id>.lambda-url.<region>.on.aws".
func isFunctionURLDomain(d string) bool {
	return strings.HasSuffix(d, ".on.aws") && strings.Contains(d, ".lambda-url.")
}

// extractRaw recognises an event from its JSON: one probe decode, then a
// full decode into the recognised aws-lambda-go type, which then goes
// through the same code as a typed event, so both paths agree.
func extractRaw(raw []byte) Info {
	var p probe
	if !decodeLoose(raw, &p) {
		return Info{Trigger: TriggerOther}
	}
	switch classify(&p) {
	case shapeAPIGatewayV1:
		var e events.APIGatewayProxyRequest
		decodeLoose(raw, &e)
		return fromAPIGatewayV1(&e)
	case shapeAPIGatewayV2:
		var e events.APIGatewayV2HTTPRequest
		decodeLoose(raw, &e)
		return fromAPIGatewayV2(&e)
	case shapeFunctionURL:
		var e events.LambdaFunctionURLRequest
		decodeLoose(raw, &e)
		return fromFunctionURL(&e)
	case shapeALB:
		var e events.ALBTargetGroupRequest
		decodeLoose(raw, &e)
		return fromALB(&e)
	}
	return Info{Trigger: TriggerOther, Carrier: genericHeaders(p.Headers)}
}

// genericHeaders decodes a "headers" value kept by the probe into a carrier
// when it is an object.
func genericHeaders(raw json.RawMessage) Headers {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]any
	decodeLoose(raw, &m)
	return headersFromJSON(m)
}
