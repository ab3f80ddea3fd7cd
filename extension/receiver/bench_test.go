package receiver

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
)

// discardWriter is a reusable ResponseWriter, so benchmarks measure the
// handler rather than httptest.
type discardWriter struct {
	h      http.Header
	status int
}

func newDiscardWriter() *discardWriter { return &discardWriter{h: http.Header{}} }

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.status = 0
}

// rewindBody is a request body that can be replayed without allocating.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

func benchHandler(b *testing.B, spans int, ce string, chunked bool) {
	benchHandlerSink(b, nopSink{}, spans, ce, chunked)
}

func benchHandlerSink(b *testing.B, sink Sink, spans int, ce string, chunked bool) {
	body := mustMarshal(b, testTraces(spans))
	if ce == "gzip" {
		body = gz(b, body)
	}
	rc := New(sink, nil, Options{})
	rb := &rewindBody{}
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:4318/v1/traces", nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-protobuf")
	if ce != "" {
		r.Header.Set("Content-Encoding", ce)
	}
	r.Body = rb
	r.ContentLength = int64(len(body))
	if chunked {
		r.ContentLength = -1
	}
	w := newDiscardWriter()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(body)
		w.reset()
		rc.ServeHTTP(w, r)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(spans), "ns/span")
}

// BenchmarkHandlerProtobuf is the hot path: protobuf with a Content-Length,
// read, validated and handed to a sink that does nothing.
func BenchmarkHandlerProtobuf(b *testing.B) {
	for _, n := range []int{10, 512} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) { benchHandler(b, n, "", false) })
	}
}

// BenchmarkHandlerProtobufChunked has no Content-Length: pooled read buffer
// plus one exactly-sized copy.
func BenchmarkHandlerProtobufChunked(b *testing.B) {
	for _, n := range []int{10, 512} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) { benchHandler(b, n, "", true) })
	}
}

// BenchmarkHandlerProtobufGzip adds decompression with pooled readers.
func BenchmarkHandlerProtobufGzip(b *testing.B) {
	for _, n := range []int{10, 512} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) { benchHandler(b, n, "gzip", false) })
	}
}

// BenchmarkHandlerProtobufGzipHeld is the extension's gzip path: inflated
// and validated, then kept compressed (the Sink is a GzipSink).
func BenchmarkHandlerProtobufGzipHeld(b *testing.B) {
	for _, n := range []int{10, 512} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) { benchHandlerSink(b, nopGzipSink{}, n, "gzip", false) })
	}
}

// nopGzipSink accepts everything, compressed or not, and keeps nothing.
type nopGzipSink struct{ nopSink }

func (nopGzipSink) OfferGzip(wire.Signal, []byte, []gzjoin.Segment, int, int) error { return nil }

// BenchmarkHandlerJSON is the conversion at the door, for comparison.
func BenchmarkHandlerJSON(b *testing.B) {
	for _, n := range []int{10, 512} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) {
			body := otlpJSON(b, testTraces(n))
			rc := New(nopSink{}, nil, Options{})
			rb := &rewindBody{}
			r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:4318/v1/traces", nil)
			r.Header.Set("Content-Type", "application/json")
			r.Body, r.ContentLength = rb, int64(len(body))
			w := newDiscardWriter()
			b.ReportAllocs()
			for b.Loop() {
				rb.Reset(body)
				w.reset()
				rc.ServeHTTP(w, r)
				if w.status != 200 {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}
