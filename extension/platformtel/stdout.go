package platformtel

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/otlpjson"
	"github.com/lambdaotel/lambdaotel/internal/stdoutrecord"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// forwarded is the payload of an otlp-stdout record: an export request of
// sig, as protobuf.
type forwarded struct {
	sig  wire.Signal
	body []byte
}

// stdoutPayload recognises an otlp-stdout record (the line our library's
// default exporter writes, or the Rust, Node or Python one) in a function
// log record and returns its payload as validated protobuf, ready to be
// forwarded: protobuf payloads as they are, OTLP/JSON ones converted.
// isRecord is false for an ordinary line; err is set for a record that
// does not decode, which the caller keeps as a log line.
func stdoutPayload(lr *lambdaapi.LogRecord) (fw forwarded, isRecord bool, err error) {
	var line []byte
	switch {
	case lr.Object != nil:
		line = lr.Object
	case mayBeRecord(lr.Text):
		line = []byte(lr.Text)
	default:
		return fw, false, nil
	}
	r, err := stdoutrecord.Decode(line)
	if errors.Is(err, stdoutrecord.ErrNotRecord) {
		// With the JSON log format, Lambda may wrap the printed line as the
		// message of its own JSON object.
		if lr.Object != nil && strings.Contains(string(lr.Object), stdoutrecord.MarkerField) {
			var w struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(lr.Object, &w) == nil && mayBeRecord(w.Message) {
				return stdoutPayload(&lambdaapi.LogRecord{Text: w.Message})
			}
		}
		return fw, false, nil
	}
	if err != nil {
		return fw, true, err
	}
	body, err := r.Body()
	if err != nil {
		return fw, true, err
	}
	fw.sig = signalOf(r.Endpoint)
	if r.IsJSON() {
		// otlpjson's signals are numbered as wire's.
		pb, err := otlpjson.AppendProtobuf(nil, otlpjson.Signal(fw.sig), body)
		if err != nil {
			return fw, true, fmt.Errorf("OTLP/JSON payload: %w", err)
		}
		body = pb
	}
	if _, err := wire.Validate(fw.sig, body); err != nil {
		return fw, true, err
	}
	fw.body = body
	return fw, true, nil
}

// mayBeRecord is stdoutrecord.IsRecord for a string, without copying lines
// that cannot be records.
func mayBeRecord(s string) bool {
	s = strings.TrimLeft(s, " \t\r\n")
	return strings.HasPrefix(s, "{") && strings.Contains(s, `"`+stdoutrecord.MarkerField+`"`)
}

// signalOf tells the signal from a record's endpoint. The span exporters
// all write /v1/traces; a record for another signal says so the same way.
func signalOf(endpoint string) wire.Signal {
	switch {
	case strings.HasSuffix(endpoint, "/v1/metrics"):
		return wire.Metrics
	case strings.HasSuffix(endpoint, "/v1/logs"):
		return wire.Logs
	}
	return wire.Traces
}
