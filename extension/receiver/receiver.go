// Package receiver is the extension's OTLP/HTTP receiver: an http.Handler for
// POST /v1/traces, /v1/metrics and /v1/logs, plus the two control routes the
// extension needs (POST /invocation/complete and GET /health), and a small
// server wrapper that only ever binds loopback addresses.
//
// # Zero-decode forwarding
//
// A protobuf request body is read into an exactly-sized slice, validated and
// counted at the wire level by wire.Validate, and handed to the Sink as bytes:
// the hot path never unmarshals into the generated OTLP structs and uses no
// reflection. OTLP/JSON is converted to the equivalent protobuf once, at the
// door (hex trace and span IDs become bytes), so everything behind the
// receiver sees one format. gzip request bodies are decompressed with the
// size cap applied to the decompressed size as well, so a decompression bomb
// is refused with 413 rather than filling memory.
//
// # Bad input changes nothing
//
// A request is offered to the Sink only after it has been read in full,
// decompressed and validated; every rejection happens before that, so a bad
// request never reaches the queue. Status codes follow the OTLP/HTTP
// specification and DESIGN.md:
//
//	200  accepted; body is an empty Export*ServiceResponse (protobuf: zero
//	     bytes, JSON: {}) in the request's content type
//	400  malformed protobuf, JSON, OTLP or gzip
//	404  unknown path
//	405  known path, wrong method (with Allow)
//	413  body (compressed or decompressed) over MaxRequestBytes, or the Sink
//	     says the request can never fit (ErrTooLarge)
//	415  unsupported Content-Type or Content-Encoding
//	500  any other Sink error
//	503  the Sink is full (ErrFull), with Retry-After: 1
//
// Error bodies on the OTLP routes are a google.rpc.Status carrying only its
// message field, encoded in the request's content type, as the OTLP/HTTP
// specification asks; 415 for an unknown Content-Type, 404 and 405 answer
// in text/plain because there is no OTLP encoding to answer in.
//
// # Body ownership
//
// The Sink owns the body slice passed to Offer, whatever Offer returns. The
// receiver never touches it again: bodies handed over are either read
// directly into a fresh, exactly-sized slice or copied out of a pooled scratch
// buffer into one. Pooled buffers are used only for data the receiver
// consumes itself (gzip output, raw JSON) and never escape.
package receiver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
)

// DefaultMaxRequestBytes is the request size cap used when
// Options.MaxRequestBytes is not positive. It matches the default of the
// receiver.max_request_bytes setting in extension/config.
const DefaultMaxRequestBytes = 8 << 20

// Sentinel errors a Sink returns (possibly wrapped; the receiver matches them
// with errors.Is). The queue package has its own sentinels, so the adapter
// that connects the real queue to the receiver, which lives with the
// extension's wiring, translates them, e.g.
// fmt.Errorf("%w: %w", receiver.ErrFull, err).
var (
	// ErrFull means the request may fit later: the receiver answers 503
	// with Retry-After so the client retries.
	ErrFull = errors.New("receiver: queue full")
	// ErrTooLarge means the request can never fit: the receiver answers
	// 413, which OTLP clients do not retry.
	ErrTooLarge = errors.New("receiver: request larger than the queue")
)

// Sink takes validated OTLP export requests: the queue, through an adapter.
type Sink interface {
	// Offer takes body, a valid protobuf-encoded export request of signal
	// sig holding items spans, data points or log records. The Sink owns
	// body from the call on, whatever it returns. It must not block on
	// I/O: the client is waiting.
	Offer(sig wire.Signal, body []byte, items int) error
}

// GzipSink is implemented by a Sink that can hold a request in the gzip
// form it arrived in. The receiver still inflates and validates every
// request; it then offers gz, the gzip body as sent, with its members as
// gzjoin found them (aliasing gz) and the length of the valid protobuf
// they inflate to. Held so, a request takes a fraction of the memory, and
// a gzip export splices it instead of compressing it again. The receiver
// uses OfferGzip only when the gzip body is the smaller; the GzipSink owns
// gz and segs from the call on, as with Offer.
type GzipSink interface {
	Sink
	OfferGzip(sig wire.Signal, gz []byte, segs []gzjoin.Segment, encoded, items int) error
}

