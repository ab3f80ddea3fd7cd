package lambdaotel

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// recordingExporter keeps every batch it is given.
type recordingExporter struct {
	mu       sync.Mutex
	batches  [][]string
	err      error
	shutdown bool
}

func (r *recordingExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name()
	}
	r.batches = append(r.batches, names)
	return r.err
}

func (r *recordingExporter) Shutdown(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shutdown = true
	return nil
}

func (r *recordingExporter) all() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.batches...)
}

func span(name string, sampled bool) sdktrace.ReadOnlySpan {
	flags := trace.TraceFlags(0)
	if sampled {
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: flags,
	})
	return tracetest.SpanStub{Name: name, SpanContext: sc}.Snapshot()
}

func TestProcessorFlushExportsAllInOrderInOneCall(t *testing.T) {
	exp := &recordingExporter{}
	p := NewSpanProcessor(exp, 4, nil)
	for _, n := range []string{"a", "b", "c"} {
		p.OnEnd(span(n, true))
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := exp.all()
	if len(got) != 1 || strings.Join(got[0], ",") != "a,b,c" {
		t.Fatalf("batches %v, want one [a b c]", got)
	}
	if s := p.Stats(); s.Queued != 3 || s.Exported != 3 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestProcessorFlushCallsExporterWhenEmpty(t *testing.T) {
	// The named-pipe exporter relies on an export per flush to signal its
	// reader, even with nothing to send.
	exp := &recordingExporter{}
	p := NewSpanProcessor(exp, 4, nil)
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := exp.all(); len(got) != 1 || len(got[0]) != 0 {
		t.Fatalf("batches %v, want one empty", got)
	}
}

func TestProcessorFullRingDropsNewestAndWarns(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	exp := &recordingExporter{}
	p := NewSpanProcessor(exp, 2, log)
	for _, n := range []string{"a", "b", "c", "d"} {
		p.OnEnd(span(n, true))
	}
	// Wrap-around: after a flush the ring is reused from its start.
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.OnEnd(span("e", true))
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := exp.all()
	if strings.Join(got[0], ",") != "a,b" || strings.Join(got[1], ",") != "e" {
		t.Fatalf("batches %v: the oldest must be kept, the newest dropped", got)
	}
	if s := p.Stats(); s.Dropped != 2 {
		t.Fatalf("dropped %d, want 2", s.Dropped)
	}
	if n := strings.Count(logs.String(), "span dropped"); n != 1 {
		t.Fatalf("%d warnings for 2 drops, want 1 (the first, then every 100th):\n%s", n, logs.String())
	}
	for i := 0; i < 98; i++ {
		p.OnEnd(span("x", true))
	}
	p.OnEnd(span("y", true)) // fills the ring: 2 in it now
	for i := 0; i < 97; i++ {
		p.OnEnd(span("z", true))
	}
	if n := strings.Count(logs.String(), "span dropped"); n != 2 {
		t.Fatalf("%d warnings after 100 drops, want 2", n)
	}
}

func TestProcessorSkipsUnsampled(t *testing.T) {
	exp := &recordingExporter{}
	p := NewSpanProcessor(exp, 4, nil)
	p.OnEnd(span("no", false))
	p.OnEnd(span("yes", true))
	_ = p.ForceFlush(context.Background())
	if got := exp.all(); strings.Join(got[0], ",") != "yes" {
		t.Fatalf("exported %v", got)
	}
	if s := p.Stats(); s.Queued != 1 || s.Dropped != 0 {
		t.Fatalf("unsampled spans are not queued nor dropped: %+v", s)
	}
}

func TestProcessorShutdownFlushesThenDrops(t *testing.T) {
	exp := &recordingExporter{}
	p := NewSpanProcessor(exp, 4, nil)
	p.OnEnd(span("a", true))
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !exp.shutdown || strings.Join(exp.all()[0], ",") != "a" {
		t.Fatalf("shutdown must flush then shut the exporter down: %v %v", exp.all(), exp.shutdown)
	}
	p.OnEnd(span("late", true))
	if s := p.Stats(); s.Dropped != 1 {
		t.Fatalf("a span after shutdown must be dropped: %+v", s)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal("second shutdown:", err)
	}
}

func TestProcessorExportErrorIsReturnedAndCounted(t *testing.T) {
	exp := &recordingExporter{err: errors.New("backend down")}
	p := NewSpanProcessor(exp, 4, nil)
	p.OnEnd(span("a", true))
	if err := p.ForceFlush(context.Background()); err == nil || !strings.Contains(err.Error(), "backend down") {
		t.Fatalf("err %v", err)
	}
	if s := p.Stats(); s.Failed != 1 || s.Exported != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestProcessorConcurrentEndAndFlush(t *testing.T) {
	exp := &recordingExporter{}
	p := NewSpanProcessor(exp, 10000, nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				p.OnEnd(span("s", true))
				if i%100 == 0 {
					_ = p.ForceFlush(context.Background())
				}
			}
		}()
	}
	wg.Wait()
	_ = p.ForceFlush(context.Background())
	total := 0
	for _, b := range exp.all() {
		total += len(b)
	}
	if total != 4000 || p.Stats().Exported != 4000 {
		t.Fatalf("exported %d spans (stats %+v), want 4000", total, p.Stats())
	}
}
