package export

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/otlpjson"
)

// wireProtocol is what differs between the OTLP protocols: where a request
// goes, how its body is encoded, which headers it carries and how the
// answer reads. Everything else — budget, retries, breaker, fallback,
// statistics — is the Exporter's and applies to every protocol alike, so a
// protocol is a value implementing these few methods, chosen once by New.
type wireProtocol interface {
	// target is the request URL for signal given its configured endpoint,
	// an http(s) URL, as configured and parsed.
	target(endpoint string, u *url.URL, signal string) string
	// reserved reports whether a configured header (lower-case name) is
	// the protocol's own, or one HTTP/2 forbids, and so is not sent.
	reserved(name string) bool
	// setHeaders sets the protocol's fixed request headers on h.
	setHeaders(h http.Header, gzip bool)
	// configure adapts the HTTP transport (protocol versions, proxying).
	configure(tr *http.Transport)
	// encode returns the request body for body, an encoded
	// Export<Signal>ServiceRequest of signal: body itself, or the bytes of
	// buf, a pooled buffer given back with putBuffer once no attempt's
	// body is in use. An error means body cannot be sent in this protocol
	// at all.
	encode(signal string, body Body, gzip bool) (payload []byte, buf *bytes.Buffer, err error)
	// prepare sets the headers of one attempt that must end by deadline.
	prepare(h http.Header, deadline time.Time)
	// read interprets a response. An error means the answer was cut off
	// before it was complete: the Exporter treats it as a transport error.
	read(resp *http.Response, now time.Time) (attemptResult, error)
}

// protocolFor is the wireProtocol for config.Exporter.Protocol, or nil
// for one this package cannot speak.
func protocolFor(name string) wireProtocol {
	switch name {
	case "", "http/protobuf":
		return httpProtobuf{}
	case "http/json":
		return httpJSON{}
	case "grpc":
		return grpcProtocol{}
	}
	return nil
}

// httpProtobuf is OTLP/HTTP with protobuf bodies: POST to the signal's URL,
// the body gzipped as a whole when compression is on, the answer's HTTP
// status saying it all.
type httpProtobuf struct{}

func (httpProtobuf) target(endpoint string, _ *url.URL, _ string) string { return endpoint }

func (httpProtobuf) reserved(name string) bool {
	switch name {
	case "content-type", "content-encoding", "content-length":
		// The body's type and encoding are ours to say.
		return true
	}
	return false
}

func (httpProtobuf) setHeaders(h http.Header, gzip bool) {
	h.Set("Content-Type", "application/x-protobuf")
	if gzip {
		h.Set("Content-Encoding", "gzip")
	}
}

func (httpProtobuf) configure(tr *http.Transport) {
	// A custom TLS config turns HTTP/2 off unless forced.
	tr.ForceAttemptHTTP2 = true
	tr.Proxy = http.ProxyFromEnvironment
}

func (httpProtobuf) encode(_ string, body Body, gzip bool) ([]byte, *bytes.Buffer, error) {
	if !gzip {
		b, err := body.Bytes()
		return b, nil, err
	}
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	if err := joinTo(buf, body); err != nil {
		putBuffer(buf)
		return nil, nil, err
	}
	return buf.Bytes(), buf, nil
}

func (httpProtobuf) prepare(http.Header, time.Time) {}

func (httpProtobuf) read(resp *http.Response, now time.Time) (attemptResult, error) {
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	a := attemptResult{status: resp.StatusCode}
	if resp.StatusCode/100 == 2 {
		// The export is accepted once the status is in; a body cut short
		// only loses the partial-success detail.
		if rerr == nil {
			a.rejected, a.rejectedMessage = parsePartialSuccess(resp.Header.Get("Content-Type"), data)
		}
		return a, nil
	}
	a.err = &StatusError{Status: resp.StatusCode, Message: errorMessage(resp.Header.Get("Content-Type"), data)}
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		a.retryable = true
		a.retryAfter, a.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		a.retryHint = "Retry-After"
	}
	// Any other 4xx: the backend is up and refuses this request for good.
	a.permanent = resp.StatusCode/100 == 4 && !a.retryable
	return a, nil
}

// httpJSON is OTLP/HTTP with OTLP/JSON bodies (hex trace and span ids,
// integer enums, 64-bit integers as strings): the queue holds protobuf, so
// each batch is transcoded once per export by internal/otlpjson, without
// the reflection-based protojson. Everything else is httpProtobuf's,
// including reading a JSON partial-success answer.
type httpJSON struct{ httpProtobuf }

func (httpJSON) setHeaders(h http.Header, gzip bool) {
	h.Set("Content-Type", "application/json")
	if gzip {
		h.Set("Content-Encoding", "gzip")
	}
}

func (httpJSON) encode(signal string, b Body, gzip bool) ([]byte, *bytes.Buffer, error) {
	sig, ok := jsonSignals[signal]
	if !ok {
		return nil, nil, fmt.Errorf("export: unknown signal %q", signal)
	}
	body, err := b.Bytes()
	if err != nil {
		return nil, nil, err
	}
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	js, err := otlpjson.AppendJSON(buf.AvailableBuffer(), sig, body)
	if err != nil {
		putBuffer(buf)
		return nil, nil, fmt.Errorf("export: encode %s as OTLP/JSON: %w", signal, err)
	}
	if !gzip {
		buf.Write(js) // js already sits in buf's spare capacity when it fit
		return buf.Bytes(), buf, nil
	}
	zb := bufferPool.Get().(*bytes.Buffer)
	zb.Reset()
	gzipTo(zb, js)
	putBuffer(buf)
	return zb.Bytes(), zb, nil
}

var jsonSignals = map[string]otlpjson.Signal{"traces": otlpjson.Traces, "metrics": otlpjson.Metrics, "logs": otlpjson.Logs}

// isHopByHop reports the connection-specific header names that HTTP/2
// forbids (RFC 9113 §8.2.2); net/http's HTTP/2 client fails a request that
// carries one, so sending it would fail every export.
func isHopByHop(name string) bool {
	switch strings.ToLower(name) {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host":
		return true
	}
	return false
}
