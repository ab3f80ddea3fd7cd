package queue

import (
	"testing"
)

// BenchmarkOfferTake1KiB: one 1 KiB request offered, taken alone (no copy)
// and settled — the per-request cost when flushes keep up.
func BenchmarkOfferTake1KiB(b *testing.B) {
	q := New(DefaultBudget(128))
	body := make([]byte, 1024)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Offer(Traces, body, 10); err != nil {
			b.Fatal(err)
		}
		q.Take(Traces, 4<<20, 1000).Done()
	}
}

// BenchmarkOfferTakeBatch1KiB: 100 requests of 1 KiB offered, taken as one
// concatenated batch and settled; ns/op and allocs/op are per request.
func BenchmarkOfferTakeBatch1KiB(b *testing.B) {
	const perBatch = 100
	q := New(DefaultBudget(128))
	body := make([]byte, 1024)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := q.Offer(Traces, body, 10); err != nil {
			b.Fatal(err)
		}
		if n++; n == perBatch {
			n = 0
			q.Take(Traces, 4<<20, 1000).Done()
		}
	}
}

// BenchmarkOfferEvict1KiB: the queue is full, so every Offer evicts the
// oldest request — the cost when no flush runs.
func BenchmarkOfferEvict1KiB(b *testing.B) {
	q := New(Budget{MaxBytes: 4 << 20, MaxEntries: DefaultQueueEntries})
	body := make([]byte, 1024)
	for range DefaultQueueEntries {
		_ = q.Offer(Logs, body, 1)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_ = q.Offer(Logs, body, 1)
	}
}

// BenchmarkOfferParallel1KiB: receivers offering from many goroutines while
// the queue evicts: the cost of contention on the one mutex.
func BenchmarkOfferParallel1KiB(b *testing.B) {
	q := New(DefaultBudget(128))
	b.SetBytes(1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		body := make([]byte, 1024)
		for pb.Next() {
			_ = q.Offer(Metrics, body, 1)
		}
	})
}
