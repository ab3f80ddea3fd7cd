// Package grpcrecv is the extension's OTLP/gRPC receiver: the three unary
// Export methods of the OTLP collector services, served by net/http over
// unencrypted HTTP/2 (h2c with prior knowledge, which is what gRPC clients
// speak to an insecure endpoint).
//
// # Why not grpc-go
//
// The extension must stay small and start fast (DESIGN.md: ≤ 8 MB, ≤ 5 ms to
// listen). OTLP over gRPC uses three unary methods whose request and response
// are single length-prefixed protobuf messages, and net/http already speaks
// HTTP/2 with trailers, so the whole gRPC surface the extension needs is a
// few hundred lines here instead of google.golang.org/grpc in the binary.
// Wire compatibility with grpc-go (and the OTel SDK's otlptracegrpc exporter)
// is proven by the tests in the repository's e2e module.
//
// # Request handling
//
// A request is refused before the Sink sees anything unless it is an HTTP/2
// POST to one of PathTraces, PathMetrics or PathLogs with content-type
// application/grpc or application/grpc+proto, whose body is exactly one
// length-prefixed message (1-byte compressed flag, 4-byte big-endian length,
// message) that wire.Validate accepts. A compressed message (flag 1) must
// come with grpc-encoding: gzip; grpc-encoding identity, gzip or none is
// accepted. The message is bounded by MaxRequestBytes both as sent and after
// gzip decompression. As in package receiver, the body is handed to the Sink
// as bytes in a fresh, exactly-sized slice the Sink then owns: nothing is
// unmarshalled. A compressed message goes to a receiver.GzipSink as it was
// sent, when that is smaller than the protobuf it inflates to.
//
// # Status mapping
//
// Transport-level refusals are plain HTTP answers, as grpc-go's own
// ServeHTTP gives them, because the client is not (yet) speaking gRPC:
//
//	HTTP 505  request not over HTTP/2 (e.g. HTTP/1.1)
//	HTTP 405  method other than POST (with Allow: POST)
//	HTTP 415  content-type not application/grpc or application/grpc+proto
//
// Everything else is HTTP 200 with a gRPC status. Success is response
// headers (content-type: application/grpc), one length-prefixed empty
// Export*ServiceResponse (five zero bytes: flag 0, length 0) and the trailer
// grpc-status: 0. Errors are Trailers-Only responses (one HEADERS frame with
// END_STREAM carrying content-type, grpc-status and grpc-message, the message
// percent-encoded as the gRPC HTTP/2 protocol specifies):
//
//	 3 INVALID_ARGUMENT    malformed frame (short prefix, length mismatch,
//	                       more than one message, bad flag, flag 1 without
//	                       grpc-encoding gzip), malformed gzip, malformed
//	                       OTLP (wire.Validate's message)
//	 8 RESOURCE_EXHAUSTED  message over MaxRequestBytes, compressed or
//	                       decompressed (the message states the limit), or
//	                       the Sink says it can never fit (receiver.ErrTooLarge)
//	 8 RESOURCE_EXHAUSTED  the Sink is full (receiver.ErrFull), with a retry
//	                       hint, see below
//	12 UNIMPLEMENTED       unknown service or method path; grpc-encoding
//	                       other than gzip or identity (with
//	                       grpc-accept-encoding: gzip)
//	13 INTERNAL            any other Sink error
//
// Every response carries grpc-accept-encoding: gzip, so a client learns which
// compression it may use.
//
// # Retry hint for a full queue
//
// OTLP/gRPC clients retry RESOURCE_EXHAUSTED only when the server says that
// recovery is possible, by a google.rpc.RetryInfo in the status details (the
// OTel SDK exporters implement exactly this rule). So a queue-full answer
// carries grpc-status-details-bin: a google.rpc.Status with the same code and
// message and one detail, an Any holding RetryInfo{retry_delay: 1s}, the gRPC
// counterpart of the HTTP receiver's Retry-After: 1. It also carries
// grpc-retry-pushback-ms: 1000, the hint grpc-go's own retry policy reads.
// Both are built once, at start, by internal/grpcwire (shared with the
// exporter), which encodes them with internal/pbwire: no generated code.
package grpcrecv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/receiver"
	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/grpcwire"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
)

// The OTLP/gRPC method paths (":path" pseudo-headers).
const (
	PathTraces  = grpcwire.PathTraces
	PathMetrics = grpcwire.PathMetrics
	PathLogs    = grpcwire.PathLogs
)

