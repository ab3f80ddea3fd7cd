package xray

import (
	"context"
	"os"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// lambdaContextKey is the context key under which aws-lambda-go (lambda/invoke_loop.go)
// stores each invocation's Lambda-Runtime-Trace-Id. It is a plain string, not a typed
// key, because that is what aws-lambda-go uses; a typed key would never match.
const lambdaContextKey = "x-amzn-trace-id"

// Environment variables read by LambdaPropagator.
const (
	// envTraceID is where Lambda runtimes put the current invocation's trace header.
	envTraceID = "_X_AMZN_TRACE_ID"
	// envMaxConcurrency is set only on Lambda Managed Instances, where one process
	// serves several invocations at once and envTraceID therefore belongs to whichever
	// invocation wrote it last.
	envMaxConcurrency = "AWS_LAMBDA_MAX_CONCURRENCY"
)

// fields is what Fields returns; a package variable so that Fields does not allocate.
var fields = []string{HeaderName}

// Propagator is the X-Ray propagator (OTEL_PROPAGATORS=xray). It reads and writes the
// X-Amzn-Trace-Id carrier entry and nothing else. The zero value is ready to use.
type Propagator struct{}

var _ propagation.TextMapPropagator = Propagator{}

// Extract returns ctx with the remote span context of the carrier's X-Amzn-Trace-Id
// entry, looked up as "x-amzn-trace-id" and then "X-Amzn-Trace-Id" so that carriers
// with lower-cased keys and carriers with canonical keys both work. A missing or
// invalid header, or one without Parent, leaves ctx unchanged. With Sampled=? or no
// Sampled the span context is not marked sampled and SamplingDeferred reports true.
func (Propagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if out, ok := extractCarrier(ctx, carrier); ok {
		return out
	}
	return ctx
}

// Inject writes X-Amzn-Trace-Id (Root, Parent, Sampled) for the span context in ctx,
// and nothing when that span context is invalid. Sampled is 1 or 0 from the sampled
// flag, except for a context whose decision was deferred by Extract and never made
// (no span started under it): that is written without Sampled, passing the decision on.
func (Propagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	inject(ctx, carrier)
}

// Fields returns the one carrier key this propagator uses, "X-Amzn-Trace-Id".
func (Propagator) Fields() []string { return fields }

// LambdaPropagator is the X-Ray propagator for Lambda functions
// (OTEL_PROPAGATORS=xray-lambda). Extract reads the carrier like Propagator; when the
// carrier holds no valid X-Ray context and ctx holds no valid span context yet, it falls
// back to the invocation's own trace header, taken from
//
//  1. the ctx value under the string key "x-amzn-trace-id", which aws-lambda-go sets
//     for every invocation to the Lambda-Runtime-Trace-Id it received; if that value is
//     present it is the only one considered, being exact for this invocation;
//  2. otherwise the _X_AMZN_TRACE_ID environment variable, but only when
//     AWS_LAMBDA_MAX_CONCURRENCY is unset or empty: on Lambda Managed Instances
//     invocations run concurrently in one process and the variable may belong to
//     another one.
//
// The fallback is used only when it is valid and has Sampled=1, so the function's spans
// join Lambda's own X-Ray trace exactly when X-Ray records it. With Sampled=0 (X-Ray is
// not sampling, e.g. active tracing is off) ctx is returned unchanged and the function's
// span becomes a root subject to the function's own sampler, instead of being
// suppressed by a decision made for X-Ray. The fallback never replaces a span context
// already in ctx, so extracting a message's context inside an invocation span does not
// re-parent it onto Lambda's segment when the message has no header.
//
// Inject behaves like Propagator's. The zero value is ready to use.
type LambdaPropagator struct {
	// Getenv looks up environment variables; nil means os.Getenv. It is called on
	// every fallback, never cached, because _X_AMZN_TRACE_ID changes per invocation.
	// Tests set it to avoid touching the process environment.
	Getenv func(string) string
}

var _ propagation.TextMapPropagator = LambdaPropagator{}

// Extract returns ctx with the carrier's X-Ray context, or with the invocation's own
// sampled X-Ray context as described on LambdaPropagator, or ctx unchanged.
func (p LambdaPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if out, ok := extractCarrier(ctx, carrier); ok {
		return out
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	v, _ := ctx.Value(lambdaContextKey).(string)
	if v == "" {
		getenv := p.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		if getenv(envMaxConcurrency) == "" {
			v = getenv(envTraceID)
		}
	}
	if v == "" {
		return ctx
	}
	h, _, ok := parse(v, false)
	if !ok || h.Sampled != SampledYes {
		return ctx
	}
	sc, ok := h.SpanContext()
	if !ok {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// Inject writes X-Amzn-Trace-Id like Propagator.Inject.
func (LambdaPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	inject(ctx, carrier)
}

// Fields returns the one carrier key this propagator uses, "X-Amzn-Trace-Id".
func (LambdaPropagator) Fields() []string { return fields }

// extractCarrier returns ctx with the carrier's X-Ray span context, and whether the
// carrier had a usable one.
func extractCarrier(ctx context.Context, carrier propagation.TextMapCarrier) (context.Context, bool) {
	// Lower case first: that is how this project's carriers store keys, so the common
	// case is one lookup. http.Header-backed carriers canonicalise either spelling.
	v := carrier.Get(headerNameLower)
	if v == "" {
		v = carrier.Get(HeaderName)
	}
	if v == "" {
		return ctx, false
	}
	h, _, ok := parse(v, false)
	if !ok {
		return ctx, false
	}
	sc, ok := h.SpanContext()
	if !ok {
		return ctx, false
	}
	if h.Sampled == SampledUnknown {
		ctx = context.WithValue(ctx, deferredKey{}, deferredMark{sc.TraceID(), sc.SpanID()})
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc), true
}

func inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	h := FromSpanContext(sc)
	if deferred(ctx, sc) {
		h.Sampled = SampledUnknown
	}
	carrier.Set(HeaderName, h.String())
}

// deferredKey is the context key of the mark Extract leaves for a deferred decision.
type deferredKey struct{}

// deferredMark names the span context the deferral belongs to, so that the mark stops
// applying as soon as ctx carries any other span context: a W3C context extracted
// after ours, or a span started under it (which has made the decision).
type deferredMark struct {
	traceID trace.TraceID
	spanID  trace.SpanID
}

// SamplingDeferred reports whether the span context in ctx is a remote one that this
// package extracted from an X-Ray header with Sampled=? or without Sampled, i.e. the
// caller left the sampling decision to this function. Such a span context is not
// marked sampled; a sampler should treat it as having no decision (apply its root
// sampler, keeping the trace id) rather than as "not sampled". It reports false for
// any other context, including one whose span context was replaced after extraction.
func SamplingDeferred(ctx context.Context) bool {
	return deferred(ctx, trace.SpanContextFromContext(ctx))
}

func deferred(ctx context.Context, sc trace.SpanContext) bool {
	if !sc.IsValid() || !sc.IsRemote() || sc.IsSampled() {
		return false
	}
	m, ok := ctx.Value(deferredKey{}).(deferredMark)
	return ok && m.traceID == sc.TraceID() && m.spanID == sc.SpanID()
}
