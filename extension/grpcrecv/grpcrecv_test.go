package grpcrecv

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/receiver"
	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// offer is one call to recSink.Offer.
type offer struct {
	sig   wire.Signal
	body  []byte
	items int
}

// recSink records offers and answers with err.
type recSink struct {
	mu     sync.Mutex
	err    error
	offers []offer
}

func (s *recSink) Offer(sig wire.Signal, body []byte, items int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offers = append(s.offers, offer{sig, body, items})
	return s.err
}

func (s *recSink) all() []offer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]offer(nil), s.offers...)
}

const testMax = 64 << 10

// startServer serves a Receiver over h2c on a free loopback port and returns
// its base URL and an HTTP/2-only (prior knowledge) client.
func startServer(t *testing.T, sink receiver.Sink) (string, *http.Client) {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(sink, Options{MaxRequestBytes: testMax}).Start(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A stream whose upload the server cut short (an early error
		// answer) can keep the client's connection busy for a moment,
		// and net/http then waits up to a second for it after GOAWAY.
		// Graceful shutdown is tested in TestOnReceived; here, be quick.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v", err)
		}
	})
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return "http://" + srv.Addr().String(), &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// frame builds a length-prefixed gRPC message.
func frame(flag byte, msg []byte) []byte {
	b := []byte{flag, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	return append(b, msg...)
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// result is what a gRPC call came back with.
type result struct {
	httpStatus int
	header     http.Header
	body       []byte
	grpcStatus string // "" when absent
	grpcMsg    string // percent-decoded
	trailersOn bool   // the status came in trailers, not Trailers-Only
}

type call struct {
	path, ct, enc string
	body          []byte
}

func do(t *testing.T, base string, c *http.Client, k call) result {
	t.Helper()
	if k.ct == "" {
		k.ct = "application/grpc"
	}
	req, err := http.NewRequest(http.MethodPost, base+k.path, bytes.NewReader(k.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", k.ct)
	req.Header.Set("TE", "trailers")
	if k.enc != "" {
		req.Header.Set("Grpc-Encoding", k.enc)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 {
		t.Fatalf("response over %s, want HTTP/2", resp.Proto)
	}
	r := result{httpStatus: resp.StatusCode, header: resp.Header, body: body}
	src := resp.Header
	if s := resp.Trailer.Get("Grpc-Status"); s != "" {
		src, r.trailersOn = resp.Trailer, true
	}
	r.grpcStatus = src.Get("Grpc-Status")
	if m := src.Get("Grpc-Message"); m != "" {
		if r.grpcMsg, err = url.PathUnescape(m); err != nil {
			t.Fatalf("grpc-message %q: %v", m, err)
		}
	}
	return r
}

func testTraces() *tracepb.TracesData {
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "fn"}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{
			{TraceId: bytes.Repeat([]byte{1}, 16), SpanId: bytes.Repeat([]byte{2}, 8), Name: "a"},
			{TraceId: bytes.Repeat([]byte{1}, 16), SpanId: bytes.Repeat([]byte{3}, 8), Name: "b"},
		}}},
	}}}
}

func testMetrics() *metricspb.MetricsData {
	return &metricspb.MetricsData{ResourceMetrics: []*metricspb.ResourceMetrics{{
		ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{{
			Name: "m",
			Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{
				{Value: &metricspb.NumberDataPoint_AsInt{AsInt: 1}},
				{Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 2}},
				{Value: &metricspb.NumberDataPoint_AsInt{AsInt: 3}},
			}}},
		}}}},
	}}}
}

func testLogs() *logspb.LogsData {
	return &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{
			{Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "hello"}}},
		}}},
	}}}
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantOK(t *testing.T, r result) {
	t.Helper()
	if r.httpStatus != 200 || r.grpcStatus != "0" || !r.trailersOn {
		t.Fatalf("got HTTP %d grpc-status %q (in trailers: %v) message %q, want 200 and grpc-status 0 in trailers",
			r.httpStatus, r.grpcStatus, r.trailersOn, r.grpcMsg)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/grpc" {
		t.Errorf("content-type %q", ct)
	}
	if !bytes.Equal(r.body, []byte{0, 0, 0, 0, 0}) {
		t.Errorf("response body %x, want one empty message (00 00000000)", r.body)
	}
}

