// Package trigger reads what an invocation's event says about how the
// function was triggered: the span name and kind, the semantic-convention
// attributes, the carrier holding the caller's trace context, and links.
//
// It knows aws-lambda-go's typed events (API Gateway REST and HTTP APIs,
// ALB, Function URLs) and recognises the same events in raw JSON; any other
// JSON with a "headers" object still yields a carrier. Functions with their
// own event types implement Describer, or register an Extractor.
//
// Extraction never fails: an event that is not what its trigger expects
// yields the attributes that could be read.
package trigger

import (
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Values of the faas.trigger attribute.
const (
	TriggerHTTP       = "http"
	TriggerPubSub     = "pubsub"
	TriggerDatasource = "datasource"
	TriggerTimer      = "timer"
	TriggerOther      = "other"
)

// Info is what an event says about its invocation.
type Info struct {
	// SpanName names the invocation's span; empty means the wrapper's default.
	SpanName string
	// Kind is the span kind; the zero value (unspecified) means SERVER.
	Kind trace.SpanKind
	// Trigger is the faas.trigger value.
	Trigger string
	// Attributes are added to the invocation's span.
	Attributes []attribute.KeyValue
	// Carrier holds the headers the caller's trace context is read from.
	// It may be nil.
	Carrier Headers
	// Links are added to the invocation's span (e.g. one per message of a
	// batch).
	Links []trace.Link
	// HTTP says that the response is an HTTP response whose statusCode sets
	// http.response.status_code and whose 5xx status marks the span an error.
	HTTP bool
}

// Headers is a case-insensitive header map usable as a
// propagation.TextMapCarrier. Keys are stored lower-cased.
type Headers map[string]string

// NewHeaders copies h with its keys lower-cased. When two keys differ only in
// case, the last one in h's iteration order wins, so callers with
// multi-value headers should pass them joined.
func NewHeaders(h map[string]string) Headers {
	if len(h) == 0 {
		return nil
	}
	out := make(Headers, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = v
	}
	return out
}

// Get returns the value of key, in any case.
func (h Headers) Get(key string) string {
	if v, ok := h[key]; ok {
		return v
	}
	return h[strings.ToLower(key)]
}

// Set stores value under key, lower-cased.
func (h Headers) Set(key, value string) { h[strings.ToLower(key)] = value }

// Keys lists the stored keys.
func (h Headers) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// Describer is implemented by event types that describe their own trigger.
type Describer interface {
	TriggerInfo() Info
}

// Extractor recognises events of the types it knows. event is the decoded
// event value the handler receives (possibly nil); raw is the event's JSON
// (possibly nil). ok is false when the extractor does not know the event.
type Extractor interface {
	Extract(event any, raw []byte) (info Info, ok bool)
}

// ExtractorFunc adapts a function to Extractor.
type ExtractorFunc func(event any, raw []byte) (Info, bool)

// Extract calls f.
func (f ExtractorFunc) Extract(event any, raw []byte) (Info, bool) { return f(event, raw) }
