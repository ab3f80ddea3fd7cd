// Package flush drains lambdaotel-extension's queue to the backend within a
// budget: batch by batch, signal by signal, each export bounded by what is
// left of the caller's deadline. Between invocations a failed batch goes
// back into the queue for the next flush; at SHUTDOWN, when no later flush
// will come, whatever cannot be exported in time is written to stdout as a
// fallback line, so it still lands in the function's logs.
//
// Writing the fallback costs CPU (gzip and base64: tens of milliseconds per
// MiB on a full vCPU, ten times that at 128 MB of memory), so the final
// flush stops exporting early enough to write what is still queued, and
// what cannot be written before the deadline either is dropped and counted
// rather than letting Lambda kill the process mid-line.
package flush

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/queue"
)

// Sender exports one batch of signal ("traces", "metrics" or "logs"). It
// must not settle the batch: the Flusher does, by the error.
type Sender interface {
	Send(ctx context.Context, signal string, b *queue.Batch) error
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

// fallbackFloor is kept for the fallback at SHUTDOWN however little is
// queued: an export overrunning its deadline slightly, and a few small
// writes, fit in it.
const fallbackFloor = 10 * time.Millisecond

// DefaultFallbackCost is the assumed time to write one MiB of queued data
// as fallback lines before any has been measured: about what gzip and
// base64 take on one full vCPU, doubled for safety.
const DefaultFallbackCost = 100 * time.Millisecond

// Flusher drains a queue.
type Flusher struct {
	q          *queue.Queue
	send       Sender
	fallback   Fallback
	maxBytes   int
	maxEntries int
	log        *slog.Logger
	now        func() time.Time

	// costPerMiB is the time to write one MiB of fallback, in
	// nanoseconds: the configured guess, then what writing took.
	costPerMiB atomic.Int64

	fallbackItems [3]atomic.Int64 // by signal, as in signals
	lateItems     [3]atomic.Int64 // dropped: no time left to write them
}

// Stats are what a Flusher alone knows; the queue counts the rest.
type Stats struct {
	// FallbackItems counts items written as fallback lines, by signal
	// ("traces", "metrics", "logs"). The queue counts them as exported.
	FallbackItems map[string]int64
	// LateItems counts items dropped at SHUTDOWN because writing them
	// would have passed the deadline (the queue counts them as
	// ExportFailed).
	LateItems map[string]int64
}

// Stats returns the Flusher's counters.
func (f *Flusher) Stats() Stats {
	st := Stats{FallbackItems: map[string]int64{}, LateItems: map[string]int64{}}
	for i, sig := range signals {
		st.FallbackItems[sig.String()] = f.fallbackItems[i].Load()
		st.LateItems[sig.String()] = f.lateItems[i].Load()
	}
	return st
}

// signalIndex is sig's index in signals.
func signalIndex(sig queue.Signal) int {
	for i, s := range signals {
		if s == sig {
			return i
		}
	}
	return 0
}

// Option configures a Flusher.
type Option func(*Flusher)

// WithFallbackCost sets the time writing one MiB of fallback is assumed to
// take until the first write has been measured. The extension scales it by
// the CPU share Lambda gives the function's memory size.
func WithFallbackCost(perMiB time.Duration) Option {
	return func(f *Flusher) {
		if perMiB > 0 {
			f.costPerMiB.Store(int64(perMiB))
		}
	}
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(f *Flusher) { f.now = now } }

// New returns a Flusher taking batches of at most maxBytes and maxEntries.
func New(q *queue.Queue, send Sender, fallback Fallback, maxBytes, maxEntries int, log *slog.Logger, opts ...Option) *Flusher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Flusher{q: q, send: send, fallback: fallback, maxBytes: maxBytes, maxEntries: maxEntries, log: log, now: time.Now}
	f.costPerMiB.Store(int64(DefaultFallbackCost))
	for _, o := range opts {
		o(f)
	}
	return f
}