func wantStatus(t *testing.T, r result, code int, msgPart string) {
	t.Helper()
	if r.httpStatus != 200 || r.grpcStatus != strconv.Itoa(code) {
		t.Fatalf("got HTTP %d grpc-status %q message %q, want 200 and grpc-status %d", r.httpStatus, r.grpcStatus, r.grpcMsg, code)
	}
	if r.trailersOn || len(r.body) != 0 {
		t.Errorf("error answer is not Trailers-Only (body %x)", r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/grpc" {
		t.Errorf("content-type %q", ct)
	}
	if !strings.Contains(r.grpcMsg, msgPart) {
		t.Errorf("grpc-message %q does not contain %q", r.grpcMsg, msgPart)
	}
}

func TestExportAllSignals(t *testing.T) {
	cases := []struct {
		path  string
		sig   wire.Signal
		msg   proto.Message
		items int
	}{
		{PathTraces, wire.Traces, testTraces(), 2},
		{PathMetrics, wire.Metrics, testMetrics(), 3},
		{PathLogs, wire.Logs, testLogs(), 1},
	}
	for _, enc := range []string{"", "identity", "gzip"} {
		for _, ct := range []string{"application/grpc", "application/grpc+proto", "Application/GRPC; charset=utf-8"} {
			for _, c := range cases {
				t.Run(fmt.Sprintf("%s/%s/%s", c.sig, enc, ct), func(t *testing.T) {
					sink := &recSink{}
					base, cl := startServer(t, sink)
					msg := marshal(t, c.msg)
					body := frame(0, msg)
					if enc == "gzip" {
						body = frame(1, gz(t, msg))
					}
					wantOK(t, do(t, base, cl, call{path: c.path, ct: ct, enc: enc, body: body}))
					offers := sink.all()
					if len(offers) != 1 {
						t.Fatalf("%d offers, want 1", len(offers))
					}
					o := offers[0]
					if o.sig != c.sig || o.items != c.items || !bytes.Equal(o.body, msg) {
						t.Errorf("offer %v %d items %x, want %v %d items %x", o.sig, o.items, o.body, c.sig, c.items, msg)
					}
					if cap(o.body) != len(o.body) {
						t.Errorf("body cap %d, len %d: want an exactly-sized slice", cap(o.body), len(o.body))
					}
				})
			}
		}
	}
}

// TestUncompressedMessageWithGzipEncoding: grpc-encoding names the codec for
// messages whose flag is set; a message with flag 0 is plain even then.
func TestUncompressedMessageWithGzipEncoding(t *testing.T) {
	sink := &recSink{}
	base, cl := startServer(t, sink)
	msg := marshal(t, testTraces())
	wantOK(t, do(t, base, cl, call{path: PathTraces, enc: "gzip", body: frame(0, msg)}))
	if o := sink.all(); len(o) != 1 || !bytes.Equal(o[0].body, msg) {
		t.Fatalf("offers %v", o)
	}
}

func TestEmptyMessage(t *testing.T) {
	sink := &recSink{}
	base, cl := startServer(t, sink)
	wantOK(t, do(t, base, cl, call{path: PathLogs, body: frame(0, nil)}))
	if o := sink.all(); len(o) != 1 || len(o[0].body) != 0 || o[0].items != 0 {
		t.Fatalf("offers %v", o)
	}
}

func TestErrors(t *testing.T) {
	traces := marshal(t, testTraces())
	big := bytes.Repeat([]byte{'x'}, testMax+1)
	// A valid OTLP body over the cap once decompressed: one span whose
	// name is long; it compresses to a few hundred bytes.
	bigTraces := marshal(t, &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{
		Spans: []*tracepb.Span{{Name: string(big)}}}}}}})
	oversizedPrefix := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(oversizedPrefix[1:], testMax+1)
	cases := []struct {
		name string
		call call
		code int
		msg  string
	}{
		{"unknown method", call{path: "/opentelemetry.proto.collector.trace.v1.TraceService/Nope", body: frame(0, traces)}, 12, "unknown service or method"},
		{"unknown service", call{path: "/grpc.health.v1.Health/Check", body: frame(0, nil)}, 12, "unknown service or method"},
		{"unsupported encoding", call{path: PathTraces, enc: "snappy", body: frame(1, traces)}, 12, `grpc-encoding "snappy"`},
		{"malformed OTLP", call{path: PathTraces, body: frame(0, []byte{0x0a, 0x05, 1})}, 3, "malformed OTLP traces request"},
		{"wrong signal", call{path: PathLogs, body: frame(0, marshal(t, testMetrics()))}, 3, "malformed OTLP logs request"},
		{"empty body", call{path: PathTraces, body: nil}, 3, "shorter than the 5-byte message prefix"},
		{"short prefix", call{path: PathTraces, body: []byte{0, 0, 0}}, 3, "body of 3 bytes is shorter than the 5-byte message prefix"},
		{"length longer than body", call{path: PathTraces, body: frame(0, traces)[:len(traces)]}, 3, fmt.Sprintf("prefix says %d bytes, body holds %d", len(traces), len(traces)-5)},
		{"data after message", call{path: PathTraces, body: append(frame(0, traces), 0)}, 3, "data after the message"},
		{"two messages", call{path: PathTraces, body: append(frame(0, traces), frame(0, traces)...)}, 3, "exactly one message"},
		{"bad flag", call{path: PathTraces, body: frame(2, traces)}, 3, "compressed flag 2"},
		{"compressed without encoding", call{path: PathTraces, body: frame(1, gz(t, traces))}, 3, "without grpc-encoding gzip"},
		{"compressed with identity", call{path: PathTraces, enc: "identity", body: frame(1, gz(t, traces))}, 3, "without grpc-encoding gzip"},
		{"bad gzip", call{path: PathTraces, enc: "gzip", body: frame(1, traces)}, 3, "invalid gzip message"},
		{"empty gzip", call{path: PathTraces, enc: "gzip", body: frame(1, nil)}, 3, "invalid gzip message"},
		{"oversized", call{path: PathTraces, body: frame(0, big)}, 8, fmt.Sprintf("request message larger than %d bytes", testMax)},
		{"oversized prefix only", call{path: PathTraces, body: oversizedPrefix}, 8, fmt.Sprintf("larger than %d bytes", testMax)},
		{"oversized compressed", call{path: PathTraces, enc: "gzip", body: frame(1, big)}, 8, fmt.Sprintf("compressed request message larger than %d bytes", testMax)},
		{"oversized decompressed", call{path: PathTraces, enc: "gzip", body: frame(1, gz(t, bigTraces))}, 8, fmt.Sprintf("decompressed request message larger than %d bytes", testMax)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := &recSink{}
			base, cl := startServer(t, sink)
			r := do(t, base, cl, c.call)
			wantStatus(t, r, c.code, c.msg)
			if got := r.header.Get("Grpc-Accept-Encoding"); got != "gzip" {
				t.Errorf("grpc-accept-encoding %q, want gzip", got)
			}
			if o := sink.all(); len(o) != 0 {
				t.Errorf("a rejected request reached the sink: %v", o)
			}
		})
	}
}

func TestSinkErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"full", fmt.Errorf("%w: %w", receiver.ErrFull, errors.New("queue: full")), 8, "queue full, retry later"},
		{"too large", fmt.Errorf("%w: %w", receiver.ErrTooLarge, errors.New("queue: too large")), 8, "larger than the extension's queue"},
		{"other", errors.New("boom"), 13, "internal error: boom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := &recSink{err: c.err}
			base, cl := startServer(t, sink)
			r := do(t, base, cl, call{path: PathMetrics, body: frame(0, marshal(t, testMetrics()))})
			wantStatus(t, r, c.code, c.msg)
			full := errors.Is(c.err, receiver.ErrFull)
			if got := r.header.Get("Grpc-Retry-Pushback-Ms"); (got == "1000") != full {
				t.Errorf("grpc-retry-pushback-ms %q", got)
			}
			det := r.header.Get("Grpc-Status-Details-Bin")
			if !full {
				if det != "" {
					t.Errorf("unexpected status details %q", det)
				}
				return
			}
			checkRetryInfo(t, det, c.msg)
		})
	}
}

// checkRetryInfo decodes grpc-status-details-bin down to the RetryInfo's
// delay, with protowire, independently of how the package encodes it.
func checkRetryInfo(t *testing.T, det, msg string) {
	t.Helper()
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(det, "="))
	if err != nil {
		t.Fatalf("details %q: %v", det, err)
	}
	st := fields(t, raw)
	if len(st[1]) != 1 || st[1][0].v != 8 {
		t.Errorf("status code %v, want 8", st[1])
	}
	if len(st[2]) != 1 || string(st[2][0].b) != msg {
		t.Errorf("status message %v, want %q", st[2], msg)
	}
	if len(st[3]) != 1 {
		t.Fatalf("%d details, want 1", len(st[3]))
	}
	anyMsg := fields(t, st[3][0].b)
	if string(anyMsg[1][0].b) != "type.googleapis.com/google.rpc.RetryInfo" {
		t.Errorf("type_url %q", anyMsg[1][0].b)
	}
	ri := fields(t, anyMsg[2][0].b)
	dur := fields(t, ri[1][0].b)
	if len(dur[1]) != 1 || dur[1][0].v != 1 || len(dur[2]) != 0 {
		t.Errorf("retry_delay %v, want 1s", dur)
	}
}

