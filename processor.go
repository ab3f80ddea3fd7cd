package lambdaotel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// DefaultQueueSize is the ring's capacity unless configured.
const DefaultQueueSize = 2048

// SpanProcessor is a span processor made for Lambda: finished spans wait in
// a fixed-capacity ring until the invocation ends, and a flush exports all of
// them in one call. Nothing is exported in the background, because Lambda
// freezes the process between invocations: export happens exactly when the
// processing mode says (before the response, after it, or at SIGTERM).
//
// A full ring drops the newest span and counts it; it never blocks. Spans
// that are not sampled are skipped. The ring's lock is never held during an
// export.
type SpanProcessor struct {
	exporter sdktrace.SpanExporter
	log      *slog.Logger

	mu   sync.Mutex
	ring []sdktrace.ReadOnlySpan // circular: head is the oldest, n the count
	head int
	n    int
	done bool

	// exportMu keeps exports in order and one at a time, as exporters expect.
	exportMu sync.Mutex

	queued   atomic.Int64
	exported atomic.Int64
	dropped  atomic.Int64
	failed   atomic.Int64
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// NewSpanProcessor returns a processor with a ring of size spans (size ≤ 0
// means DefaultQueueSize) exporting through exporter.
func NewSpanProcessor(exporter sdktrace.SpanExporter, size int, log *slog.Logger) *SpanProcessor {
	if size <= 0 {
		size = DefaultQueueSize
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SpanProcessor{exporter: exporter, log: log, ring: make([]sdktrace.ReadOnlySpan, size)}
}

// OnStart does nothing: only finished spans are exported.
func (p *SpanProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues a finished, sampled span.
func (p *SpanProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	p.mu.Lock()
	if p.done || p.n == len(p.ring) {
		p.mu.Unlock()
		d := p.dropped.Add(1)
		if d == 1 || d%100 == 0 {
			p.log.Warn("span dropped: the span queue is full or shut down; raise LAMBDA_SPAN_PROCESSOR_QUEUE_SIZE",
				"queueSize", len(p.ring), "droppedSpans", d)
		}
		return
	}
	p.ring[(p.head+p.n)%len(p.ring)] = s
	p.n++
	p.mu.Unlock()
	p.queued.Add(1)
}

// take empties the ring into a new slice, oldest first.
func (p *SpanProcessor) take() []sdktrace.ReadOnlySpan {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		return nil
	}
	out := make([]sdktrace.ReadOnlySpan, p.n)
	for i := range out {
		j := (p.head + i) % len(p.ring)
		out[i] = p.ring[j]
		p.ring[j] = nil
	}
	p.head, p.n = 0, 0
	return out
}

// ForceFlush exports every queued span in one call. It calls the exporter
// even with no spans, which is how the named-pipe stdout exporter signals a
// finished flush to its reader.
func (p *SpanProcessor) ForceFlush(ctx context.Context) error {
	p.exportMu.Lock()
	defer p.exportMu.Unlock()
	spans := p.take()
	if err := p.exporter.ExportSpans(ctx, spans); err != nil {
		p.failed.Add(int64(len(spans)))
		return fmt.Errorf("export %d spans: %w", len(spans), err)
	}
	p.exported.Add(int64(len(spans)))
	return nil
}

// Shutdown flushes what is queued and shuts the exporter down; spans ended
// afterwards are dropped.
func (p *SpanProcessor) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return nil
	}
	p.done = true
	p.mu.Unlock()
	return errors.Join(p.ForceFlush(ctx), p.exporter.Shutdown(ctx))
}

// Stats are a processor's counters since it was made.
type Stats struct {
	// Queued spans entered the ring.
	Queued int64
	// Exported spans were accepted by the exporter.
	Exported int64
	// Dropped spans found the ring full (or the processor shut down).
	Dropped int64
	// Failed spans were in an export that returned an error.
	Failed int64
}

// Stats returns the processor's counters.
func (p *SpanProcessor) Stats() Stats {
	return Stats{Queued: p.queued.Load(), Exported: p.exported.Load(), Dropped: p.dropped.Load(), Failed: p.failed.Load()}
}
