package queue

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// model is a deliberately naive reference for Queue: one slice in arrival
// order, linear scans, no rings. The property test runs both side by side.
type model struct {
	budget   Budget
	seq      int
	queued   []mEntry // ascending by seq
	inFlight map[*Batch][]mEntry
	st       [numSignals]SignalStats
}

type mEntry struct {
	sig   Signal
	seq   int
	body  []byte
	items int64
}

func (e mEntry) tally() Tally {
	n := int64(len(e.body))
	return Tally{1, e.items, n, n}
}

func (m *model) held() (bytes int64, entries int) {
	for _, e := range m.queued {
		bytes += int64(len(e.body))
	}
	entries = len(m.queued)
	for _, es := range m.inFlight {
		for _, e := range es {
			bytes += int64(len(e.body))
		}
		entries += len(es)
	}
	return bytes, entries
}

func (m *model) offer(sig Signal, body []byte, items int64) error {
	e := mEntry{sig: sig, body: body, items: items}
	s := &m.st[sig]
	s.Received.add(e.tally())
	n := int64(len(body))
	if n > m.budget.MaxBytes {
		s.TooLarge.add(e.tally())
		return ErrTooLarge
	}
	hb, he := m.held()
	inFlight := he - len(m.queued)
	if (hb+n > m.budget.MaxBytes || he+1 > m.budget.MaxEntries) && inFlight > 0 {
		s.Full.add(e.tally())
		return ErrFull
	}
	for hb+n > m.budget.MaxBytes || he+1 > m.budget.MaxEntries {
		v := m.queued[0]
		m.queued = m.queued[1:]
		m.st[v.sig].Queued.sub(v.tally())
		m.st[v.sig].Evicted.add(v.tally())
		hb, he = m.held()
	}
	m.seq++
	e.seq = m.seq
	m.queued = append(m.queued, e)
	s.Queued.add(e.tally())
	return nil
}

func (m *model) take(sig Signal, maxBytes, maxEntries int) []mEntry {
	var taken, kept []mEntry
	var size int64
	stop := false
	for _, e := range m.queued {
		if e.sig != sig || stop {
			kept = append(kept, e)
			continue
		}
		if len(taken) > 0 && ((maxEntries > 0 && len(taken) >= maxEntries) || (maxBytes > 0 && size+int64(len(e.body)) > int64(maxBytes))) {
			stop = true
			kept = append(kept, e)
			continue
		}
		taken = append(taken, e)
		size += int64(len(e.body))
	}
	m.queued = kept
	for _, e := range taken {
		m.st[sig].Queued.sub(e.tally())
		m.st[sig].InFlight.add(e.tally())
	}
	return taken
}

func (m *model) settle(b *Batch, how int) {
	es := m.inFlight[b]
	delete(m.inFlight, b)
	for _, e := range es {
		s := &m.st[e.sig]
		s.InFlight.sub(e.tally())
		switch how {
		case 0:
			s.Exported.add(e.tally())
		case 1:
			s.ExportFailed.add(e.tally())
		case 2:
			s.Queued.add(e.tally())
			i := 0
			for i < len(m.queued) && m.queued[i].seq < e.seq {
				i++
			}
			m.queued = append(m.queued[:i], append([]mEntry{e}, m.queued[i:]...)...)
		}
	}
}

func TestPropertyAgainstModel(t *testing.T) {
	var all SignalStats
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			st := runProperty(t, seed, 3000)
			all.Exported.add(st.Exported)
			all.Evicted.add(st.Evicted)
			all.TooLarge.add(st.TooLarge)
			all.Full.add(st.Full)
			all.ExportFailed.add(st.ExportFailed)
		})
	}
	// The sequences must reach every outcome, or the model proves little.
	for name, n := range map[string]int64{"exported": all.Exported.Requests, "evicted": all.Evicted.Requests,
		"too large": all.TooLarge.Requests, "full": all.Full.Requests, "export failed": all.ExportFailed.Requests} {
		if n == 0 {
			t.Errorf("no request was ever %s", name)
		}
	}
	t.Logf("outcomes: exported %d, evicted %d, too large %d, full %d, export failed %d", all.Exported.Requests,
		all.Evicted.Requests, all.TooLarge.Requests, all.Full.Requests, all.ExportFailed.Requests)
}

// runProperty runs steps random operations on a Queue and the model, checks
// they agree after each, and returns the queue's final totals.
func runProperty(t *testing.T, seed uint64, steps int) SignalStats {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := Budget{MaxBytes: int64(64 + rng.IntN(2000)), MaxEntries: 1 + rng.IntN(40)}
	q := New(b)
	m := &model{budget: b, inFlight: map[*Batch][]mEntry{}}
	var batches []*Batch
	id := 0
	for step := range steps {
		op := rng.IntN(10)
		where := fmt.Sprintf("seed %d step %d op %d", seed, step, op)
		switch {
		case op < 5: // offer
			sig := Signal(rng.IntN(numSignals))
			n := rng.IntN(int(b.MaxBytes)/4 + 1)
			if rng.IntN(30) == 0 {
				n = int(b.MaxBytes) + rng.IntN(3) - 1 // around the edge
			}
			id++
			body := make([]byte, n)
			for i := range body {
				body[i] = byte(id*31 + i)
			}
			items := int64(rng.IntN(5))
			got, want := q.Offer(sig, body, int(items)), m.offer(sig, body, items)
			if got != want {
				t.Fatalf("%s: Offer(%v, %d) = %v, model %v", where, sig, n, got, want)
			}
		case op < 8: // take
			sig := Signal(rng.IntN(numSignals))
			maxB, maxE := rng.IntN(int(b.MaxBytes)/2+1), rng.IntN(6)
			got := q.Take(sig, maxB, maxE)
			want := m.take(sig, maxB, maxE)
			if (got == nil) != (len(want) == 0) {
				t.Fatalf("%s: Take nil=%v, model took %d", where, got == nil, len(want))
			}
			if got == nil {
				break
			}
			var wb []byte
			var items int64
			for _, e := range want {
				wb = append(wb, e.body...)
				items += e.items
			}
			if !bytes.Equal(bytesOf(got), wb) || got.Requests() != len(want) || got.Items() != items {
				t.Fatalf("%s: Take(%v, %d, %d) = %d requests %d bytes, model %d requests %d bytes",
					where, sig, maxB, maxE, got.Requests(), len(bytesOf(got)), len(want), len(wb))
			}
			m.inFlight[got] = want
			batches = append(batches, got)
		default: // settle a random in-flight batch
			if len(batches) == 0 {
				break
			}
			i := rng.IntN(len(batches))
			bt := batches[i]
			batches = append(batches[:i], batches[i+1:]...)
			how := rng.IntN(3)
			switch how {
			case 0:
				bt.Done()
			case 1:
				bt.Drop()
			case 2:
				bt.Requeue()
			}
			m.settle(bt, how)
		}
		st := q.Stats()
		if st.Signals != m.st {
			t.Fatalf("%s: stats\n got %+v\nwant %+v", where, st.Signals, m.st)
		}
		for sig := range Signal(numSignals) {
			r, by := q.Pending(sig)
			if int64(r) != m.st[sig].Queued.Requests || int64(by) != m.st[sig].Queued.Bytes {
				t.Fatalf("%s: Pending(%v) = %d, %d", where, sig, r, by)
			}
		}
		if q.Len() != len(m.queued) {
			t.Fatalf("%s: Len = %d, model %d", where, q.Len(), len(m.queued))
		}
		checkInvariants(t, q)
	}
	return q.Stats().Total()
}
