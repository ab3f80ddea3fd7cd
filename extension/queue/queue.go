// Package queue holds the extension's telemetry between the receiver and the
// exporter. Requests are kept as the validated protobuf bytes the receiver
// accepted (zero-decode forwarding, see DESIGN.md) or, when they arrived
// gzip-compressed, as that gzip body, and traces, metrics and logs share one
// memory budget derived from the function's memory size.
//
// Because every OTLP ExportXServiceRequest has a single repeated field (1),
// appending encoded requests of one signal yields a valid request holding all
// their resources. A Batch is therefore just several queued requests, whose
// bytes are concatenated (Batch.Bytes) or, for a gzip export, spliced into
// one gzip stream without compressing again what arrived compressed
// (Batch.Join) — never decoded.
//
// # Policy
//
// The budget (Budget.MaxBytes, Budget.MaxEntries) covers every request the
// queue holds: queued ones and those taken for export but not yet settled
// (in flight). In-flight requests stay charged because their bytes are still
// in memory while the exporter compresses and sends them, and because a
// failed export must be able to go back without pushing anything out.
//
// Offer decides, in this order:
//
//  1. A request larger than MaxBytes can never fit: ErrTooLarge (the receiver
//     answers 413; retrying cannot help). Nothing else changes.
//  2. If the request fits next to everything held, it is queued.
//  3. Otherwise, while a flush is draining the queue (something is in
//     flight), ErrFull: the receiver answers 503 (gRPC RESOURCE_EXHAUSTED)
//     with Retry-After, and the sender — an OTLP exporter, which retries
//     these — offers it again once the flush has made room. Nothing that
//     was accepted is lost to a burst the exporter is working through.
//  4. Otherwise nothing is draining — the exports are being skipped (the
//     backend is down and the breaker open) or none runs now — and waiting
//     would not make room: the oldest queued requests, across all signals in
//     arrival order, are evicted one by one until it fits, and it is queued.
//     Fresh telemetry is worth more than stale, and the sender should not
//     be made to retry into a queue nobody empties; eviction is counted per
//     signal (SignalStats.Evicted).
//
// Take removes the oldest requests of one signal as a Batch. Its owner must
// settle it exactly once: Done (exported), Drop (export failed for good, or no
// flush will follow), or Requeue (export failed; keep it for the next flush).
// Requeue puts the requests back in their original arrival position, ahead of
// anything newer, and cannot fail: their room was never given away. That is
// why there is no "requeue failed" drop reason; Drop is counted as
// ExportFailed instead.
//
// Every request that reaches Offer with a known signal ends up in exactly one
// of: queued, in flight, exported, evicted, too large, full, export failed.
// SignalStats counts each in requests, items and bytes.
//
// # Concurrency
//
// A Queue is safe for concurrent use. It holds one mutex, never across I/O or
// a copy of request bodies, and starts no goroutines.
//
// Signal mirrors extension/wire.Signal (same values and names) without
// importing it, so the two packages can be built in parallel; they should be
// unified into one type once both settle.
package queue

import (
	"errors"
	"fmt"
	"sync"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
)

// Signal says which OTLP signal a request carries: the validator's type, so
// a validated request goes into the queue without translation.
type Signal = wire.Signal

// The three OTLP signals.
const (
	Traces  = wire.Traces
	Metrics = wire.Metrics
	Logs    = wire.Logs
)

// numSignals sizes the per-signal arrays.
const numSignals = 3

func validSignal(s Signal) bool { return s >= 0 && s < numSignals }

// Errors returned by Offer.
var (
	// ErrTooLarge: the request is larger than the whole byte budget.
	// Map it to HTTP 413; a retry cannot succeed.
	ErrTooLarge = errors.New("queue: request larger than the queue's byte budget")
	// ErrFull: the queue has no room while a flush is draining it. Map it
	// to HTTP 503 / gRPC
	// RESOURCE_EXHAUSTED with Retry-After.
	ErrFull = errors.New("queue: full while a flush is in progress")
	// ErrUnknownSignal: the signal is not Traces, Metrics or Logs. It is a
	// programming error and is not counted in Stats.
	ErrUnknownSignal = errors.New("queue: unknown signal")
)

// Queue holds validated export requests under a Budget. The zero value is not
// usable; call New.
type Queue struct {
	mu     sync.Mutex
	budget Budget
	seq    uint64
	q      [numSignals]ring

	// Totals across signals, kept so Offer decides in O(1).
	queuedBytes, inFlightBytes     int64
	queuedEntries, inFlightEntries int

	st [numSignals]SignalStats
}

// New returns an empty queue bounded by b. Non-positive fields of b take the
// values of DefaultBudget(0), so a zero Budget still yields a bounded queue.
func New(b Budget) *Queue {
	d := DefaultBudget(0)
	if b.MaxBytes <= 0 {
		b.MaxBytes = d.MaxBytes
	}
	if b.MaxEntries <= 0 {
		b.MaxEntries = d.MaxEntries
	}
	return &Queue{budget: b}
}

// Budget returns the queue's effective budget.
func (q *Queue) Budget() Budget { return q.budget }

