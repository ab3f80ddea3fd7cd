// Package otlpstdout writes and reads otlp-stdout records: OTLP trace
// requests carried as one JSON line each on a Lambda function's stdout (or a
// named pipe), for a log-subscription forwarder or an extension to send on.
//
// The record format, its configuration and the named-pipe protocol follow the
// otlp-stdout-span-exporter family (Rust, Node and Python), so records from
// any of them decode here and records written here decode there:
//
//	{"__otel_otlp_stdout":"lambdaotel@0.1.0","source":"my-fn",
//	 "endpoint":"http://localhost:4318/v1/traces","method":"POST",
//	 "content-type":"application/x-protobuf","content-encoding":"gzip",
//	 "headers":{"x-api-key":"…"},"payload":"H4sI…","base64":true,"level":"INFO"}
//
// Exporter is an sdktrace.SpanExporter producing such lines; Decode, Body and
// Traces read them back.
package otlpstdout

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/lambdaotel/lambdaotel/internal/otlpwire"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/lambdaotel/lambdaotel/internal/stdoutrecord"
)

// Version is the value this package writes in the marker field. The other
// exporters write their package version there ("0.17.1", or
// "otlp-stdout-span-exporter@0.17.1" in newer releases); consumers only
// test that the field exists, so the name@version form is compatible and
// tells our records apart from theirs when debugging a pipeline.
const Version = "lambdaotel@0.1.0"

// ErrShutdown is returned by ExportSpans after Shutdown.
var ErrShutdown = errors.New("otlpstdout: exporter is shut down")

// maxPooledLine bounds the encode buffers kept for reuse, so one unusually
// large export does not pin its memory for the life of the process.
const maxPooledLine = 4 << 20

// Exporter is an sdktrace.SpanExporter that writes each batch of spans as one
// otlp-stdout record: the spans encoded as an OTLP ExportTraceServiceRequest,
// gzipped, base64-encoded and wrapped in a JSON line.
//
// It is safe for concurrent use. Encoding runs without a lock; only the
// write itself is serialised, so records never interleave.
type Exporter struct {
	writer   io.Writer
	pipe     bool
	pipePath string
	level    int
	logger   *slog.Logger

	// The constant parts of every line, around the source and the payload.
	start, middle, end []byte

	states sync.Pool // *encodeState, each with a gzip writer at level

	// sem is a one-slot lock that, unlike sync.Mutex, can be abandoned when
	// a context ends.
	sem      chan struct{}
	failing  bool // a write failure streak has been logged; guarded by sem
	shutdown atomic.Bool
}

type encodeState struct {
	proto []byte
	gz    *gzip.Writer
	zbuf  appendWriter
	line  []byte
}

// appendWriter is an io.Writer appending to a reusable byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// New returns an Exporter configured by opts and then by the environment
// (see the Env constants): environment over option over default. Invalid
// environment values are logged once each and ignored; invalid options are
// returned as errors.
func New(opts ...Option) (*Exporter, error) {
	c := config{
		writer:   os.Stdout,
		level:    DefaultCompressionLevel,
		pipePath: DefaultPipePath,
		logger:   slog.Default(),
	}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	c.applyEnv()

	e := &Exporter{
		writer:   c.writer,
		pipe:     c.pipe,
		pipePath: c.pipePath,
		level:    c.level,
		logger:   c.logger,
		start:    stdoutrecord.AppendRecordStart(nil, Version),
		middle:   stdoutrecord.AppendRecordMiddle(nil, Endpoint, "POST", ContentTypeProtobuf, "gzip", c.headers),
		end:      append(stdoutrecord.AppendRecordEnd(nil, true, c.logLevel), '\n'),
		sem:      make(chan struct{}, 1),
	}
	level := c.level
	e.states.New = func() any {
		st := &encodeState{}
		// The level was validated above, so this cannot fail.
		st.gz, _ = gzip.NewWriterLevel(&st.zbuf, level)
		return st
	}
	if e.pipe {
		if _, err := os.Stat(e.pipePath); err != nil {
			// Not fatal: the reader may create the pipe later. Each export
			// will fail until it does.
			e.logger.Warn("otlpstdout: named pipe not available yet", "path", e.pipePath, "error", err)
		}
	}
	return e, nil
}

// ExportSpans writes spans as one record. With stdout output an empty batch
// writes nothing; with pipe output it "touches" the pipe (opens it for
// writing and closes it), so a reader waiting for the end of a flush sees
// EOF even when there were no spans.
//
// The pipe is opened without blocking: if it does not exist or has no reader
// the export fails at once rather than hanging the function. A write to a
// reader that stops reading gives up when ctx ends.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.shutdown.Load() {
		return ErrShutdown
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(spans) == 0 {
		if !e.pipe {
			return nil
		}
		return e.locked(ctx, func() error { return touchPipe(e.pipePath) })
	}

	st := e.states.Get().(*encodeState)
	line := e.encode(st, spans)
	err := e.locked(ctx, func() error {
		if e.pipe {
			return writePipe(ctx, e.pipePath, line)
		}
		_, err := e.writer.Write(line)
		return err
	})
	if cap(st.line) <= maxPooledLine && cap(st.proto) <= maxPooledLine {
		e.states.Put(st)
	}
	return err
}

// encode builds the record line, newline included, in st's buffers.
func (e *Exporter) encode(st *encodeState, spans []sdktrace.ReadOnlySpan) []byte {
	st.proto = otlpwire.AppendTraceRequest(st.proto[:0], spans)

	st.zbuf.b = st.zbuf.b[:0]
	st.gz.Reset(&st.zbuf)
	// Writes to appendWriter cannot fail, so neither can the gzip writer.
	_, _ = st.gz.Write(st.proto)
	_ = st.gz.Close()

	line := append(st.line[:0], e.start...)
	line = stdoutrecord.AppendEscaped(line, source())
	line = append(line, e.middle...)
	line = base64.StdEncoding.AppendEncode(line, st.zbuf.b)
	line = append(line, e.end...)
	st.line = line
	return line
}

// source names the producer. It is read at every export, like the other
// exporters do, so a name set after New still applies.
func source() string {
	if s := os.Getenv(EnvServiceName); s != "" {
		return s
	}
	if s := os.Getenv(EnvFunctionName); s != "" {
		return s
	}
	return DefaultSource
}

// locked runs write while holding the write lock, gives up waiting for the
// lock when ctx ends, refuses to write after Shutdown, and logs the first
// failure of a streak (a broken pipe would otherwise log on every export).
func (e *Exporter) locked(ctx context.Context, write func() error) error {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.sem }()
	if e.shutdown.Load() {
		return ErrShutdown
	}
	err := write()
	switch {
	case err != nil && !e.failing:
		e.failing = true
		e.logger.Warn("otlpstdout: export failed; further failures are not logged until one succeeds", "error", err)
	case err == nil && e.failing:
		e.failing = false
		e.logger.Info("otlpstdout: export succeeded again")
	}
	if err != nil {
		return fmt.Errorf("otlpstdout: %w", err)
	}
	return nil
}

// Shutdown stops the exporter: it waits for a write in progress (or for ctx
// to end), and every later ExportSpans returns ErrShutdown. It does not close
// the writer, which the exporter does not own.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.shutdown.Store(true)
	select {
	case e.sem <- struct{}{}:
		<-e.sem
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)