// gRPC status codes used here.
const (
	codeOK                = int(grpcwire.OK)
	codeInvalidArgument   = int(grpcwire.InvalidArgument)
	codeResourceExhausted = int(grpcwire.ResourceExhausted)
	codeUnimplemented     = int(grpcwire.Unimplemented)
	codeInternal          = int(grpcwire.Internal)
)

// prefixLen is the size of a gRPC message prefix: 1-byte compressed flag and
// 4-byte big-endian length.
const prefixLen = grpcwire.PrefixLen

// Options tune a Receiver. The zero value is usable.
type Options struct {
	// MaxRequestBytes caps the message, both as sent and after gzip
	// decompression. Zero or negative means receiver.DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// Logger receives one debug line per rejected request and a warning per
	// unexpected Sink error. Nil means no logging.
	Logger *slog.Logger
	// OnReceived, if set, is called after the Sink accepted a request, with
	// its signal and item count, on the request's goroutine.
	OnReceived func(sig wire.Signal, items int)
}

// Receiver is the OTLP/gRPC http.Handler. It is safe for concurrent use.
type Receiver struct {
	sink       receiver.Sink
	gzSink     receiver.GzipSink // sink, when it is one
	max        int64
	log        *slog.Logger
	onReceived func(sig wire.Signal, items int)
}

// New returns a Receiver that offers accepted requests to sink. It takes no
// receiver.Completer: OTLP/gRPC has no completion signal, which the lambdaotel
// library sends over HTTP.
func New(sink receiver.Sink, opts Options) *Receiver {
	if sink == nil {
		panic("grpcrecv: nil Sink")
	}
	rc := &Receiver{sink: sink, max: opts.MaxRequestBytes, log: opts.Logger, onReceived: opts.OnReceived}
	if rc.max <= 0 {
		rc.max = receiver.DefaultMaxRequestBytes
	}
	rc.gzSink, _ = sink.(receiver.GzipSink)
	if rc.log == nil {
		rc.log = slog.New(slog.DiscardHandler)
	}
	return rc
}

// Shared header values: assigning them costs no allocation, and net/http
// only reads them.
var (
	grpcContentType    = []string{"application/grpc"}
	acceptEncodingGzip = []string{"gzip"}
	statusOK           = []string{"0"}
	pushbackMs         = []string{"1000"}
	emptyResponse      = make([]byte, prefixLen) // flag 0, length 0: an empty Export*ServiceResponse
)

// Header names. HTTP/2 sends them lower-case whatever the map key's case;
// the keys are canonical so that net/http and tests can use Header.Get.
const (
	hdrStatus         = grpcwire.HeaderStatus
	hdrMessage        = grpcwire.HeaderMessage
	hdrStatusDetails  = grpcwire.HeaderStatusDetails
	hdrRetryPushback  = grpcwire.HeaderRetryPushback
	hdrAcceptEncoding = grpcwire.HeaderAcceptEncoding
	hdrEncoding       = grpcwire.HeaderEncoding
)

