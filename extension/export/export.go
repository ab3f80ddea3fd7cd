// Package export sends the extension's batches to an OTLP backend over
// OTLP/HTTP (protobuf or JSON) or OTLP/gRPC, bounded by the caller's budget, and
// writes what cannot be sent to stdout, where it lands in the function's
// logs.
//
// Signals are named by the strings "traces", "metrics" and "logs" (the OTLP
// path segments), not by extension/wire.Signal, so that this package and the
// pipeline around it stay decoupled.
//
// # Budget
//
// Export's ctx carries the budget as its deadline (with no deadline, one
// configured Timeout is the budget). Every attempt is bounded by
// min(Timeout, remaining budget − Margin); an attempt, a backoff or a
// Retry-After wait that cannot finish before the deadline minus Margin is
// never started, so Export returns before the deadline and the caller keeps
// Margin to requeue or write the batch out.
//
// # Retries
//
// Transport errors (except certificate failures, which retrying cannot fix)
// and HTTP 408, 429, 502, 503 and 504 are retried, at most
// Options.MaxAttempts times in all, after an exponential backoff with full
// jitter (base 20 ms, cap 1 s) or, when the response says so, after
// Retry-After (seconds or an HTTP date) — but only if that wait fits in the
// remaining budget; if it does not, Export stops at once rather than burn
// the budget on a wait that cannot end in an attempt. Any other status is
// final; a final 4xx is also Result.Permanent (the batch can be dropped:
// sending it again cannot succeed). A 2xx response body is read for OTLP
// partial success (Export*ServiceResponse.partial_success), which is logged
// with its counts and reported in Result.Rejected.
//
// # OTLP/JSON
//
// With protocol http/json each batch (protobuf, as queued) is transcoded to
// OTLP/JSON by internal/otlpjson — hex trace and span ids, integer enums,
// 64-bit integers as strings, as the OTLP specification requires — and
// posted with content-type application/json; everything else is as for
// http/protobuf. A batch that cannot be transcoded (it cannot happen to a
// validated one) fails at once as Result.Permanent, without a request.
//
// # OTLP/gRPC
//
// With protocol grpc each export is a unary call to the signal's Export
// method (/opentelemetry.proto.collector.trace.v1.TraceService/Export and
// its metrics and logs counterparts) on the endpoint's host — its path, as
// in gRPC clients, is ignored — over net/http's own HTTP/2: TLS with ALPN h2
// for https endpoints (certificates verified unless insecure_skip_verify),
// h2c with prior knowledge for http ones (config turns a scheme-less
// host:port into one of these). grpc-go is not linked; package
// internal/grpcwire holds the wire details, shared with the receiver. The
// body is one length-prefixed message, gzipped with the compressed flag and
// grpc-encoding: gzip when compression is on; the request carries
// content-type application/grpc, te: trailers, grpc-accept-encoding: gzip,
// grpc-timeout (the attempt's own deadline) and the configured headers as
// metadata.
//
// The outcome is the grpc-status trailer (or header, in a Trailers-Only
// answer) with grpc-message; an answer without one — a proxy's — gets the
// status gRPC's HTTP mapping gives its HTTP status (429, 502, 503, 504 →
// UNAVAILABLE, 401 → UNAUTHENTICATED, …). The OTLP specification's
// retryable codes are retried like the retryable HTTP statuses: CANCELLED,
// DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS, and
// RESOURCE_EXHAUSTED only when grpc-status-details-bin carries a
// google.rpc.RetryInfo; a RetryInfo's retry_delay is used as Retry-After
// is, under the same budget rule. INVALID_ARGUMENT, NOT_FOUND,
// ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION, UNIMPLEMENTED,
// UNAUTHENTICATED and RESOURCE_EXHAUSTED without RetryInfo are final and
// Permanent, like a final 4xx; any other code is final. An answer cut off
// before its status (RST_STREAM, GOAWAY, a reset connection) is a transport
// error, retried. An OK answer's message is read for partial success as
// over HTTP. Failures carry a *GRPCStatusError.
//
// # Breaker
//
// Each backend (scheme and host; signals sharing one share its breaker) has
// a fail-open breaker. It opens after Options.BreakerThreshold consecutive
// failed exports, or at once when an export failed because the backend did
// not answer in time: a slow or dead backend costs the budget once, not
// once per flush. (A timed-out attempt that was given less than 100 ms only
// counts as an ordinary failure: the tail of a budget spent elsewhere
// proves little about the backend.) While open, Export returns
// Result{Skipped: true, Err: ErrBreakerOpen} without touching the network,
// and every Options.ProbeEvery-th such call is let through as a probe: one
// attempt, no retries, so a probe costs at most one Timeout. Each failed
// probe doubles the spacing (up to 64·ProbeEvery calls), so a long outage
// costs Timeouts in proportion to its logarithm, not its length. A probe that
// gets any answer from the backend (2xx, or a final 4xx, which proves it is
// up) closes the breaker. Final 4xx answers (and their gRPC counterparts,
// see Result.Permanent) never count as failures.
//
// Probes are counted in calls, not in wall-clock time, on purpose: Lambda
// freezes the extension between invocations, so a wall-clock interval
// elapses during every freeze and a time-based breaker would probe on every
// thawed invocation of a quiet function, paying the timeout each time.
// Calls track the work actually done, freeze or not.
//
// # Fallback
//
// A signal with no endpoint is written to stdout by Export itself
// (Result.Fallback); New says so once, at start. A failed or skipped export
// writes nothing: the caller requeues the batch for the next flush while
// its budget allows and calls WriteFallback with what is left at SHUTDOWN.
//
// A fallback line is one JSON object on one line, written with one Write:
//
//	{"otlp_fallback":{"__otel_otlp_stdout":"lambdaotel-extension@1",
//	  "source":"my-service","signal":"traces",
//	  "endpoint":"http://localhost:4318/v1/traces","method":"POST",
//	  "content-type":"application/x-protobuf","content-encoding":"gzip",
//	  "bytes":1234,"items":10,"payload":"H4sIAAAA…","base64":true}}
//
// (shown wrapped; it is a single line). The object under "otlp_fallback" is
// an otlp-stdout record (its fields, names and meanings are those of the
// otlp-stdout-span-exporter format, see otlpstdout.Decode), plus "signal",
// "bytes" (protobuf length before compression) and "items" (spans, data
// points or log records; omitted when the body does not validate). payload
// is standard base64 of gzip of an Export<Signal>ServiceRequest; it is
// always gzipped, whatever Compression says, because log ingestion is paid
// by the byte and lines are limited in size. Configured headers are never
// written: their values are secrets and the line goes to the logs.
//
// The record is nested rather than top-level deliberately: a forwarder that
// understands otlp_fallback unwraps it and decodes the inner object as an
// otlp-stdout record (routing by "signal"/"endpoint"), while consumers that
// only look for top-level otlp-stdout records — including trace-only
// forwarders that would misread a metrics payload as spans, and this
// extension's own Telemetry API listener, which must not re-ingest its own
// output — skip the line.
//
// A body is split at its top-level field boundaries (each piece is itself a
// valid request) so that a line stays under CloudWatch Logs' 256 KiB event
// size: at most FallbackChunkBytes of protobuf per line, unless a single
// resource is larger.
package export

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/config"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
)

