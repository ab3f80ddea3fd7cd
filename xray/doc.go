// Package xray reads and writes the AWS X-Ray trace header (X-Amzn-Trace-Id) and
// provides the two OpenTelemetry propagators behind OTEL_PROPAGATORS=xray and
// OTEL_PROPAGATORS=xray-lambda.
//
// The header looks like
//
//	Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1
//
// Root is the X-Ray trace id (version 1, 8 hex digits of Unix epoch seconds, 24 hex
// digits of randomness); its 32 hex digits are exactly an OpenTelemetry trace id.
// Parent is the caller's segment id, an OpenTelemetry span id. Sampled is 1, 0, or ?
// (the caller asks the receiver to decide); it may be absent. Other fields (Lineage,
// which Lambda uses for recursive-loop detection, Self added by load balancers, and
// arbitrary application fields) are kept in order so a header survives a round trip.
//
// # Propagators
//
// [Propagator] is the plain X-Ray propagator: it extracts from and injects into the
// X-Amzn-Trace-Id entry of a carrier. [LambdaPropagator] does the same, and when the
// carrier has no usable X-Ray context it falls back to the invocation's own trace
// header, the one Lambda hands the runtime in Lambda-Runtime-Trace-Id. That makes the
// function's spans children of Lambda's X-Ray segment when X-Ray is sampling the
// invocation (active tracing on), and roots of their own trace otherwise.
//
// When a header carries both an X-Ray and a W3C context, the one extracted last wins:
// compose LambdaPropagator (or Propagator) before propagation.TraceContext so that a
// W3C traceparent, which says more precisely who the caller is, beats X-Ray.
//
// # Deferred sampling
//
// An OpenTelemetry span context has only "sampled" and "not sampled". An X-Ray header
// with Sampled=? or without Sampled means "the receiver decides". The propagators
// extract such a header as a remote span context that is not marked sampled, so the
// trace id and parent are kept, and record that the decision was deferred;
// [SamplingDeferred] reports it. A sampler that wraps the SDK's ParentBased sampler
// should apply its root sampler when SamplingDeferred(parameters.ParentContext) is
// true: otherwise ParentBased treats "?" as "not sampled" and drops every span of a
// request that X-Ray explicitly left for the function to decide. On Inject, a context
// that is still deferred (no span was started under it) is written without Sampled,
// so the decision stays with the next hop.
package xray
