package platformtel

import (
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// TestInvocationSpans checks the invocation span and its children for the
// captured 2022-12-13 records: ids from the X-Ray header, kind, times with
// the platform's microsecond durations, attributes.
func TestInvocationSpans(t *testing.T) {
	p, _ := newProc(t, Options{})
	handleAll(p,
		startEv(reqA, at(108), xrayA),
		fnLog(at(109), "[INFO]\t2024-07-01T08:54:54.109Z\t"+reqA+"\tprocessing order 42\n"),
		runtimeDoneEv(reqA, at(108), 17.12, lambdaapi.StatusSuccess, "", xrayA),
	)
	o := collect(t, p)
	spans := o.spans()
	if len(spans) != 4 {
		t.Fatalf("got %d spans, want 4: %v", len(spans), spans)
	}
	inv := spanNamed(spans, "invoke")
	if len(inv) != 1 {
		t.Fatalf("invocation spans: %v", spans)
	}
	s := inv[0]
	if hexOf(s.TraceId) != xrayTraceA || hexOf(s.ParentSpanId) != xrayParent {
		t.Errorf("trace %x parent %x, want the X-Ray header's", s.TraceId, s.ParentSpanId)
	}
	if s.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("kind %v, want SERVER", s.Kind)
	}
	if s.StartTimeUnixNano != ns(at(108)) || s.EndTimeUnixNano != ns(at(108+17.12)) {
		t.Errorf("times %d..%d, want %d..%d", s.StartTimeUnixNano, s.EndTimeUnixNano, ns(at(108)), ns(at(125.12)))
	}
	if s.Flags != 0x301 {
		t.Errorf("flags %#x, want sampled with a remote parent", s.Flags)
	}
	if v := attr(s.Attributes, "faas.invocation_id"); v.GetStringValue() != reqA {
		t.Errorf("faas.invocation_id = %v", v)
	}
	if v := attr(s.Attributes, "faas.coldstart"); v == nil || !v.GetBoolValue() {
		t.Errorf("faas.coldstart = %v, want true for the first invocation", v)
	}
	if s.Status != nil {
		t.Errorf("status %v, want unset", s.Status)
	}
	for _, name := range []string{"responseLatency", "responseDuration", "runtimeOverhead"} {
		c := spanNamed(spans, name)
		if len(c) != 1 || string(c[0].ParentSpanId) != string(s.SpanId) || string(c[0].TraceId) != string(s.TraceId) ||
			c[0].Kind != tracepb.Span_SPAN_KIND_INTERNAL {
			t.Errorf("%s: %v", name, c)
		}
	}
	if rl := spanNamed(spans, "responseLatency")[0]; rl.EndTimeUnixNano-rl.StartTimeUnixNano != uint64(8560*time.Microsecond) {
		t.Errorf("responseLatency lasts %d ns", rl.EndTimeUnixNano-rl.StartTimeUnixNano)
	}
	// The log line carries the invocation's trace and span.
	recs := o.records()
	if len(recs) != 1 || string(recs[0].TraceId) != string(s.TraceId) || string(recs[0].SpanId) != string(s.SpanId) ||
		recs[0].Flags != 1 {
		t.Errorf("log records: %v", recs)
	}
}