// Retry timing. Full jitter: the n-th backoff is uniform in
// [0, min(backoffCap, backoffBase·2^(n-1))), which spreads the retries of
// many functions hitting one recovering backend.
const (
	backoffBase = 20 * time.Millisecond
	backoffCap  = time.Second
	// minAttempt is the least time worth starting an attempt with: less
	// than this cannot even open a connection.
	minAttempt = 2 * time.Millisecond
	// slowEvidence is the least time an attempt must have been given for
	// its timing out to prove the backend slow or dead (opening the breaker
	// at once): an attempt squeezed into the last milliseconds of a budget
	// that earlier exports used up proves little, and counts as an
	// ordinary failure instead.
	slowEvidence = 100 * time.Millisecond
	// maxResponseBytes bounds what is read of a response body: a partial
	// success or an error status is small, and a hostile or confused
	// backend must not make us buffer megabytes.
	maxResponseBytes = 64 << 10
)

// Defaults for Options.
const (
	DefaultBreakerThreshold = 3
	DefaultProbeEvery       = 5
	DefaultMaxAttempts      = 5
	DefaultMargin           = 10 * time.Millisecond
	DefaultSource           = "lambdaotel-extension"
)

// Errors.
var (
	// ErrBreakerOpen is Result.Err for an export skipped because the
	// backend's breaker is open.
	ErrBreakerOpen = errors.New("export: backend unavailable, breaker open: skipped without sending")
	// ErrUnsupportedProtocol is returned by New for a protocol this package
	// cannot speak (config admits none such; a caller building the
	// configuration itself might).
	ErrUnsupportedProtocol = errors.New("export: protocol not supported yet")
	// ErrNoBudget is Result.Err when the budget ran out before an attempt
	// could start (possibly after earlier attempts).
	ErrNoBudget = errors.New("export: budget exhausted")
)

