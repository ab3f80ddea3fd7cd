package trigger

import (
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// KnownMethodsEnv names the environment variable that replaces the list of
// HTTP methods reported as themselves in http.request.method. The HTTP
// semantic conventions require such an override from any instrumentation
// that could turn a valid method into "_OTHER" (ALB forwards any method it
// receives, e.g. WebDAV's PROPFIND). It is a comma-separated list of
// case-sensitive methods and, when set and non-empty, a full replacement of
// the default list. It is read once, on first use.
const KnownMethodsEnv = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS"

// knownMethods is nil for the default list, which isKnownMethod checks
// without a map lookup; otherwise it is the set from KnownMethodsEnv.
var knownMethods = sync.OnceValue(func() map[string]struct{} {
	return parseKnownMethods(os.Getenv(KnownMethodsEnv))
})

// parseKnownMethods parses KnownMethodsEnv's value; nil means the default.
func parseKnownMethods(v string) map[string]struct{} {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	set := make(map[string]struct{})
	for m := range strings.SplitSeq(v, ",") {
		if m = strings.TrimSpace(m); m != "" {
			set[m] = struct{}{}
		}
	}
	return set
}

// isDefaultKnownMethod reports whether m is one of the methods the semantic
// conventions (v1.43.0) call known: RFC 9110's, PATCH (RFC 5789) and QUERY.
// The comparison is case-sensitive, as the conventions require.
func isDefaultKnownMethod(m string) bool {
	switch m {
	case "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH",
		"CONNECT", "TRACE", "QUERY":
		return true
	}
	return false
}

// methodIn reports whether m is known under set (nil: the default list).
func methodIn(set map[string]struct{}, m string) bool {
	if set == nil {
		return isDefaultKnownMethod(m)
	}
	_, ok := set[m]
	return ok
}

// appendMethod appends http.request.method (and, for an unknown method,
// http.request.method_original) and returns the {method} part of the span
// name: the method itself, or "HTTP" when it is reported as "_OTHER", as the
// HTTP span-name convention requires (an unknown method would otherwise put
// arbitrary client input in the span name).
func appendMethod(attrs []attribute.KeyValue, set map[string]struct{}, m string) ([]attribute.KeyValue, string) {
	if m != "" && methodIn(set, m) {
		return append(attrs, semconv.HTTPRequestMethodKey.String(m)), m
	}
	attrs = append(attrs, semconv.HTTPRequestMethodOther)
	if m != "" {
		attrs = append(attrs, semconv.HTTPRequestMethodOriginal(m))
	}
	return attrs, "HTTP"
}
