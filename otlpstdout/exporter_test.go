package otlpstdout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/otlpwire"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.jsonl")

func newTestExporter(t *testing.T, opts ...Option) (*Exporter, *bytes.Buffer, *logCapture) {
	t.Helper()
	var buf bytes.Buffer
	logs := &logCapture{}
	opts = append([]Option{WithWriter(&buf), WithLogger(slog.New(logs))}, opts...)
	e, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e, &buf, logs
}

// TestGoldenRecord pins the exact bytes of a record. Compression level 0
// stores the payload uncompressed inside gzip framing, so the bytes depend
// only on the protobuf encoding and the record format, not on the deflate
// implementation of a particular Go release.
func TestGoldenRecord(t *testing.T) {
	clearEnv(t)
	t.Setenv(EnvServiceName, "golden-svc")
	e, buf, _ := newTestExporter(t,
		WithCompressionLevel(0),
		WithHeaders(map[string]string{"X-Api-Key": "secret123", "authorization": `Bearer "t"`}),
		WithLevel("info"),
	)
	spans := testSpans(3)
	if err := e.ExportSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("record differs from %s:\n got: %s\nwant: %s", golden, buf.Bytes(), want)
	}

	// The golden line must also mean what it should.
	r, err := Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	wantRec := Record{
		Version: Version, Source: "golden-svc", Endpoint: "http://localhost:4318/v1/traces",
		Method: "POST", ContentType: "application/x-protobuf", ContentEncoding: "gzip",
		Headers: map[string]string{"x-api-key": "secret123", "authorization": `Bearer "t"`},
		Base64:  true, Level: "INFO",
	}
	got := *r
	got.Payload = ""
	if fmt.Sprint(got) != fmt.Sprint(wantRec) {
		t.Errorf("decoded golden record:\n got %+v\nwant %+v", got, wantRec)
	}
	assertPayloadIs(t, r, spans)
}

// assertPayloadIs checks that a record carries exactly spans, through both
// the TracesData view and the collector's request type.
func assertPayloadIs(t *testing.T, r *Record, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	td, err := traces(r)
	if err != nil {
		t.Fatal(err)
	}
	want := &tracepb.TracesData{}
	if err := proto.Unmarshal(otlpwire.AppendTraceRequest(nil, spans), want); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(td, want) {
		t.Fatalf("payload differs:\n got %v\nwant %v", td, want)
	}
	body, err := r.Body()
	if err != nil {
		t.Fatal(err)
	}
	req := &tracepb.TracesData{}
	if err := proto.Unmarshal(body, req); err != nil {
		t.Fatal(err)
	}
	if len(req.ResourceSpans) != len(td.ResourceSpans) {
		t.Fatalf("ExportTraceServiceRequest has %d resource spans, TracesData %d", len(req.ResourceSpans), len(td.ResourceSpans))
	}
	n := 0
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += len(ss.Spans)
		}
	}
	if n != len(spans) {
		t.Fatalf("payload has %d spans, want %d", n, len(spans))
	}
}

// keysInOrder returns the top-level keys of a JSON object in order.
func keysInOrder(t *testing.T, line []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", line)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestFieldOrder(t *testing.T) {
	base := []string{"__otel_otlp_stdout", "source", "endpoint", "method", "content-type", "content-encoding"}
	cases := []struct {
		name string
		opts []Option
		want []string
	}{
		{"plain", nil, append(base[:len(base):len(base)], "payload", "base64")},
		{"headers", []Option{WithHeaders(map[string]string{"b": "2", "a": "1"})}, append(base[:len(base):len(base)], "headers", "payload", "base64")},
		{"level", []Option{WithLevel("error")}, append(base[:len(base):len(base)], "payload", "base64", "level")},
		{"both", []Option{WithLevel("debug"), WithHeaders(map[string]string{"a": "1"})}, append(base[:len(base):len(base)], "headers", "payload", "base64", "level")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			e, buf, _ := newTestExporter(t, tc.opts...)
			if err := e.ExportSpans(context.Background(), testSpans(1)); err != nil {
				t.Fatal(err)
			}
			line := buf.Bytes()
			if !bytes.HasPrefix(line, []byte(`{"__otel_otlp_stdout":"`)) {
				// Kinesis-based forwarders match this exact prefix.
				t.Errorf("line does not start with the marker prefix: %.40s", line)
			}
			if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
				t.Errorf("want exactly one trailing newline: %q", line[max(0, len(line)-20):])
			}
			if got := keysInOrder(t, line); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("keys %v, want %v", got, tc.want)
			}
			if tc.name == "headers" && !bytes.Contains(line, []byte(`"headers":{"a":"1","b":"2"}`)) {
				t.Errorf("headers not sorted: %s", line)
			}
		})
	}
}