// StatusError is a final non-2xx HTTP response (protocol http/protobuf;
// over gRPC a failure is a *GRPCStatusError).
type StatusError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the backend's explanation (google.rpc.Status message or
	// the start of a text body), possibly empty.
	Message string
}

// Error says which status the backend answered and why.
func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("export: HTTP %d", e.Status)
	}
	return fmt.Sprintf("export: HTTP %d: %s", e.Status, e.Message)
}

// Options tune an Exporter; the zero value is usable.
type Options struct {
	// Logger receives transitions, partial successes and failures; nil
	// discards. Header values and URL credentials are never logged.
	Logger *slog.Logger
	// Stdout receives fallback lines; nil means os.Stdout.
	Stdout io.Writer
	// Now is the clock for Result.Duration and HTTP-date Retry-After; nil
	// means time.Now. Deadlines themselves are the context's, in real time.
	Now func() time.Time
	// Rand draws backoff jitter; nil uses the global source. It is used
	// under a lock, so a seeded one makes retries reproducible in tests.
	Rand *rand.Rand
	// BreakerThreshold is how many consecutive failed exports open a
	// backend's breaker (DefaultBreakerThreshold when ≤ 0).
	BreakerThreshold int
	// ProbeEvery lets every ProbeEvery-th call through an open breaker as a
	// probe (DefaultProbeEvery when ≤ 0).
	ProbeEvery int
	// MaxAttempts bounds the attempts of one export (DefaultMaxAttempts
	// when ≤ 0); the budget usually bounds them first.
	MaxAttempts int
	// Margin is kept free before the budget's deadline (DefaultMargin when
	// ≤ 0) for the caller to requeue or write out the batch.
	Margin time.Duration
	// Source is the fallback lines' "source" (DefaultSource when empty):
	// the service name, as otlp-stdout records have it.
	Source string
}

// Result is the outcome of one Export.
type Result struct {
	// OK: the backend accepted the export (2xx, or gRPC OK), perhaps
	// partially.
	OK bool
	// Fallback: no endpoint for the signal; the body went to stdout.
	Fallback bool
	// Skipped: the breaker is open; nothing was sent (Err is ErrBreakerOpen).
	Skipped bool
	// Err says why the export failed; nil when OK, and for a successful
	// fallback.
	Err error
	// Status is the last HTTP status received, 0 if none (200 for a gRPC
	// call that got an answer: its status is in Err).
	Status int
	// Attempts is how many requests were started.
	Attempts int
	// Duration is the wall time Export took.
	Duration time.Duration
	// BytesSent is the request body bytes (after compression) of all
	// attempts.
	BytesSent int64
	// Rejected is the partial-success count of items the backend refused,
	// and RejectedMessage its explanation.
	Rejected        int64
	RejectedMessage string
	// Permanent: the backend is up and refused this request for good (an
	// HTTP 4xx other than 408 and 429, or a gRPC status such as
	// INVALID_ARGUMENT, see the package documentation); sending the same
	// body again cannot succeed, so the caller should drop it rather than
	// requeue it.
	Permanent bool
}

