package export

import "sync"

// breaker is one backend's fail-open switch (see the package documentation
// for the policy). It counts calls, never time: wall time jumps across
// Lambda freezes.
type breaker struct {
	threshold, probeEvery int

	mu       sync.Mutex
	failures int  // consecutive failed exports
	open     bool // skip the network
	skipped  int  // calls skipped since opening or since the last probe
	gap      int  // calls to skip before the next probe
	probing  bool // a probe is in flight; others keep skipping
}

// maxGapFactor caps the probe spacing at probeEvery·maxGapFactor calls.
// Each failed probe doubles the spacing: a probe costs up to a Timeout,
// and a flush makes one call per signal (and the platform telemetry gives
// every invocation all three), so a fixed spacing would make a dead
// backend cost a share of the Timeout on every invocation. With doubling,
// the total cost of an outage grows with its logarithm.
const maxGapFactor = 64

func newBreaker(threshold, probeEvery int) *breaker {
	return &breaker{threshold: threshold, probeEvery: probeEvery}
}

// allow says whether a call may use the network, and whether it is a probe.
func (b *breaker) allow() (probe, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return false, true
	}
	if b.probing {
		return false, false
	}
	b.skipped++
	if b.skipped < b.gap {
		return false, false
	}
	b.skipped, b.probing = 0, true
	return true, true
}

type transition uint8

const (
	unchanged transition = iota
	opened
	closed
)

// record feeds an export's outcome back and reports a state change.
func (b *breaker) record(o outcome, probe bool) transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
		if b.open && (o == unavailable || o == slow) {
			b.gap = min(2*b.gap, b.probeEvery*maxGapFactor)
		}
	}
	switch o {
	case success, answered:
		b.failures = 0
		if b.open {
			b.open, b.skipped = false, 0
			return closed
		}
	case unavailable, slow:
		b.failures++
		if !b.open && (b.failures >= b.threshold || o == slow) {
			b.open, b.skipped, b.gap = true, 0, b.probeEvery
			return opened
		}
	}
	return unchanged
}

func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}
