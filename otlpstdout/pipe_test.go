//go:build linux

package otlpstdout

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// fifo creates a named pipe and opens a read end (see openReader).
func fifo(t *testing.T) (path string, rfd int) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "otlp.pipe")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, openReader(t, path)
}

// openReader opens a read end of the pipe without blocking, which makes the
// exporter's non-blocking open for writing succeed. The raw descriptor is
// kept out of the Go poller so the test can watch it with epoll itself. A
// reader sees the end of a flush as EPOLLHUP, which stays raised once seen,
// so each flush gets a fresh read end, as real consumers reopen the pipe.
func openReader(t *testing.T, path string) int {
	t.Helper()
	rfd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(rfd) })
	return rfd
}

// pipeEvents polls the read end without waiting. On Linux a FIFO reports
// EPOLLHUP only once a writer has connected and gone since the reader opened
// it, which is exactly the "touch" a reader waits for.
func pipeEvents(t *testing.T, rfd int) uint32 {
	t.Helper()
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(epfd)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLHUP, Fd: int32(rfd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, rfd, &ev); err != nil {
		t.Fatal(err)
	}
	evs := make([]syscall.EpollEvent, 1)
	n, err := syscall.EpollWait(epfd, evs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		return 0
	}
	return evs[0].Events
}

// readUntilEOF is the reader goroutine: it waits on epoll, drains whatever
// is available, and returns everything once the writer has closed its end.
func readUntilEOF(rfd int) ([]byte, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(epfd)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLHUP, Fd: int32(rfd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, rfd, &ev); err != nil {
		return nil, err
	}
	var out []byte
	buf := make([]byte, 64<<10)
	evs := make([]syscall.EpollEvent, 1)
	for {
		if _, err := syscall.EpollWait(epfd, evs, -1); err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return out, err
		}
		for {
			n, err := syscall.Read(rfd, buf)
			switch {
			case n > 0:
				out = append(out, buf[:n]...)
				continue
			case errors.Is(err, syscall.EAGAIN):
			case errors.Is(err, syscall.EINTR):
				continue
			case err != nil:
				return out, err
			default: // n == 0: every writer has closed
				return out, nil
			}
			break
		}
	}
}

// bigSpans makes a batch whose record is far larger than a pipe buffer
// (64 KiB), so the exporter must wait for the reader while writing.
func bigSpans(n int) []sdktrace.ReadOnlySpan {
	big := strings.Repeat("x", 4096)
	spans := make([]sdktrace.ReadOnlySpan, n)
	for i := range spans {
		spans[i] = tracetest.SpanStub{
			Name: "big",
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{1, 15: byte(i)}, SpanID: trace.SpanID{2, 7: byte(i)},
			}),
			Attributes: []attribute.KeyValue{attribute.String("blob", big)},
		}.Snapshot()
	}
	return spans
}

func TestPipeWritesOneRecordPerExport(t *testing.T) {
	clearEnv(t)
	path, _ := fifo(t)
	logs := &logCapture{}
	// Level 0 keeps the record as large as its payload.
	e, err := New(WithPipe(true), WithPipePath(path), WithCompressionLevel(0), WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	for _, spans := range [][]sdktrace.ReadOnlySpan{testSpans(3), bigSpans(64)} {
		type result struct {
			data []byte
			err  error
		}
		rfd := openReader(t, path)
		got := make(chan result, 1)
		go func() {
			data, err := readUntilEOF(rfd)
			got <- result{data, err}
		}()
		if err := e.ExportSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
		res := <-got
		if res.err != nil {
			t.Fatal(res.err)
		}
		if bytes.Count(res.data, []byte("\n")) != 1 || !bytes.HasSuffix(res.data, []byte("\n")) {
			t.Fatalf("reader got %d bytes, not exactly one line", len(res.data))
		}
		r, err := Decode(res.data)
		if err != nil {
			t.Fatal(err)
		}
		assertPayloadIs(t, r, spans)
	}
	if w := logs.at(slog.LevelWarn); len(w) != 0 {
		t.Fatalf("unexpected warnings: %q", w)
	}
}

// TestPipeTouch checks the empty-flush protocol: an empty batch opens and
// closes the pipe, so the reader sees EOF with no data.
func TestPipeTouch(t *testing.T) {
	clearEnv(t)
	path, rfd := fifo(t)
	e, err := New(WithPipe(true), WithPipePath(path))
	if err != nil {
		t.Fatal(err)
	}
	if ev := pipeEvents(t, rfd); ev != 0 {
		t.Fatalf("pipe reports events %#x before any export", ev)
	}
	if err := e.ExportSpans(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ev := pipeEvents(t, rfd)
	if ev&syscall.EPOLLHUP == 0 || ev&syscall.EPOLLIN != 0 {
		t.Fatalf("after touch the pipe reports %#x, want EPOLLHUP and no data", ev)
	}
	buf := make([]byte, 16)
	if n, err := syscall.Read(rfd, buf); n != 0 || err != nil {
		t.Fatalf("read after touch = %d, %v; want EOF", n, err)
	}
}

func TestPipeMissingOrUnread(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pipe")
	noReader := filepath.Join(dir, "noreader.pipe")
	if err := syscall.Mkfifo(noReader, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{missing, "does not exist"},
		{noReader, "has no reader"},
	} {
		logs := &logCapture{}
		e, err := New(WithPipe(true), WithPipePath(tc.path), WithLogger(slog.New(logs)))
		if err != nil {
			t.Fatal(err)
		}
		for _, spans := range [][]sdktrace.ReadOnlySpan{testSpans(1), nil, testSpans(1)} {
			err := e.ExportSpans(context.Background(), spans)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: export error = %v, want %q", tc.path, err, tc.want)
			}
		}
		// One warning for the streak (plus, for the missing pipe, one at New).
		var streak int
		for _, w := range logs.at(slog.LevelWarn) {
			if strings.Contains(w, "export failed") {
				streak++
			}
		}
		if streak != 1 {
			t.Fatalf("%s: %d failure warnings for one streak: %q", tc.path, streak, logs.at(slog.LevelWarn))
		}
	}
}

// TestPipeReaderStalls checks that a reader that stops reading cannot hang
// the function: the write gives up when the export's context ends.
func TestPipeReaderStalls(t *testing.T) {
	clearEnv(t)
	path, _ := fifo(t) // a reader exists but never reads
	e, err := New(WithPipe(true), WithPipePath(path), WithCompressionLevel(0), WithLogger(slog.New(&logCapture{})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = e.ExportSpans(ctx, bigSpans(64))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("export to a stalled reader = %v, want a deadline error", err)
	}

	// Cancellation without a deadline works too. The pipe still holds the
	// start of the first record, so this write blocks at once; whenever the
	// cancel lands (before or during the write) the result is the same.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer time.AfterFunc(50*time.Millisecond, cancel2).Stop()
	err = e.ExportSpans(ctx2, bigSpans(64))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("export canceled while blocked = %v", err)
	}
}