// Stats are the exporter's counters since New.
type Stats struct {
	// Exports and ExportedBytes count accepted requests and their body
	// bytes on the wire (after compression).
	Exports, ExportedBytes int64
	// Retries counts attempts after the first of an export.
	Retries int64
	// Failures counts exports that ended without success (not Skipped).
	Failures int64
	// Skipped counts exports refused by an open breaker.
	Skipped int64
	// Rejected sums partial-success rejected item counts.
	Rejected int64
	// Fallbacks counts WriteFallback calls (including those for signals
	// without endpoint) that wrote something; FallbackLines and
	// FallbackBytes count their lines and protobuf bytes.
	Fallbacks, FallbackLines, FallbackBytes int64
	// BreakerOpens counts breaker transitions to open.
	BreakerOpens int64
}

type counters struct {
	exports, exportedBytes, retries, failures, skipped, rejected atomic.Int64
	fallbacks, fallbackLines, fallbackBytes, breakerOpens        atomic.Int64
}

// target is where one signal goes.
type target struct {
	url      string // as configured, used for requests
	shown    string // without credentials or query, for logs
	breaker  *breaker
	fallback []byte // the fallback line's prefix up to "bytes":
}

// Exporter sends OTLP export requests. It is safe for concurrent use.
type Exporter struct {
	cfg     config.Exporter
	opts    Options
	log     *slog.Logger
	client  *http.Client
	proto   wireProtocol
	header  http.Header
	gzip    bool
	targets [3]target
	stats   counters

	// sleep waits d or until ctx is done; tests replace it to observe waits.
	sleep func(ctx context.Context, d time.Duration) error

	randMu   sync.Mutex
	stdoutMu sync.Mutex
	failing  atomic.Bool
}

var signals = [3]string{"traces", "metrics", "logs"}

func signalIndex(s string) int {
	for i, name := range signals {
		if name == s {
			return i
		}
	}
	return -1
}

