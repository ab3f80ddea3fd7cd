package queue

import (
	"bytes"
	"errors"
	"testing"
)

// req returns an n-byte request filled with tag, so batches show which
// requests they hold and in what order.
func req(tag byte, n int) []byte { return bytes.Repeat([]byte{tag}, n) }

// cat concatenates bodies: what a batch of them must look like.
func cat(bodies ...[]byte) []byte { return bytes.Join(bodies, nil) }

func mustOffer(t *testing.T, q *Queue, sig Signal, body []byte, items int) {
	t.Helper()
	if err := q.Offer(sig, body, items); err != nil {
		t.Fatalf("Offer(%v, %d bytes) = %v", sig, len(body), err)
	}
}

// checkInvariants verifies conservation per signal and the budget.
func checkInvariants(t *testing.T, q *Queue) {
	t.Helper()
	st := q.Stats()
	var held Tally
	for i, s := range st.Signals {
		var sum Tally
		for _, u := range []Tally{s.Queued, s.InFlight, s.Exported, s.Dropped()} {
			sum.add(u)
		}
		if sum != s.Received {
			t.Fatalf("%v: queued+inflight+exported+dropped = %+v, received %+v", Signal(i), sum, s.Received)
		}
		if s.Queued.Requests < 0 || s.InFlight.Requests < 0 || s.Queued.Bytes < 0 || s.InFlight.Bytes < 0 {
			t.Fatalf("%v: negative level %+v", Signal(i), s)
		}
		held.add(s.Queued)
		held.add(s.InFlight)
	}
	if held.Bytes > st.Budget.MaxBytes || held.Requests > int64(st.Budget.MaxEntries) {
		t.Fatalf("held %+v exceeds budget %+v", held, st.Budget)
	}
}

