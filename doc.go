// Package lambdaotel is OpenTelemetry tracing for Go functions on AWS Lambda
// that adds nothing the caller can feel.
//
// Init sets up a tracer provider with the Lambda resource, the propagators
// (X-Ray with the invocation's own header as a fallback, and W3C trace
// context), and a span processor that keeps the invocation's spans in a
// fixed ring until the processing mode exports them: before the response
// (sync), after Lambda has accepted the response but before it can freeze
// the process (async, through the internal extension "otel-internal"), or
// whenever the caller's own processors decide, with a flush at SIGTERM
// (finalize). Wrap instruments a handler: one SERVER span per invocation,
// named and attributed from the event's trigger.
//
//	tel, err := lambdaotel.Init(ctx)
//	if err != nil { ... }
//	lambda.Start(lambdaotel.Wrap(tel, handler))
//
// The default exporter writes otlp-stdout records to the function's log,
// which lambdaotel-extension (or any otlp-stdout forwarder) sends on;
// OTEL_TRACES_EXPORTER=otlp sends OTLP/HTTP protobuf to the extension on
// loopback or to any collector.
package lambdaotel
