package platformtel

import (
	"time"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// Attribute keys. The faas.* and error.type ones are OpenTelemetry semantic
// conventions; the aws.lambda.* ones without a convention mirror the
// Telemetry API's field names, with the unit in the name where the value
// is a platform figure (as Lambda's REPORT line prints them).
const (
	keyInvocationID   = "faas.invocation_id"
	keyColdstart      = "faas.coldstart"
	keyInvokedARN     = "aws.lambda.invoked_arn"
	keyTenantID       = "aws.lambda.tenant.id"
	keyProducedBytes  = "aws.lambda.produced_bytes"
	keyErrorType      = "error.type"
	keyStatus         = "aws.lambda.status"
	keyShutdownReason = "aws.lambda.shutdown_reason"
	keyInitType       = "aws.lambda.initialization_type"
	keyInitPhase      = "aws.lambda.init.phase"
	keyRuntimeVersion = "aws.lambda.runtime.version"
	keyDurationMs     = "aws.lambda.duration_ms"
	keyBilledMs       = "aws.lambda.billed_duration_ms"
	keyMemorySizeMB   = "aws.lambda.memory_size_mb"
	keyMaxMemoryMB    = "aws.lambda.max_memory_used_mb"
	keyInitDurationMs = "aws.lambda.init_duration_ms"
	keyLogType        = "aws.lambda.log.type"
)

// flagsFor is the OTLP span flags of a span with that parent: the W3C
// sampled bit, and whether the parent is remote (it is, whenever there is
// one: the X-Ray parent and the function's span live in other processes).
func flagsFor(parent [8]byte, sampled bool) uint32 {
	f := otlpbuild.FlagContextHasRemote
	if parent != ([8]byte{}) {
		f |= otlpbuild.FlagContextIsRemote
	}
	if sampled {
		f |= otlpbuild.FlagSampled
	}
	return f
}

// childFlags is the flags of a span whose parent the processor made.
func childFlags(sampled bool) uint32 {
	f := otlpbuild.FlagContextHasRemote
	if sampled {
		f |= otlpbuild.FlagSampled
	}
	return f
}

// addSpan encodes s into the pending spans, within the pending budget.
func (p *Processor) addSpan(s *otlpbuild.Span) {
	before := len(p.spans)
	p.spans = otlpbuild.AppendSpan(p.spans, s)
	if !p.reserve(len(p.spans) - before) {
		p.spans = p.spans[:before]
		p.stats.DroppedSpans++
		p.warnOnce("droppedSpans", "platform spans dropped: too much waiting for export", "maxPendingBytes", p.opts.MaxPendingBytes)
		return
	}
	p.stats.Spans++
}

func (p *Processor) invokeName() string {
	if p.fnName != "" {
		return p.fnName
	}
	return "invoke"
}

// errorStatus is the span status and error.type of a failed outcome.
func errorStatus(status, errorType string) (otlpbuild.Status, string) {
	msg, typ := status, status
	if errorType != "" {
		msg, typ = status+": "+errorType, errorType
	}
	if msg == "" {
		msg, typ = "failed", "failed"
	}
	return otlpbuild.Status{Code: otlpbuild.StatusError, Message: msg}, typ
}

// deferInvocation puts off making inv's span (and choosing its trace) to
// the next Collect, or until a child span needs it.
func (p *Processor) deferInvocation(inv *invocation, children []lambdaapi.Span) {
	if inv.spanMade || inv.spanless || inv.deferred {
		return
	}
	inv.deferred, inv.children = true, children
	p.deferred = append(p.deferred, inv)
}

// emitDeferred makes inv's span now if it was put off.
func (p *Processor) emitDeferred(inv *invocation) {
	if !inv.deferred {
		return
	}
	inv.deferred = false
	p.emitInvocation(inv, inv.children)
	inv.children = nil
}

// emitInvocation makes the invocation span (platform.start to the end of
// the runtime phase) and its children, the platform's spans of that phase
// (responseLatency, responseDuration, runtimeOverhead), once.
func (p *Processor) emitInvocation(inv *invocation, children []lambdaapi.Span) {
	if inv.spanMade || inv.spanless {
		return
	}
	inv.spanMade = true
	p.decide(inv)
	c := &inv.ctx
	if !c.sampled {
		return
	}
	kv := append(p.spanKV[:0],
		otlpbuild.String(keyInvocationID, inv.id),
		otlpbuild.Bool(keyColdstart, inv.cold))
	if inv.arn != "" {
		kv = append(kv, otlpbuild.String(keyInvokedARN, inv.arn))
	}
	if inv.tenant != "" {
		kv = append(kv, otlpbuild.String(keyTenantID, inv.tenant))
	}
	if inv.producedBytes > 0 {
		kv = append(kv, otlpbuild.Int(keyProducedBytes, inv.producedBytes))
	}
	var st otlpbuild.Status
	if inv.failed {
		var typ string
		st, typ = errorStatus(inv.status, inv.errorType)
		kv = append(kv, otlpbuild.String(keyErrorType, typ))
	}
	s := otlpbuild.Span{
		TraceID: c.traceID, SpanID: inv.spanID, ParentSpanID: c.parent, Flags: c.flags,
		Name: p.invokeName(), Kind: c.kind, Start: inv.start, End: inv.end,
		Attributes: kv, Status: st,
	}
	p.addSpan(&s)
	p.spanKV = kv[:0]
	for _, ch := range children {
		if ch.Name != "extensionOverhead" { // made from the report, after this phase
			p.emitChild(*c, inv.spanID, ch)
		}
	}
}

// emitChild makes a span for one of the platform's timed phases, under
// parent. A phase with no start time cannot be placed and is left out.
func (p *Processor) emitChild(c spanContext, parent [8]byte, ps lambdaapi.Span) {
	if !c.sampled || ps.Start.IsZero() {
		return
	}
	s := otlpbuild.Span{
		TraceID: c.traceID, SpanID: p.newSpanID(), ParentSpanID: parent, Flags: childFlags(true),
		Name: ps.Name, Kind: otlpbuild.SpanKindInternal,
		Start: ps.Start, End: ps.Start.Add(msDuration(ps.DurationMs)),
	}
	p.addSpan(&s)
}

// emitFailure makes the error span of an invocation that ended as timeout,
// failure or error, once: a child of the invocation span from its start to
// end, carrying the reason and, when the report came, Lambda's figures. It
// is what makes a timed-out or crashed invocation visible in the trace
// even when the function itself exported nothing.
func (p *Processor) emitFailure(inv *invocation, end time.Time, m *lambdaapi.ReportMetrics, reason string) {
	if inv.failureMade || !inv.failed || inv.spanless {
		return
	}
	inv.failureMade = true
	p.emitDeferred(inv) // the parent first
	p.decide(inv)
	c := &inv.ctx
	if !c.sampled {
		return
	}
	start := inv.start
	if start.IsZero() || end.Before(start) {
		start = end
	}
	st, typ := errorStatus(inv.status, inv.errorType)
	kv := append(p.spanKV[:0],
		otlpbuild.String(keyInvocationID, inv.id),
		otlpbuild.String(keyStatus, inv.status),
		otlpbuild.String(keyErrorType, typ))
	if reason != "" {
		kv = append(kv, otlpbuild.String(keyShutdownReason, reason))
	}
	if m != nil {
		kv = append(kv, otlpbuild.Double(keyDurationMs, m.DurationMs))
		if m.BilledDurationMs > 0 {
			kv = append(kv, otlpbuild.Double(keyBilledMs, m.BilledDurationMs))
		}
		if m.MemorySizeMB > 0 {
			kv = append(kv, otlpbuild.Int(keyMemorySizeMB, int64(m.MemorySizeMB)))
		}
		if m.MaxMemoryUsedMB > 0 {
			kv = append(kv, otlpbuild.Int(keyMaxMemoryMB, int64(m.MaxMemoryUsedMB)))
		}
		if m.InitDurationMs != nil {
			kv = append(kv, otlpbuild.Double(keyInitDurationMs, *m.InitDurationMs))
		}
	} else {
		// No report: the duration so far.
		kv = append(kv, otlpbuild.Double(keyDurationMs, float64(end.Sub(start).Microseconds())/1e3))
	}
	s := otlpbuild.Span{
		TraceID: c.traceID, SpanID: p.newSpanID(), ParentSpanID: inv.spanID, Flags: childFlags(true),
		Name: "invocation " + inv.status, Kind: otlpbuild.SpanKindInternal, Start: start, End: end,
		Attributes: kv, Status: st,
	}
	p.addSpan(&s)
	p.spanKV = kv[:0]
}

// emitPhase makes the span of an init or restore phase (start record to
// runtimeDone, or to the report's duration without one) and its platform
// children, once.
func (p *Processor) emitPhase(ph *phase) {
	if ph.spanMade || !ph.hasCtx {
		return
	}
	ph.spanMade = true
	c := &ph.ctx
	if !c.sampled {
		return
	}
	start, end := ph.start, ph.end
	if start.IsZero() {
		start = end.Add(-msDuration(ph.durationMs))
	}
	if end.IsZero() || end.Before(start) {
		end = start.Add(msDuration(ph.durationMs))
	}
	kv := p.spanKV[:0]
	if ph.initType != "" {
		kv = append(kv, otlpbuild.String(keyInitType, ph.initType))
	}
	if ph.phase != "" {
		kv = append(kv, otlpbuild.String(keyInitPhase, ph.phase))
	}
	if ph.runtimeVersion != "" {
		kv = append(kv, otlpbuild.String(keyRuntimeVersion, ph.runtimeVersion))
	}
	if ph.seenReport {
		kv = append(kv, otlpbuild.Double(keyDurationMs, ph.durationMs))
	}
	var st otlpbuild.Status
	if ph.status != "" && ph.status != lambdaapi.StatusSuccess {
		var typ string
		st, typ = errorStatus(ph.status, ph.errorType)
		kv = append(kv, otlpbuild.String(keyErrorType, typ))
	}
	s := otlpbuild.Span{
		TraceID: c.traceID, SpanID: ph.spanID, ParentSpanID: c.parent, Flags: c.flags,
		Name: ph.name, Kind: c.kind, Start: start, End: end, Attributes: kv, Status: st,
	}
	p.addSpan(&s)
	p.spanKV = kv[:0]
	for _, ch := range ph.spans {
		p.emitChild(*c, ph.spanID, ch)
	}
}