// New builds an Exporter for cfg. It fails for a protocol it cannot speak
// (ErrUnsupportedProtocol) and for an endpoint that is not an http(s) URL.
func New(cfg config.Exporter, opts Options) (*Exporter, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BreakerThreshold <= 0 {
		opts.BreakerThreshold = DefaultBreakerThreshold
	}
	if opts.ProbeEvery <= 0 {
		opts.ProbeEvery = DefaultProbeEvery
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Margin <= 0 {
		opts.Margin = DefaultMargin
	}
	if opts.Source == "" {
		opts.Source = DefaultSource
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	e := &Exporter{cfg: cfg, opts: opts, log: opts.Logger, gzip: cfg.Compression == "gzip", sleep: sleepCtx}
	e.proto = protocolFor(cfg.Protocol)
	supported := e.proto != nil
	if !supported {
		// Harmless until an endpoint needs it: checked below.
		e.proto = httpProtobuf{}
	}

	breakers := map[string]*breaker{}
	var missing []string
	warnedPath := false
	for i, sig := range signals {
		t := &e.targets[i]
		t.fallback = fallbackPrefix(opts.Source, sig)
		t.url = cfg.SignalEndpoint(sig)
		if t.url == "" {
			missing = append(missing, sig)
			continue
		}
		u, err := url.Parse(t.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL itself may hold credentials: name the signal only.
			return nil, fmt.Errorf("export: the %s endpoint is not an http(s) URL", sig)
		}
		t.url = e.proto.target(t.url, u, sig)
		if cfg.Protocol == "grpc" && !warnedPath && (strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil) {
			// Said, not refused: gRPC clients ignore them too, and a path
			// copied from an OTLP/HTTP setup is an easy mistake to make.
			warnedPath = true
			e.log.Warn("the path, query and credentials of a grpc endpoint are ignored: gRPC calls go to the host's Export method",
				"signal", sig, "endpoint", redact(u))
		}
		if tu, err := url.Parse(t.url); err == nil {
			u = tu
		}
		t.shown = redact(u)
		key := u.Scheme + "://" + u.Host
		if breakers[key] == nil {
			breakers[key] = newBreaker(opts.BreakerThreshold, opts.ProbeEvery)
		}
		t.breaker = breakers[key]
	}
	if len(missing) < len(signals) && !supported {
		return nil, fmt.Errorf("%w: %q (use http/protobuf, http/json or grpc)", ErrUnsupportedProtocol, cfg.Protocol)
	}
	if len(missing) > 0 {
		// Said once here, not per export: every flush would repeat it.
		e.log.Info("no OTLP endpoint configured; this telemetry is written to stdout as otlp_fallback lines",
			"signals", strings.Join(missing, ","))
	}

	e.header = http.Header{}
	for k, v := range cfg.Headers {
		if e.proto.reserved(strings.ToLower(k)) {
			continue
		}
		// With grpc these are the call's metadata; HTTP/2 sends every
		// name lower-case.
		e.header.Set(k, v)
	}
	e.proto.setHeaders(e.header, e.gzip)
	if e.header.Get("User-Agent") == "" {
		e.header.Set("User-Agent", "lambdaotel-extension")
	}

	tr := &http.Transport{
		// The budget bounds dialing through the request context; the
		// dialer's own timeout only guards against a context without one.
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		// One flush sends at most three requests (one per signal) at a
		// time, so a few idle connections per host keep them all warm.
		MaxIdleConns:        16,
		MaxIdleConnsPerHost: 4,
		// A connection kept across a freeze may have been closed by the
		// backend meanwhile; the retry on transport errors covers that.
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// Off only when the user said so explicitly.
			InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec
		},
	}
	e.proto.configure(tr)
	e.client = &http.Client{
		Transport: tr,
		// A redirect would carry the configured headers (tokens) to
		// wherever it points; OTLP backends do not redirect, so a 3xx is
		// reported as the final answer instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return e, nil
}

// redact drops credentials, query and fragment from u for logging: API keys
// are sometimes passed in either.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery, c.ForceQuery = "", false
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// Close releases idle connections. The Exporter stays usable.
func (e *Exporter) Close() { e.client.CloseIdleConnections() }

// Stats returns the counters.
func (e *Exporter) Stats() Stats {
	c := &e.stats
	return Stats{
		Exports: c.exports.Load(), ExportedBytes: c.exportedBytes.Load(), Retries: c.retries.Load(),
		Failures: c.failures.Load(), Skipped: c.skipped.Load(), Rejected: c.rejected.Load(),
		Fallbacks: c.fallbacks.Load(), FallbackLines: c.fallbackLines.Load(), FallbackBytes: c.fallbackBytes.Load(),
		BreakerOpens: c.breakerOpens.Load(),
	}
}

// BreakerOpen reports whether signal's backend is currently skipped.
func (e *Exporter) BreakerOpen(signal string) bool {
	i := signalIndex(signal)
	return i >= 0 && e.targets[i].breaker != nil && e.targets[i].breaker.isOpen()
}

// Body is what Export sends: an encoded Export<Signal>ServiceRequest (or
// several concatenated), which may be held partly gzip-compressed. A
// *queue.Batch is one; Proto is one held as plain bytes.
type Body interface {
	// Bytes returns the protobuf encoding.
	Bytes() ([]byte, error)
	// Join writes the protobuf encoding into j, which gzips it, splicing
	// in what is already compressed rather than compressing it again.
	Join(j *gzjoin.Joiner) error
}

// Proto is a Body held as its protobuf encoding.
type Proto []byte

// Bytes returns p.
func (p Proto) Bytes() ([]byte, error) { return p, nil }

// Join compresses p into j.
func (p Proto) Join(j *gzjoin.Joiner) error {
	_, err := j.Write(p)
	return err
}

// Export sends body for signal ("traces", "metrics" or "logs"), within
// ctx's deadline. See the package documentation for the policies.
func (e *Exporter) Export(ctx context.Context, signal string, body Body) Result {
	start := e.opts.Now()
	i := signalIndex(signal)
	if i < 0 {
		return Result{Err: fmt.Errorf("export: unknown signal %q", signal)}
	}
	t := &e.targets[i]
	if t.url == "" {
		b, err := body.Bytes()
		if err == nil {
			err = e.WriteFallback(signal, b)
		}
		return Result{Fallback: true, Err: err, Duration: e.opts.Now().Sub(start)}
	}
	probe, ok := t.breaker.allow()
	if !ok {
		e.stats.skipped.Add(1)
		return Result{Skipped: true, Err: ErrBreakerOpen, Duration: e.opts.Now().Sub(start)}
	}
	maxAttempts := e.opts.MaxAttempts
	if probe {
		maxAttempts = 1
	}
	res, out := e.send(ctx, t, signal, body, maxAttempts)
	res.Duration = e.opts.Now().Sub(start)

	switch t.breaker.record(out, probe) {
	case opened:
		e.stats.breakerOpens.Add(1)
		e.log.Warn("OTLP backend unavailable: breaker open, exports skip to fallback until a probe succeeds",
			"endpoint", t.shown, "signal", signal, "err", res.Err, "probe_every", e.opts.ProbeEvery)
	case closed:
		e.log.Info("OTLP backend answered: breaker closed", "endpoint", t.shown, "signal", signal)
	}

	if res.OK {
		e.stats.exports.Add(1)
		e.stats.exportedBytes.Add(res.BytesSent / int64(max(res.Attempts, 1)))
		e.failing.Store(false)
		if res.Rejected > 0 || res.RejectedMessage != "" {
			e.stats.rejected.Add(res.Rejected)
			e.log.Warn("OTLP backend rejected part of an export", "endpoint", t.shown, "signal", signal,
				"rejected", res.Rejected, "message", res.RejectedMessage)
		}
		return res
	}
	e.stats.failures.Add(1)
	// One warning per run of failures; the rest at debug, so a dead
	// backend does not flood the function's logs.
	level := slog.LevelDebug
	if !e.failing.Swap(true) {
		level = slog.LevelWarn
	}
	e.log.Log(ctx, level, "OTLP export failed", "endpoint", t.shown, "signal", signal,
		"status", res.Status, "attempts", res.Attempts, "err", res.Err)
	return res
}

// send runs the attempts of one export and classifies the outcome for the
// breaker.
func (e *Exporter) send(ctx context.Context, t *target, signal string, body Body, maxAttempts int) (Result, outcome) {
	var res Result
	deadline, ok := ctx.Deadline()
	if !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.cfg.Timeout)
		defer cancel()
		deadline, _ = ctx.Deadline()
	}

	payload, zb, err := e.proto.encode(signal, body, e.gzip)
	if err != nil {
		// Not the backend's doing: nothing was sent, and sending the
		// same body again cannot work either.
		res.Err, res.Permanent = err, true
		return res, none
	}
	var bodies []*requestBody
	defer func() {
		// The transport may still be reading a body after Do returns
		// (the server answered before reading it all); the buffer is
		// reused only when every attempt's body has been closed.
		if zb == nil {
			return
		}
		for _, b := range bodies {
			if !b.closed.Load() {
				return
			}
		}
		putBuffer(zb)
	}()

	var a attemptResult
	// One attempt that was given enough time and got no answer proves the
	// backend slow, even if a later, shorter retry failed differently: the
	// breaker must hear "slow" and open at once.
	sawSlow := false
	fail := func() outcome {
		if sawSlow {
			return slow
		}
		return failureOf(a)
	}
	for attempt := 1; ; attempt++ {
		remaining := time.Until(deadline) - e.opts.Margin
		if remaining < minAttempt {
			if res.Attempts == 0 {
				res.Err = ErrNoBudget
				return res, none
			}
			res.Err = fmt.Errorf("%w after %d attempts: %w", ErrNoBudget, res.Attempts, res.Err)
			return res, fail()
		}
		rb := &requestBody{}
		rb.Reset(payload)
		bodies = append(bodies, rb)
		a = e.attempt(ctx, t.url, rb, int64(len(payload)), min(e.cfg.Timeout, remaining))
		res.Attempts++
		sawSlow = sawSlow || a.slow
		res.BytesSent += int64(len(payload))
		res.Status, res.Err = a.status, a.err
		if a.err == nil {
			res.OK = true
			res.Rejected, res.RejectedMessage = a.rejected, a.rejectedMessage
			return res, success
		}
		if !a.retryable {
			res.Permanent = a.permanent
			return res, fail()
		}
		if ctx.Err() != nil {
			// The caller gave up (or the budget ended mid-attempt).
			return res, fail()
		}
		if attempt >= maxAttempts {
			return res, fail()
		}
		wait := a.retryAfter
		if !a.hasRetryAfter {
			wait = e.jitter(attempt)
		}
		if time.Until(deadline)-e.opts.Margin-wait < minAttempt {
			if a.hasRetryAfter {
				res.Err = fmt.Errorf("%w (%s %s exceeds the remaining budget)", res.Err, a.retryHint, wait)
			}
			return res, fail()
		}
		e.stats.retries.Add(1)
		if err := e.sleep(ctx, wait); err != nil {
			return res, fail()
		}
	}
}