// Completer learns that the function finished an invocation, from
// POST /invocation/complete.
type Completer interface {
	// Complete marks requestID as complete; an empty requestID means the
	// current invocation.
	Complete(requestID string)
}

// Options tune a Receiver. The zero value is usable.
type Options struct {
	// MaxRequestBytes caps the request body, both as sent and after gzip
	// decompression. Zero or negative means DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// Logger receives one debug line per rejected request and a warning
	// per unexpected Sink error. Nil means no logging.
	Logger *slog.Logger
	// OnReceived, if set, is called after the Sink accepted a request, with
	// the request's signal and item count. It runs on the request's
	// goroutine, so it must be quick (e.g. an atomic counter).
	OnReceived func(sig wire.Signal, items int)
}

// Receiver is the OTLP/HTTP handler. It is safe for concurrent use and holds
// no per-request state between requests.
type Receiver struct {
	sink       Sink
	gzSink     GzipSink // sink, when it is one
	completer  Completer
	max        int64
	log        *slog.Logger
	onReceived func(sig wire.Signal, items int)
}

// New returns a Receiver that offers accepted requests to sink and
// completion signals to completer. completer may be nil, in which case
// POST /invocation/complete is acknowledged and ignored.
func New(sink Sink, completer Completer, opts Options) *Receiver {
	if sink == nil {
		panic("receiver: nil Sink")
	}
	rc := &Receiver{sink: sink, completer: completer, max: opts.MaxRequestBytes, log: opts.Logger, onReceived: opts.OnReceived}
	if rc.max <= 0 {
		rc.max = DefaultMaxRequestBytes
	}
	rc.gzSink, _ = sink.(GzipSink)
	if rc.log == nil {
		rc.log = slog.New(slog.DiscardHandler)
	}
	return rc
}

var completionPath = []string{PathComplete}

// Routes.
const (
	PathTraces   = "/v1/traces"
	PathMetrics  = "/v1/metrics"
	PathLogs     = "/v1/logs"
	PathComplete = "/invocation/complete"
	PathHealth   = "/health"
)

// HeaderRequestID carries the invocation's request ID on
// POST /invocation/complete.
const HeaderRequestID = "Lambda-Request-Id"

// HeaderSignals, "true" on a POST to PathComplete with no request id, is a
// function announcing (at init) that it will signal every invocation.
const HeaderSignals = "Lambdaotel-Signals"

// Announcer is implemented by a Completer that wants the announcement: a
// function that signals every invocation must be waited for, because its
// export may still be under way when its runtime is done.
type Announcer interface {
	Announce()
}

// SpanReporter is implemented by a Completer that wants the function's own
// invocation span: the lambdaotel library sends it as a W3C traceparent
// header with the completion signal, so that the spans the extension makes
// from platform telemetry join the function's trace under it.
type SpanReporter interface {
	ReportSpan(requestID string, traceID [16]byte, spanID [8]byte, sampled bool)
}

// parseTraceparent reads a W3C traceparent header value
// (version-traceid-spanid-flags, lower-case hex). Version ff and all-zero
// ids are invalid; a later version's extra fields are ignored, as the
// specification asks.
func parseTraceparent(v string) (traceID [16]byte, spanID [8]byte, sampled, ok bool) {
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' || (len(v) > 55 && v[55] != '-') {
		return traceID, spanID, false, false
	}
	var version, flags [1]byte
	if !lowerHex(version[:], v[0:2]) || version[0] == 0xff || (version[0] == 0 && len(v) != 55) ||
		!lowerHex(traceID[:], v[3:35]) || !lowerHex(spanID[:], v[36:52]) || !lowerHex(flags[:], v[53:55]) ||
		traceID == [16]byte{} || spanID == [8]byte{} {
		return [16]byte{}, [8]byte{}, false, false
	}
	return traceID, spanID, flags[0]&1 == 1, true
}