// Offer queues body, an already-validated export request of signal sig
// holding items spans, data points or log records. The queue owns body from
// now on, whatever the outcome: the caller must not modify or reuse it. See
// the package documentation for when it evicts older requests and when it
// returns ErrTooLarge or ErrFull.
func (q *Queue) Offer(sig Signal, body []byte, items int) error {
	return q.offer(sig, entry{body: body, encoded: int64(len(body)), items: int64(max(items, 0))})
}

// OfferGzip is Offer for a request kept in the gzip form it arrived in: gz
// is the whole gzip body, segs its members as gzjoin.Gunzip found them
// (aliasing gz), and encoded the length of the protobuf they inflate to,
// which was validated. Held compressed, the request takes a fraction of the
// memory, and an export compressing with gzip splices its segments instead
// of compressing the same bytes a second time. The queue owns gz and segs.
func (q *Queue) OfferGzip(sig Signal, gz []byte, segs []gzjoin.Segment, encoded, items int) error {
	return q.offer(sig, entry{body: gz, segs: segs, encoded: int64(encoded), items: int64(max(items, 0))})
}

func (q *Queue) offer(sig Signal, e entry) error {
	if !validSignal(sig) {
		return fmt.Errorf("%w: %d", ErrUnknownSignal, int(sig))
	}
	t := e.tally()
	q.mu.Lock()
	defer q.mu.Unlock()
	s := &q.st[sig]
	s.Received.add(t)
	if t.Bytes > q.budget.MaxBytes {
		s.TooLarge.add(t)
		return ErrTooLarge
	}
	if !q.fits(q.queuedBytes+q.inFlightBytes, q.queuedEntries+q.inFlightEntries, t.Bytes) {
		if q.inFlightEntries > 0 {
			s.Full.add(t)
			return ErrFull
		}
		for !q.fits(q.queuedBytes+q.inFlightBytes, q.queuedEntries+q.inFlightEntries, t.Bytes) {
			q.evictOldest()
		}
	}
	q.seq++
	e.seq = q.seq
	q.q[sig].pushBack(e)
	q.queuedBytes += t.Bytes
	q.queuedEntries++
	s.Queued.add(t)
	return nil
}

// fits reports whether one more request of n bytes fits next to heldBytes
// and heldEntries.
func (q *Queue) fits(heldBytes int64, heldEntries int, n int64) bool {
	return heldBytes+n <= q.budget.MaxBytes && heldEntries+1 <= q.budget.MaxEntries
}

// evictOldest drops the queued request that arrived first, whatever its
// signal. Each ring is ascending by seq, so the oldest is one of the heads.
// The caller holds q.mu and has checked that something is queued.
func (q *Queue) evictOldest() {
	victim := -1
	for i := range q.q {
		if q.q[i].n > 0 && (victim < 0 || q.q[i].at(0).seq < q.q[victim].at(0).seq) {
			victim = i
		}
	}
	e := q.q[victim].popFront()
	t := e.tally()
	q.queuedBytes -= t.Bytes
	q.queuedEntries--
	q.st[victim].Queued.sub(t)
	q.st[victim].Evicted.add(t)
}

// Take removes the oldest queued requests of sig as one Batch, or returns nil
// when none is queued. It takes requests in arrival order while the batch
// stays within maxBytes (of protobuf encoding, compressed requests counted
// as they inflate) and maxEntries; the first request is always taken, even
// if larger than maxBytes, so an oversized request cannot block its signal
// forever. A non-positive limit means no limit (drain everything).
//
// The batch stays charged to the budget until it is settled with Done, Drop
// or Requeue.
func (q *Queue) Take(sig Signal, maxBytes, maxEntries int) *Batch {
	if !validSignal(sig) {
		return nil
	}
	q.mu.Lock()
	r := &q.q[sig]
	if r.n == 0 {
		q.mu.Unlock()
		return nil
	}
	var t Tally
	for int(t.Requests) < r.n {
		e := r.at(int(t.Requests))
		if t.Requests > 0 && ((maxEntries > 0 && t.Requests >= int64(maxEntries)) ||
			(maxBytes > 0 && t.Encoded+e.encoded > int64(maxBytes))) {
			break
		}
		t.add(e.tally())
	}
	b := &Batch{q: q, sig: sig, tally: t}
	if t.Requests == 1 {
		b.entries = b.one[:1]
	} else {
		b.entries = make([]entry, t.Requests)
	}
	for i := range b.entries {
		b.entries[i] = r.popFront()
	}
	q.queuedBytes -= t.Bytes
	q.queuedEntries -= int(t.Requests)
	q.inFlightBytes += t.Bytes
	q.inFlightEntries += int(t.Requests)
	q.st[sig].Queued.sub(t)
	q.st[sig].InFlight.add(t)
	q.mu.Unlock()
	return b
}

