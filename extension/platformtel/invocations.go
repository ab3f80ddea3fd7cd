package platformtel

import (
	"time"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// Which records of an invocation have been handled.
const (
	seenStart uint8 = 1 << iota
	seenRuntimeDone
	seenReport
)

// invocation is what is known of one request while its records arrive. A
// report for invocation N arrives during N+1 or at SHUTDOWN, so entries live
// across invocations; they end at the report, at eviction, or at Shutdown.
type invocation struct {
	id   string
	seq  uint64 // creation order, for eviction
	seen uint8

	start time.Time // platform.start's time; zero until known
	end   time.Time // end of the runtime phase, once known
	rdMs  float64   // runtimeDone's durationMs; 0 when not given

	status, errorType string // the worst outcome reported so far
	failed            bool

	arn, tenant   string
	producedBytes int64
	cold          bool
	coldChecked   bool

	// Trace context from the records' X-Ray header.
	xrayTrace   [16]byte
	xrayParent  [8]byte
	xraySampled int8 // 1, 0, or -1 when the header does not say
	hasXRay     bool
	// The function's own span, from SetParent.
	fnTrace [16]byte
	fnSpan  [8]byte
	hasFn   bool

	// The trace decision, made once, when first needed.
	decided bool
	ctx     spanContext
	spanID  [8]byte // the invocation span's ID, chosen at creation

	spanMade, failureMade, outcomeCounted bool
	// deferred is set while the invocation span waits for Collect (or for
	// a child that needs it first), with the platform's phase spans.
	deferred bool
	children []lambdaapi.Span
	// spanless is set when nothing says when the invocation started (a
	// report was its first record): its figures count, but no span is made
	// from guesses.
	spanless bool
}

// spanContext is where an invocation's spans and logs go.
type spanContext struct {
	traceID [16]byte
	parent  [8]byte // zero for a root
	kind    otlpbuild.SpanKind
	flags   uint32 // OTLP span flags of the invocation span
	sampled bool
}

// lookup returns the live invocation id, creating it when it is unknown.
// For an ID that already ended (it is in the done ring) it returns nil.
func (p *Processor) lookup(id string) *invocation {
	if inv := p.invs[id]; inv != nil {
		return inv
	}
	if p.done.find(id) >= 0 {
		return nil
	}
	if len(p.invs) >= p.opts.MaxInvocations {
		p.evictOldest()
	}
	p.seq++
	inv := &invocation{id: id, seq: p.seq, xraySampled: -1, spanID: p.newSpanID()}
	p.invs[id] = inv
	return inv
}

// evictOldest forgets the invocation created first. Records it was still
// waiting for are lost; what can still be said about it is said now.
func (p *Processor) evictOldest() {
	var oldest *invocation
	for _, inv := range p.invs {
		if oldest == nil || inv.seq < oldest.seq {
			oldest = inv
		}
	}
	if oldest == nil {
		return
	}
	p.stats.Evictions++
	p.warnOnce("evicted", "too many invocations in flight; forgetting the oldest", "max", p.opts.MaxInvocations)
	p.closeInvocation(oldest, "", time.Time{})
}

// closeInvocation ends inv's tracking before its report (eviction, or
// Shutdown with reason at now). An invocation still in its runtime phase
// at a timeout or failure shutdown ends there, as failed.
func (p *Processor) closeInvocation(inv *invocation, reason string, now time.Time) {
	running := inv.seen&seenStart != 0 && inv.seen&(seenRuntimeDone|seenReport) == 0
	if running && (reason == string(lambdaapi.ShutdownTimeout) || reason == string(lambdaapi.ShutdownFailure)) {
		inv.setOutcome(reason, "")
		inv.end = now
		p.countOutcome(inv, reason)
		p.emitInvocation(inv, nil)
		p.emitFailure(inv, inv.end, nil, reason)
	} else {
		if running && !p.managed {
			p.stats.RuntimeDoneMissing++
		}
		if inv.failed {
			// The report with the memory figures will not come now.
			p.emitFailure(inv, inv.end, nil, reason)
		}
	}
	if inv.seen&seenReport == 0 && inv.seen != 0 {
		p.stats.ReportMissing++
	}
	p.forget(inv, false)
}

// forget removes inv from the live set and remembers its ID and trace
// context in the done ring: for duplicates, late reports and log records
// still waiting for Collect.
func (p *Processor) forget(inv *invocation, reported bool) {
	p.decide(inv)
	delete(p.invs, inv.id)
	if p.latest == inv {
		p.latest = nil
	}
	p.done.add(doneEntry{id: inv.id, ctx: inv.ctx, spanID: inv.spanID, seen: inv.seen, reported: reported})
}

// decide fixes the trace an invocation's spans and logs go to, the first
// time it is needed: under the function's own span when the library
// reported it, else under the X-Ray header's parent, else in a new trace.
//
// Span kind: the invocation span is the invocation as the Lambda service
// served it, so it is a SERVER span (as the FaaS conventions have it for
// an incoming invocation), except under the function's own span, which is
// already that invocation's SERVER (or CONSUMER) span: there it is INTERNAL.
func (p *Processor) decide(inv *invocation) {
	if inv.decided {
		return
	}
	inv.decided = true
	c := &inv.ctx
	switch {
	case inv.hasFn:
		// The function exported its span, so the trace is sampled.
		c.traceID, c.parent, c.kind, c.sampled = inv.fnTrace, inv.fnSpan, otlpbuild.SpanKindInternal, true
	case inv.hasXRay:
		c.traceID, c.parent, c.kind = inv.xrayTrace, inv.xrayParent, otlpbuild.SpanKindServer
		// Sampled=0 is respected; no decision (absent, "?") means we decide,
		// and we keep it.
		c.sampled = inv.xraySampled != 0
	default:
		c.traceID, c.kind, c.sampled = p.newTraceID(), otlpbuild.SpanKindServer, true
	}
	c.flags = flagsFor(c.parent, c.sampled)
}

// absorbTracing takes the trace context of a record, once: every record of
// an invocation carries the same header.
func (inv *invocation) absorbTracing(tr *lambdaapi.Tracing) {
	if tr == nil || inv.hasXRay {
		return
	}
	if h, ok := parseTraceHeader(tr.Value); ok {
		inv.xrayTrace, inv.xrayParent, inv.xraySampled, inv.hasXRay = h.traceID, h.parent, h.sampled, true
	}
}

// setOutcome records a non-success status; the first failure reported is
// kept, since later records only repeat or summarise it.
func (inv *invocation) setOutcome(status, errorType string) {
	if status == "" || status == lambdaapi.StatusSuccess {
		if inv.status == "" {
			inv.status = status
		}
		return
	}
	if !inv.failed {
		inv.failed = true
		inv.status, inv.errorType = status, errorType
	} else if inv.errorType == "" {
		inv.errorType = errorType
	}
}

// markCold makes inv the cold start if the environment has one pending. It
// runs on an invocation's first platform record.
func (p *Processor) markCold(inv *invocation) {
	if inv.coldChecked {
		return
	}
	inv.coldChecked = true
	if p.coldPending {
		p.coldPending = false
		inv.cold = true
		p.metrics.coldstarts.add(1)
	}
}

// active is the invocation a log line without a request ID belongs to: on
// standard Lambda, the most recently started one until its report (its
// extensions may still be logging after runtimeDone); on Lambda Managed
// Instances, where invocations overlap, the running one if there is exactly
// one.
func (p *Processor) active() *invocation {
	if !p.managed {
		if p.latest != nil && p.latest.seen&seenReport == 0 {
			return p.latest
		}
		return nil
	}
	var found *invocation
	for _, inv := range p.invs {
		if inv.seen&seenStart != 0 && inv.seen&(seenRuntimeDone|seenReport) == 0 {
			if found != nil {
				return nil
			}
			found = inv
		}
	}
	return found
}

// doneEntry is an invocation that ended.
type doneEntry struct {
	id       string
	ctx      spanContext
	spanID   [8]byte
	seen     uint8 // the records handled
	reported bool  // ended by its report (else evicted or shut down)
}

// doneRing remembers the last ended invocations, oldest overwritten first.
type doneRing struct {
	entries []doneEntry
	next    int
	index   map[string]int
}

func (r *doneRing) init(n int) {
	r.entries = make([]doneEntry, 0, n)
	r.index = make(map[string]int, n)
}

func (r *doneRing) add(e doneEntry) {
	if i, ok := r.index[e.id]; ok {
		r.entries[i] = e
		return
	}
	if len(r.entries) < cap(r.entries) {
		r.entries = append(r.entries, e)
		r.index[e.id] = len(r.entries) - 1
		return
	}
	delete(r.index, r.entries[r.next].id)
	r.entries[r.next] = e
	r.index[e.id] = r.next
	r.next = (r.next + 1) % len(r.entries)
}

func (r *doneRing) find(id string) int {
	if i, ok := r.index[id]; ok {
		return i
	}
	return -1
}
