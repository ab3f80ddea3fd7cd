package queue

import "github.com/lambdaotel/lambdaotel/internal/gzjoin"

// entry is one queued export request.
type entry struct {
	// body is the request's protobuf encoding or, when segs is set, the
	// gzip body it arrived in, whose members segs describes.
	body    []byte
	segs    []gzjoin.Segment
	encoded int64 // length of the protobuf encoding
	items   int64
	seq     uint64 // arrival order across all signals; eviction picks the smallest
}

// tally is what the entry counts for.
func (e *entry) tally() Tally {
	return Tally{Requests: 1, Items: e.items, Bytes: int64(len(e.body)), Encoded: e.encoded}
}

// ring is a FIFO of entries in a power-of-two circular buffer. It grows by
// doubling and never shrinks: its length is bounded by Budget.MaxEntries, so
// keeping the capacity avoids reallocating on every burst.
type ring struct {
	buf  []entry
	head int
	n    int
}

func (r *ring) at(i int) *entry { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

func (r *ring) grow() {
	nb := make([]entry, max(8, 2*len(r.buf)))
	for i := range r.n {
		nb[i] = *r.at(i)
	}
	r.buf, r.head = nb, 0
}

func (r *ring) pushBack(e entry) {
	if r.n == len(r.buf) {
		r.grow()
	}
	*r.at(r.n) = e
	r.n++
}

func (r *ring) pushFront(e entry) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.head = (r.head - 1) & (len(r.buf) - 1)
	r.buf[r.head] = e
	r.n++
}

// popFront removes the first entry. It clears the slot so the ring does not
// keep the body reachable after the queue has let go of it.
func (r *ring) popFront() entry {
	p := r.at(0)
	e := *p
	*p = entry{}
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return e
}

// insertSorted puts es (ascending by seq) back so the ring stays ascending
// by seq. The common case, a failed batch going back before everything that
// arrived after it, is a push to the front; interleaving (two batches of one
// signal settled out of order) falls back to a merge, which is rare.
func (r *ring) insertSorted(es []entry) {
	if len(es) == 0 {
		return
	}
	if r.n == 0 || es[len(es)-1].seq < r.at(0).seq {
		for i := len(es) - 1; i >= 0; i-- {
			r.pushFront(es[i])
		}
		return
	}
	total := r.n + len(es)
	size := max(8, len(r.buf))
	for size < total {
		size *= 2
	}
	nb := make([]entry, size)
	i, j := 0, 0
	for k := range total {
		if j >= len(es) || (i < r.n && r.at(i).seq < es[j].seq) {
			nb[k] = *r.at(i)
			i++
		} else {
			nb[k] = es[j]
			j++
		}
	}
	r.buf, r.head, r.n = nb, 0, total
}