// TestReportDuringNextInvocation: the report for N arrives after N+1
// started; it must land on N (extension overhead span in N's trace, N's
// figures), not on N+1.
func TestReportDuringNextInvocation(t *testing.T) {
	p, _ := newProc(t, Options{})
	const traceB = "Root=1-66666666-777777777777777777777777;Parent=1111111111111111;Sampled=1"
	handleAll(p,
		startEv(reqA, at(0), xrayA),
		runtimeDoneEv(reqA, at(0), 10, lambdaapi.StatusSuccess, "", ""),
	)
	first := collect(t, p)
	invA := spanNamed(first.spans(), "invoke")[0]
	if p.PendingReports() != 1 {
		t.Errorf("PendingReports = %d, want 1", p.PendingReports())
	}

	// Thaw: the report of A comes with B's start.
	handleAll(p,
		reportEv(reqA, at(12), 12.5, lambdaapi.StatusSuccess, "", ptr(200.0)),
		startEv(reqB, at(1000), traceB),
		runtimeDoneEv(reqB, at(1000), 5, lambdaapi.StatusSuccess, "", ""),
	)
	second := collect(t, p)
	over := spanNamed(second.spans(), "extensionOverhead")
	if len(over) != 1 {
		t.Fatalf("extensionOverhead spans: %v", second.spans())
	}
	o := over[0]
	if string(o.TraceId) != string(invA.TraceId) || string(o.ParentSpanId) != string(invA.SpanId) {
		t.Errorf("overhead span in trace %x under %x, want A's %x under %x", o.TraceId, o.ParentSpanId, invA.TraceId, invA.SpanId)
	}
	if o.StartTimeUnixNano != invA.EndTimeUnixNano || o.EndTimeUnixNano-o.StartTimeUnixNano != uint64(2500*time.Microsecond) {
		t.Errorf("overhead %d..%d, want from A's end for 2.5 ms", o.StartTimeUnixNano, o.EndTimeUnixNano)
	}
	if inv := spanNamed(second.spans(), "invoke"); len(inv) != 1 || hexOf(inv[0].TraceId) != "66666666777777777777777777777777" {
		t.Errorf("B's invocation span: %v", inv)
	}
	if h := second.histogram("faas.mem_usage"); h == nil || h.Count != 1 || h.GetSum() != 75*mib {
		t.Errorf("faas.mem_usage = %v", h)
	}
	if h := second.histogram("faas.init_duration"); h == nil || h.Count != 1 || h.GetSum() != 0.2 {
		t.Errorf("faas.init_duration = %v", h)
	}
	if h := second.histogram("aws.lambda.extension_overhead_duration"); h == nil || h.Count != 1 {
		t.Errorf("overhead metric = %v", h)
	}
	if got := second.sumValue("faas.invocations"); got != 2 {
		t.Errorf("faas.invocations = %d, want 2", got)
	}
	if got := second.sumValue("faas.coldstarts"); got != 1 {
		t.Errorf("faas.coldstarts = %d, want 1", got)
	}
	if p.PendingReports() != 1 { // B's
		t.Errorf("PendingReports = %d, want 1", p.PendingReports())
	}
	if st := p.Stats(); st.Duplicates+st.OutOfOrder+st.ReportWithoutStart+st.RuntimeDoneMissing != 0 {
		t.Errorf("anomalies in a normal sequence: %+v", st)
	}
}