// outcome is what an export says about the backend's health.
type outcome uint8

const (
	none        outcome = iota // says nothing (no attempt, or cancelled)
	success                    // 2xx, gRPC OK
	answered                   // a final refusal (Result.Permanent): the backend is up, the request is not welcome
	unavailable                // transport error, 5xx, retries exhausted
	slow                       // the backend did not answer in time
)

func failureOf(a attemptResult) outcome {
	switch {
	case a.slow:
		return slow
	case a.cancelled:
		return none
	case a.permanent:
		return answered
	}
	return unavailable
}

// jitter is the full-jitter backoff before retry n (n ≥ 1).
func (e *Exporter) jitter(n int) time.Duration {
	ceiling := backoffCap
	if n < 16 {
		ceiling = min(backoffCap, backoffBase<<(n-1))
	}
	if e.opts.Rand == nil {
		return time.Duration(rand.Int64N(int64(ceiling)))
	}
	e.randMu.Lock()
	defer e.randMu.Unlock()
	return time.Duration(e.opts.Rand.Int64N(int64(ceiling)))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// requestBody is a request body whose closing by the transport is visible,
// so its buffer can be reused safely.
type requestBody struct {
	bytes.Reader
	closed atomic.Bool
}

// Close records that the transport is done with the body.
func (b *requestBody) Close() error { b.closed.Store(true); return nil }

type attemptResult struct {
	status    int
	err       error
	retryable bool
	// permanent: the backend refused the request for good (Result.Permanent).
	permanent bool
	slow      bool
	cancelled bool
	// retryAfter is the backend's own retry delay, when hasRetryAfter;
	// retryHint names where it came from, for errors.
	retryAfter      time.Duration
	hasRetryAfter   bool
	retryHint       string
	rejected        int64
	rejectedMessage string
}

// attempt makes one request bounded by timeout.
func (e *Exporter) attempt(ctx context.Context, endpoint string, body *requestBody, n int64, timeout time.Duration) attemptResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return attemptResult{err: fmt.Errorf("export: building the request: %w", unwrapURL(err))}
	}
	req.Body, req.ContentLength = body, n
	if n == 0 {
		req.Body = http.NoBody
		body.closed.Store(true)
	}
	req.Header = e.header.Clone()
	deadline, _ := ctx.Deadline()
	e.proto.prepare(req.Header, deadline)
	resp, err := e.client.Do(req)
	if err != nil {
		// Do closes the body on error too, possibly later; it is checked
		// before reuse.
		return e.transportFailure(err, timeout)
	}
	defer resp.Body.Close()
	a, err := e.proto.read(resp, e.opts.Now())
	if err != nil {
		// The answer was cut off: as good as none.
		f := e.transportFailure(err, timeout)
		f.status = resp.StatusCode
		return f
	}
	return a
}

