// Package stdoutrecord decodes and encodes otlp-stdout records: OTLP/HTTP
// requests carried as one JSON object per log line, as written by the
// otlp-stdout span exporters (this module's otlpstdout, and the Rust, Node
// and Python ones; prior-art §C). It depends on the standard library only,
// so the extension can recognise records in the function's log stream
// without linking the exporter, and with it the OpenTelemetry SDK.
package stdoutrecord

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"sort"
	"strings"
	"unicode/utf8"
)

// Field names and fixed values of the record format (prior art §C1).
const (
	// MarkerField is the record's first field. Its presence marks a log line
	// as an otlp-stdout record; its value is the producer's version.
	MarkerField = "__otel_otlp_stdout"
	// Endpoint is the constant "endpoint" the span exporters write. The
	// forwarder decides the real destination; the field only says what the
	// payload is.
	Endpoint = "http://localhost:4318/v1/traces"
	// ContentTypeProtobuf is the payload type the span exporters write.
	ContentTypeProtobuf = "application/x-protobuf"
	// ContentTypeJSON is the OTLP/JSON payload type some producers write.
	ContentTypeJSON = "application/json"
	// MaxBodySize caps a decoded payload. gzip expands up to about 1000:1, so
	// without a cap one log line could make the decoder allocate gigabytes.
	MaxBodySize = 64 << 20
)

// ErrNotRecord is returned by Decode for input that is not an otlp-stdout
// record: not a JSON object, or without a string marker field.
var ErrNotRecord = errors.New("stdoutrecord: not an otlp-stdout record")

// bodyLimit is MaxBodySize, as a variable so tests can exercise the limit
// without inflating 64 MiB under the race detector.
var bodyLimit = MaxBodySize

// ErrBodyTooLarge is returned by Body when the decoded payload would exceed
// MaxBodySize.
var ErrBodyTooLarge = fmt.Errorf("stdoutrecord: decoded payload exceeds %d MiB", MaxBodySize>>20)

// Record is one otlp-stdout line: an OTLP/HTTP request (endpoint, method,
// headers, body) carried through a log stream.
type Record struct {
	// Version is the value of the marker field: the producing exporter's
	// version, such as "0.17.1" (Rust), "otlp-stdout-span-exporter@0.17.1"
	// or "lambdaotel@0.1.0".
	Version string
	// Source names the producer: the service or function name.
	Source string
	// Endpoint is the OTLP/HTTP URL the producer had in mind.
	Endpoint string
	// Method is the HTTP method, "POST".
	Method string
	// ContentType is the payload's media type; empty means protobuf.
	ContentType string
	// ContentEncoding is "gzip", "identity", or empty for none.
	ContentEncoding string
	// Headers are the extra HTTP headers the producer wants the forwarder to
	// send; nil when the record has none.
	Headers map[string]string
	// Payload is the body as carried in the line: base64 text when Base64 is
	// set, otherwise the raw text (a JSON object payload, as older Node
	// exporters write it, is kept as its JSON text).
	Payload string
	// Base64 reports whether Payload is base64-encoded.
	Base64 bool
	// Level is the optional log level, "DEBUG", "INFO", "WARN" or "ERROR".
	Level string
}

var markerBytes = []byte(`"` + MarkerField + `"`)

// IsRecord reports, cheaply and without parsing, whether line looks like an
// otlp-stdout record: a JSON object mentioning the marker field. A true
// result still needs Decode to confirm; a false one is definitive.
func IsRecord(line []byte) bool {
	line = bytes.TrimLeft(line, " \t\r\n")
	return len(line) > 0 && line[0] == '{' && bytes.Contains(line, markerBytes)
}

