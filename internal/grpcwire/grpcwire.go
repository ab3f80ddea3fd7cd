// Package grpcwire is the part of the gRPC wire protocol that the extension
// speaks itself, on top of net/http's HTTP/2, instead of linking grpc-go:
// the OTLP method paths, the length-prefixed message framing, status codes
// and their HTTP mapping, the grpc-message and grpc-timeout header
// encodings, and the google.rpc.Status carried in grpc-status-details-bin
// (with the google.rpc.RetryInfo detail OTLP uses for throttling).
//
// It is shared by the OTLP/gRPC receiver (extension/grpcrecv) and the
// exporter (extension/export), so both ends agree on one reading of the
// specification (github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md,
// doc/http-grpc-status-mapping.md). The protobuf messages involved are
// encoded and decoded by hand with internal/pbwire: a few fields each, and no
// generated code or reflection in the binary.
package grpcwire

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

// The OTLP/gRPC method paths (":path" pseudo-headers) of the three unary
// Export calls.
const (
	PathTraces  = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	PathMetrics = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
	PathLogs    = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
)

// Path is the Export method path for signal ("traces", "metrics" or
// "logs", the OTLP/HTTP path segments), or "" for any other name.
func Path(signal string) string {
	switch signal {
	case "traces":
		return PathTraces
	case "metrics":
		return PathMetrics
	case "logs":
		return PathLogs
	}
	return ""
}

// ContentType is the content-type of gRPC requests and responses with the
// protobuf codec.
const ContentType = "application/grpc"

// Header names, canonical so that http.Header.Get finds them; HTTP/2 sends
// every name lower-case whatever its case here.
const (
	HeaderStatus         = "Grpc-Status"
	HeaderMessage        = "Grpc-Message"
	HeaderStatusDetails  = "Grpc-Status-Details-Bin"
	HeaderRetryPushback  = "Grpc-Retry-Pushback-Ms"
	HeaderEncoding       = "Grpc-Encoding"
	HeaderAcceptEncoding = "Grpc-Accept-Encoding"
	HeaderTimeout        = "Grpc-Timeout"
)

// Code is a gRPC status code. The values are fixed by the gRPC
// specification (they are google.golang.org/grpc/codes' values).
type Code uint32

// The status codes.
const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

var codeNames = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// String is the code's name as the gRPC specification spells it (e.g.
// UNAVAILABLE), so logs read like every other gRPC tool's; unknown values
// are shown as CODE(n).
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "CODE(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// ParseCode reads a grpc-status value: a decimal number. A value that is
// not one reads as Unknown with ok false, as grpc-go treats it.
func ParseCode(s string) (c Code, ok bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return Unknown, false
	}
	return Code(n), true
}

// FromHTTPStatus is the status a gRPC client assigns to an HTTP response
// that carries no grpc-status, as doc/http-grpc-status-mapping.md says:
// such an answer comes from something in front of the gRPC server (a proxy,
// a load balancer), and its HTTP status is all there is to go by.
func FromHTTPStatus(status int) Code {
	switch status {
	case 400:
		return Internal
	case 401:
		return Unauthenticated
	case 403:
		return PermissionDenied
	case 404:
		return Unimplemented
	case 429, 502, 503, 504:
		return Unavailable
	}
	return Unknown
}

// PrefixLen is the size of a message prefix: a 1-byte compressed flag and a
// 4-byte big-endian length.
const PrefixLen = 5

// AppendPrefix appends the prefix of an n-byte message, compressed or not.
func AppendPrefix(b []byte, compressed bool, n int) []byte {
	var flag byte
	if compressed {
		flag = 1
	}
	return binary.BigEndian.AppendUint32(append(b, flag), uint32(n))
}

// PutPrefix writes the prefix of an n-byte message into b[:PrefixLen], for
// a buffer whose message was written after room left for its prefix.
func PutPrefix(b []byte, compressed bool, n int) {
	b[0] = 0
	if compressed {
		b[0] = 1
	}
	binary.BigEndian.PutUint32(b[1:PrefixLen], uint32(n))
}

// ErrFraming is wrapped by SplitMessage's errors.
var ErrFraming = errors.New("grpcwire: malformed message framing")