// transportFailure classifies an attempt that got no (complete) answer.
func (e *Exporter) transportFailure(err error, timeout time.Duration) attemptResult {
	err = unwrapURL(err)
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &cv):
		// Retrying cannot fix a certificate.
		return attemptResult{err: fmt.Errorf("export: %w", err)}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return attemptResult{err: fmt.Errorf("export: no answer within %s: %w", timeout.Round(time.Millisecond), err), retryable: true,
			slow: timeout >= min(e.cfg.Timeout, slowEvidence)}
	case errors.Is(err, context.Canceled):
		return attemptResult{err: fmt.Errorf("export: %w", err), cancelled: true}
	}
	return attemptResult{err: fmt.Errorf("export: %w", err), retryable: true}
}

// unwrapURL drops the *url.Error wrapper, whose text repeats the URL (and
// with it any key in the query) into logs.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// parseRetryAfter reads delay-seconds or an HTTP date (RFC 9110 §10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var secs int64
	digits := true
	for _, c := range v {
		if c < '0' || c > '9' {
			digits = false
			break
		}
		secs = secs*10 + int64(c-'0')
		if secs > 1<<31 {
			secs = 1 << 31 // far beyond any budget; avoids overflow
		}
	}
	if digits {
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// gzipLevel is BestSpeed: on span data it compresses about 3× faster than
// the default level for about 5 % more bytes (measured: 442 KB of spans to
// 93.2 KB in 3.0 ms at level 1, to 88.2 KB in 8.6 ms at level 6). The
// extension's CPU is the function's billed time, and at SHUTDOWN the
// fallback must fit a deadline; a few percent of bytes are cheaper.
const gzipLevel = gzip.BestSpeed

var (
	gzipPool = sync.Pool{New: func() any {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzipLevel) // a valid level: no error
		return zw
	}}
	bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	joinerPool = sync.Pool{New: func() any {
		j, _ := gzjoin.NewJoiner(io.Discard, gzipLevel) // a valid level: no error
		return j
	}}
)