type fieldVal struct {
	v uint64
	b []byte
}

// fields parses one protobuf message of varint and bytes fields.
func fields(t *testing.T, b []byte) map[protowire.Number][]fieldVal {
	t.Helper()
	m := map[protowire.Number][]fieldVal{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag in %x", b)
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				t.Fatal("bad varint")
			}
			m[num] = append(m[num], fieldVal{v: v})
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatal("bad bytes")
			}
			m[num] = append(m[num], fieldVal{b: v})
			b = b[n:]
		default:
			t.Fatalf("unexpected wire type %d", typ)
		}
	}
	return m
}

func TestHTTPLevelRefusals(t *testing.T) {
	sink := &recSink{}
	base, cl := startServer(t, sink)
	body := frame(0, marshal(t, testTraces()))

	for _, ct := range []string{"application/x-protobuf", "application/json", "application/grpc+json", "text/plain", "application/grpcx"} {
		r := do(t, base, cl, call{path: PathTraces, ct: ct, body: body})
		if r.httpStatus != http.StatusUnsupportedMediaType || r.grpcStatus != "" {
			t.Errorf("content-type %q: HTTP %d grpc-status %q, want 415", ct, r.httpStatus, r.grpcStatus)
		}
	}

	req, _ := http.NewRequest(http.MethodGet, base+PathTraces, nil)
	req.Header.Set("Content-Type", "application/grpc")
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow %q, want 405 POST", resp.StatusCode, resp.Header.Get("Allow"))
	}

	// HTTP/1.1 reaches the handler (HTTP/1 stays enabled for this answer)
	// and is refused.
	h1 := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	req, _ = http.NewRequest(http.MethodPost, base+PathTraces, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/grpc")
	resp, err = h1.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 1 || resp.StatusCode != http.StatusHTTPVersionNotSupported {
		t.Errorf("HTTP/1.1: %s %d, want HTTP/1.1 505", resp.Proto, resp.StatusCode)
	}
	h1.CloseIdleConnections()

	if o := sink.all(); len(o) != 0 {
		t.Errorf("refused requests reached the sink: %v", o)
	}
}

// TestConcurrentCalls multiplexes calls over one HTTP/2 connection.
func TestConcurrentCalls(t *testing.T) {
	sink := &recSink{}
	base, cl := startServer(t, sink)
	msg := marshal(t, testTraces())
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, base+PathTraces, bytes.NewReader(frame(0, msg)))
			req.Header.Set("Content-Type", "application/grpc")
			resp, err := cl.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if s := resp.Trailer.Get("Grpc-Status"); s != "0" {
				t.Errorf("grpc-status %q", s)
			}
		})
	}
	wg.Wait()
	if n := len(sink.all()); n != 20 {
		t.Errorf("%d offers, want 20", n)
	}
}