// fallbackTime estimates how long writing n bytes of fallback takes.
func (f *Flusher) fallbackTime(n int) time.Duration {
	return time.Duration(float64(f.costPerMiB.Load()) * float64(n) / (1 << 20))
}

// queuedBytes is what the fallback would have to write now.
func (f *Flusher) queuedBytes() int {
	total := 0
	for _, sig := range signals {
		_, b := f.q.Pending(sig)
		total += b
	}
	return total
}

var signals = [...]queue.Signal{queue.Traces, queue.Metrics, queue.Logs}

// Flush exports what is queued until the queue is empty or ctx's deadline
// is near. reason "shutdown" means no flush will follow: what cannot be
// sent goes to the fallback.
func (f *Flusher) Flush(ctx context.Context, reason string) error {
	final := reason == "shutdown"
	deadline, hasDeadline := ctx.Deadline()
	var errs []error
	for _, sig := range signals {
		for {
			sendCtx, cancel := ctx, context.CancelFunc(func() {})
			if hasDeadline {
				end := deadline
				if final && f.fallback != nil {
					// Keep the time to write what would be left, the
					// batch about to be taken included, at most half of
					// what remains: exporting is the better outcome.
					left := deadline.Sub(f.now())
					end = deadline.Add(-min(fallbackFloor+f.fallbackTime(f.queuedBytes()), left/2))
				}
				if end.Sub(f.now()) < minAttempt {
					break
				}
				sendCtx, cancel = context.WithDeadline(ctx, end)
			}
			if ctx.Err() != nil {
				cancel()
				break
			}
			b := f.q.Take(sig, f.maxBytes, f.maxEntries)
			if b == nil {
				cancel()
				break
			}
			err := f.send.Send(sendCtx, sig.String(), b)
			cancel()
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
				f.toFallback(b, deadline, hasDeadline, &errs)
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
				f.toFallback(b, deadline, hasDeadline, &errs)
			}
		}
	}
	return errors.Join(errs...)
}

// errNoTimeForFallback reports batches dropped at SHUTDOWN because writing
// them would have run past the deadline.
var errNoTimeForFallback = errors.New("no time left before the SHUTDOWN deadline to write the fallback; batch dropped")

// toFallback writes b as fallback lines if that can finish before the
// deadline, measuring how long it took to improve the next estimate, and
// drops it (counted in the queue's stats, reported in errs) otherwise.
func (f *Flusher) toFallback(b *queue.Batch, deadline time.Time, hasDeadline bool, errs *[]error) {
	if f.fallback == nil {
		b.Drop()
		return
	}
	n := b.Encoded()
	if hasDeadline && f.fallbackTime(n) > deadline.Sub(f.now()) {
		f.log.Warn("dropping a batch at SHUTDOWN: writing it as fallback would pass the deadline",
			"signal", b.Signal().String(), "items", b.Items(), "bytes", n)
		*errs = append(*errs, fmt.Errorf("%s: %w", b.Signal(), errNoTimeForFallback))
		f.lateItems[signalIndex(b.Signal())].Add(int64(b.Items()))
		b.Drop()
		return
	}
	start := f.now()
	body, err := b.Bytes()
	if err == nil {
		err = f.fallback.WriteFallback(b.Signal().String(), body)
	}
	if took := f.now().Sub(start); n >= 64<<10 && took > 0 {
		// Small writes are dominated by fixed costs; only larger ones
		// say anything about the per-MiB rate.
		f.costPerMiB.Store(int64(float64(took) * (1 << 20) / float64(n)))
	}
	if err != nil {
		f.log.Warn("writing the fallback failed; the batch is lost", "signal", b.Signal().String(), "items", b.Items(), "err", err)
		b.Drop()
		return
	}
	f.fallbackItems[signalIndex(b.Signal())].Add(int64(b.Items()))
	b.Done()
}