// TestShutdownTimeout: an invocation still running at a timeout SHUTDOWN
// ends as an error span with the duration so far.
func TestShutdownTimeout(t *testing.T) {
	p, _ := newProc(t, Options{})
	handleAll(p,
		startEv(reqA, at(0), xrayA),
		fnLog(at(5), "working"),
	)
	collect(t, p) // nothing ended yet
	p.Shutdown("timeout", at(3000))
	o := collect(t, p)
	inv := spanNamed(o.spans(), "invoke")
	fail := spanNamed(o.spans(), "invocation timeout")
	if len(inv) != 1 || len(fail) != 1 {
		t.Fatalf("spans: %v", o.spans())
	}
	if inv[0].Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || inv[0].EndTimeUnixNano != ns(at(3000)) {
		t.Errorf("invocation span: %v", inv[0])
	}
	f := fail[0]
	if string(f.ParentSpanId) != string(inv[0].SpanId) || hexOf(f.TraceId) != xrayTraceA {
		t.Errorf("failure span not under the invocation: %v", f)
	}
	if f.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || f.Status.Message != "timeout" {
		t.Errorf("failure status %v", f.Status)
	}
	if v := attr(f.Attributes, "aws.lambda.shutdown_reason"); v.GetStringValue() != "timeout" {
		t.Errorf("shutdown reason %v", v)
	}
	if v := attr(f.Attributes, "aws.lambda.duration_ms"); v.GetDoubleValue() != 3000 {
		t.Errorf("duration so far %v", v)
	}
	if v := attr(f.Attributes, "error.type"); v.GetStringValue() != "timeout" {
		t.Errorf("error.type %v", v)
	}
	if got := o.sumValue("faas.timeouts"); got != 1 {
		t.Errorf("faas.timeouts = %d", got)
	}
	// The log line of the first Collect went to the invocation's trace.
	if st := p.Stats(); st.ReportMissing != 1 || st.RuntimeDoneMissing != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestFailureFromRecords: a runtimeDone and report with status timeout
// make the error span with the report's memory figures, once.
func TestFailureFromRecords(t *testing.T) {
	p, _ := newProc(t, Options{})
	handleAll(p,
		startEv(reqA, at(0), xrayA),
		runtimeDoneEv(reqA, at(0), 3000, lambdaapi.StatusTimeout, "Sandbox.Timedout", ""),
	)
	o := collect(t, p)
	if len(spanNamed(o.spans(), "invocation timeout")) != 0 {
		t.Fatal("error span made before the report")
	}
	inv := spanNamed(o.spans(), "invoke")[0]
	if inv.Status.GetMessage() != "timeout: Sandbox.Timedout" || attr(inv.Attributes, "error.type").GetStringValue() != "Sandbox.Timedout" {
		t.Errorf("invocation span status %v attrs %v", inv.Status, inv.Attributes)
	}
	handleAll(p, reportEv(reqA, at(3001), 3000.5, lambdaapi.StatusTimeout, "Sandbox.Timedout", nil))
	p.Shutdown("timeout", at(3100))
	o = collect(t, p)
	fail := spanNamed(o.spans(), "invocation timeout")
	if len(fail) != 1 || len(o.spans()) != 2 { // + extensionOverhead
		t.Fatalf("spans: %v", o.spans())
	}
	f := fail[0]
	if attr(f.Attributes, "aws.lambda.max_memory_used_mb").GetIntValue() != 75 ||
		attr(f.Attributes, "aws.lambda.memory_size_mb").GetIntValue() != 128 ||
		attr(f.Attributes, "aws.lambda.duration_ms").GetDoubleValue() != 3000.5 ||
		attr(f.Attributes, "aws.lambda.shutdown_reason") != nil {
		t.Errorf("failure attributes: %v", f.Attributes)
	}
	if f.EndTimeUnixNano != inv.EndTimeUnixNano || f.StartTimeUnixNano != inv.StartTimeUnixNano {
		t.Errorf("failure span %d..%d, want the invocation's", f.StartTimeUnixNano, f.EndTimeUnixNano)
	}
	if got := o.sumValue("faas.timeouts"); got != 1 {
		t.Errorf("faas.timeouts = %d, want 1 (counted once)", got)
	}
}

// TestSampledZero: Sampled=0 means no spans; metrics and logs still flow,
// the logs with the trace's IDs and the sampled flag off.
func TestSampledZero(t *testing.T) {
	p, _ := newProc(t, Options{})
	const unsampled = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
	handleAll(p,
		startEv(reqA, at(0), unsampled),
		fnLog(at(1), "hello"),
		runtimeDoneEv(reqA, at(0), 10, lambdaapi.StatusError, "Function.Unhandled", unsampled),
		reportEv(reqA, at(11), 11, lambdaapi.StatusError, "Function.Unhandled", nil),
	)
	o := collect(t, p)
	if n := len(o.spans()); n != 0 {
		t.Errorf("%d spans for an unsampled invocation", n)
	}
	if o.sumValue("faas.errors") != 1 || o.histogram("faas.invoke_duration") == nil {
		t.Errorf("metrics missing: %v", o.metrics)
	}
	recs := o.records()
	if len(recs) != 1 || hexOf(recs[0].TraceId) != xrayTraceA || recs[0].Flags != 0 || len(recs[0].SpanId) != 8 {
		t.Errorf("log record: %v", recs)
	}
}

// TestNoTracing: without a header the invocation starts a new trace of its
// own, as a root SERVER span.
func TestNoTracing(t *testing.T) {
	p, _ := newProc(t, Options{})
	handleAll(p, startEv(reqA, at(0), ""), runtimeDoneEv(reqA, at(0), 10, lambdaapi.StatusSuccess, "", ""))
	handleAll(p, startEv(reqB, at(100), ""), runtimeDoneEv(reqB, at(100), 10, lambdaapi.StatusSuccess, "", ""))
	inv := spanNamed(collect(t, p).spans(), "invoke")
	if len(inv) != 2 {
		t.Fatal(inv)
	}
	for _, s := range inv {
		if len(s.TraceId) != 16 || len(s.ParentSpanId) != 0 || s.Kind != tracepb.Span_SPAN_KIND_SERVER || s.Flags != 0x101 {
			t.Errorf("span %v", s)
		}
	}
	if string(inv[0].TraceId) == string(inv[1].TraceId) {
		t.Error("two invocations share a new trace")
	}
}

// TestSetParent: the function's own span becomes the parent when reported
// before the trace is decided (at Collect); later calls are counted and
// ignored.
func TestSetParent(t *testing.T) {
	p, _ := newProc(t, Options{FunctionName: "orders"})
	fnTrace := [16]byte{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	fnSpan := [8]byte{0xbb, 1, 2, 3, 4, 5, 6, 7}
	// The function's span may arrive before platform.start is delivered.
	p.SetParent(reqA, fnTrace, fnSpan)
	handleAll(p,
		startEv(reqA, at(0), xrayA),
		fnLog(at(1), "log"),
		runtimeDoneEv(reqA, at(0), 10, lambdaapi.StatusSuccess, "", ""),
	)
	o := collect(t, p)
	p.SetParent(reqA, [16]byte{1}, [8]byte{1}) // too late: the span is made
	inv := spanNamed(o.spans(), "orders")
	if len(inv) != 1 {
		t.Fatalf("spans %v", o.spans())
	}
	s := inv[0]
	if string(s.TraceId) != string(fnTrace[:]) || string(s.ParentSpanId) != string(fnSpan[:]) ||
		s.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Errorf("span %v, want INTERNAL under the function's span", s)
	}
	if r := o.records(); len(r) != 1 || string(r[0].TraceId) != string(fnTrace[:]) {
		t.Errorf("log record %v", r)
	}
	if st := p.Stats(); st.LateParents != 1 {
		t.Errorf("LateParents = %d", st.LateParents)
	}
	p.SetParent("", fnTrace, fnSpan)        // ignored
	p.SetParent(reqB, [16]byte{}, fnSpan)   // ignored
	p.SetParent("unknown", fnTrace, fnSpan) // creates a pending entry
	if st := p.Stats(); st.LateParents != 1 {
		t.Errorf("LateParents = %d", st.LateParents)
	}
}

// TestInitSpan: initStart to initRuntimeDone, with initReport's duration,
// and the init-phase log line in its trace.
func TestInitSpan(t *testing.T) {
	p, _ := newProc(t, Options{})
	handleAll(p,
		event(lambdaapi.EventInitStart, at(-300), lambdaapi.InitStart{InitializationType: "on-demand", Phase: "init",
			RuntimeVersion: "python:3.12.v18"}),
		fnLog(at(-250), "[INFO]\t2024-07-01T08:54:53.750Z\t\tloading model"),
		event(lambdaapi.EventInitRuntimeDone, at(-70), lambdaapi.InitRuntimeDone{InitializationType: "on-demand", Phase: "init",
			Status: "success"}),
		event(lambdaapi.EventInitReport, at(-65), lambdaapi.InitReport{InitializationType: "on-demand", Phase: "init",
			Status: "success", Metrics: lambdaapi.DurationMetrics{DurationMs: 235.086}}),
		startEv(reqA, at(0), xrayA),
		runtimeDoneEv(reqA, at(0), 10, lambdaapi.StatusSuccess, "", ""),
		reportEv(reqA, at(11), 11, lambdaapi.StatusSuccess, "", ptr(235.086)),
	)
	o := collect(t, p)
	in := spanNamed(o.spans(), "init")
	if len(in) != 1 {
		t.Fatalf("spans %v", o.spans())
	}
	s := in[0]
	if s.StartTimeUnixNano != ns(at(-300)) || s.EndTimeUnixNano != ns(at(-70)) || s.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Errorf("init span %v", s)
	}
	if attr(s.Attributes, "aws.lambda.initialization_type").GetStringValue() != "on-demand" ||
		attr(s.Attributes, "aws.lambda.duration_ms").GetDoubleValue() != 235.086 {
		t.Errorf("init attributes %v", s.Attributes)
	}
	if r := o.records(); len(r) != 1 || string(r[0].TraceId) != string(s.TraceId) || string(r[0].SpanId) != string(s.SpanId) {
		t.Errorf("init log %v", r)
	}
	if h := o.histogram("faas.init_duration"); h == nil || h.Count != 1 {
		t.Errorf("faas.init_duration counted from both initReport and report: %v", h)
	}
}