// Decode parses one record. It is strict about the marker (it must be a
// non-empty string) and lenient about everything the various producers do
// differently: field order, whitespace, unknown fields, a missing or null
// optional field, and a payload that is a JSON object rather than a string.
// The payload itself is not examined until Body.
func Decode(line []byte) (*Record, error) {
	// The marker must appear literally (not spelled with escapes), so that
	// IsRecord's "no" is always right.
	if !IsRecord(line) {
		return nil, ErrNotRecord
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil || fields == nil {
		return nil, ErrNotRecord
	}
	marker, ok := fields[MarkerField]
	if !ok {
		return nil, ErrNotRecord
	}
	r := &Record{}
	if err := json.Unmarshal(marker, &r.Version); err != nil || !isJSONString(marker) || r.Version == "" {
		return nil, ErrNotRecord
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"source", &r.Source},
		{"endpoint", &r.Endpoint},
		{"method", &r.Method},
		{"content-type", &r.ContentType},
		{"content-encoding", &r.ContentEncoding},
		{"level", &r.Level},
	} {
		if err := decodeOptionalString(fields, f.name, f.dst); err != nil {
			return nil, err
		}
	}
	if raw, ok := fields["headers"]; ok && !isJSONNull(raw) {
		if err := json.Unmarshal(raw, &r.Headers); err != nil {
			return nil, fmt.Errorf("stdoutrecord: field \"headers\" is not an object of strings: %w", err)
		}
		if len(r.Headers) == 0 {
			r.Headers = nil // "headers":{} and no headers mean the same
		}
	}
	if raw, ok := fields["base64"]; ok && !isJSONNull(raw) {
		if err := json.Unmarshal(raw, &r.Base64); err != nil {
			return nil, fmt.Errorf("stdoutrecord: field \"base64\" is not a boolean: %w", err)
		}
	}
	raw, ok := fields["payload"]
	if !ok || isJSONNull(raw) {
		return nil, errors.New("stdoutrecord: record has no payload")
	}
	switch {
	case isJSONString(raw):
		if err := json.Unmarshal(raw, &r.Payload); err != nil {
			return nil, fmt.Errorf("stdoutrecord: field \"payload\": %w", err)
		}
	case !r.Base64 && raw[0] == '{':
		// Older Node exporters embed an uncompressed JSON payload as an
		// object. Keep its text; invalid UTF-8 would not survive a JSON
		// round trip anyway, so normalise it now.
		r.Payload = strings.ToValidUTF8(string(raw), "\uFFFD")
	default:
		return nil, errors.New("stdoutrecord: field \"payload\" is neither a string nor a JSON payload")
	}
	return r, nil
}

func decodeOptionalString(fields map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := fields[name]
	if !ok || isJSONNull(raw) {
		return nil
	}
	if !isJSONString(raw) {
		return fmt.Errorf("stdoutrecord: field %q is not a string", name)
	}
	return json.Unmarshal(raw, dst)
}

// json.RawMessage values from a successful Unmarshal are trimmed of
// surrounding whitespace, so the first byte identifies the JSON type.
func isJSONString(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '"' }
func isJSONNull(raw json.RawMessage) bool   { return string(raw) == "null" }

// Body returns the payload: base64-decoded if needed and gunzipped if needed
// (at most MaxBodySize bytes). It is the protobuf encoding of an OTLP export
// request, or OTLP/JSON when IsJSON says so. Converting JSON here would link
// a JSON-to-protobuf converter into everything that decodes records.
func (r *Record) Body() ([]byte, error) {
	var raw []byte
	if r.Base64 {
		var err error
		raw, err = base64.StdEncoding.DecodeString(r.Payload)
		if err != nil {
			// Tolerate producers that drop the padding.
			var err2 error
			if raw, err2 = base64.RawStdEncoding.DecodeString(r.Payload); err2 != nil {
				return nil, fmt.Errorf("stdoutrecord: payload is not valid base64: %w", err)
			}
		}
	} else {
		raw = []byte(r.Payload)
	}
	if len(raw) > bodyLimit {
		return nil, ErrBodyTooLarge
	}

	switch enc := strings.ToLower(strings.TrimSpace(r.ContentEncoding)); enc {
	case "", "identity":
	case "gzip":
		var err error
		if raw, err = gunzip(raw); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("stdoutrecord: unsupported content-encoding %q", r.ContentEncoding)
	}

	switch mediaType(r.ContentType) {
	case "", ContentTypeProtobuf, "application/protobuf", ContentTypeJSON:
		return raw, nil
	default:
		return nil, fmt.Errorf("stdoutrecord: unsupported content-type %q", r.ContentType)
	}
}

