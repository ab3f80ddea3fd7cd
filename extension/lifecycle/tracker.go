package lifecycle

import (
	"context"
	"sync"
)

// Source says how the extension learnt that an invocation was complete.
type Source int

// Completion sources, in the order the extension prefers them.
const (
	// SourceNone: not complete (the hold ended at its deadline).
	SourceNone Source = iota
	// SourceSignal: POST /invocation/complete from the function's library.
	SourceSignal
	// SourceRuntimeDone: platform.runtimeDone from the Telemetry API.
	SourceRuntimeDone
	// SourceRuntimeFailed: platform.runtimeDone saying the runtime
	// crashed or timed out (status failure or timeout). It completes even
	// an announced function's invocation: the process that would have
	// signalled is gone, and holding on would keep the extension from the
	// SHUTDOWN of the reset that follows, until Lambda kills it.
	SourceRuntimeFailed
)

func (s Source) String() string {
	switch s {
	case SourceSignal:
		return "signal"
	case SourceRuntimeDone:
		return "runtimeDone"
	case SourceRuntimeFailed:
		return "runtimeFailed"
	default:
		return "none"
	}
}

// rememberCompleted is how many completed request ids are remembered, so a
// signal that arrives before its INVOKE event still counts.
const rememberCompleted = 16

// Tracker knows which invocation is current and which have completed. The
// first completion source wins; later ones for the same id change nothing.
type Tracker struct {
	mu      sync.Mutex
	current string
	done    [rememberCompleted]string
	src     [rememberCompleted]Source
	next    int
	changed chan struct{}
	// degraded is set when a hold ended at its deadline: holding is then
	// pointless until a completion signal shows up on time again.
	degraded bool
	// signalling is set when the function announced that it signals every
	// invocation: runtimeDone then does not complete one, because the
	// function's export (e.g. the library's async mode, from an internal
	// extension) can still be under way when its runtime is done.
	signalling bool
}

// Announce records that the function will signal every invocation.
func (t *Tracker) Announce() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.signalling = true
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{changed: make(chan struct{})} }

// Begin makes requestID the current invocation.
func (t *Tracker) Begin(requestID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.current = requestID
	// The function's signal can beat the INVOKE event to us; it was on
	// time all the same.
	if i := t.indexLocked(requestID); i >= 0 && t.src[i] == SourceSignal {
		t.degraded = false
	}
}

// Complete records that requestID ("" means the current invocation) is
// complete, as src says.
func (t *Tracker) Complete(requestID string, src Source) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if requestID == "" {
		requestID = t.current
	}
	if requestID == "" || t.indexLocked(requestID) >= 0 {
		return
	}
	if src == SourceRuntimeDone && t.signalling {
		return
	}
	t.done[t.next] = requestID
	t.src[t.next] = src
	t.next = (t.next + 1) % rememberCompleted
	if src == SourceSignal && t.degraded && requestID == t.current {
		// A timely signal: the function does signal after all.
		t.degraded = false
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *Tracker) indexLocked(id string) int {
	for i, d := range t.done {
		if d == id {
			return i
		}
	}
	return -1
}

// Wait blocks until requestID is complete or ctx ends, and says how it
// ended. When ctx ends first the tracker becomes degraded.
func (t *Tracker) Wait(ctx context.Context, requestID string) Source {
	for {
		t.mu.Lock()
		if i := t.indexLocked(requestID); i >= 0 {
			src := t.src[i]
			t.mu.Unlock()
			return src
		}
		ch := t.changed
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			t.mu.Lock()
			t.degraded = true
			t.mu.Unlock()
			return SourceNone
		}
	}
}

// Degraded reports whether the last hold ended at its deadline with no
// completion since.
func (t *Tracker) Degraded() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.degraded
}
