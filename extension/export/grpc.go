package export

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/grpcwire"
)

// GRPCStatusError is a final gRPC status other than OK: one the server sent,
// or one derived from the HTTP status of an answer that carried none (a
// proxy or load balancer in front of the server answered).
type GRPCStatusError struct {
	// Code is the gRPC status code.
	Code grpcwire.Code
	// Message is grpc-message, decoded (or the start of a proxy's text
	// body), possibly empty.
	Message string
	// HTTPStatus is the HTTP status of the answer: 200 when the server
	// itself sent Code, anything else when Code was derived from it.
	HTTPStatus int
}

// Error says which status ended the export and why, and whether it came
// from the gRPC server or from an HTTP answer in its stead.
func (e *GRPCStatusError) Error() string {
	s := "export: gRPC status " + e.Code.String()
	if e.HTTPStatus != http.StatusOK {
		s = fmt.Sprintf("export: HTTP %d (gRPC status %s)", e.HTTPStatus, e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// grpcProtocol is OTLP/gRPC: unary Export calls over HTTP/2 (TLS with ALPN
// h2 for https endpoints, h2c with prior knowledge for http ones), the
// request one length-prefixed message, the outcome a grpc-status trailer.
type grpcProtocol struct{}

// target is the Export method on the endpoint's host. As in gRPC clients,
// an endpoint's path (and any credentials or query) play no part: the
// method path is the whole path.
func (grpcProtocol) target(_ string, u *url.URL, signal string) string {
	return u.Scheme + "://" + u.Host + grpcwire.Path(signal)
}

func (grpcProtocol) reserved(name string) bool {
	switch name {
	case "content-type", "content-encoding", "content-length", "te":
		return true
	}
	// grpc-timeout, grpc-encoding, … are the protocol's; HTTP/2 fails
	// requests with connection-specific headers.
	return strings.HasPrefix(name, "grpc-") || isHopByHop(name)
}

// Shared header values, assigned without allocating; net/http only reads
// them.
var (
	grpcContentType = []string{grpcwire.ContentType}
	teTrailers      = []string{"trailers"}
	gzipOnly        = []string{"gzip"}
)

func (grpcProtocol) setHeaders(h http.Header, gzip bool) {
	h["Content-Type"] = grpcContentType
	// Required by gRPC: it tells proxies that the client reads trailers.
	h["Te"] = teTrailers
	// The response may be compressed the same way; without this a server
	// may only answer uncompressed.
	h[grpcwire.HeaderAcceptEncoding] = gzipOnly
	if gzip {
		h[grpcwire.HeaderEncoding] = gzipOnly
	}
}

func (grpcProtocol) configure(tr *http.Transport) {
	// HTTP/2 only: over TLS via ALPN h2, and over plain TCP with prior
	// knowledge (h2c), which is what a gRPC server on an insecure port
	// speaks. net/http's bundled HTTP/2 does both; no x/net, no grpc-go.
	var p http.Protocols
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	tr.Protocols = &p
	// gRPC compresses messages, not the HTTP body: no accept-encoding.
	tr.DisableCompression = true
	// Only TLS goes through a proxy (tunnelled with CONNECT, as gRPC
	// clients do): a forward proxy cannot carry h2c requests.
	tr.Proxy = func(r *http.Request) (*url.URL, error) {
		if r.URL.Scheme != "https" {
			return nil, nil
		}
		return http.ProxyFromEnvironment(r)
	}
}

// encode frames body as one message: the 5-byte prefix (compressed flag
// and length), then body, gzipped when compression is on.
func (grpcProtocol) encode(_ string, body Body, gz bool) ([]byte, *bytes.Buffer, error) {
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	var prefix [grpcwire.PrefixLen]byte
	buf.Write(prefix[:])
	var err error
	if gz {
		err = joinTo(buf, body)
	} else {
		var raw []byte
		if raw, err = body.Bytes(); err == nil {
			buf.Write(raw)
		}
	}
	if err != nil {
		putBuffer(buf)
		return nil, nil, err
	}
	b := buf.Bytes()
	grpcwire.PutPrefix(b, gz, len(b)-grpcwire.PrefixLen)
	return b, buf, nil
}

// prepare tells the server the attempt's deadline, so it stops working on
// a call the client has given up on.
func (grpcProtocol) prepare(h http.Header, deadline time.Time) {
	h[grpcwire.HeaderTimeout] = []string{grpcwire.EncodeTimeout(time.Until(deadline))}
}

// read interprets a unary call's answer. The status is the grpc-status
// trailer, or header in a Trailers-Only answer; an answer without one gets
// the status gRPC's HTTP mapping gives its HTTP status. A body that ends
// with an error (RST_STREAM, GOAWAY, a reset connection, the deadline) is
// returned as the error: no status arrived.
func (grpcProtocol) read(resp *http.Response, now time.Time) (attemptResult, error) {
	// The trailers come after the body: it must be read to its end. A
	// unary answer is one small message; past maxResponseBytes the
	// status is not worth buffering for.
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return attemptResult{status: resp.StatusCode}, fmt.Errorf("reading the gRPC response: %w", err)
	}
	a := attemptResult{status: resp.StatusCode}
	st := &GRPCStatusError{HTTPStatus: resp.StatusCode}
	isGRPC := isGRPCContentType(resp.Header.Get("Content-Type"))
	src := resp.Trailer
	if src.Get(grpcwire.HeaderStatus) == "" {
		src = resp.Header // Trailers-Only
	}
	raw := src.Get(grpcwire.HeaderStatus)
	var details grpcwire.Status
	switch {
	case isGRPC && raw != "" && (resp.StatusCode == http.StatusOK || raw != "0"):
		st.Code, _ = grpcwire.ParseCode(raw)
		st.Message = clip([]byte(grpcwire.DecodeMessage(src.Get(grpcwire.HeaderMessage))))
		if v := src.Get(grpcwire.HeaderStatusDetails); v != "" {
			if b, err := grpcwire.DecodeBinaryHeader(v); err == nil {
				details, _ = grpcwire.ParseStatus(b)
			}
		}
		if st.Message == "" && details.Message != "" {
			st.Message = clip([]byte(details.Message))
		}
	case resp.StatusCode != http.StatusOK:
		st.Code = grpcwire.FromHTTPStatus(resp.StatusCode)
		st.Message = errorMessage(resp.Header.Get("Content-Type"), data[:min(len(data), maxResponseBytes)])
		if st.Code == grpcwire.Unavailable {
			a.retryAfter, a.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
			a.retryHint = "Retry-After"
		}
	case !isGRPC:
		st.Code = grpcwire.Unknown
		st.Message = clip([]byte(fmt.Sprintf("the answer is not gRPC (content-type %q)", resp.Header.Get("Content-Type"))))
	case len(data) > maxResponseBytes:
		st.Code = grpcwire.Internal
		st.Message = fmt.Sprintf("response message over %d bytes: status not read", maxResponseBytes)
	default:
		// What grpc-go says of a stream that ends cleanly without one.
		st.Code = grpcwire.Internal
		st.Message = "the server closed the stream without a grpc-status"
	}

	if st.Code == grpcwire.OK {
		a.rejected, a.rejectedMessage = grpcPartialSuccess(resp.Header.Get(grpcwire.HeaderEncoding), data)
		return a, nil
	}
	a.err = st
	switch st.Code {
	case grpcwire.Canceled, grpcwire.DeadlineExceeded, grpcwire.Aborted, grpcwire.OutOfRange,
		grpcwire.Unavailable, grpcwire.DataLoss:
		// The OTLP specification's retryable codes.
		a.retryable = true
	case grpcwire.ResourceExhausted:
		// Retryable only when the server says recovery is possible, by a
		// RetryInfo; otherwise it is a quota the request will not fit.
		a.retryable = details.HasRetryInfo
		a.permanent = !details.HasRetryInfo
	case grpcwire.InvalidArgument, grpcwire.NotFound, grpcwire.AlreadyExists, grpcwire.PermissionDenied,
		grpcwire.FailedPrecondition, grpcwire.Unimplemented, grpcwire.Unauthenticated:
		// The backend is up and refuses this request for good: gRPC's
		// counterpart of a final 4xx.
		a.permanent = true
	}
	if a.retryable && details.HasRetryInfo {
		a.retryAfter, a.hasRetryAfter = details.RetryDelay, true
		a.retryHint = "RetryInfo retry_delay"
	}
	return a, nil
}

// isGRPCContentType accepts application/grpc and its +codec forms.
func isGRPCContentType(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	return v == grpcwire.ContentType || strings.HasPrefix(v, grpcwire.ContentType+"+") ||
		strings.HasPrefix(v, grpcwire.ContentType+";")
}

// grpcPartialSuccess reads partial_success from a successful call's
// response message, decompressing it when the server compressed it (with
// gzip, the only encoding offered). An unreadable response means full
// success, as for OTLP/HTTP.
func grpcPartialSuccess(encoding string, data []byte) (int64, string) {
	msg, compressed, err := grpcwire.SplitMessage(data)
	if err != nil || len(msg) == 0 {
		return 0, ""
	}
	if compressed {
		if !strings.EqualFold(strings.TrimSpace(encoding), "gzip") {
			return 0, ""
		}
		if msg = gunzipSmall(msg); msg == nil {
			return 0, ""
		}
	}
	return parsePartialSuccess("application/x-protobuf", msg)
}

var gzipReaders sync.Pool

// gunzipSmall decompresses a response message of at most maxResponseBytes
// (nil if it is malformed or larger), with a pooled reader: a gzip.Reader
// is tens of kilobytes.
func gunzipSmall(b []byte) []byte {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(b))
	} else {
		err = zr.Reset(bytes.NewReader(b))
	}
	if err != nil {
		return nil
	}
	defer gzipReaders.Put(zr)
	out, err := io.ReadAll(io.LimitReader(zr, maxResponseBytes+1))
	if err != nil || len(out) > maxResponseBytes {
		return nil
	}
	return out
}