func TestSource(t *testing.T) {
	cases := []struct{ service, function, want string }{
		{"svc", "fn", "svc"},
		{"", "fn", "fn"},
		{"", "", "unknown-service"},
		{"odd \"name\"\t", "", "odd \"name\"\t"},
	}
	for _, tc := range cases {
		clearEnv(t)
		e, buf, _ := newTestExporter(t)
		// Read at export time, not at New.
		t.Setenv(EnvServiceName, tc.service)
		t.Setenv(EnvFunctionName, tc.function)
		if err := e.ExportSpans(context.Background(), testSpans(1)); err != nil {
			t.Fatal(err)
		}
		r, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if r.Source != tc.want {
			t.Errorf("source = %q, want %q", r.Source, tc.want)
		}
	}
}

// TestConfigPrecedence checks environment over option over default, and that
// each invalid environment variable produces exactly one warning naming it.
func TestConfigPrecedence(t *testing.T) {
	cases := []struct {
		name        string
		env         map[string]string
		opts        []Option
		wantLevel   int
		wantLog     string
		wantPipe    bool
		wantHeaders map[string]string
		wantWarn    []string // variables named by warnings, in order
	}{
		{name: "defaults", wantLevel: 6},
		{name: "options", opts: []Option{WithCompressionLevel(3), WithLevel("Warning"), WithPipe(true),
			WithHeaders(map[string]string{"A": "1", "Content-Type": "x"})},
			wantLevel: 3, wantLog: "WARN", wantPipe: true, wantHeaders: map[string]string{"a": "1"}},
		{name: "env beats options",
			env:       map[string]string{EnvCompressionLevel: "9", EnvLogLevel: "DEBUG", EnvOutputType: "stdout"},
			opts:      []Option{WithCompressionLevel(3), WithLevel("error"), WithPipe(true)},
			wantLevel: 9, wantLog: "DEBUG"},
		{name: "env pipe any case", env: map[string]string{EnvOutputType: "PiPe"}, wantLevel: 6, wantPipe: true},
		{name: "env level zero and spaces", env: map[string]string{EnvCompressionLevel: " 0 "}, wantLevel: 0},
		{name: "invalid level falls back to option",
			env: map[string]string{EnvCompressionLevel: "fast"}, opts: []Option{WithCompressionLevel(2)},
			wantLevel: 2, wantWarn: []string{EnvCompressionLevel}},
		{name: "out of range level falls back to default",
			env: map[string]string{EnvCompressionLevel: "10"}, wantLevel: 6, wantWarn: []string{EnvCompressionLevel}},
		{name: "negative level", env: map[string]string{EnvCompressionLevel: "-1"}, wantLevel: 6, wantWarn: []string{EnvCompressionLevel}},
		{name: "invalid log level falls back to option",
			env: map[string]string{EnvLogLevel: "verbose"}, opts: []Option{WithLevel("error")},
			wantLevel: 6, wantLog: "ERROR", wantWarn: []string{EnvLogLevel}},
		{name: "unknown output type means stdout",
			env: map[string]string{EnvOutputType: "file"}, opts: []Option{WithPipe(true)},
			wantLevel: 6, wantWarn: []string{EnvOutputType}},
		{name: "headers merge: traces over global over options",
			env:         map[string]string{EnvHeaders: "B=3, c = 4", EnvTracesHeaders: "c=5,d=a%3Db"},
			opts:        []Option{WithHeaders(map[string]string{"a": "1", "b": "2"})},
			wantLevel:   6,
			wantHeaders: map[string]string{"a": "1", "b": "3", "c": "5", "d": "a=b"}},
		{name: "malformed header entries, one warning per variable",
			env:         map[string]string{EnvHeaders: "novalue,=x,k=%zz,ok=1", EnvTracesHeaders: "also-bad"},
			wantLevel:   6,
			wantHeaders: map[string]string{"ok": "1"},
			wantWarn:    []string{EnvHeaders, EnvTracesHeaders}},
		{name: "everything invalid at once",
			env:       map[string]string{EnvCompressionLevel: "x", EnvLogLevel: "y", EnvOutputType: "z"},
			wantLevel: 6, wantWarn: []string{EnvCompressionLevel, EnvLogLevel, EnvOutputType}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			opts := append([]Option{WithPipePath(filepath.Join(dir, "absent.pipe"))}, tc.opts...)
			e, buf, logs := newTestExporter(t, opts...)
			if e.level != tc.wantLevel {
				t.Errorf("compression level = %d, want %d", e.level, tc.wantLevel)
			}
			if e.pipe != tc.wantPipe {
				t.Errorf("pipe = %v, want %v", e.pipe, tc.wantPipe)
			}
			var warned []string
			for _, w := range logs.at(slog.LevelWarn) {
				if strings.Contains(w, "named pipe not available") {
					continue // the pipe path in this test never exists
				}
				for _, name := range []string{EnvCompressionLevel, EnvLogLevel, EnvOutputType, EnvTracesHeaders, EnvHeaders} {
					if strings.Contains(w, "variable="+name) {
						warned = append(warned, name)
						break
					}
				}
				if strings.Contains(w, "%zz") || strings.Contains(w, "novalue") {
					t.Errorf("warning leaks a header entry: %s", w)
				}
			}
			if fmt.Sprint(warned) != fmt.Sprint(tc.wantWarn) {
				t.Errorf("warnings name %v, want %v (all: %q)", warned, tc.wantWarn, logs.at(slog.LevelWarn))
			}
			if tc.wantPipe {
				return // the record would go to a pipe; the rest is checked on stdout cases
			}
			if err := e.ExportSpans(context.Background(), testSpans(1)); err != nil {
				t.Fatal(err)
			}
			r, err := Decode(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if r.Level != tc.wantLog {
				t.Errorf("level = %q, want %q", r.Level, tc.wantLog)
			}
			if fmt.Sprint(r.Headers) != fmt.Sprint(tc.wantHeaders) {
				t.Errorf("headers = %v, want %v", r.Headers, tc.wantHeaders)
			}
		})
	}
}