func TestOnReceived(t *testing.T) {
	var got []int
	rc := New(&recSink{}, Options{OnReceived: func(sig wire.Signal, items int) { got = append(got, int(sig), items) }})
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rc.Start(ln)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	wantOK(t, do(t, "http://"+srv.Addr().String(), &http.Client{Transport: tr}, call{path: PathLogs, body: frame(0, marshal(t, testLogs()))}))
	tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[2 1]" {
		t.Errorf("OnReceived got %v, want [2 1]", got)
	}
	if srv.Err() != nil {
		t.Errorf("Err after Shutdown: %v", srv.Err())
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0"} {
		if ln, err := Listen(addr); !errors.Is(err, receiver.ErrNotLoopback) {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("Listen(%q) = %v, want ErrNotLoopback", addr, err)
		}
	}
}

func TestEncodeMessage(t *testing.T) {
	cases := map[string]string{
		"plain text: ok":   "plain text: ok",
		"50% done":         "50%25 done",
		"line\nbreak\t":    "line%0Abreak%09",
		"caf\u00e9 \u2713": "caf%C3%A9 %E2%9C%93",
		"bad \xff utf8":    "bad %EF%BF%BD utf8",
		"":                 "",
	}
	for in, want := range cases {
		if got := encodeMessage(in); got != want {
			t.Errorf("encodeMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewPanicsOnNilSink(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(nil) did not panic")
		}
	}()
	New(nil, Options{})
}

// gzSink is a recSink that also holds requests compressed
// (receiver.GzipSink), recording the gzip message and what it inflates to.
type gzSink struct {
	recSink
	held []heldGzip
}

type heldGzip struct {
	gz             []byte
	segs           []gzjoin.Segment
	encoded, items int
}

func (s *gzSink) OfferGzip(_ wire.Signal, gz []byte, segs []gzjoin.Segment, encoded, items int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = append(s.held, heldGzip{gz, segs, encoded, items})
	return s.err
}

// TestGzipSinkHoldsCompressed: a compressed message goes to a GzipSink as
// sent, when smaller than the protobuf, with segments that inflate to it;
// one that compression did not shrink goes as protobuf.
func TestGzipSinkHoldsCompressed(t *testing.T) {
	td := testTraces()
	for range 5 {
		td.ResourceSpans = append(td.ResourceSpans, testTraces().ResourceSpans...)
	}
	msg := marshal(t, td)
	var stored bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&stored, gzip.NoCompression)
	zw.Write(msg)
	zw.Close()
	for _, tc := range []struct {
		name string
		gz   []byte
		held bool
	}{{"compressed", gz(t, msg), true}, {"stored", stored.Bytes(), false}} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &gzSink{}
			base, cl := startServer(t, sink)
			wantOK(t, do(t, base, cl, call{path: PathTraces, enc: "gzip", body: frame(1, tc.gz)}))
			sink.mu.Lock()
			held, plain := sink.held, sink.offers
			sink.mu.Unlock()
			if !tc.held {
				if len(held) != 0 || len(plain) != 1 || !bytes.Equal(plain[0].body, msg) || cap(plain[0].body) != len(msg) {
					t.Fatalf("%d held, %d plain: want the protobuf, exactly sized", len(held), len(plain))
				}
				return
			}
			if len(held) != 1 || len(plain) != 0 {
				t.Fatalf("%d held, %d plain: want one held", len(held), len(plain))
			}
			h := held[0]
			if !bytes.Equal(h.gz, tc.gz) || cap(h.gz) != len(h.gz) || h.encoded != len(msg) || h.items != 12 || len(h.segs) != 1 {
				t.Fatalf("held %d bytes (cap %d), encoded %d, items %d, %d segments", len(h.gz), cap(h.gz), h.encoded, h.items, len(h.segs))
			}
			got, _, err := gzjoin.Inflate(nil, h.segs[0].Data, len(msg))
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("the segment does not inflate to the message (err %v)", err)
			}
		})
	}
}