// Pending returns how many requests of sig are queued (not in flight) and
// the length of their protobuf encoding: what exporting them would send
// before compression.
func (q *Queue) Pending(sig Signal) (requests, encoded int) {
	if !validSignal(sig) {
		return 0, 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.st[sig].Queued
	return int(s.Requests), int(s.Encoded)
}

// Len returns the number of queued requests across all signals, not
// counting those in flight.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queuedEntries
}

// Stats returns a snapshot of the counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Stats{Budget: q.budget, Signals: q.st}
}

// Batch is a run of requests of one signal taken from a Queue for export.
// Its owner must settle it exactly once with Done, Drop or Requeue; only the
// first of those calls has an effect. A Batch is not safe for concurrent use
// except that settling it is (it takes the queue's lock).
type Batch struct {
	q       *Queue
	sig     Signal
	body    []byte // the protobuf encoding, once Bytes has built it
	entries []entry
	one     [1]entry // storage for the common single-request batch
	tally   Tally
	settled bool // guarded by q.mu
}

// Signal returns the batch's signal.
func (b *Batch) Signal() Signal { return b.sig }

// Bytes returns the batch as one encoded export request: the concatenation
// of its requests' protobuf encodings, those held compressed inflated. For
// a single uncompressed request it is that request's own slice; otherwise
// one buffer, built on the first call. The caller must not modify it, and
// must stop using it once the batch is settled (after Requeue the same
// memory is back in the queue). Buffers are deliberately not pooled: an
// HTTP transport may still read a request body after a timed out export
// returns, and a recycled buffer would then leak other data.
//
// The error is that of inflating a compressed request, which was inflated
// once already when it was received; it means memory was corrupted.
func (b *Batch) Bytes() ([]byte, error) {
	if b.body != nil || len(b.entries) == 0 {
		return b.body, nil
	}
	if len(b.entries) == 1 && b.entries[0].segs == nil {
		b.body = b.entries[0].body
		return b.body, nil
	}
	buf := make([]byte, 0, b.tally.Encoded)
	for i := range b.entries {
		e := &b.entries[i]
		if e.segs == nil {
			buf = append(buf, e.body...)
			// Point the entry at its copy (capacity capped so nothing can
			// append into its neighbour) and let the original go:
			// Requeue reuses these slices, so memory is held once.
			e.body = buf[len(buf)-len(e.body) : len(buf) : len(buf)]
			continue
		}
		for _, sg := range e.segs {
			var err error
			if buf, _, err = gzjoin.Inflate(buf, sg.Data, int(b.tally.Encoded)-len(buf)); err != nil {
				return nil, fmt.Errorf("queue: inflate a held %s request: %w", b.sig, err)
			}
		}
	}
	b.body = buf
	return buf, nil
}

// Join writes the batch into j, which produces one gzip stream: requests
// held compressed are spliced in as they arrived, the others compressed
// by j. It returns j's error.
func (b *Batch) Join(j *gzjoin.Joiner) error {
	for i := range b.entries {
		e := &b.entries[i]
		if e.segs == nil {
			if _, err := j.Write(e.body); err != nil {
				return err
			}
			continue
		}
		for _, sg := range e.segs {
			if err := j.AppendSegment(sg); err != nil {
				return err
			}
		}
	}
	return nil
}

// Encoded returns the length of the batch's protobuf encoding.
func (b *Batch) Encoded() int { return int(b.tally.Encoded) }

// Requests returns the number of export requests merged into the batch.
func (b *Batch) Requests() int { return int(b.tally.Requests) }

// Items returns the spans, data points or log records in the batch.
func (b *Batch) Items() int64 { return b.tally.Items }

// Done settles the batch as exported and returns its bytes to the budget.
func (b *Batch) Done() { b.settle(false) }

// Drop settles the batch as lost (permanent rejection by the backend, or an
// export failure with no later flush to retry it) and returns its bytes to
// the budget. It is counted as ExportFailed.
func (b *Batch) Drop() { b.settle(true) }

func (b *Batch) settle(failed bool) {
	q := b.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if b.settled {
		return
	}
	b.settled = true
	q.inFlightBytes -= b.tally.Bytes
	q.inFlightEntries -= int(b.tally.Requests)
	s := &q.st[b.sig]
	s.InFlight.sub(b.tally)
	if failed {
		s.ExportFailed.add(b.tally)
	} else {
		s.Exported.add(b.tally)
	}
	b.entries, b.body = nil, nil
}

// Requeue settles the batch as not exported yet: its requests go back into
// the queue at their original arrival position (ahead of everything that
// arrived after them), to be taken again by a later flush and, being the
// oldest, to be the first evicted if room runs out. It always succeeds,
// because in-flight requests never stopped being charged to the budget.
func (b *Batch) Requeue() {
	q := b.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if b.settled {
		return
	}
	b.settled = true
	q.q[b.sig].insertSorted(b.entries)
	q.inFlightBytes -= b.tally.Bytes
	q.inFlightEntries -= int(b.tally.Requests)
	q.queuedBytes += b.tally.Bytes
	q.queuedEntries += int(b.tally.Requests)
	s := &q.st[b.sig]
	s.InFlight.sub(b.tally)
	s.Queued.add(b.tally)
	b.entries, b.body = nil, nil
}