// TestProvisionedConcurrency: no cold start after a provisioned init.
func TestProvisionedConcurrency(t *testing.T) {
	p, _ := newProc(t, Options{InitType: lambdaapi.InitProvisionedConcurrency})
	handleAll(p,
		event(lambdaapi.EventInitStart, at(-300), lambdaapi.InitStart{InitializationType: lambdaapi.InitProvisionedConcurrency, Phase: "init"}),
		startEv(reqA, at(0), xrayA),
		runtimeDoneEv(reqA, at(0), 10, lambdaapi.StatusSuccess, "", ""),
	)
	o := collect(t, p)
	if v := attr(spanNamed(o.spans(), "invoke")[0].Attributes, "faas.coldstart"); v.GetBoolValue() {
		t.Error("provisioned concurrency invocation marked cold")
	}
	if o.sumValue("faas.coldstarts") != 0 {
		t.Error("coldstart counted")
	}
}

// TestSuppressedInit: an init redone inside an invocation (phase "invoke",
// after a reset) makes that invocation the cold one, before or after its
// start, and counts once.
func TestSuppressedInit(t *testing.T) {
	initInvoke := func(ms float64) lambdaapi.TelemetryEvent {
		return event(lambdaapi.EventInitStart, at(ms), lambdaapi.InitStart{InitializationType: "on-demand", Phase: "invoke"})
	}
	p, _ := newProc(t, Options{})
	handleAll(p,
		startEv(reqA, at(0), ""), // the environment's first: cold
		runtimeDoneEv(reqA, at(0), 10, "timeout", "Sandbox.Timedout", ""),
		reportEv(reqA, at(11), 11, "timeout", "Sandbox.Timedout", nil),
		initInvoke(1000), // before B's start
		startEv(reqB, at(1001), ""),
		runtimeDoneEv(reqB, at(1001), 10, "success", "", ""),
		startEv(reqC, at(2000), ""),
		initInvoke(2001), // inside C
		runtimeDoneEv(reqC, at(2000), 10, "success", "", ""),
	)
	o := collect(t, p)
	cold := map[string]bool{}
	for _, s := range spanNamed(o.spans(), "invoke") {
		cold[attr(s.Attributes, "faas.invocation_id").GetStringValue()] = attr(s.Attributes, "faas.coldstart").GetBoolValue()
	}
	if !cold[reqA] || !cold[reqB] || !cold[reqC] || o.sumValue("faas.coldstarts") != 3 {
		t.Errorf("cold %v, coldstarts %d", cold, o.sumValue("faas.coldstarts"))
	}
}