// IsJSON reports whether the payload is OTLP/JSON rather than protobuf.
func (r *Record) IsJSON() bool { return mediaType(r.ContentType) == ContentTypeJSON }

func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("stdoutrecord: payload is not valid gzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(bodyLimit)+1))
	if err != nil {
		return nil, fmt.Errorf("stdoutrecord: payload is not valid gzip: %w", err)
	}
	if len(out) > bodyLimit {
		return nil, ErrBodyTooLarge
	}
	return out, nil
}

// AppendJSON appends r as one record line (without the trailing newline) in
// this package's field order and returns the extended slice. Empty optional
// fields (content-encoding, headers, level) are left out.
func (r *Record) AppendJSON(dst []byte) []byte {
	dst = AppendRecordStart(dst, r.Version)
	dst = AppendEscaped(dst, r.Source)
	dst = AppendRecordMiddle(dst, r.Endpoint, r.Method, r.ContentType, r.ContentEncoding, r.Headers)
	dst = AppendEscaped(dst, r.Payload)
	return AppendRecordEnd(dst, r.Base64, r.Level)
}

// The record is written in three pieces around its two variable parts, the
// source and the payload, so the exporter can prepare the constant pieces
// once and write each export with plain appends.

// AppendRecordStart writes everything up to the opening quote of "source"'s
// value.
func AppendRecordStart(dst []byte, version string) []byte {
	dst = append(dst, `{"`+MarkerField+`":"`...)
	dst = AppendEscaped(dst, version)
	return append(dst, `","source":"`...)
}

// AppendRecordMiddle closes "source" and writes everything up to the opening
// quote of "payload"'s value.
func AppendRecordMiddle(dst []byte, endpoint, method, contentType, contentEncoding string, headers map[string]string) []byte {
	dst = append(dst, `","endpoint":"`...)
	dst = AppendEscaped(dst, endpoint)
	dst = append(dst, `","method":"`...)
	dst = AppendEscaped(dst, method)
	dst = append(dst, `","content-type":"`...)
	dst = AppendEscaped(dst, contentType)
	dst = append(dst, '"')
	if contentEncoding != "" {
		dst = append(dst, `,"content-encoding":"`...)
		dst = AppendEscaped(dst, contentEncoding)
		dst = append(dst, '"')
	}
	if len(headers) > 0 {
		keys := make([]string, 0, len(headers))
		for k := range headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, `,"headers":{`...)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = AppendEscaped(dst, k)
			dst = append(dst, `":"`...)
			dst = AppendEscaped(dst, headers[k])
			dst = append(dst, '"')
		}
		dst = append(dst, '}')
	}
	return append(dst, `,"payload":"`...)
}

// AppendRecordEnd closes "payload" and writes the rest of the object.
func AppendRecordEnd(dst []byte, b64 bool, level string) []byte {
	if b64 {
		dst = append(dst, `","base64":true`...)
	} else {
		dst = append(dst, `","base64":false`...)
	}
	if level != "" {
		dst = append(dst, `,"level":"`...)
		dst = AppendEscaped(dst, level)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// AppendEscaped appends s as the inside of a JSON string. It escapes what
// JSON requires (quote, backslash, control characters), U+2028 and U+2029
// (which JavaScript consumers choke on), and replaces invalid UTF-8 with
// U+FFFD so the output is always valid JSON and valid UTF-8.
func AppendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
