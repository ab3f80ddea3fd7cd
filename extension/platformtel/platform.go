package platformtel

import (
	"time"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// phase is an init or a SnapStart restore: a start record, a runtimeDone
// when the runtime is ready, and a report with the whole phase's duration
// (extensions included).
type phase struct {
	name string // span name: "init" or "restore"

	seenStart, seenRuntimeDone, seenReport bool
	// open is set from the start record until the first invocation starts:
	// log lines in between belong to this phase.
	open bool

	start, end        time.Time
	initType, phase   string
	runtimeVersion    string
	status, errorType string
	durationMs        float64
	spans             []lambdaapi.Span

	hasCtx      bool
	ctx         spanContext
	spanID      [8]byte
	spanMade    bool
	durRecorded bool // the duration metric is recorded once per phase
}

// begin resets ph for a new phase starting at t, with the trace context of
// tr if any.
func (p *Processor) beginPhase(ph *phase, name string, t time.Time, tr *lambdaapi.Tracing) {
	p.flushPhase(ph) // a previous phase that never reported
	*ph = phase{name: name, seenStart: true, open: true, start: t}
	p.phaseContext(ph, tr)
}

// phaseContext gives ph its trace context: the record's X-Ray header when
// it has one, else a new trace. A phase is not a request: its span is
// INTERNAL.
func (p *Processor) phaseContext(ph *phase, tr *lambdaapi.Tracing) {
	if ph.hasCtx {
		return
	}
	ph.hasCtx = true
	ph.spanID = p.newSpanID()
	c := &ph.ctx
	c.kind, c.sampled = otlpbuild.SpanKindInternal, true
	if tr != nil {
		if h, ok := parseTraceHeader(tr.Value); ok {
			c.traceID, c.parent, c.sampled = h.traceID, h.parent, h.sampled != 0
		}
	}
	if c.traceID == ([16]byte{}) {
		c.traceID = p.newTraceID()
	}
	c.flags = flagsFor(c.parent, c.sampled)
}

func (p *Processor) onInitStart(t time.Time, r *lambdaapi.InitStart) {
	if p.init.seenStart && !p.init.seenRuntimeDone && !p.init.seenReport && p.init.start.Equal(t) {
		p.stats.Duplicates++
		return
	}
	p.beginPhase(&p.init, "init", t, r.Tracing)
	p.init.initType, p.init.phase, p.init.runtimeVersion = r.InitializationType, r.Phase, r.RuntimeVersion
	if p.opts.FunctionName == "" && r.FunctionName != "" {
		p.fnName = r.FunctionName
	}
	p.setInitType(r.InitializationType)
	if r.Phase == lambdaapi.PhaseInvoke {
		// An init redone inside an invocation (after a failed init, or a
		// reset): that invocation is the cold one. If it has not started
		// yet, the next one to start is.
		p.init.open = false
		if inv := p.latest; p.coldPending && inv != nil && inv.seen&(seenRuntimeDone|seenReport) == 0 {
			p.coldPending = false
			if !inv.cold {
				inv.cold, inv.coldChecked = true, true
				p.metrics.coldstarts.add(1)
			}
		}
	}
}

func (p *Processor) onRestoreStart(t time.Time) {
	p.beginPhase(&p.restore, "restore", t, nil)
	// A SnapStart restore is the cold start of the environment it makes.
	p.coldPending = true
}

func (p *Processor) onPhaseRuntimeDone(ph *phase, name string, t time.Time, status, errorType string, spans []lambdaapi.Span) {
	if ph.seenRuntimeDone {
		p.stats.Duplicates++
		return
	}
	// No initStart is normal: it is emitted before an extension can
	// subscribe, and emulators (lambdasim among them) do not replay it.
	// The span's start is then estimated from the report's duration.
	if ph.spanMade {
		p.stats.OutOfOrder++
	}
	ph.seenRuntimeDone = true
	ph.end = t
	ph.status, ph.errorType, ph.spans = status, errorType, spans
	if ph.name == "" {
		ph.name = name
	}
	p.phaseContext(ph, nil)
}

func (p *Processor) onInitReport(t time.Time, r *lambdaapi.InitReport) {
	ph := &p.init
	if !p.phaseReport(ph, "init", t, r.Status, r.ErrorType, r.Metrics.DurationMs) {
		return
	}
	if ph.initType == "" {
		ph.initType, ph.phase = r.InitializationType, r.Phase
	}
	if len(ph.spans) == 0 {
		ph.spans = r.Spans
	}
	p.phaseContext(ph, r.Tracing)
	if !ph.durRecorded && r.Metrics.DurationMs > 0 {
		ph.durRecorded = true
		p.metrics.initDuration.record(r.Metrics.DurationMs / 1e3)
	}
	p.emitPhase(ph)
}

func (p *Processor) onRestoreReport(t time.Time, r *lambdaapi.RestoreReport) {
	ph := &p.restore
	if !p.phaseReport(ph, "restore", t, r.Status, r.ErrorType, r.Metrics.DurationMs) {
		return
	}
	if len(ph.spans) == 0 {
		ph.spans = r.Spans
	}
	p.phaseContext(ph, nil)
	if !ph.durRecorded && r.Metrics.DurationMs > 0 {
		ph.durRecorded = true
		p.metrics.restoreDuration.record(r.Metrics.DurationMs / 1e3)
	}
	p.emitPhase(ph)
}

// phaseReport takes a phase's report; it returns false for a duplicate.
func (p *Processor) phaseReport(ph *phase, name string, t time.Time, status, errorType string, durationMs float64) bool {
	if ph.seenReport {
		p.stats.Duplicates++
		return false
	}
	if !ph.seenStart && !ph.seenRuntimeDone {
		p.stats.OutOfOrder++
	}
	if ph.name == "" {
		ph.name = name
	}
	ph.seenReport = true
	ph.durationMs = durationMs
	if ph.status == "" || ph.status == lambdaapi.StatusSuccess {
		if status != "" {
			ph.status, ph.errorType = status, errorType
		}
	}
	if ph.end.IsZero() && !ph.seenRuntimeDone {
		// Without a runtimeDone the phase is known to end by the report.
		if !ph.start.IsZero() && durationMs > 0 {
			ph.end = ph.start.Add(msDuration(durationMs))
		} else {
			ph.end = t
		}
	}
	return true
}

// flushPhase makes the span of a phase that ended (runtimeDone) but whose
// report has not come, when waiting longer makes no sense: the first
// invocation started, a new phase began, or the environment shuts down.
func (p *Processor) flushPhase(ph *phase) {
	ph.open = false
	if ph.seenRuntimeDone && !ph.spanMade {
		p.emitPhase(ph)
	}
}

func (p *Processor) onStart(t time.Time, r *lambdaapi.Start) {
	if r.RequestID == "" {
		p.stats.MissingRequestID++
		return
	}
	inv := p.lookup(r.RequestID)
	if inv == nil {
		p.lateOrDuplicate(r.RequestID, seenStart)
		return
	}
	if inv.seen&seenStart != 0 {
		p.stats.Duplicates++
		return
	}
	if inv.seen&(seenRuntimeDone|seenReport) != 0 {
		// Its spans were made with a start estimated from the durations.
		p.stats.OutOfOrder++
	}
	inv.seen |= seenStart
	if !inv.spanMade {
		inv.start = t
	}
	inv.absorbTracing(r.Tracing)
	inv.arn, inv.tenant = r.FunctionARN, r.TenantID
	p.markCold(inv)
	if p.latest == nil || !inv.start.Before(p.latest.start) {
		p.latest = inv
	}
	p.flushPhase(&p.init)
	p.flushPhase(&p.restore)
}

func (p *Processor) onRuntimeDone(t time.Time, r *lambdaapi.RuntimeDone) {
	if r.RequestID == "" {
		p.stats.MissingRequestID++
		return
	}
	inv := p.lookup(r.RequestID)
	if inv == nil {
		p.lateOrDuplicate(r.RequestID, seenRuntimeDone)
		return
	}
	if inv.seen&seenRuntimeDone != 0 {
		p.stats.Duplicates++
		return
	}
	if inv.seen&seenStart == 0 {
		p.stats.RuntimeDoneWithoutStart++
	}
	inv.seen |= seenRuntimeDone
	inv.absorbTracing(r.Tracing)
	if inv.tenant == "" {
		inv.tenant = r.TenantID
	}
	p.markCold(inv)
	inv.setOutcome(r.Status, r.ErrorType)
	if r.Metrics != nil {
		inv.rdMs = max(r.Metrics.DurationMs, 0)
		inv.producedBytes = r.Metrics.ProducedBytes
	}
	inv.end = p.phaseEnd(inv, t, inv.rdMs, r.Spans)
	if d := inv.end.Sub(inv.start); inv.rdMs > 0 || (d > 0 && inv.seen&seenStart != 0) {
		p.metrics.invokeDuration.record(secondsOf(inv.rdMs, d))
	}
	p.countOutcome(inv, r.Status)
	p.deferInvocation(inv, r.Spans)
}

// phaseEnd works out when inv's runtime phase ended: its start plus the
// platform's duration (which has microsecond precision, where record times
// have milliseconds), else the record's time. An unknown start is estimated
// backwards from the end.
func (p *Processor) phaseEnd(inv *invocation, t time.Time, durationMs float64, spans []lambdaapi.Span) time.Time {
	if inv.start.IsZero() {
		end := t
		inv.start = end.Add(-msDuration(durationMs))
		// The first platform span starts when the invocation does.
		for _, s := range spans {
			if !s.Start.IsZero() && s.Start.Before(inv.start) {
				inv.start = s.Start
			}
		}
		return end
	}
	if durationMs > 0 {
		return inv.start.Add(msDuration(durationMs))
	}
	if t.Before(inv.start) {
		return inv.start
	}
	return t
}

func (p *Processor) onReport(t time.Time, r *lambdaapi.Report) {
	if r.RequestID == "" {
		p.stats.MissingRequestID++
		return
	}
	inv := p.lookup(r.RequestID)
	if inv == nil {
		if i := p.done.find(r.RequestID); i >= 0 && !p.done.entries[i].reported {
			// Evicted before its report: the figures still count.
			p.stats.LateRecords++
			p.done.entries[i].reported = true
			p.done.entries[i].seen |= seenReport
			p.reportMetrics(r)
			return
		}
		p.lateOrDuplicate(r.RequestID, seenReport)
		return
	}
	if inv.seen&(seenStart|seenRuntimeDone) == 0 {
		// Nothing says when it started or in which trace: the figures
		// count, but no span is made from guesses.
		p.stats.ReportWithoutStart++
		inv.spanless = true
	}
	inv.seen |= seenReport
	inv.absorbTracing(r.Tracing)
	if inv.tenant == "" {
		inv.tenant = r.TenantID
	}
	p.markCold(inv)
	inv.setOutcome(r.Status, r.ErrorType)
	m := &r.Metrics
	overhead, hasOverhead := extensionOverhead(r.Spans)
	if inv.seen&seenRuntimeDone == 0 {
		// Lambda Managed Instances send no runtimeDone; elsewhere it was
		// lost. The report has the duration and the response spans.
		if !p.managed && inv.seen&seenStart != 0 {
			p.stats.RuntimeDoneMissing++
		}
		dur := max(m.DurationMs, 0)
		if hasOverhead {
			dur = max(dur-overhead.DurationMs, 0)
		}
		inv.end = p.phaseEnd(inv, t, dur, r.Spans)
		if dur > 0 {
			p.metrics.invokeDuration.record(dur / 1e3)
		}
		p.countOutcome(inv, r.Status)
		p.deferInvocation(inv, r.Spans)
		if hasOverhead {
			p.recordOverhead(inv, overhead.Start, overhead.DurationMs)
		}
	} else {
		switch {
		case hasOverhead:
			p.recordOverhead(inv, overhead.Start, overhead.DurationMs)
		case inv.rdMs > 0 && m.DurationMs >= inv.rdMs && !p.managed:
			p.recordOverhead(inv, inv.end, m.DurationMs-inv.rdMs)
		}
	}
	p.reportMetrics(r)
	if inv.failed {
		p.emitFailure(inv, inv.end, m, "")
	}
	p.forget(inv, true)
}

// extensionOverhead finds the span RAPID adds to a report for the time
// extensions worked after the runtime was done.
func extensionOverhead(spans []lambdaapi.Span) (lambdaapi.Span, bool) {
	for _, s := range spans {
		if s.Name == "extensionOverhead" && s.DurationMs >= 0 {
			return s, true
		}
	}
	return lambdaapi.Span{}, false
}

// recordOverhead records the extensions' time after the runtime was done,
// as a metric and as a span under the invocation.
func (p *Processor) recordOverhead(inv *invocation, start time.Time, ms float64) {
	if start.IsZero() {
		start = inv.end
	}
	p.metrics.extensionOverhead.record(ms / 1e3)
	if inv.spanless {
		return
	}
	p.emitDeferred(inv) // the parent first
	p.decide(inv)
	p.emitChild(inv.ctx, inv.spanID, lambdaapi.Span{Name: "extensionOverhead", Start: start, DurationMs: ms})
}

// reportMetrics records what a report measures besides durations of the
// runtime phase.
func (p *Processor) reportMetrics(r *lambdaapi.Report) {
	m := &r.Metrics
	if m.MaxMemoryUsedMB > 0 {
		p.metrics.memUsage.record(float64(m.MaxMemoryUsedMB) * mib)
	}
	if m.BilledDurationMs > 0 {
		p.metrics.billedDuration.record(m.BilledDurationMs / 1e3)
	}
	// The report repeats the init and restore durations of a cold start;
	// they count once, from whichever record came.
	if m.InitDurationMs != nil && *m.InitDurationMs > 0 && !p.init.durRecorded {
		p.init.durRecorded = true
		p.metrics.initDuration.record(*m.InitDurationMs / 1e3)
	}
	if m.RestoreDurationMs != nil && *m.RestoreDurationMs > 0 && !p.restore.durRecorded {
		p.restore.durRecorded = true
		p.metrics.restoreDuration.record(*m.RestoreDurationMs / 1e3)
	}
}

// countOutcome counts an invocation in faas.invocations (successes),
// faas.errors or faas.timeouts, once, from the first record that says.
func (p *Processor) countOutcome(inv *invocation, status string) {
	if inv.outcomeCounted || status == "" {
		return
	}
	inv.outcomeCounted = true
	switch status {
	case lambdaapi.StatusSuccess:
		p.metrics.invocations.add(1)
	case lambdaapi.StatusTimeout:
		p.metrics.timeouts.add(1)
	default: // error, failure, and statuses added later: not a success
		p.metrics.errors.add(1)
	}
}

// lateOrDuplicate counts a record of kind (seenStart, seenRuntimeDone or
// seenReport) for an invocation that already ended: a duplicate if that
// record was handled, else out of order if the invocation ended with its
// report, else late (it was evicted).
func (p *Processor) lateOrDuplicate(id string, kind uint8) {
	i := p.done.find(id)
	switch {
	case i < 0:
		p.stats.Duplicates++
	case p.done.entries[i].seen&kind != 0:
		p.stats.Duplicates++
	case p.done.entries[i].reported:
		p.stats.OutOfOrder++
	default:
		p.stats.LateRecords++
	}
}

const mib = 1 << 20

func msDuration(ms float64) time.Duration {
	if !(ms > 0) || ms > 1e9 { // NaN, negative, or beyond any Lambda limit
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// secondsOf prefers the platform's duration in milliseconds, else d.
func secondsOf(ms float64, d time.Duration) float64 {
	if ms > 0 {
		return ms / 1e3
	}
	return d.Seconds()
}
