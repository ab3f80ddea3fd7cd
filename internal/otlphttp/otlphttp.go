// Package otlphttp is the library's OTLP/HTTP protobuf span exporter: the
// shared span encoding on a plain net/http client, built for a function that
// exports to the lambdaotel-extension on loopback at the end of every
// invocation.
package otlphttp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel/internal/otlpenv"
	"github.com/lambdaotel/lambdaotel/internal/otlpwire"
)

// Exporter sends spans as OTLP/HTTP protobuf.
type Exporter struct {
	cfg    otlpenv.Traces
	client *http.Client
	log    *slog.Logger

	// completion is set once the endpoint has said (header
	// Lambdaotel-Completion) that it takes completion signals.
	completion atomic.Bool

	mu      sync.Mutex
	buf     []byte
	zbuf    bytes.Buffer
	zw      *gzip.Writer
	failing bool
	closed  bool
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// New returns an exporter for cfg.
func New(cfg otlpenv.Traces, log *slog.Logger) *Exporter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2
	return &Exporter{cfg: cfg, client: &http.Client{Transport: tr}, log: log}
}

// maxAttempts bounds retries; ctx bounds them in time.
const maxAttempts = 3

// ExportSpans sends spans in one request. An empty batch sends nothing.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("otlp exporter: shut down")
	}
	e.buf = otlpwire.AppendTraceRequest(e.buf[:0], spans)
	body := e.buf
	if e.cfg.Compression == "gzip" {
		e.zbuf.Reset()
		if e.zw == nil {
			e.zw = gzip.NewWriter(&e.zbuf)
		} else {
			e.zw.Reset(&e.zbuf)
		}
		_, _ = e.zw.Write(body)
		_ = e.zw.Close()
		body = e.zbuf.Bytes()
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	var err error
	backoff := 10 * time.Millisecond
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		var retry bool
		var wait time.Duration
		retry, wait, err = e.send(ctx, body)
		if err == nil || !retry || attempt == maxAttempts {
			break
		}
		if wait <= 0 {
			wait = backoff
			backoff *= 2
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			err = fmt.Errorf("%w (then %w)", err, ctx.Err())
			attempt = maxAttempts
		}
	}
	if err != nil {
		if !e.failing {
			e.log.Warn("exporting spans failed; further failures are not logged until one succeeds", "endpoint", e.cfg.Endpoint, "err", err)
		}
		e.failing = true
		return fmt.Errorf("otlp export: %w", err)
	}
	e.failing = false
	return nil
}

// send makes one attempt. It says whether a retry may help and how long the
// server asked to wait.
func (e *Exporter) send(ctx context.Context, body []byte) (retry bool, wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.Endpoint, bytes.NewReader(body))
	if err != nil {
		return false, 0, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.cfg.Compression == "gzip" {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range e.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err == nil && resp.Header.Get(headerCompletion) != "" {
		e.completion.Store(true)
	}
	if err != nil {
		// A connection reused across a freeze may have been closed by the
		// other side meanwhile; a new one usually works.
		return ctx.Err() == nil, 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return false, 0, nil
	}
	err = fmt.Errorf("HTTP %d from %s", resp.StatusCode, e.cfg.Endpoint)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		return true, wait, err
	}
	return false, 0, err
}

// completeTimeout bounds the completion signal: it is a hint to the
// extension, which falls back on runtimeDone, so it must never cost the
// function more than this.
const completeTimeout = 50 * time.Millisecond

// headerCompletion is how lambdaotel-extension says it takes completion
// signals.
const headerCompletion = "Lambdaotel-Completion"

// CompletionURL is where the lambdaotel-extension takes completion signals
// when the exporter sends to it: the endpoint's origin on loopback plus
// /invocation/complete; "" when the endpoint is not on loopback.
func (e *Exporter) CompletionURL() string {
	u, err := url.Parse(e.cfg.Endpoint)
	if err != nil || u.Host == "" {
		return ""
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/invocation/complete"
}

// SignalComplete tells the extension that invocation requestID has
// exported what it will, so the extension need not wait for
// platform.runtimeDone before its own flush. The span in ctx, the
// invocation's, goes with it as a W3C traceparent header, so that the
// spans the extension makes from platform telemetry join its trace.
// Failures are ignored: the extension has other ways to know.
func (e *Exporter) SignalComplete(ctx context.Context, requestID string) {
	target := e.CompletionURL()
	if target == "" || !e.completion.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return
	}
	req.Header.Set("Lambda-Request-Id", requestID)
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		req.Header.Set("Traceparent", fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags()))
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.log.Debug("completion signal not delivered", "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
}

// Announce tells the extension, at init, that this function will signal
// every invocation, so that it waits for the signal rather than taking
// platform.runtimeDone as the end of the function's work (in async mode the
// export runs after the runtime is done). The answer also says whether the
// endpoint takes signals at all (see headerCompletion).
func (e *Exporter) Announce(ctx context.Context) {
	target := e.CompletionURL()
	if target == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return
	}
	req.Header.Set("Lambdaotel-Signals", "true")
	resp, err := e.client.Do(req)
	if err != nil {
		e.log.Debug("no extension answered the announcement", "err", err)
		return
	}
	if resp.Header.Get(headerCompletion) != "" {
		e.completion.Store(true)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
}

// Shutdown stops the exporter; later exports fail.
func (e *Exporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	e.client.CloseIdleConnections()
	return nil
}
