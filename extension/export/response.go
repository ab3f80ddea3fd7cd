package export

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

// maxMessage bounds backend-supplied text copied into errors and logs.
const maxMessage = 256

// parsePartialSuccess reads partial_success from an Export*ServiceResponse:
// field 1 is the ExportPartialSuccess message, whose field 1 is the rejected
// count (rejected_spans, rejected_data_points or rejected_log_records, int64)
// and field 2 the error_message. An empty or unreadable body means full
// success, as the OTLP specification says.
func parsePartialSuccess(contentType string, b []byte) (int64, string) {
	if isJSON(contentType) {
		return parsePartialSuccessJSON(b)
	}
	var rejected int64
	var msg string
	for len(b) > 0 {
		num, typ, n := pbwire.ConsumeTag(b)
		if n < 0 {
			return 0, ""
		}
		b = b[n:]
		if num == 1 && typ == pbwire.BytesType {
			ps, n := pbwire.ConsumeBytes(b)
			if n < 0 {
				return 0, ""
			}
			b = b[n:]
			// Repeated occurrences of a message field merge: later
			// scalars win.
			r, m, ok := parsePartialSuccessMessage(ps)
			if !ok {
				return 0, ""
			}
			if r != 0 {
				rejected = r
			}
			if m != "" {
				msg = m
			}
			continue
		}
		n = pbwire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, ""
		}
		b = b[n:]
	}
	return rejected, msg
}

func parsePartialSuccessMessage(b []byte) (rejected int64, msg string, ok bool) {
	for len(b) > 0 {
		num, typ, n := pbwire.ConsumeTag(b)
		if n < 0 {
			return 0, "", false
		}
		b = b[n:]
		switch {
		case num == 1 && typ == pbwire.VarintType:
			v, n := pbwire.ConsumeVarint(b)
			if n < 0 {
				return 0, "", false
			}
			rejected, b = int64(v), b[n:]
		case num == 2 && typ == pbwire.BytesType:
			v, n := pbwire.ConsumeBytes(b)
			if n < 0 {
				return 0, "", false
			}
			msg, b = clip(v), b[n:]
		default:
			n := pbwire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return 0, "", false
			}
			b = b[n:]
		}
	}
	return rejected, msg, true
}

// parsePartialSuccessJSON reads the OTLP/JSON form, which some backends send
// whatever the request's type: {"partialSuccess":{"rejectedSpans":"3",
// "errorMessage":"…"}} (int64 may be a string or a number).
func parsePartialSuccessJSON(b []byte) (int64, string) {
	var resp struct {
		PartialSuccess map[string]json.RawMessage `json:"partialSuccess"`
	}
	if json.Unmarshal(b, &resp) != nil {
		return 0, ""
	}
	var rejected int64
	var msg string
	for k, v := range resp.PartialSuccess {
		switch {
		case strings.HasPrefix(k, "rejected"):
			s := strings.Trim(string(v), `"`)
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				rejected = n
			}
		case k == "errorMessage":
			var s string
			if json.Unmarshal(v, &s) == nil {
				msg = clip([]byte(s))
			}
		}
	}
	return rejected, msg
}

// errorMessage extracts the explanation of a failed request: the message of
// a google.rpc.Status (field 2) for protobuf, else the start of the body as
// text.
func errorMessage(contentType string, b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if strings.HasPrefix(strings.ToLower(contentType), "application/x-protobuf") ||
		strings.HasPrefix(strings.ToLower(contentType), "application/protobuf") {
		for len(b) > 0 {
			num, typ, n := pbwire.ConsumeTag(b)
			if n < 0 {
				return ""
			}
			b = b[n:]
			if num == 2 && typ == pbwire.BytesType {
				v, n := pbwire.ConsumeBytes(b)
				if n < 0 {
					return ""
				}
				return clip(v)
			}
			n = pbwire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return ""
			}
			b = b[n:]
		}
		return ""
	}
	if !utf8.Valid(b) {
		return ""
	}
	return clip(b)
}

func isJSON(contentType string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "application/json")
}

// clip makes backend text safe for one log line: bounded, valid UTF-8, no
// line breaks.
func clip(b []byte) string {
	if len(b) > maxMessage {
		b = b[:maxMessage]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