// lowerHex decodes s, lower-case hex only, into dst (len(s) == 2*len(dst)).
func lowerHex(dst []byte, s string) bool {
	val := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		}
		return 0, false
	}
	for i := range dst {
		hi, ok1 := val(s[2*i])
		lo, ok2 := val(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// HeaderCompletion is set on every answer to name the completion path. A
// client (the lambdaotel library) sends completion signals only to an
// endpoint that said so: a plain collector on loopback would answer 404 to
// each, for nothing.
const HeaderCompletion = "Lambdaotel-Completion"

// ServeHTTP routes by exact path. It is a switch rather than an
// http.ServeMux so that a wrong method on a known path is a 405 with the
// right Allow header and nothing is allocated to route.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()[HeaderCompletion] = completionPath
	switch r.URL.Path {
	case PathTraces:
		rc.serveExport(w, r, wire.Traces)
	case PathMetrics:
		rc.serveExport(w, r, wire.Metrics)
	case PathLogs:
		rc.serveExport(w, r, wire.Logs)
	case PathComplete:
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		if rc.completer != nil {
			if strings.EqualFold(r.Header.Get(HeaderSignals), "true") {
				// The announcement carries no invocation: it says every
				// invocation will be signalled.
				if a, ok := rc.completer.(Announcer); ok {
					a.Announce()
				}
			} else {
				id := r.Header.Get(HeaderRequestID)
				if sr, ok := rc.completer.(SpanReporter); ok {
					if tid, sid, sampled, ok := parseTraceparent(r.Header.Get("Traceparent")); ok {
						sr.ReportSpan(id, tid, sid, sampled)
					}
				}
				rc.completer.Complete(id)
			}
		}
		w.WriteHeader(http.StatusOK)
	case PathHealth:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		h := w.Header()
		h["Content-Type"] = jsonContentType
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(healthBody)
		}
	default:
		http.Error(w, "404 page not found: OTLP/HTTP paths are /v1/traces, /v1/metrics and /v1/logs", http.StatusNotFound)
	}
}

var healthBody = []byte(`{"status":"ready"}`)

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
}

// serveExport handles one OTLP export request, in the order that lets every
// rejection happen before the Sink sees anything.
func (rc *Receiver) serveExport(w http.ResponseWriter, r *http.Request, sig wire.Signal) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	ct, ok := parseContentType(r.Header["Content-Type"])
	if !ok {
		rc.reject(r.Context(), sig, http.StatusUnsupportedMediaType, "unsupported Content-Type")
		w.Header().Set("Accept-Post", "application/x-protobuf, application/json")
		http.Error(w, "415 unsupported Content-Type: use application/x-protobuf or application/json", http.StatusUnsupportedMediaType)
		return
	}
	gz, ok := parseContentEncoding(r.Header["Content-Encoding"])
	if !ok {
		rc.fail(w, r, sig, ct, http.StatusUnsupportedMediaType, "unsupported Content-Encoding: use gzip or none")
		return
	}

	req, counts, status, msg := rc.readRequest(w, r, sig, ct, gz)
	if status != http.StatusOK {
		rc.fail(w, r, sig, ct, status, msg)
		return
	}

	if err := rc.offer(sig, req, counts.Items); err != nil {
		// The body belongs to the Sink now, even on error: do not touch it.
		switch {
		case errors.Is(err, ErrFull):
			w.Header()["Retry-After"] = retryAfter
			rc.fail(w, r, sig, ct, http.StatusServiceUnavailable, "queue full, retry later")
		case errors.Is(err, ErrTooLarge):
			rc.fail(w, r, sig, ct, http.StatusRequestEntityTooLarge, "request larger than the extension's queue")
		default:
			rc.log.LogAttrs(r.Context(), slog.LevelWarn, "OTLP request not queued",
				slog.String("signal", sig.String()), slog.String("error", err.Error()))
			rc.fail(w, r, sig, ct, http.StatusInternalServerError, "internal error: "+err.Error())
		}
		return
	}
	if rc.onReceived != nil {
		rc.onReceived(sig, counts.Items)
	}
	h := w.Header()
	h["Content-Type"] = ct.header
	w.WriteHeader(http.StatusOK)
	if ct.json {
		_, _ = w.Write(emptyJSONResponse)
	}
	// protobuf: an empty Export*ServiceResponse encodes to zero bytes.
}

var (
	retryAfter        = []string{"1"}
	emptyJSONResponse = []byte("{}")
)

// fail logs a rejection and writes the OTLP error response.
func (rc *Receiver) fail(w http.ResponseWriter, r *http.Request, sig wire.Signal, ct contentType, status int, msg string) {
	rc.reject(r.Context(), sig, status, msg)
	writeStatus(w, ct, status, msg)
}