// ServeHTTP serves one unary OTLP Export call.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		http.Error(w, "505 gRPC requires HTTP/2", http.StatusHTTPVersionNotSupported)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "405 gRPC requires POST", http.StatusMethodNotAllowed)
		return
	}
	if !isGRPCContentType(r.Header["Content-Type"]) {
		rc.reject(r.Context(), r.URL.Path, "HTTP 415", "unsupported content-type")
		http.Error(w, "415 unsupported content-type: use application/grpc", http.StatusUnsupportedMediaType)
		return
	}
	h := w.Header()
	h["Content-Type"] = grpcContentType
	h[hdrAcceptEncoding] = acceptEncodingGzip

	var sig wire.Signal
	switch r.URL.Path {
	case PathTraces:
		sig = wire.Traces
	case PathMetrics:
		sig = wire.Metrics
	case PathLogs:
		sig = wire.Logs
	default:
		rc.fail(w, r, &statusError{codeUnimplemented, "unknown service or method " + r.URL.Path + ": this receiver serves the OTLP Export methods only"})
		return
	}
	gz, ok := parseEncoding(r.Header[hdrEncoding])
	if !ok {
		rc.fail(w, r, &statusError{codeUnimplemented, fmt.Sprintf("grpc-encoding %q is not supported: use gzip or identity", r.Header.Get(hdrEncoding))})
		return
	}
	z := inflaterPool.Get().(*inflater)
	defer z.put()
	body, gzMsg, segs, err := decodeRequest(r.Body, gz, rc.max, z)
	if err != nil {
		rc.fail(w, r, asStatus(err))
		return
	}
	counts, err := wire.Validate(sig, body)
	if err != nil {
		rc.fail(w, r, &statusError{codeInvalidArgument, err.Error()})
		return
	}
	if segs != nil {
		if rc.gzSink != nil && len(gzMsg) < len(body) {
			err = rc.gzSink.OfferGzip(sig, gzMsg, segs, len(body), counts.Items)
		} else {
			// An exactly-sized copy: the Sink owns it and the queue's
			// budget counts what it holds, so no slack capacity.
			err = rc.sink.Offer(sig, append(make([]byte, 0, len(body)), body...), counts.Items)
		}
	} else {
		err = rc.sink.Offer(sig, body, counts.Items)
	}
	if err != nil {
		// The message belongs to the Sink now, even on error: do not touch it.
		switch {
		case errors.Is(err, receiver.ErrFull):
			h[hdrStatusDetails] = queueFullDetails
			h[hdrRetryPushback] = pushbackMs
			rc.fail(w, r, &statusError{codeResourceExhausted, queueFullMessage})
		case errors.Is(err, receiver.ErrTooLarge):
			rc.fail(w, r, &statusError{codeResourceExhausted, "request larger than the extension's queue"})
		default:
			rc.log.LogAttrs(r.Context(), slog.LevelWarn, "OTLP/gRPC request not queued",
				slog.String("signal", sig.String()), slog.String("error", err.Error()))
			rc.fail(w, r, &statusError{codeInternal, "internal error: " + err.Error()})
		}
		return
	}
	if rc.onReceived != nil {
		rc.onReceived(sig, counts.Items)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(emptyResponse)
	// A header key with http.TrailerPrefix set after the body is sent as
	// an HTTP/2 trailer without having been declared up front.
	h[http.TrailerPrefix+hdrStatus] = statusOK
}

// fail logs a rejection and writes a Trailers-Only gRPC error response: the
// status goes in the response headers and no body follows, so net/http ends
// the stream with the HEADERS frame.
func (rc *Receiver) fail(w http.ResponseWriter, r *http.Request, st *statusError) {
	rc.reject(r.Context(), r.URL.Path, strconv.Itoa(st.code), st.msg)
	h := w.Header()
	h[hdrStatus] = []string{strconv.Itoa(st.code)}
	h[hdrMessage] = []string{encodeMessage(st.msg)}
	w.WriteHeader(http.StatusOK)
}

func (rc *Receiver) reject(ctx context.Context, path, status, msg string) {
	if rc.log.Enabled(ctx, slog.LevelDebug) {
		rc.log.LogAttrs(ctx, slog.LevelDebug, "OTLP/gRPC request rejected",
			slog.String("path", path), slog.String("status", status), slog.String("reason", msg))
	}
}

// isGRPCContentType accepts application/grpc and application/grpc+proto,
// ignoring case and parameters. Other subtypes (+json, …) would need a codec
// this receiver does not have, so they are refused like any other type.
func isGRPCContentType(vals []string) bool {
	if len(vals) != 1 {
		return false
	}
	mt := vals[0]
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/grpc") || strings.EqualFold(mt, "application/grpc+proto")
}

// parseEncoding reports whether compressed messages use gzip; ok is false for
// any message encoding other than gzip or identity.
func parseEncoding(vals []string) (gz, ok bool) {
	switch len(vals) {
	case 0:
		return false, true
	case 1:
	default:
		return false, false
	}
	switch e := strings.TrimSpace(vals[0]); {
	case e == "", strings.EqualFold(e, "identity"):
		return false, true
	case strings.EqualFold(e, "gzip"):
		return true, true
	}
	return false, false
}

// statusError is a gRPC status to answer with.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return fmt.Sprintf("grpc status %d: %s", e.code, e.msg) }

// asStatus maps a decodeRequest error to a status: a statusError as is,
// anything else (the transport failed mid-body) as INVALID_ARGUMENT, since
// the request as received is incomplete.
func asStatus(err error) *statusError {
	var st *statusError
	if errors.As(err, &st) {
		return st
	}
	return &statusError{codeInvalidArgument, "reading request: " + err.Error()}
}

