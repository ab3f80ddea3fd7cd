package trigger

import (
	"net/url"
	"slices"
	"strings"
)

// redactedValue replaces the value of a sensitive query parameter.
const redactedValue = "REDACTED"

// isSensitiveQueryKey reports whether the value of query parameter k must be
// redacted from url.query. The list and the case-sensitive match are those
// of the url.query note in semantic conventions v1.43.0: these parameters
// carry request signatures and credentials (pre-signed S3 URLs put
// X-Amz-Credential and X-Amz-Signature in the query), which must not reach a
// tracing backend.
func isSensitiveQueryKey(k string) bool {
	switch k {
	case "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token",
		"sig", "X-Goog-Signature":
		return true
	}
	return false
}

// redactRawQuery returns the raw query q (without '?') with the values of
// sensitive parameters replaced by "REDACTED". The key is kept, as the
// conventions ask. q is returned as is, without allocating, when it has no
// sensitive parameter.
func redactRawQuery(q string) string {
	if q == "" || !hasSensitiveKey(q) {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + len(redactedValue))
	first := true
	for pair := range strings.SplitSeq(q, "&") {
		if !first {
			b.WriteByte('&')
		}
		first = false
		key, _, hasValue := strings.Cut(pair, "=")
		if hasValue && isSensitiveQueryKey(key) {
			b.WriteString(key)
			b.WriteByte('=')
			b.WriteString(redactedValue)
			continue
		}
		b.WriteString(pair)
	}
	return b.String()
}

// hasSensitiveKey reports whether the raw query q has a sensitive key with a
// value.
func hasSensitiveKey(q string) bool {
	for pair := range strings.SplitSeq(q, "&") {
		if key, _, ok := strings.Cut(pair, "="); ok && isSensitiveQueryKey(key) {
			return true
		}
	}
	return false
}

// sortedKeys returns m's keys sorted, in buf when it is large enough, so that
// a rebuilt query does not depend on map iteration order.
func sortedKeys[V any](m map[string]V, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// queryWriter writes key=value pairs.
type queryWriter struct {
	b strings.Builder
	// escape is true when keys and values are decoded and must be
	// URL-encoded again (API Gateway REST); false when they are passed as
	// the client sent them (ALB does not decode the query string).
	escape bool
}

// pair writes one key=value pair, redacting sensitive values.
func (w *queryWriter) pair(k, v string) {
	if w.b.Len() > 0 {
		w.b.WriteByte('&')
	}
	if isSensitiveQueryKey(k) {
		v = redactedValue
	}
	if w.escape {
		k, v = url.QueryEscape(k), url.QueryEscape(v)
	}
	w.b.WriteString(k)
	w.b.WriteByte('=')
	w.b.WriteString(v)
}

// buildQuery rebuilds url.query for the v1 and ALB events, which deliver the
// query string as parameter maps only. The multi-value map wins when present
// because it holds every value (API Gateway REST sends both; the
// single-value map keeps only the last value of a repeated key). Keys are
// sorted for determinism, so the order may differ from the client's; values
// of one key keep their order. escape says whether the maps hold decoded
// text (API Gateway) or the client's encoded text (ALB).
func buildQuery(multi map[string][]string, single map[string]string, escape bool) string {
	var buf [16]string
	w := queryWriter{escape: escape}
	if len(multi) > 0 {
		n := 0
		for k, vs := range multi {
			for _, v := range vs {
				n += len(k) + len(v) + 2
			}
		}
		w.b.Grow(n)
		for _, k := range sortedKeys(multi, buf[:]) {
			for _, v := range multi[k] {
				w.pair(k, v)
			}
		}
		if w.b.Len() > 0 {
			return w.b.String()
		}
		// Every key had an empty list: use the single-value map, if any.
	}
	if len(single) == 0 {
		return ""
	}
	n := 0
	for k, v := range single {
		n += len(k) + len(v) + 2
	}
	w.b.Grow(n)
	for _, k := range sortedKeys(single, buf[:]) {
		w.pair(k, single[k])
	}
	return w.b.String()
}