func TestSignalString(t *testing.T) {
	for s, want := range map[Signal]string{Traces: "traces", Metrics: "metrics", Logs: "logs", Signal(5): "Signal(5)", Signal(-1): "Signal(-1)"} {
		if got := s.String(); got != want {
			t.Errorf("Signal(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestUnknownSignal(t *testing.T) {
	q := New(Budget{MaxBytes: 100, MaxEntries: 10})
	if err := q.Offer(Signal(3), req(1, 1), 1); !errors.Is(err, ErrUnknownSignal) {
		t.Errorf("Offer(Signal(3)) = %v, want ErrUnknownSignal", err)
	}
	if b := q.Take(Signal(-1), 0, 0); b != nil {
		t.Errorf("Take(Signal(-1)) = %v, want nil", b)
	}
	if r, b := q.Pending(Signal(9)); r != 0 || b != 0 {
		t.Errorf("Pending(Signal(9)) = %d, %d", r, b)
	}
	if got := q.Stats().Total(); got != (SignalStats{}) {
		t.Errorf("unknown signal was counted: %+v", got)
	}
	if got := q.Stats().Signal(Signal(7)); got != (SignalStats{}) {
		t.Errorf("Stats.Signal(7) = %+v", got)
	}
}

func TestFIFOPerSignal(t *testing.T) {
	q := New(Budget{MaxBytes: 1000, MaxEntries: 100})
	// Interleave signals; each signal must come out in its own arrival order.
	mustOffer(t, q, Traces, req('a', 2), 1)
	mustOffer(t, q, Logs, req('x', 3), 1)
	mustOffer(t, q, Traces, req('b', 2), 1)
	mustOffer(t, q, Metrics, req('m', 1), 4)
	mustOffer(t, q, Traces, req('c', 2), 1)
	mustOffer(t, q, Logs, req('y', 3), 1)
	if q.Len() != 6 {
		t.Fatalf("Len = %d, want 6", q.Len())
	}
	if r, b := q.Pending(Traces); r != 3 || b != 6 {
		t.Fatalf("Pending(Traces) = %d, %d; want 3, 6", r, b)
	}
	for _, c := range []struct {
		sig  Signal
		want string
	}{{Traces, "aa"}, {Traces, "bb"}, {Logs, "xxx"}, {Metrics, "m"}, {Traces, "cc"}, {Logs, "yyy"}} {
		b := q.Take(c.sig, 0, 1)
		if b == nil || string(bytesOf(b)) != c.want || b.Signal() != c.sig {
			t.Fatalf("Take(%v, 1 entry) = %v, want %q", c.sig, b, c.want)
		}
		b.Done()
	}
	if b := q.Take(Traces, 0, 0); b != nil {
		t.Fatalf("Take on empty signal = %q, want nil", bytesOf(b))
	}
	st := q.Stats()
	if got := st.Signal(Metrics).Exported; got != (Tally{1, 4, 1, 1}) {
		t.Errorf("metrics exported = %+v", got)
	}
	if got := st.Total().Exported; got != (Tally{6, 9, 13, 13}) {
		t.Errorf("total exported = %+v", got)
	}
	checkInvariants(t, q)
}

func TestTakeLimits(t *testing.T) {
	fill := func() *Queue {
		q := New(Budget{MaxBytes: 1000, MaxEntries: 100})
		mustOffer(t, q, Traces, req('a', 10), 1)
		mustOffer(t, q, Traces, req('b', 20), 2)
		mustOffer(t, q, Traces, req('c', 30), 3)
		mustOffer(t, q, Traces, req('d', 40), 4)
		return q
	}
	a, b, c, d := req('a', 10), req('b', 20), req('c', 30), req('d', 40)
	for _, tc := range []struct {
		name                 string
		maxBytes, maxEntries int
		want                 []byte
		items                int64
	}{
		{"no limits drains all", 0, 0, cat(a, b, c, d), 10},
		{"bytes exact fit", 60, 0, cat(a, b, c), 6},
		{"bytes one short", 59, 0, cat(a, b), 3},
		{"entries", 0, 2, cat(a, b), 3},
		{"both, bytes bind", 35, 3, cat(a, b), 3},
		{"both, entries bind", 1000, 3, cat(a, b, c), 6},
		{"oversized first is taken alone", 5, 10, a, 1},
		{"one entry", 1000, 1, a, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := fill()
			bt := q.Take(Traces, tc.maxBytes, tc.maxEntries)
			if !bytes.Equal(bytesOf(bt), tc.want) {
				t.Fatalf("batch = %q, want %q", bytesOf(bt), tc.want)
			}
			n := int64(len(tc.want))
			if bt.Items() != tc.items {
				t.Errorf("Items = %d, want %d", bt.Items(), tc.items)
			}
			st := q.Stats().Signal(Traces)
			if st.InFlight.Bytes != n || st.InFlight.Requests != int64(bt.Requests()) || st.Queued.Bytes != 100-n {
				t.Errorf("after Take: in flight %+v, queued %+v", st.InFlight, st.Queued)
			}
			checkInvariants(t, q)
			// The rest comes out next, still in order.
			rest := q.Take(Traces, 0, 0)
			if want := cat(a, b, c, d)[n:]; len(want) == 0 {
				if rest != nil {
					t.Errorf("leftover batch %q", bytesOf(rest))
				}
			} else if !bytes.Equal(bytesOf(rest), want) {
				t.Errorf("remainder = %q, want %q", bytesOf(rest), want)
			}
		})
	}
}

func TestSingleRequestBatchIsNotCopied(t *testing.T) {
	q := New(Budget{MaxBytes: 100, MaxEntries: 10})
	body := req('z', 8)
	mustOffer(t, q, Logs, body, 1)
	b := q.Take(Logs, 0, 0)
	if &bytesOf(b)[0] != &body[0] {
		t.Error("single-request batch copied its body")
	}
}

func TestEvictOldestAcrossSignals(t *testing.T) {
	q := New(Budget{MaxBytes: 100, MaxEntries: 100})
	mustOffer(t, q, Traces, req('t', 30), 3)  // oldest
	mustOffer(t, q, Logs, req('l', 30), 5)    // second
	mustOffer(t, q, Metrics, req('m', 30), 7) // third
	mustOffer(t, q, Traces, req('u', 10), 1)  // 100 bytes held
	// 50 more bytes: the traces request then the logs request must go.
	mustOffer(t, q, Metrics, req('n', 50), 2)
	st := q.Stats()
	if got := st.Signal(Traces).Evicted; got != (Tally{1, 3, 30, 30}) {
		t.Errorf("traces evicted = %+v", got)
	}
	if got := st.Signal(Logs).Evicted; got != (Tally{1, 5, 30, 30}) {
		t.Errorf("logs evicted = %+v", got)
	}
	if got := st.Signal(Metrics).Evicted; got != (Tally{}) {
		t.Errorf("metrics evicted = %+v", got)
	}
	if got := st.Total().Queued; got != (Tally{3, 10, 90, 90}) {
		t.Errorf("queued = %+v", got)
	}
	if b := q.Take(Traces, 0, 0); string(bytesOf(b)) != string(req('u', 10)) {
		t.Errorf("traces left = %q", bytesOf(b))
	}
	if b := q.Take(Metrics, 0, 0); !bytes.Equal(bytesOf(b), cat(req('m', 30), req('n', 50))) {
		t.Errorf("metrics left = %q", bytesOf(b))
	}
	if b := q.Take(Logs, 0, 0); b != nil {
		t.Errorf("logs left = %q", bytesOf(b))
	}
	checkInvariants(t, q)
}

func TestEvictForEntryCap(t *testing.T) {
	q := New(Budget{MaxBytes: 1000, MaxEntries: 2})
	mustOffer(t, q, Logs, req('a', 1), 1)
	mustOffer(t, q, Traces, req('b', 1), 1)
	mustOffer(t, q, Logs, req('c', 1), 1)
	if got := q.Stats().Signal(Logs).Evicted; got != (Tally{1, 1, 1, 1}) {
		t.Errorf("logs evicted = %+v", got)
	}
	if q.Len() != 2 {
		t.Errorf("Len = %d, want 2", q.Len())
	}
	checkInvariants(t, q)
}

func TestEmptyRequest(t *testing.T) {
	// An empty body is a valid (empty) export request; it takes an entry.
	q := New(Budget{MaxBytes: 10, MaxEntries: 1})
	mustOffer(t, q, Traces, nil, 0)
	mustOffer(t, q, Traces, req('a', 10), 1)
	if got := q.Stats().Signal(Traces).Evicted; got != (Tally{1, 0, 0, 0}) {
		t.Errorf("evicted = %+v", got)
	}
	checkInvariants(t, q)
}

func TestTooLarge(t *testing.T) {
	q := New(Budget{MaxBytes: 100, MaxEntries: 10})
	mustOffer(t, q, Traces, req('a', 60), 1)
	if err := q.Offer(Traces, req('b', 101), 9); err != ErrTooLarge {
		t.Fatalf("Offer(101 bytes) = %v, want ErrTooLarge", err)
	}
	st := q.Stats().Signal(Traces)
	if st.TooLarge != (Tally{1, 9, 101, 101}) || st.Evicted != (Tally{}) || st.Queued != (Tally{1, 1, 60, 60}) {
		t.Errorf("after ErrTooLarge: %+v", st)
	}
	// Exactly the budget is fine, and evicts what is there.
	mustOffer(t, q, Traces, req('c', 100), 1)
	if got := q.Stats().Signal(Traces).Evicted; got != (Tally{1, 1, 60, 60}) {
		t.Errorf("evicted = %+v", got)
	}
	checkInvariants(t, q)
}

// While a flush is draining (something in flight), a request without room
// is refused — the sender retries once the flush made room — and nothing
// accepted is evicted; once nothing is in flight, eviction makes room.
func TestFullWhileInFlight(t *testing.T) {
	q := New(Budget{MaxBytes: 100, MaxEntries: 10})
	mustOffer(t, q, Traces, req('a', 70), 7)
	b := q.Take(Traces, 0, 0) // 70 bytes in flight
	mustOffer(t, q, Logs, req('l', 20), 2)
	for _, n := range []int{40, 30} { // with or without evicting the logs, a flush is draining: refuse
		if err := q.Offer(Metrics, req('m', n), 4); err != ErrFull {
			t.Fatalf("Offer(%d bytes) = %v, want ErrFull", n, err)
		}
	}
	st := q.Stats()
	if got := st.Signal(Metrics).Full; got != (Tally{2, 8, 70, 70}) {
		t.Errorf("metrics full = %+v", got)
	}
	if got := st.Signal(Logs).Evicted; got != (Tally{}) {
		t.Errorf("ErrFull evicted logs: %+v", got)
	}
	// What still fits is taken.
	mustOffer(t, q, Metrics, req('n', 10), 1)
	checkInvariants(t, q)
	b.Done()
	// Nothing in flight: the oldest queued (the logs) make room for 80.
	mustOffer(t, q, Metrics, req('o', 80), 8)
	if got := q.Stats().Signal(Logs).Evicted; got != (Tally{1, 2, 20, 20}) {
		t.Errorf("logs evicted = %+v", got)
	}
	if got := q.Stats().Total(); got.Queued != (Tally{2, 9, 90, 90}) || got.InFlight != (Tally{}) || got.Exported != (Tally{1, 7, 70, 70}) {
		t.Errorf("after Done: %+v", got)
	}
	checkInvariants(t, q)
}

func TestFullByEntriesInFlight(t *testing.T) {
	q := New(Budget{MaxBytes: 100, MaxEntries: 2})
	mustOffer(t, q, Traces, req('a', 1), 1)
	mustOffer(t, q, Traces, req('b', 1), 1)
	b := q.Take(Traces, 0, 0)
	if err := q.Offer(Logs, req('c', 1), 1); err != ErrFull {
		t.Fatalf("Offer = %v, want ErrFull", err)
	}
	b.Requeue()
	// After a requeue nothing is in flight, so eviction makes room again.
	mustOffer(t, q, Logs, req('c', 1), 1)
	if got := q.Stats().Signal(Traces).Evicted; got != (Tally{1, 1, 1, 1}) {
		t.Errorf("evicted = %+v", got)
	}
	checkInvariants(t, q)
}

func TestSettleAccounting(t *testing.T) {
	q := New(Budget{MaxBytes: 100, MaxEntries: 10})
	mustOffer(t, q, Traces, req('a', 10), 1)
	mustOffer(t, q, Traces, req('b', 20), 2)
	mustOffer(t, q, Traces, req('c', 30), 3)

	b := q.Take(Traces, 30, 0) // a, b
	b.Done()
	b.Done()    // only the first settle counts
	b.Requeue() // ignored too
	b.Drop()    // and this
	st := q.Stats().Signal(Traces)
	if st.Exported != (Tally{2, 3, 30, 30}) || st.InFlight != (Tally{}) || st.Queued != (Tally{1, 3, 30, 30}) || st.ExportFailed != (Tally{}) {
		t.Fatalf("after Done: %+v", st)
	}
	// The exported bytes are back in the budget, exactly.
	mustOffer(t, q, Traces, req('d', 70), 7)
	if got := q.Stats().Total().Evicted; got != (Tally{}) {
		t.Fatalf("evicted %+v although 70 bytes were free", got)
	}

	b = q.Take(Traces, 0, 0) // c, d
	b.Drop()
	st = q.Stats().Signal(Traces)
	if st.ExportFailed != (Tally{2, 10, 100, 100}) || st.InFlight != (Tally{}) || st.Queued != (Tally{}) {
		t.Fatalf("after Drop: %+v", st)
	}
	checkInvariants(t, q)
}

func TestRequeueOrder(t *testing.T) {
	q := New(Budget{MaxBytes: 100, MaxEntries: 10})
	for _, tag := range []byte("abcd") {
		mustOffer(t, q, Logs, req(tag, 1), 1)
	}
	b1 := q.Take(Logs, 0, 2) // a b
	mustOffer(t, q, Logs, req('e', 1), 1)
	b1.Requeue()
	if got := q.Stats().Signal(Logs); got.Queued != (Tally{5, 5, 5, 5}) || got.InFlight != (Tally{}) {
		t.Fatalf("after Requeue: %+v", got)
	}
	if b := q.Take(Logs, 0, 0); string(bytesOf(b)) != "abcde" {
		t.Fatalf("after requeue = %q, want abcde", bytesOf(b))
	} else {
		b.Requeue()
	}

	// Two batches of one signal settled out of order still restore
	// arrival order.
	b1 = q.Take(Logs, 0, 2)  // a b
	b2 := q.Take(Logs, 0, 2) // c d
	mustOffer(t, q, Logs, req('f', 1), 1)
	b1.Requeue()
	b2.Requeue()
	if b := q.Take(Logs, 0, 0); string(bytesOf(b)) != "abcdef" {
		t.Fatalf("out-of-order requeue = %q, want abcdef", bytesOf(b))
	}
	checkInvariants(t, q)
}

func TestRequeuedAreEvictedFirst(t *testing.T) {
	q := New(Budget{MaxBytes: 4, MaxEntries: 10})
	mustOffer(t, q, Traces, req('a', 1), 1)
	mustOffer(t, q, Logs, req('x', 1), 1)
	b := q.Take(Traces, 0, 0)
	mustOffer(t, q, Logs, req('y', 1), 1)
	mustOffer(t, q, Traces, req('b', 1), 1) // full: a(in flight) x y b
	b.Requeue()
	mustOffer(t, q, Metrics, req('m', 1), 1) // evicts a, the oldest
	st := q.Stats()
	if st.Signal(Traces).Evicted != (Tally{1, 1, 1, 1}) || st.Signal(Logs).Evicted != (Tally{}) {
		t.Fatalf("evicted traces %+v logs %+v", st.Signal(Traces).Evicted, st.Signal(Logs).Evicted)
	}
	if b := q.Take(Traces, 0, 0); string(bytesOf(b)) != "b" {
		t.Fatalf("traces = %q", bytesOf(b))
	}
	checkInvariants(t, q)
}

func TestRingGrowAndWrap(t *testing.T) {
	q := New(Budget{MaxBytes: 1 << 20, MaxEntries: 1000})
	next, want := 0, 0
	// Push and pop at different rates so the ring wraps and grows.
	for round := range 50 {
		for range round%7 + 3 {
			mustOffer(t, q, Metrics, []byte{byte(next)}, 1)
			next++
		}
		b := q.Take(Metrics, 0, round%5+1)
		for _, c := range bytesOf(b) {
			if c != byte(want) {
				t.Fatalf("round %d: got %d, want %d", round, c, byte(want))
			}
			want++
		}
		if round%3 == 0 {
			b.Requeue()
			want -= b.Requests()
		} else {
			b.Done()
		}
	}
	checkInvariants(t, q)
}

// bytesOf is b.Bytes() for batches whose requests are all held
// uncompressed, which cannot fail.
func bytesOf(b *Batch) []byte {
	p, err := b.Bytes()
	if err != nil {
		panic(err)
	}
	return p
}
