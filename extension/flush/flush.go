// Package flush drains lambdaotel-extension's queue to the backend within a
// budget: batch by batch, signal by signal, each export bounded by what is
// left of the caller's deadline. Between invocations a failed batch goes
// back into the queue for the next flush; at SHUTDOWN, when no later flush
// will come, whatever cannot be exported in time is written to stdout as a
// fallback line, so it still lands in the function's logs.
package flush

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/queue"
)

// Sender exports one batch (an encoded Export*ServiceRequest) of signal
// ("traces", "metrics" or "logs").
type Sender interface {
	Send(ctx context.Context, signal string, body []byte) error
}

// Fallback writes a batch where the function's logs will keep it.
type Fallback interface {
	WriteFallback(signal string, body []byte) error
}

// ErrPermanent marks a Sender error that retrying cannot fix (e.g. HTTP
// 400): the batch is dropped rather than requeued.
var ErrPermanent = errors.New("flush: permanent export failure")

// minAttempt is the least time worth starting an export in.
const minAttempt = 5 * time.Millisecond

// Flusher drains a queue.
type Flusher struct {
	q          *queue.Queue
	send       Sender
	fallback   Fallback
	maxBytes   int
	maxEntries int
	log        *slog.Logger
}

// New returns a Flusher taking batches of at most maxBytes and maxEntries.
func New(q *queue.Queue, send Sender, fallback Fallback, maxBytes, maxEntries int, log *slog.Logger) *Flusher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Flusher{q: q, send: send, fallback: fallback, maxBytes: maxBytes, maxEntries: maxEntries, log: log}
}

var signals = [...]queue.Signal{queue.Traces, queue.Metrics, queue.Logs}

// Flush exports what is queued until the queue is empty or ctx's deadline
// is near. reason "shutdown" means no flush will follow: what cannot be
// sent goes to the fallback.
func (f *Flusher) Flush(ctx context.Context, reason string) error {
	final := reason == "shutdown"
	var errs []error
	for _, sig := range signals {
		for {
			if d, ok := ctx.Deadline(); ok && time.Until(d) < minAttempt {
				break
			}
			if ctx.Err() != nil {
				break
			}
			b := f.q.Take(sig, f.maxBytes, f.maxEntries)
			if b == nil {
				break
			}
			err := f.send.Send(ctx, sig.String(), b.Bytes())
			if err == nil {
				b.Done()
				continue
			}
			errs = append(errs, fmt.Errorf("%s: %w", sig, err))
			switch {
			case errors.Is(err, ErrPermanent):
				f.log.Warn("the backend refused a batch; it is dropped", "signal", sig.String(), "items", b.Items(), "err", err)
				b.Drop()
				continue
			case final:
				f.toFallback(b)
			default:
				b.Requeue()
			}
			break // this signal's backend is failing: do not spend the budget on it
		}
	}
	if final {
		// Nothing will flush again: everything left goes to the fallback.
		for _, sig := range signals {
			for b := f.q.Take(sig, f.maxBytes, f.maxEntries); b != nil; b = f.q.Take(sig, f.maxBytes, f.maxEntries) {
				f.toFallback(b)
			}
		}
	}
	return errors.Join(errs...)
}

func (f *Flusher) toFallback(b *queue.Batch) {
	if f.fallback == nil {
		b.Drop()
		return
	}
	if err := f.fallback.WriteFallback(b.Signal().String(), b.Bytes()); err != nil {
		f.log.Warn("writing the fallback failed; the batch is lost", "signal", b.Signal().String(), "items", b.Items(), "err", err)
		b.Drop()
		return
	}
	b.Done()
}