func TestInvalidOptions(t *testing.T) {
	clearEnv(t)
	for _, opt := range []Option{
		WithCompressionLevel(-1), WithCompressionLevel(10), WithLevel("loud"), WithWriter(nil), WithPipePath(""),
	} {
		if _, err := New(opt); err == nil {
			t.Errorf("New accepted an invalid option")
		}
	}
}

func TestParseHeaders(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]string
		bad  int
	}{
		{"", map[string]string{}, 0},
		{"a=1", map[string]string{"a": "1"}, 0},
		{" Key = Val ,b=2,", map[string]string{"key": "Val", "b": "2"}, 0},
		{"k=v=w", map[string]string{"k": "v=w"}, 0},
		{"a=b%20c,p=x+y,u=%E2%9C%93", map[string]string{"a": "b c", "p": "x+y", "u": "✓"}, 0},
		{"empty=", map[string]string{"empty": ""}, 0},
		{"content-type=text/plain,Content-Encoding=br,x=1", map[string]string{"x": "1"}, 0},
		{"novalue,=x,k=%zz,ok=1", map[string]string{"ok": "1"}, 3},
		{"a=1,a=2", map[string]string{"a": "2"}, 0},
	}
	for _, tc := range cases {
		got, bad := parseHeaders(tc.in)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || bad != tc.bad {
			t.Errorf("parseHeaders(%q) = %v, %d; want %v, %d", tc.in, got, bad, tc.want, tc.bad)
		}
	}
}

func TestEmptyBatchOnStdoutWritesNothing(t *testing.T) {
	clearEnv(t)
	e, buf, _ := newTestExporter(t)
	for _, spans := range [][]sdktrace.ReadOnlySpan{nil, {}} {
		if err := e.ExportSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() != 0 {
		t.Fatalf("empty batch wrote %q", buf.String())
	}
}

// TestRoundTrip exports through a real SDK pipeline (simple span processor)
// and reads the payload back.
func TestRoundTrip(t *testing.T) {
	clearEnv(t)
	for _, level := range []int{0, 1, 6, 9} {
		e, buf, _ := newTestExporter(t, WithCompressionLevel(level))
		spans := testSpans(20)
		if err := e.ExportSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
		r, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		assertPayloadIs(t, r, spans)

		// Through the SDK's own processor, as a user would wire it.
		buf.Reset()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(e))
		_, span := tp.Tracer("rt").Start(context.Background(), "via-provider")
		span.End()
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		r, err = Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		td, err := traces(r)
		if err != nil {
			t.Fatal(err)
		}
		if name := td.ResourceSpans[0].ScopeSpans[0].Spans[0].Name; name != "via-provider" {
			t.Fatalf("span name %q", name)
		}
		if err := e.ExportSpans(context.Background(), spans); !errors.Is(err, ErrShutdown) {
			t.Fatalf("export after the provider shut down = %v", err)
		}
	}
}

