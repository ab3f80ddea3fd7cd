package gzjoin

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpTraces returns a realistic OTLP trace export request body with n
// spans. It marshals TracesData, whose wire format is that of
// ExportTraceServiceRequest (field 1, repeated ResourceSpans): the
// collector package would drag grpc into the module.
func otlpTraces(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1))
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	num := func(k string, v int64) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
	}
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	routes := []string{"/api/v1/orders/{id}", "/api/v1/users/{id}/cart", "/healthz", "/api/v1/search", "/api/v2/checkout"}
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	names := []string{"HandleRequest", "DynamoDB.GetItem", "S3.PutObject", "SQS.SendMessage", "http.client"}
	spans := make([]*tracepb.Span, n)
	traceID := randBytes(16)
	start := uint64(1_700_000_000_000_000_000)
	for i := range spans {
		if r.IntN(8) == 0 {
			traceID = randBytes(16)
		}
		route := routes[r.IntN(len(routes))]
		method := methods[r.IntN(len(methods))]
		start += uint64(r.IntN(5_000_000))
		status := []int64{200, 200, 200, 201, 404, 500}[r.IntN(6)]
		s := &tracepb.Span{
			TraceId:           traceID,
			SpanId:            randBytes(8),
			ParentSpanId:      randBytes(8),
			Name:              names[r.IntN(len(names))],
			Kind:              tracepb.Span_SpanKind(1 + r.IntN(3)),
			StartTimeUnixNano: start,
			EndTimeUnixNano:   start + uint64(r.IntN(200_000_000)),
			Attributes: []*commonpb.KeyValue{
				str("http.method", method),
				str("http.route", route),
				str("http.url", fmt.Sprintf("https://api.example.com%s?id=%d", route, r.IntN(1_000_000))),
				num("http.status_code", status),
				str("http.user_agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
				str("net.peer.ip", fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256))),
				num("http.request_content_length", int64(r.IntN(10000))),
				str("faas.execution", fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)),
			},
		}
		if status >= 500 {
			s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "internal error"}
		}
		spans[i] = s
	}
	td := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			str("service.name", "checkout-service"),
			str("service.version", "1.42.7"),
			str("cloud.provider", "aws"),
			str("cloud.platform", "aws_lambda"),
			str("cloud.region", "eu-west-1"),
			str("faas.name", "checkout-service-prod-handler"),
			str("faas.version", "$LATEST"),
			str("telemetry.sdk.language", "go"),
			str("telemetry.sdk.name", "opentelemetry"),
			str("telemetry.sdk.version", "1.47.0"),
		}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "github.com/lambdaotel/lambdaotel", Version: "0.1.0"},
			Spans: spans,
		}},
	}}}
	b, err := proto.Marshal(td)
	if err != nil {
		panic(err)
	}
	return b
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// testPayloads are the data the oracle tests compress.
func testPayloads() map[string][]byte {
	p := map[string][]byte{
		"empty":   {},
		"one":     {'x'},
		"two":     {0, 0xff},
		"otlp3":   otlpTraces(3, 1),
		"otlp100": otlpTraces(100, 2),
		"random":  randomBytes(5000, 3),
		"zeros":   make([]byte, 100000),
		"abc":     bytes.Repeat([]byte("abc"), 30000),
		"text":    bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog. "), 500),
	}
	// A block that repeats exactly 32 KiB back, the largest distance.
	far := randomBytes(32768, 4)
	far = append(far, far[:5000]...)
	p["dist32k"] = far
	// More than 64 KiB: several stored blocks, windows sliding.
	big := append(otlpTraces(600, 5), randomBytes(70000, 6)...)
	p["big"] = big
	// Runs of every length around the match limits.
	var runs []byte
	for i := 1; i < 600; i += 7 {
		runs = append(runs, bytes.Repeat([]byte{byte(i)}, i)...)
	}
	p["runs"] = runs
	return p
}

