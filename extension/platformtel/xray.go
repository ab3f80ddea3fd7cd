package platformtel

import "strings"

// traceHeader is the trace context of a record's tracing field.
type traceHeader struct {
	traceID [16]byte
	parent  [8]byte // zero when absent
	sampled int8    // 1, 0, or -1 when the header does not decide
}

// parseTraceHeader reads an X-Ray trace header,
// "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
// into W3C terms: the trace ID is the Root's two hex parts joined (the "1-"
// version and the dash dropped), the parent span ID is Parent. A W3C
// traceparent is accepted too, should a record ever carry one. Anything
// else, or a Root that is not a valid trace ID, is not a context.
func parseTraceHeader(v string) (h traceHeader, ok bool) {
	h.sampled = -1
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "00-") && len(v) >= 55 {
		return parseTraceparent(v)
	}
	for part := range strings.SplitSeq(v, ";") {
		k, val, found := strings.Cut(part, "=")
		if !found {
			continue
		}
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		switch {
		case strings.EqualFold(k, "Root"):
			if len(val) != 35 || val[0] != '1' || val[1] != '-' || val[10] != '-' ||
				!decodeHexInto(h.traceID[:4], val[2:10]) || !decodeHexInto(h.traceID[4:], val[11:]) {
				return traceHeader{sampled: -1}, false
			}
			ok = true
		case strings.EqualFold(k, "Parent"):
			if !decodeHexID(h.parent[:], val) {
				h.parent = [8]byte{}
			}
		case strings.EqualFold(k, "Sampled"):
			switch val {
			case "1":
				h.sampled = 1
			case "0":
				h.sampled = 0
			}
		}
	}
	if h.traceID == ([16]byte{}) {
		return h, false
	}
	return h, ok
}

// parseTraceparent reads "00-<32 hex trace>-<16 hex span>-<2 hex flags>".
func parseTraceparent(v string) (h traceHeader, ok bool) {
	h.sampled = -1
	if v[35] != '-' || v[52] != '-' || !decodeHexID(h.traceID[:], v[3:35]) || !decodeHexID(h.parent[:], v[36:52]) {
		return traceHeader{sampled: -1}, false
	}
	var flags [1]byte
	if !decodeHexInto(flags[:], v[53:55]) {
		return traceHeader{sampled: -1}, false
	}
	h.sampled = int8(flags[0] & 1)
	return h, true
}

// decodeHexInto decodes exactly 2*len(dst) hex digits, zeros allowed,
// without allocating.
func decodeHexInto(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