// joinTo appends body, gzipped, to buf: one gzip stream in which requests
// that arrived compressed are spliced as they came, and only the rest is
// compressed here.
func joinTo(buf *bytes.Buffer, body Body) error {
	j := joinerPool.Get().(*gzjoin.Joiner)
	defer joinerPool.Put(j)
	j.Reset(buf)
	err := body.Join(j)
	if cerr := j.Close(); err == nil {
		err = cerr
	}
	j.Reset(io.Discard) // do not keep buf reachable from the pool
	return err
}

// compress gzips body into a pooled buffer.
func compress(body []byte) *bytes.Buffer {
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	gzipTo(buf, body)
	return buf
}

// gzipTo appends the gzip of body to buf. Writers are pooled because each
// holds about a megabyte of compressor state.
func gzipTo(buf *bytes.Buffer, body []byte) {
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(buf)
	_, _ = zw.Write(body) // a bytes.Buffer does not fail
	_ = zw.Close()
	zw.Reset(io.Discard) // do not keep buf reachable from the pool
	gzipPool.Put(zw)
}

func putBuffer(b *bytes.Buffer) {
	// Keep pooled buffers bounded: one huge batch should not pin its
	// buffer for the life of the process.
	if b.Cap() <= 4<<20 {
		bufferPool.Put(b)
	}
}