// TestConcurrentExports runs exports from many goroutines into a writer that
// is not itself safe for concurrent use: the race detector and the line
// check together prove that records are serialised and never interleave.
func TestConcurrentExports(t *testing.T) {
	clearEnv(t)
	e, buf, _ := newTestExporter(t, WithCompressionLevel(1))
	spans := testSpans(5)
	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				errs <- e.ExportSpans(context.Background(), spans)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != workers*perWorker {
		t.Fatalf("%d lines, want %d", len(lines), workers*perWorker)
	}
	for _, line := range lines {
		r, err := Decode(line)
		if err != nil {
			t.Fatal(err)
		}
		assertPayloadIs(t, r, spans)
	}
}

// blockingWriter holds the first Write until released, to observe the
// exporter while a write is in progress.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.entered <- struct{}{}
	<-w.release
	return len(p), nil
}

func TestShutdown(t *testing.T) {
	clearEnv(t)
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	e, err := New(WithWriter(w))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- e.ExportSpans(context.Background(), testSpans(1)) }()
	<-w.entered

	// A write is in progress: Shutdown honours its context.
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Shutdown(canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a canceled context = %v", err)
	}
	// New exports are refused at once, even while the write is in progress.
	if err := e.ExportSpans(context.Background(), testSpans(1)); !errors.Is(err, ErrShutdown) {
		t.Fatalf("export after Shutdown = %v", err)
	}
	close(w.release)
	if err := <-done; err != nil {
		t.Fatalf("in-flight export = %v", err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.ExportSpans(context.Background(), nil); !errors.Is(err, ErrShutdown) {
		t.Fatalf("empty export after Shutdown = %v", err)
	}
}

func TestCanceledContext(t *testing.T) {
	clearEnv(t)
	e, buf, _ := newTestExporter(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.ExportSpans(ctx, testSpans(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("export with canceled context = %v", err)
	}
	if buf.Len() != 0 {
		t.Fatal("canceled export wrote output")
	}
}

// flakyWriter fails while fail is set.
type flakyWriter struct{ fail bool }

func (w *flakyWriter) Write(p []byte) (int, error) {
	if w.fail {
		return 0, errors.New("disk on fire")
	}
	return len(p), nil
}

// TestFailureLoggedOncePerStreak keeps a broken sink from flooding the logs.
func TestFailureLoggedOncePerStreak(t *testing.T) {
	clearEnv(t)
	w := &flakyWriter{fail: true}
	logs := &logCapture{}
	e, err := New(WithWriter(w), WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	spans := testSpans(1)
	export := func() error { return e.ExportSpans(context.Background(), spans) }
	for range 3 {
		if err := export(); err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("export error = %v", err)
		}
	}
	w.fail = false
	if err := export(); err != nil {
		t.Fatal(err)
	}
	w.fail = true
	_ = export()
	_ = export()
	if n := len(logs.at(slog.LevelWarn)); n != 2 {
		t.Fatalf("%d warnings for two failure streaks: %q", n, logs.at(slog.LevelWarn))
	}
	if n := len(logs.at(slog.LevelInfo)); n != 1 {
		t.Fatalf("%d recovery messages, want 1", n)
	}
}

// BenchmarkExport measures a whole export: encode, gzip, base64, JSON line,
// write. At the default level 6 most of the time for small batches is
// compress/flate resetting its 640 KiB of hash tables; level 1 shows the
// rest of the pipeline.
func BenchmarkExport(b *testing.B) {
	for _, level := range []int{DefaultCompressionLevel, 1} {
		for _, n := range []int{1, 10} {
			b.Run(fmt.Sprintf("level=%d/spans=%d", level, n), func(b *testing.B) {
				clearEnvB(b)
				b.Setenv(EnvServiceName, "orders")
				var size countingWriter
				e, err := New(WithWriter(&size), WithCompressionLevel(level))
				if err != nil {
					b.Fatal(err)
				}
				spans := testSpans(n)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if err := e.ExportSpans(ctx, spans); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(size.last), "bytes/record")
			})
		}
	}
}

type countingWriter struct{ last int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.last = len(p)
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)

// FuzzParseHeaders checks the header parser on arbitrary environment values:
// no panics, and only well-formed, normalised keys come out.
func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{"a=1", " Key = Val ,b=2,", "k=v=w", "a=b%20c", "novalue,=x,k=%zz", "content-type=x", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, bad := parseHeaders(s)
		if bad < 0 || bad > strings.Count(s, ",")+1 {
			t.Fatalf("bad = %d for %q", bad, s)
		}
		for k := range h {
			if k == "" || k != strings.ToLower(strings.TrimSpace(k)) || k == "content-type" || k == "content-encoding" {
				t.Fatalf("key %q from %q", k, s)
			}
		}
	})
}