// TestSnapStartRestore: restoreStart to restoreRuntimeDone makes a restore
// span, restoreReport the restore metric (once, though the report repeats
// it), and the restored environment's first invocation is cold.
func TestSnapStartRestore(t *testing.T) {
	p, _ := newProc(t, Options{InitType: lambdaapi.InitSnapStart})
	handleAll(p,
		event(lambdaapi.EventRestoreStart, at(-500), lambdaapi.RestoreStart{RuntimeVersion: "java:21.v20"}),
		event(lambdaapi.EventRestoreRuntimeDone, at(-200), lambdaapi.RestoreRuntimeDone{Status: "success"}),
		event(lambdaapi.EventRestoreReport, at(-190), lambdaapi.RestoreReport{Status: "success", Metrics: lambdaapi.DurationMetrics{DurationMs: 310}}),
		startEv(reqA, at(0), xrayA),
		runtimeDoneEv(reqA, at(0), 10, "success", "", ""),
		event(lambdaapi.EventReport, at(12), lambdaapi.Report{RequestID: reqA, Status: "success",
			Metrics: lambdaapi.ReportMetrics{DurationMs: 12, BilledDurationMs: 400, RestoreDurationMs: ptr(310.0), BilledRestoreDurationMs: ptr(388.0)}}),
	)
	o := collect(t, p)
	r := spanNamed(o.spans(), "restore")
	if len(r) != 1 || r[0].StartTimeUnixNano != ns(at(-500)) || r[0].EndTimeUnixNano != ns(at(-200)) {
		t.Errorf("restore span %v", r)
	}
	if h := o.histogram("aws.lambda.restore_duration"); h == nil || h.Count != 1 || h.GetSum() != 0.31 {
		t.Errorf("restore metric %v", h)
	}
	if o.sumValue("faas.coldstarts") != 1 {
		t.Errorf("coldstarts %d", o.sumValue("faas.coldstarts"))
	}
}

// In async mode the library's completion signal, which carries its span,
// may come after runtimeDone was handled: until Collect it still counts.
func TestSetParentAfterRuntimeDone(t *testing.T) {
	p, _ := newProc(t, Options{FunctionName: "orders"})
	fnTrace := [16]byte{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	fnSpan := [8]byte{0xbb, 1, 2, 3, 4, 5, 6, 7}
	handleAll(p,
		startEv(reqA, at(0), xrayA),
		runtimeDoneEv(reqA, at(0), 10, lambdaapi.StatusSuccess, "", ""),
	)
	p.SetParent(reqA, fnTrace, fnSpan)
	o := collect(t, p)
	inv := spanNamed(o.spans(), "orders")
	if len(inv) != 1 || string(inv[0].TraceId) != string(fnTrace[:]) || string(inv[0].ParentSpanId) != string(fnSpan[:]) {
		t.Fatalf("spans %v: want the invocation span under the function's", o.spans())
	}
	if st := p.Stats(); st.LateParents != 0 {
		t.Errorf("LateParents = %d", st.LateParents)
	}
}