func (rc *Receiver) reject(ctx context.Context, sig wire.Signal, status int, msg string) {
	if rc.log.Enabled(ctx, slog.LevelDebug) {
		rc.log.LogAttrs(ctx, slog.LevelDebug, "OTLP request rejected",
			slog.String("signal", sig.String()), slog.Int("status", status), slog.String("reason", msg))
	}
}

// accepted is a valid request ready for the Sink: proto, its protobuf
// encoding, or (segs set) gz, the gzip body it inflates from, with encoded
// the length it inflates to.
type accepted struct {
	proto   []byte
	gz      []byte
	segs    []gzjoin.Segment
	encoded int
}

// offer hands req to the Sink in the form it is held.
func (rc *Receiver) offer(sig wire.Signal, req accepted, items int) error {
	if req.segs != nil {
		return rc.gzSink.OfferGzip(sig, req.gz, req.segs, req.encoded, items)
	}
	return rc.sink.Offer(sig, req.proto, items)
}

// readRequest reads, decompresses, converts (JSON) and validates the body.
// On success it returns status 200, a request the caller may hand to the
// Sink, and its counts; otherwise the status and message to answer with.
func (rc *Receiver) readRequest(w http.ResponseWriter, r *http.Request, sig wire.Signal, ct contentType, gz bool) (req accepted, counts wire.Counts, status int, msg string) {
	if r.ContentLength > rc.max {
		// Refuse before reading a byte. The cap applies to the body as
		// sent too, so a compressed body over the cap is refused as well.
		return req, counts, http.StatusRequestEntityTooLarge, tooLargeMessage(rc.max)
	}
	var (
		data []byte // the body as sent
		sc   *scratch
		err  error
	)
	if r.ContentLength >= 0 && !ct.json {
		// The common case: protobuf with a known length. Read straight
		// into a slice the Sink can own: the protobuf itself, or the gzip
		// body it may keep.
		data, err = readExact(r.Body, r.ContentLength)
	} else {
		sc = getScratch()
		defer putScratch(sc)
		sc.b, err = readLimited(http.MaxBytesReader(w, r.Body, rc.max), sc.b, rc.max)
		data = sc.b
	}
	if err != nil {
		status, msg = readErrorStatus(err, rc.max)
		return req, counts, status, msg
	}

	var segs []gzjoin.Segment
	if gz {
		if sc != nil && !ct.json {
			// Kept past the scratch buffer's return if the Sink holds
			// it compressed: give it its own exactly-sized copy.
			data = append(make([]byte, 0, len(data)), data...)
		}
		in := getScratch()
		defer putScratch(in)
		// The cap applies to the decompressed size as well, so a small
		// body that inflates enormously (a decompression bomb) stops at
		// the cap.
		in.b, segs, err = gzjoin.Gunzip(in.b[:0], data, int(rc.max), nil)
		if err != nil {
			if errors.Is(err, gzjoin.ErrTooLarge) {
				return req, counts, http.StatusRequestEntityTooLarge, tooLargeMessage(rc.max)
			}
			return req, counts, http.StatusBadRequest, "invalid gzip body: " + err.Error()
		}
		if ct.json {
			data = in.b
		} else {
			counts, err = wire.Validate(sig, in.b)
			if err != nil {
				return req, counts, http.StatusBadRequest, err.Error()
			}
			if rc.gzSink != nil && len(data) < len(in.b) {
				return accepted{gz: data, segs: segs, encoded: len(in.b)}, counts, http.StatusOK, ""
			}
			// Not worth keeping compressed (or no Sink that can):
			// an exactly-sized copy of the protobuf.
			return accepted{proto: append(make([]byte, 0, len(in.b)), in.b...)}, counts, http.StatusOK, ""
		}
	}

	if ct.json {
		// The converted protobuf is a fresh slice; data (scratch) is
		// released by the deferred putScratch.
		body, counts, err := protobufFromJSON(sig, data)
		if err != nil {
			return req, counts, http.StatusBadRequest, err.Error()
		}
		return accepted{proto: body}, counts, http.StatusOK, ""
	}
	counts, err = wire.Validate(sig, data)
	if err != nil {
		return req, counts, http.StatusBadRequest, err.Error()
	}
	if sc != nil {
		// Hand the Sink its own exactly-sized copy; the scratch buffer goes
		// back to the pool.
		data = append(make([]byte, 0, len(data)), data...)
	}
	return accepted{proto: data}, counts, http.StatusOK, ""
}
