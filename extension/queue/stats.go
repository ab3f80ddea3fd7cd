package queue

// Tally counts requests with the items (spans, data points, log records)
// and bytes they carry.
type Tally struct {
	Requests int64
	Items    int64
	// Bytes is the memory the requests take as held: compressed for those
	// kept in the gzip form they arrived in. The budget counts these.
	Bytes int64
	// Encoded is the length of their protobuf encoding, what an export
	// request made of them carries before compression.
	Encoded int64
}

func (t *Tally) add(u Tally) {
	t.Requests += u.Requests
	t.Items += u.Items
	t.Bytes += u.Bytes
	t.Encoded += u.Encoded
}

func (t *Tally) sub(u Tally) {
	t.Requests -= u.Requests
	t.Items -= u.Items
	t.Bytes -= u.Bytes
	t.Encoded -= u.Encoded
}

// SignalStats are one signal's counters. Received, Exported and the drop
// reasons are cumulative; Queued and InFlight are current levels. Every
// received request is in exactly one of the other fields:
//
//	Received = Queued + InFlight + Exported + Evicted + TooLarge + Full + ExportFailed
type SignalStats struct {
	Received Tally // every Offer with this signal
	Queued   Tally // waiting for a flush now
	InFlight Tally // taken by Take, not yet settled
	Exported Tally // settled with Batch.Done

	Evicted      Tally // pushed out by newer requests (drop-oldest)
	TooLarge     Tally // rejected by Offer with ErrTooLarge
	Full         Tally // rejected by Offer with ErrFull
	ExportFailed Tally // settled with Batch.Drop
}

// Dropped sums the drop reasons.
func (s SignalStats) Dropped() Tally {
	var t Tally
	for _, u := range []Tally{s.Evicted, s.TooLarge, s.Full, s.ExportFailed} {
		t.add(u)
	}
	return t
}

// Stats is a snapshot of a Queue's counters.
type Stats struct {
	Budget  Budget
	Signals [numSignals]SignalStats // indexed by Signal
}

// Signal returns sig's counters (zero for an unknown signal).
func (s Stats) Signal(sig Signal) SignalStats {
	if !validSignal(sig) {
		return SignalStats{}
	}
	return s.Signals[sig]
}

// Total sums the counters of all signals.
func (s Stats) Total() SignalStats {
	var t SignalStats
	for _, u := range s.Signals {
		t.Received.add(u.Received)
		t.Queued.add(u.Queued)
		t.InFlight.add(u.InFlight)
		t.Exported.add(u.Exported)
		t.Evicted.add(u.Evicted)
		t.TooLarge.add(u.TooLarge)
		t.Full.add(u.Full)
		t.ExportFailed.add(u.ExportFailed)
	}
	return t
}