// stdGunzip decodes with compress/gzip as a server would.
func stdGunzip(src []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// stdInflate decodes with compress/flate, reporting how much of src the
// stream took.
func stdInflate(src []byte) ([]byte, int, error) {
	br := bytes.NewReader(src)
	out, err := io.ReadAll(flate.NewReader(br))
	return out, len(src) - br.Len(), err
}

// Writers by level+2, as allocating one per call would dominate fuzzing.
var flateWriters, gzipWriters [12]sync.Pool

// deflateLevel compresses with compress/flate, flushing every flushEvery
// bytes if positive.
func deflateLevel(tb testing.TB, data []byte, level, flushEvery int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	fw, ok := flateWriters[level+2].Get().(*flate.Writer)
	if ok {
		fw.Reset(&buf)
	} else {
		var err error
		if fw, err = flate.NewWriter(&buf, level); err != nil {
			tb.Fatal(err)
		}
	}
	defer flateWriters[level+2].Put(fw)
	for len(data) > 0 {
		n := len(data)
		if flushEvery > 0 {
			n = min(n, flushEvery)
		}
		if _, err := fw.Write(data[:n]); err != nil {
			tb.Fatal(err)
		}
		if flushEvery > 0 {
			if err := fw.Flush(); err != nil {
				tb.Fatal(err)
			}
		}
		data = data[n:]
	}
	if err := fw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func gzipLevel(tb testing.TB, data []byte, level int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw, ok := gzipWriters[level+2].Get().(*gzip.Writer)
	if ok {
		zw.Reset(&buf)
	} else {
		var err error
		if zw, err = gzip.NewWriterLevel(&buf, level); err != nil {
			tb.Fatal(err)
		}
	}
	defer gzipWriters[level+2].Put(zw)
	if _, err := zw.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// readOneMember decodes a single gzip member with compress/gzip in
// single-stream mode and checks that nothing follows it.
func readOneMember(src []byte) ([]byte, error) {
	br := bytes.NewReader(src)
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
		return nil, fmt.Errorf("%d bytes after the member", br.Len())
	}
	return out, nil
}

// testJoiners saves fuzzing from allocating a flate.Writer per check.
var testJoiners = sync.Pool{New: func() any {
	j, err := NewJoiner(nil, flate.BestSpeed)
	if err != nil {
		panic(err)
	}
	return j
}}

// checkSegment verifies that seg describes a stream decoding to want: its
// fields are consistent, and splicing it (twice, and between raw runs)
// yields a single gzip member that decodes to the expected data.
func checkSegment(tb testing.TB, seg Segment, want []byte) {
	tb.Helper()
	if err := seg.check(); err != nil {
		tb.Fatalf("segment: %v", err)
	}
	if seg.Size != len(want) {
		tb.Fatalf("segment Size %d, want %d", seg.Size, len(want))
	}
	if seg.CRC != crc32.ChecksumIEEE(want) {
		tb.Fatalf("segment CRC %08x, want %08x", seg.CRC, crc32.ChecksumIEEE(want))
	}
	orig := append([]byte(nil), seg.Data...)
	var buf bytes.Buffer
	j := testJoiners.Get().(*Joiner)
	defer testJoiners.Put(j)
	j.Reset(&buf)
	must(tb, j.AppendSegment(seg))
	must(tb, j.AppendSegment(seg))
	_, err := j.Write([]byte("raw"))
	must(tb, err)
	must(tb, j.AppendSegment(seg))
	must(tb, j.Close())
	got, err := readOneMember(buf.Bytes())
	if err != nil {
		tb.Fatalf("joined segment: %v", err)
	}
	exp := append(append(append(append([]byte(nil), want...), want...), "raw"...), want...)
	if !bytes.Equal(got, exp) {
		tb.Fatalf("joined segment decodes to %d bytes, want %d", len(got), len(exp))
	}
	if !bytes.Equal(seg.Data, orig) {
		tb.Fatal("AppendSegment modified Data")
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// testLevels are the compress/flate levels the oracle tests compress at:
// every one, or under the race detector (which makes compress/flate some
// ten times slower, and finds nothing in this single-goroutine code that
// one level would not show) the distinct strategies only.
func testLevels() []int {
	if raceEnabled {
		return []int{flate.HuffmanOnly, flate.NoCompression, flate.BestSpeed, 2, flate.DefaultCompression, flate.BestCompression}
	}
	levels := make([]int, 0, 12)
	for l := flate.HuffmanOnly; l <= flate.BestCompression; l++ {
		levels = append(levels, l)
	}
	return levels
}
