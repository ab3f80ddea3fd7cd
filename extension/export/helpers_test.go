package export

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lambdaotel/lambdaotel/extension/config"
	"github.com/lambdaotel/lambdaotel/internal/grpcwire"
)

// traces builds a valid ExportTraceServiceRequest with resources ×
// spansEach spans whose names are nameLen bytes long.
func traces(resources, spansEach, nameLen int) []byte {
	name := bytes.Repeat([]byte("n"), nameLen)
	var out []byte
	for r := 0; r < resources; r++ {
		var scope []byte
		for s := 0; s < spansEach; s++ {
			var span []byte
			tid := make([]byte, 16)
			tid[0], tid[15] = byte(r+1), byte(s+1)
			span = protowire.AppendTag(span, 1, protowire.BytesType)
			span = protowire.AppendBytes(span, tid)
			span = protowire.AppendTag(span, 2, protowire.BytesType)
			span = protowire.AppendBytes(span, []byte{1, 2, 3, 4, 5, 6, 7, byte(s + 1)})
			span = protowire.AppendTag(span, 5, protowire.BytesType)
			span = protowire.AppendBytes(span, name)
			scope = protowire.AppendTag(scope, 2, protowire.BytesType)
			scope = protowire.AppendBytes(scope, span)
		}
		var rs []byte
		rs = protowire.AppendTag(rs, 2, protowire.BytesType)
		rs = protowire.AppendBytes(rs, scope)
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, rs)
	}
	return out
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// writeCounter counts Write calls, to check one line is one Write.
type writeCounter struct {
	syncBuffer
	writes atomic.Int64
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	return w.syncBuffer.Write(p)
}

// fakeSleep records requested waits and returns at once, so retry
// decisions are tested without real time passing.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fakeSleep) sleep(_ context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, d)
	return nil
}

func (f *fakeSleep) got() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

type harness struct {
	exp    *Exporter
	logs   *syncBuffer
	stdout *writeCounter
	sleeps *fakeSleep
}

// newExporter builds an exporter with a debug log capture, a stdout
// capture, a seeded jitter source and (when fake) a recording sleep.
func newExporter(t testing.TB, cfg config.Exporter, opts Options, fake bool) *harness {
	t.Helper()
	h := &harness{logs: &syncBuffer{}, stdout: &writeCounter{}, sleeps: &fakeSleep{}}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.Stdout == nil {
		opts.Stdout = h.stdout
	}
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(1, 2))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Protocol == "" {
		cfg.Protocol = "http/protobuf"
	}
	e, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if fake {
		e.sleep = h.sleeps.sleep
	}
	t.Cleanup(e.Close)
	h.exp = e
	return h
}

// backend is an httptest server whose answers a test scripts per hit.
type backend struct {
	*httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	bodies [][]byte
	reqs   []*http.Request
	// answer decides the response to hit n (1-based); nil answers 200.
	answer func(n int64, w http.ResponseWriter)
}

