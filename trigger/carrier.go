package trigger

import "strings"

// The functions here build carriers. Unlike NewHeaders they are
// deterministic when two keys differ only in case (the greater value wins),
// so that the same event always yields the same carrier whatever Go's map
// iteration order, and the typed and raw paths agree.

// hasUpper reports whether s has an ASCII upper-case letter.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// lower lower-cases s without allocating when it has no upper-case ASCII
// letter, which is the common case for API Gateway v2, Function URL and ALB
// headers, or when it is a header name API Gateway REST APIs commonly pass
// in canonical case (they keep the client's case).
func lower(s string) string {
	if !hasUpper(s) {
		return s
	}
	if l := lowerCommon(s); l != "" {
		return l
	}
	return strings.ToLower(s)
}

// lowerCommon returns the lower-case form of common header names in their
// usual case, "" for any other string. A switch, unlike a map, costs
// nothing at program start, which matters on a cold start.
func lowerCommon(s string) string {
	switch s {
	case "Accept":
		return "accept"
	case "Accept-Encoding":
		return "accept-encoding"
	case "Accept-Language":
		return "accept-language"
	case "Authorization":
		return "authorization"
	case "Baggage":
		return "baggage"
	case "Cache-Control":
		return "cache-control"
	case "CloudFront-Forwarded-Proto":
		return "cloudfront-forwarded-proto"
	case "CloudFront-Is-Desktop-Viewer":
		return "cloudfront-is-desktop-viewer"
	case "CloudFront-Is-Mobile-Viewer":
		return "cloudfront-is-mobile-viewer"
	case "CloudFront-Is-SmartTV-Viewer":
		return "cloudfront-is-smarttv-viewer"
	case "CloudFront-Is-Tablet-Viewer":
		return "cloudfront-is-tablet-viewer"
	case "CloudFront-Viewer-ASN":
		return "cloudfront-viewer-asn"
	case "CloudFront-Viewer-Country":
		return "cloudfront-viewer-country"
	case "Connection":
		return "connection"
	case "Content-Length":
		return "content-length"
	case "Content-Type":
		return "content-type"
	case "Cookie":
		return "cookie"
	case "DNT":
		return "dnt"
	case "Host":
		return "host"
	case "If-Modified-Since":
		return "if-modified-since"
	case "If-None-Match":
		return "if-none-match"
	case "Origin":
		return "origin"
	case "Postman-Token":
		return "postman-token"
	case "Pragma":
		return "pragma"
	case "Referer":
		return "referer"
	case "Sec-Fetch-Dest":
		return "sec-fetch-dest"
	case "Sec-Fetch-Mode":
		return "sec-fetch-mode"
	case "Sec-Fetch-Site":
		return "sec-fetch-site"
	case "Sec-Fetch-User":
		return "sec-fetch-user"
	case "Traceparent":
		return "traceparent"
	case "Tracestate":
		return "tracestate"
	case "Upgrade-Insecure-Requests":
		return "upgrade-insecure-requests"
	case "User-Agent":
		return "user-agent"
	case "Via":
		return "via"
	case "X-Amz-Cf-Id":
		return "x-amz-cf-id"
	case "X-Amz-Date":
		return "x-amz-date"
	case "X-Amz-Security-Token":
		return "x-amz-security-token"
	case "X-Amzn-Trace-Id":
		return "x-amzn-trace-id"
	case "X-Api-Key":
		return "x-api-key"
	case "X-Forwarded-For":
		return "x-forwarded-for"
	case "X-Forwarded-Port":
		return "x-forwarded-port"
	case "X-Forwarded-Proto":
		return "x-forwarded-proto"
	case "X-Requested-With":
		return "x-requested-with"
	}
	return ""
}

// putMax stores v under k, keeping the greater value when k is present.
func putMax(h Headers, k, v string) {
	if old, ok := h[k]; ok && old >= v {
		return
	}
	h[k] = v
}

// lowerHeaders returns h as a carrier. When every key is already
// lower-case, h itself is returned without a copy: the carrier is only read
// (propagators call Get and Keys), and API Gateway v2 and Function URLs
// deliver lower-case keys, so this saves a map per invocation.
func lowerHeaders(h map[string]string) Headers {
	if len(h) == 0 {
		return nil
	}
	aliased := true
	for k := range h {
		if hasUpper(k) {
			aliased = false
			break
		}
	}
	if aliased {
		return Headers(h)
	}
	out := make(Headers, len(h))
	for k, v := range h {
		putMax(out, lower(k), v)
	}
	return out
}

// joinValues joins a multi-value header the way HTTP folds repeated header
// fields (RFC 9110 §5.3), with a comma; a single value is returned as is.
func joinValues(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	return strings.Join(vs, ",")
}

// mergeHeaders builds the carrier of a v1 or ALB event, which may carry
// single-value headers, multi-value headers, or both (API Gateway REST sends
// both; ALB sends one or the other depending on the target group's
// multi-value setting). A multi-value entry holds every value of its header,
// so it wins over the single-value entry of the same name.
func mergeHeaders(single map[string]string, multi map[string][]string) Headers {
	if len(multi) == 0 {
		return lowerHeaders(single)
	}
	out := make(Headers, max(len(single), len(multi)))
	for k, vs := range multi {
		if len(vs) > 0 {
			putMax(out, lower(k), joinValues(vs))
		}
	}
	// Single-value headers absent from the multi-value map are collected
	// first and stored after the loop, so that a key already in out is known
	// to come from the multi-value map. API Gateway repeats every header in
	// both maps, so this is normally empty.
	var pending []string
	for k, v := range single {
		lk := lower(k)
		if _, ok := out[lk]; !ok {
			pending = append(pending, lk, v)
		}
	}
	for i := 0; i+1 < len(pending); i += 2 {
		putMax(out, pending[i], pending[i+1])
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// headersFromJSON builds a carrier from a decoded JSON "headers" object,
// keeping its string values only: anything else cannot hold trace context.
func headersFromJSON(h map[string]any) Headers {
	var out Headers
	for k, v := range h {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if out == nil {
			out = make(Headers, len(h))
		}
		putMax(out, lower(k), s)
	}
	return out
}