func tooLarge(limit int64, what string) *statusError {
	return &statusError{codeResourceExhausted, fmt.Sprintf("%s message larger than %d bytes", what, limit)}
}

func malformed(format string, args ...any) *statusError {
	return &statusError{codeInvalidArgument, "malformed gRPC request: " + fmt.Sprintf(format, args...)}
}

// decodeRequest reads a unary gRPC request body from body: exactly one
// length-prefixed message of at most limit bytes, decompressed when its flag
// says so (which needs gz, the stream's grpc-encoding being gzip). It reads
// at most prefixLen+limit+1 bytes, whatever the body holds, and refuses a
// declared length over limit before reading the message. Errors are
// *statusError except for transport errors from body.
//
// An uncompressed message is returned as msg, in a fresh, exactly-sized
// slice. A compressed one is returned inflated as msg, in z's buffer (valid
// until z is put back), with gzMsg, the message as sent (fresh and
// exactly sized), and segs, its gzip members, aliasing gzMsg.
func decodeRequest(body io.Reader, gz bool, limit int64, z *inflater) (msg, gzMsg []byte, segs []gzjoin.Segment, err error) {
	var prefix [prefixLen]byte
	if n, err := io.ReadFull(body, prefix[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, nil, malformed("body of %d bytes is shorter than the 5-byte message prefix", n)
		}
		return nil, nil, nil, err
	}
	flag := prefix[0]
	if flag > 1 {
		return nil, nil, nil, malformed("compressed flag %d, want 0 or 1", flag)
	}
	if flag == 1 && !gz {
		return nil, nil, nil, malformed("compressed flag set without grpc-encoding gzip")
	}
	n := int64(binary.BigEndian.Uint32(prefix[1:]))
	if n > limit {
		what := "request"
		if flag == 1 {
			what = "compressed request"
		}
		return nil, nil, nil, tooLarge(limit, what)
	}
	data := make([]byte, n)
	if got, err := io.ReadFull(body, data); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, nil, malformed("message prefix says %d bytes, body holds %d", n, got)
		}
		return nil, nil, nil, err
	}
	// A unary call carries exactly one message: anything after it is a
	// framing error, not something to ignore.
	var extra [1]byte
	if k, err := io.ReadFull(body, extra[:]); k > 0 {
		return nil, nil, nil, malformed("data after the message: a unary request holds exactly one message of %d bytes", n)
	} else if !errors.Is(err, io.EOF) {
		return nil, nil, nil, err
	}
	if flag == 0 {
		return data, nil, nil, nil
	}
	// The cap applies to the inflated size too: a decompression bomb
	// stops there.
	z.buf, segs, err = gzjoin.Gunzip(z.buf[:0], data, int(limit), nil)
	if err != nil {
		if errors.Is(err, gzjoin.ErrTooLarge) {
			return nil, nil, nil, tooLarge(limit, "decompressed request")
		}
		return nil, nil, nil, malformed("invalid gzip message: %v", err)
	}
	return z.buf, data, segs, nil
}

// inflater is a pooled output buffer for compressed messages.
type inflater struct{ buf []byte }

// maxPooledBuf keeps a rare huge request from pinning its buffer in the pool:
// idle memory matters more in Lambda than one allocation.
const maxPooledBuf = 1 << 20

func (z *inflater) put() {
	if cap(z.buf) > maxPooledBuf {
		z.buf = nil
	}
	inflaterPool.Put(z)
}

var inflaterPool = sync.Pool{New: func() any { return new(inflater) }}

// encodeMessage percent-encodes a grpc-message value (see
// grpcwire.EncodeMessage).
func encodeMessage(msg string) string { return grpcwire.EncodeMessage(msg) }

const queueFullMessage = "queue full, retry later"

// queueFullDetails is the grpc-status-details-bin value for a full queue:
// base64 (unpadded, as gRPC sends binary headers) of
//
//	google.rpc.Status{code: 8, message: queueFullMessage,
//	    details: [Any{type_url: "type.googleapis.com/google.rpc.RetryInfo",
//	                  value: RetryInfo{retry_delay: Duration{seconds: 1}}}]}
var queueFullDetails = []string{grpcwire.EncodeBinaryHeader(
	grpcwire.AppendStatus(nil, grpcwire.ResourceExhausted, queueFullMessage, grpcwire.RetryInfoDetail(time.Second)))}