func newBackend(t testing.TB, answer func(n int64, w http.ResponseWriter)) *backend {
	b := &backend{answer: answer}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	n := b.hits.Add(1)
	raw, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		var err error
		if raw, err = gunzipOne(raw); err != nil {
			http.Error(w, "bad gzip: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	b.mu.Lock()
	b.bodies = append(b.bodies, raw)
	b.reqs = append(b.reqs, r.Clone(context.Background()))
	b.mu.Unlock()
	if b.answer != nil {
		b.answer(n, w)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (b *backend) lastRequest() (*http.Request, []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		return nil, nil
	}
	return b.reqs[len(b.reqs)-1], b.bodies[len(b.bodies)-1]
}

// gunzipOne inflates b, which must be exactly one gzip member: what the
// exporter sends, even when it splices several compressed requests, so that
// a backend whose gunzip stops after the first member loses nothing.
func gunzipOne(b []byte) ([]byte, error) {
	br := bytes.NewReader(b)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	if br.Len() != 0 {
		return nil, fmt.Errorf("%d bytes after the first gzip member", br.Len())
	}
	return out, nil
}

// tarpit accepts connections and never answers.
func tarpit(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// resetter accepts connections and resets them at once; it counts them.
func resetter(t testing.TB) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close sends RST
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String(), &n
}

func budget(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// grpcCall is one call the gRPC test backend received.
type grpcCall struct {
	path   string
	proto  string
	header http.Header
	flag   byte   // the message prefix's compressed flag
	length int    // the prefix's length
	wire   int    // bytes after the prefix
	body   []byte // the message, decompressed
	err    string // what was wrong with the framing, if anything
}

// grpcAnswer scripts one answer of the gRPC test backend. The zero value
// is a plain success: headers, an empty response message, grpc-status 0.
type grpcAnswer struct {
	code    grpcwire.Code
	message string
	// retryDelay ≥ 0 adds grpc-status-details-bin with a RetryInfo.
	retryDelay time.Duration
	hasRetry   bool
	// trailersOnly puts the status in the headers, with no body.
	trailersOnly bool
	// httpStatus ≠ 0 answers like a proxy: that status, text/plain, no
	// gRPC at all; notGRPC answers 200 with an HTML page.
	httpStatus int
	notGRPC    bool
	// header is added to the response headers (e.g. Retry-After).
	header http.Header
	// response is the success message (e.g. a partial success), gzipped
	// with the compressed flag when gzip.
	response []byte
	gzip     bool
	// cutOff resets the stream (RST_STREAM) after the headers and part of
	// the message; dropConn closes the whole connection at that point.
	cutOff, dropConn bool
	// hang waits for the client to give up: a backend that does not
	// answer in time.
	hang bool
}

// grpcBackend is a gRPC server on net/http (h2c, or TLS with h2) that
// records every call and answers as a test scripts per hit.
type grpcBackend struct {
	*httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	calls  []grpcCall
	answer func(n int64) grpcAnswer // nil: always OK
}

// newGRPCBackend starts a gRPC test backend: h2c on an http:// URL, or
// TLS (httptest's self-signed certificate, ALPN h2) on an https:// one.
func newGRPCBackend(t testing.TB, useTLS bool, answer func(n int64) grpcAnswer) *grpcBackend {
	b := &grpcBackend{answer: answer}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	b.Config.ErrorLog = log.New(io.Discard, "", 0) // expected resets and handshake failures
	if useTLS {
		b.EnableHTTP2 = true
		b.StartTLS()
	} else {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		b.Config.Protocols = &p
		b.Start()
	}
	t.Cleanup(b.Close)
	return b
}

func (b *grpcBackend) serve(w http.ResponseWriter, r *http.Request) {
	n := b.hits.Add(1)
	raw, _ := io.ReadAll(r.Body)
	c := grpcCall{path: r.URL.Path, proto: r.Proto, header: r.Header.Clone()}
	if len(raw) < grpcwire.PrefixLen {
		c.err = fmt.Sprintf("%d-byte body", len(raw))
	} else {
		c.flag, c.length, c.wire = raw[0], int(binary.BigEndian.Uint32(raw[1:5])), len(raw)-grpcwire.PrefixLen
		c.body = raw[grpcwire.PrefixLen:]
		if c.flag == 1 {
			var err error
			if c.body, err = gunzipOne(c.body); err != nil {
				c.err = "bad gzip: " + err.Error()
			}
		}
	}
	b.mu.Lock()
	b.calls = append(b.calls, c)
	b.mu.Unlock()

	var a grpcAnswer
	if b.answer != nil {
		a = b.answer(n)
	}
	h := w.Header()
	for k, v := range a.header {
		h[k] = v
	}
	switch {
	case a.hang:
		<-r.Context().Done()
		return
	case a.notGRPC:
		h.Set("Content-Type", "text/html")
		io.WriteString(w, "<html>captive portal</html>")
		return
	case a.httpStatus != 0:
		h.Set("Content-Type", "text/plain")
		w.WriteHeader(a.httpStatus)
		io.WriteString(w, "upstream connect error\n")
		return
	}
	h.Set("Content-Type", "application/grpc")
	h.Set("Grpc-Accept-Encoding", "gzip")
	if a.cutOff || a.dropConn {
		w.WriteHeader(http.StatusOK)
		w.Write([]byte{0, 0, 0}) // part of a prefix
		http.NewResponseController(w).Flush()
		if a.dropConn {
			b.CloseClientConnections()
			<-r.Context().Done()
			return
		}
		panic(http.ErrAbortHandler) // RST_STREAM
	}
	status := func(h http.Header) {
		h.Set("Grpc-Status", strconv.Itoa(int(a.code)))
		if a.message != "" {
			h.Set("Grpc-Message", grpcwire.EncodeMessage(a.message))
		}
		if a.hasRetry {
			h.Set("Grpc-Status-Details-Bin", grpcwire.EncodeBinaryHeader(
				grpcwire.AppendStatus(nil, a.code, a.message, grpcwire.RetryInfoDetail(a.retryDelay))))
		}
	}
	if a.trailersOnly {
		status(h)
		w.WriteHeader(http.StatusOK)
		return
	}
	msg := a.response
	if a.gzip {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(msg)
		zw.Close()
		msg = zb.Bytes()
		h.Set("Grpc-Encoding", "gzip")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(grpcwire.AppendPrefix(nil, a.gzip, len(msg)))
	w.Write(msg)
	// Keys set after the body with TrailerPrefix go out as trailers.
	tr := http.Header{}
	status(tr)
	for k, v := range tr {
		h[http.TrailerPrefix+k] = v
	}
}

func (b *grpcBackend) call(i int) grpcCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[i]
}

func (b *grpcBackend) lastCall() grpcCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[len(b.calls)-1]
}

// grpcConfig is an exporter configuration for gRPC to url.
func grpcConfig(url string) config.Exporter {
	return config.Exporter{Endpoint: url, Protocol: "grpc", Compression: "gzip"}
}
