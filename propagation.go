package lambdaotel

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/propagation"

	"github.com/lambdaotel/lambdaotel/xray"
)

// defaultPropagator reads X-Ray (with the invocation's own trace header as
// a fallback) and W3C trace context. W3C comes last so that, when an event
// carries both, the W3C traceparent wins: it is what OpenTelemetry callers
// send, and X-Ray's header is set by AWS on every hop regardless.
func defaultPropagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(xray.LambdaPropagator{}, propagation.TraceContext{}, propagation.Baggage{})
}

// parsePropagators reads an OTEL_PROPAGATORS list: tracecontext, baggage,
// xray, xray-lambda, none. Unknown names are an error naming them; the
// known ones still apply.
func parsePropagators(list string) (propagation.TextMapPropagator, error) {
	var props []propagation.TextMapPropagator
	var unknown []string
	for _, name := range strings.Split(list, ",") {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "":
		case "tracecontext":
			props = append(props, propagation.TraceContext{})
		case "baggage":
			props = append(props, propagation.Baggage{})
		case "xray":
			props = append(props, xray.Propagator{})
		case "xray-lambda":
			props = append(props, xray.LambdaPropagator{})
		case "none":
			return propagation.NewCompositeTextMapPropagator(), nil
		default:
			unknown = append(unknown, strings.TrimSpace(name))
		}
	}
	p := propagation.NewCompositeTextMapPropagator(props...)
	if len(unknown) > 0 {
		return p, fmt.Errorf("unknown propagators %s (known: tracecontext, baggage, xray, xray-lambda, none)", strings.Join(unknown, ", "))
	}
	return p, nil
}