// SplitMessage reads the single length-prefixed message of a unary call's
// body b: the message (aliasing b) and whether its compressed flag is set.
// An empty body is no message (nil, false, nil): a server that fails a call
// sends none.
func SplitMessage(b []byte) (msg []byte, compressed bool, err error) {
	if len(b) == 0 {
		return nil, false, nil
	}
	if len(b) < PrefixLen {
		return nil, false, fmt.Errorf("%w: %d bytes, shorter than the %d-byte prefix", ErrFraming, len(b), PrefixLen)
	}
	if b[0] > 1 {
		return nil, false, fmt.Errorf("%w: compressed flag %d, want 0 or 1", ErrFraming, b[0])
	}
	n := binary.BigEndian.Uint32(b[1:PrefixLen])
	if uint64(n) != uint64(len(b)-PrefixLen) {
		return nil, false, fmt.Errorf("%w: prefix says %d bytes, body holds %d", ErrFraming, n, len(b)-PrefixLen)
	}
	return b[PrefixLen:], b[0] == 1, nil
}

// EncodeMessage percent-encodes a grpc-message value as the gRPC HTTP/2
// protocol specifies: every byte outside printable ASCII (0x20–0x7E), and
// '%' itself, becomes %XX. Invalid UTF-8 is replaced first, because
// receivers decode the result as UTF-8.
func EncodeMessage(msg string) string {
	msg = strings.ToValidUTF8(msg, string(utf8.RuneError))
	plain := true
	for i := 0; i < len(msg); i++ {
		if c := msg[i]; c < 0x20 || c > 0x7e || c == '%' {
			plain = false
			break
		}
	}
	if plain {
		return msg
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(msg) + 16)
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DecodeMessage undoes EncodeMessage. As the specification asks of
// receivers, a malformed %-sequence is kept as it is rather than failing
// the whole status, and invalid UTF-8 in the result is replaced.
func DecodeMessage(s string) string {
	if !strings.Contains(s, "%") {
		return strings.ToValidUTF8(s, string(utf8.RuneError))
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return strings.ToValidUTF8(string(b), string(utf8.RuneError))
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// maxTimeoutValue is the largest grpc-timeout value: at most 8 digits.
const maxTimeoutValue = 1e8 - 1

// EncodeTimeout formats d as a grpc-timeout value: an integer of at most
// eight digits and a unit, in the finest unit that fits, rounded up so a
// server never gives up before the client does. Zero or less is "0n".
func EncodeTimeout(d time.Duration) string {
	if d <= 0 {
		return "0n"
	}
	for _, u := range timeoutUnits {
		if v := ceilDiv(d, u.d); v <= maxTimeoutValue {
			return strconv.FormatInt(v, 10) + u.s
		}
	}
	return strconv.FormatInt(min(ceilDiv(d, time.Hour), maxTimeoutValue), 10) + "H"
}

var timeoutUnits = []struct {
	d time.Duration
	s string
}{{time.Nanosecond, "n"}, {time.Microsecond, "u"}, {time.Millisecond, "m"}, {time.Second, "S"}, {time.Minute, "M"}, {time.Hour, "H"}}

func ceilDiv(d, u time.Duration) int64 {
	v := int64(d / u)
	if d%u != 0 {
		v++
	}
	return v
}

// ParseTimeout reads a grpc-timeout value; ok is false for anything that is
// not one to eight digits followed by a unit (H, M, S, m, u, n).
func ParseTimeout(s string) (d time.Duration, ok bool) {
	if len(s) < 2 || len(s) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n < 0 || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	for _, u := range timeoutUnits {
		if u.s == s[len(s)-1:] {
			if n > math.MaxInt64/int64(u.d) {
				return math.MaxInt64, true
			}
			return time.Duration(n) * u.d, true
		}
	}
	return 0, false
}

// EncodeBinaryHeader is a "-bin" header's value: base64 without padding, as
// gRPC implementations send it.
func EncodeBinaryHeader(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// DecodeBinaryHeader reads a "-bin" header's value, padded or not (the
// specification requires receivers to accept both).
func DecodeBinaryHeader(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// retryInfoType is the google.protobuf.Any type URL of google.rpc.RetryInfo.
const retryInfoType = "type.googleapis.com/google.rpc.RetryInfo"

// AppendStatus appends a google.rpc.Status (code = 1, message = 2,
// details = 3, each detail an encoded google.protobuf.Any).
func AppendStatus(b []byte, code Code, msg string, details ...[]byte) []byte {
	if code != OK {
		b = pbwire.AppendTag(b, 1, pbwire.VarintType)
		b = pbwire.AppendVarint(b, uint64(code))
	}
	if msg != "" {
		b = pbwire.AppendTag(b, 2, pbwire.BytesType)
		b = pbwire.AppendString(b, msg)
	}
	for _, d := range details {
		b = pbwire.AppendTag(b, 3, pbwire.BytesType)
		b = pbwire.AppendBytes(b, d)
	}
	return b
}

// RetryInfoDetail encodes a google.protobuf.Any (type_url = 1, value = 2)
// holding a google.rpc.RetryInfo (retry_delay = 1) whose
// google.protobuf.Duration (seconds = 1, nanos = 2) is delay: the detail
// by which a server tells an OTLP client that a RESOURCE_EXHAUSTED or
// UNAVAILABLE call may be retried, and when.
func RetryInfoDetail(delay time.Duration) []byte {
	var dur []byte
	if s := int64(delay / time.Second); s != 0 {
		dur = pbwire.AppendTag(dur, 1, pbwire.VarintType)
		dur = pbwire.AppendVarint(dur, uint64(s))
	}
	if ns := int64(delay % time.Second); ns != 0 {
		dur = pbwire.AppendTag(dur, 2, pbwire.VarintType)
		dur = pbwire.AppendVarint(dur, uint64(ns))
	}
	var ri []byte
	ri = pbwire.AppendTag(ri, 1, pbwire.BytesType)
	ri = pbwire.AppendBytes(ri, dur)
	var anyMsg []byte
	anyMsg = pbwire.AppendTag(anyMsg, 1, pbwire.BytesType)
	anyMsg = pbwire.AppendString(anyMsg, retryInfoType)
	anyMsg = pbwire.AppendTag(anyMsg, 2, pbwire.BytesType)
	return pbwire.AppendBytes(anyMsg, ri)
}

// Status is what a client needs of a decoded google.rpc.Status.
type Status struct {
	Code    Code
	Message string
	// RetryDelay is the RetryInfo detail's retry_delay (negative delays
	// read as zero), valid when HasRetryInfo.
	RetryDelay   time.Duration
	HasRetryInfo bool
}

// ParseStatus decodes a google.rpc.Status, looking for a RetryInfo among
// its details; other details are skipped. ok is false when b is not a
// well-formed Status: a client then ignores the details, as it would
// ignore a missing header.
func ParseStatus(b []byte) (st Status, ok bool) {
	err := eachField(b, func(num pbwire.Number, typ pbwire.Type, v []byte, u uint64) bool {
		switch {
		case num == 1 && typ == pbwire.VarintType:
			st.Code = Code(u)
		case num == 2 && typ == pbwire.BytesType:
			st.Message = string(v)
		case num == 3 && typ == pbwire.BytesType:
			if d, ok := parseRetryInfoAny(v); ok {
				st.RetryDelay, st.HasRetryInfo = d, true
			}
		}
		return true
	})
	return st, err == nil
}

// parseRetryInfoAny reads the delay of an Any holding a RetryInfo; ok is
// false for any other detail.
func parseRetryInfoAny(b []byte) (time.Duration, bool) {
	var typeURL string
	var value []byte
	if eachField(b, func(num pbwire.Number, typ pbwire.Type, v []byte, _ uint64) bool {
		if typ == pbwire.BytesType {
			switch num {
			case 1:
				typeURL = string(v)
			case 2:
				value = v
			}
		}
		return true
	}) != nil || typeURL != retryInfoType {
		return 0, false
	}
	var dur []byte
	if eachField(value, func(num pbwire.Number, typ pbwire.Type, v []byte, _ uint64) bool {
		if num == 1 && typ == pbwire.BytesType {
			dur = v
		}
		return true
	}) != nil {
		return 0, false
	}
	var secs, nanos int64
	if eachField(dur, func(num pbwire.Number, typ pbwire.Type, _ []byte, u uint64) bool {
		if typ == pbwire.VarintType {
			switch num {
			case 1:
				secs = int64(u)
			case 2:
				nanos = int64(int32(u))
			}
		}
		return true
	}) != nil {
		return 0, false
	}
	const maxSecs = math.MaxInt64/int64(time.Second) - 1
	switch {
	case secs < 0 || (secs == 0 && nanos < 0):
		return 0, true
	case secs > maxSecs:
		return time.Duration(math.MaxInt64), true
	}
	return max(time.Duration(secs)*time.Second+time.Duration(nanos), 0), true
}

var errMalformed = errors.New("grpcwire: malformed protobuf")

// eachField calls f with every field of the protobuf message b: v is a
// length-delimited field's bytes, u a varint field's value.
func eachField(b []byte, f func(num pbwire.Number, typ pbwire.Type, v []byte, u uint64) bool) error {
	for len(b) > 0 {
		num, typ, n := pbwire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		var v []byte
		var u uint64
		switch typ {
		case pbwire.VarintType:
			u, n = pbwire.ConsumeVarint(b)
		case pbwire.BytesType:
			v, n = pbwire.ConsumeBytes(b)
		default:
			n = pbwire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if !f(num, typ, v, u) {
			return nil
		}
	}
	return nil
}
