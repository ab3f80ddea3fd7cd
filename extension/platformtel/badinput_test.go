package platformtel

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// TestBadInput feeds every kind of bad input the issue lists — unknown
// record types, missing fields, a record string where an object was
// expected, duplicate and out-of-order records, a report without a start,
// a never-arriving runtimeDone — and checks that each is counted, that no
// invocation gets two invocation spans (or a span made from guesses), and
// that no state is left behind.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name  string
		evs   []lambdaapi.TelemetryEvent
		want  Stats // only the anomaly counters are compared
		spans map[string]int
	}{
		{
			name: "unknown types",
			evs: []lambdaapi.TelemetryEvent{
				event("platform.fault", at(0), raw(`{"requestId":"x"}`)),
				event("platform.somethingNew", at(0), raw(`{}`)),
				event("platform.end", at(0), raw(`"END RequestId: x"`)),
			},
			want: Stats{UnknownTypes: 3},
		},
		{
			name: "missing fields",
			evs: []lambdaapi.TelemetryEvent{
				event(lambdaapi.EventStart, at(0), raw(`{}`)),
				event(lambdaapi.EventRuntimeDone, at(0), raw(`{"status":"success"}`)),
				event(lambdaapi.EventReport, at(0), raw(`{"metrics":{}}`)),
				event(lambdaapi.EventStart, at(0), raw(`{"requestId":"`+reqA+`"}`)),
				event(lambdaapi.EventRuntimeDone, at(5), raw(`{"requestId":"`+reqA+`"}`)), // no status, metrics, spans
				event(lambdaapi.EventReport, at(6), raw(`{"requestId":"`+reqA+`"}`)),
				event(lambdaapi.EventInitReport, at(0), raw(`{}`)),
			},
			want:  Stats{MissingRequestID: 3, OutOfOrder: 1},
			spans: map[string]int{"invoke": 1},
		},
		{
			name: "string, number and null where an object was expected",
			evs: []lambdaapi.TelemetryEvent{
				event(lambdaapi.EventStart, at(0), raw(`"START RequestId: `+reqA+`"`)),
				event(lambdaapi.EventRuntimeDone, at(0), raw(`null`)),
				event(lambdaapi.EventReport, at(0), raw(`42`)),
				event(lambdaapi.EventReport, at(0), raw(`[1,2]`)),
				event(lambdaapi.EventStart, at(0), raw(`{"requestId":5}`)),
				event(lambdaapi.EventRuntimeDone, at(0), raw(`{"requestId":"x","metrics":"fast"}`)),
				event(lambdaapi.EventFunction, at(0), raw(`{"unterminated":`)),
				// A string holding an object is the object.
				event(lambdaapi.EventStart, at(0), raw(`"{\"requestId\":\"`+reqB+`\"}"`)),
			},
			want: Stats{Undecodable: 7},
		},
		{
			name: "duplicates",
			evs: []lambdaapi.TelemetryEvent{
				startEv(reqA, at(0), xrayA),
				startEv(reqA, at(0), xrayA),
				runtimeDoneEv(reqA, at(0), 10, "success", "", ""),
				runtimeDoneEv(reqA, at(0), 10, "success", "", ""),
				reportEv(reqA, at(12), 12, "success", "", nil),
				reportEv(reqA, at(12), 12, "success", "", nil),
				runtimeDoneEv(reqA, at(0), 10, "success", "", ""),
				startEv(reqA, at(0), xrayA),
			},
			want:  Stats{Duplicates: 5},
			spans: map[string]int{"invoke": 1, "extensionOverhead": 1, "responseLatency": 1},
		},
		{
			name: "runtimeDone before start",
			evs: []lambdaapi.TelemetryEvent{
				runtimeDoneEv(reqA, at(0), 10, "success", "", xrayA),
				startEv(reqA, at(0), xrayA),
				reportEv(reqA, at(12), 12, "success", "", nil),
			},
			want:  Stats{RuntimeDoneWithoutStart: 1, OutOfOrder: 1},
			spans: map[string]int{"invoke": 1, "extensionOverhead": 1},
		},
		{
			name: "report before runtimeDone",
			evs: []lambdaapi.TelemetryEvent{
				startEv(reqA, at(0), xrayA),
				reportEv(reqA, at(12), 12, "success", "", nil),
				runtimeDoneEv(reqA, at(0), 10, "success", "", ""),
			},
			want:  Stats{RuntimeDoneMissing: 1, OutOfOrder: 1},
			spans: map[string]int{"invoke": 1},
		},
		{
			name: "report without start",
			evs: []lambdaapi.TelemetryEvent{
				event(lambdaapi.EventReport, at(12), lambdaapi.Report{RequestID: reqA, Status: "error", ErrorType: "Runtime.ExitError",
					Metrics: lambdaapi.ReportMetrics{DurationMs: 12, MaxMemoryUsedMB: 70},
					Spans:   []lambdaapi.Span{{Name: "extensionOverhead", Start: at(10), DurationMs: 2}}, Tracing: xray(xrayA)}),
				startEv(reqA, at(0), xrayA),
			},
			want:  Stats{ReportWithoutStart: 1, OutOfOrder: 1},
			spans: map[string]int{},
		},
		{
			name: "runtimeDone never arrives",
			evs: []lambdaapi.TelemetryEvent{
				startEv(reqA, at(0), xrayA),
				fnLog(at(1), "still running"),
				startEv(reqB, at(1000), xrayA),
				runtimeDoneEv(reqB, at(1000), 10, "success", "", ""),
				reportEv(reqB, at(1012), 12, "success", "", nil),
			},
			want:  Stats{},
			spans: map[string]int{"invoke": 1},
		},
		{
			name: "logs dropped by the platform",
			evs: []lambdaapi.TelemetryEvent{
				event(lambdaapi.EventLogsDropped, at(0), lambdaapi.LogsDropped{DroppedBytes: 100, DroppedRecords: 3, Reason: "slow"}),
				event(lambdaapi.EventLogsDropped, at(0), lambdaapi.LogsDropped{DroppedBytes: -5, DroppedRecords: -1}),
			},
			want: Stats{PlatformDroppedRecords: 3, PlatformDroppedBytes: 100},
		},
		{
			name: "records without a time",
			evs: []lambdaapi.TelemetryEvent{
				{Type: lambdaapi.EventStart, Record: raw(`{"requestId":"` + reqA + `"}`)},
				{Type: lambdaapi.EventRuntimeDone, Record: raw(`{"requestId":"` + reqA + `","status":"success"}`)},
			},
			spans: map[string]int{"invoke": 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newProc(t, Options{})
			handleAll(p, tc.evs...)
			o := collect(t, p)
			got := anomalies(p.Stats())
			if got != anomalies(tc.want) {
				t.Errorf("anomalies\n got %+v\nwant %+v", got, anomalies(tc.want))
			}
			if tc.spans != nil {
				counts := map[string]int{}
				for _, s := range o.spans() {
					counts[s.Name]++
				}
				for name, n := range tc.spans {
					if counts[name] != n {
						t.Errorf("%d %q spans, want %d (all: %v)", counts[name], name, n, counts)
					}
				}
				if len(tc.spans) == 0 && len(counts) != 0 {
					t.Errorf("spans made from guesses: %v", counts)
				}
			}
			// Whatever came, ended invocations hold no state, and a
			// shutdown clears the rest.
			p.Shutdown("spindown", at(5000))
			collect(t, p)
			if n := len(p.invs); n != 0 {
				t.Errorf("%d invocations left after Shutdown", n)
			}
		})
	}
}

// anomalies keeps only the counters of things going wrong.
func anomalies(s Stats) Stats {
	return Stats{
		UnknownTypes: s.UnknownTypes, Undecodable: s.Undecodable, MissingRequestID: s.MissingRequestID,
		Duplicates: s.Duplicates, OutOfOrder: s.OutOfOrder, RuntimeDoneWithoutStart: s.RuntimeDoneWithoutStart,
		ReportWithoutStart: s.ReportWithoutStart, RuntimeDoneMissing: s.RuntimeDoneMissing, Evictions: s.Evictions,
		LateRecords: s.LateRecords, CorruptStdoutRecords: s.CorruptStdoutRecords,
		PlatformDroppedRecords: s.PlatformDroppedRecords, PlatformDroppedBytes: s.PlatformDroppedBytes,
	}
}

// TestNeverArrivingRuntimeDone: invocations whose runtimeDone and report
// never come are evicted past MaxInvocations, counted, and the state stays
// bounded; a report for an evicted invocation still feeds the metrics.
func TestNeverArrivingRuntimeDone(t *testing.T) {
	p, _ := newProc(t, Options{MaxInvocations: 4})
	for i := range 10 {
		handleAll(p, startEv(fmt.Sprintf("req-%d", i), at(float64(i*100)), ""))
		if len(p.invs) > 4 {
			t.Fatalf("%d invocations tracked, limit 4", len(p.invs))
		}
	}
	st := p.Stats()
	if st.Evictions != 6 || st.RuntimeDoneMissing != 6 || st.ReportMissing != 6 {
		t.Errorf("stats %+v", st)
	}
	// The report of req-5 (evicted) arrives late: its figures count, no span.
	handleAll(p, reportEv("req-5", at(2000), 12, "success", "", nil))
	// req-0 fell out of the done ring too (it holds 4): a fresh entry,
	// counted as a report without a start.
	handleAll(p, reportEv("req-0", at(2000), 12, "success", "", nil))
	st = p.Stats()
	if st.LateRecords != 1 || st.ReportWithoutStart != 1 {
		t.Errorf("stats %+v", st)
	}
	o := collect(t, p)
	if len(o.spans()) != 0 {
		t.Errorf("spans %v", o.spans())
	}
	if h := o.histogram("faas.mem_usage"); h == nil || h.Count != 2 {
		t.Errorf("faas.mem_usage = %v", h)
	}
	if len(p.done.index) > 4 || len(p.done.entries) > 4 {
		t.Errorf("done ring grew to %d", len(p.done.index))
	}
	p.Shutdown("spindown", at(9000))
	if st := p.Stats(); st.RuntimeDoneMissing != 10 {
		t.Errorf("RuntimeDoneMissing = %d after shutdown, want 10", st.RuntimeDoneMissing)
	}
}

// TestEvictedFailure: a failed invocation evicted before its report still
// gets its error span.
func TestEvictedFailure(t *testing.T) {
	p, _ := newProc(t, Options{MaxInvocations: 1})
	handleAll(p,
		startEv(reqA, at(0), xrayA),
		runtimeDoneEv(reqA, at(0), 10, "failure", "Runtime.ExitError", ""),
		startEv(reqB, at(100), ""), // evicts A
	)
	o := collect(t, p)
	if len(spanNamed(o.spans(), "invocation failure")) != 1 {
		t.Errorf("spans %v", o.spans())
	}
	if p.Stats().Evictions != 1 {
		t.Errorf("stats %+v", p.Stats())
	}
}

// TestPendingBudget: past MaxPendingBytes, new items are dropped and
// counted until the next Collect.
func TestPendingBudget(t *testing.T) {
	p, _ := newProc(t, Options{MaxPendingBytes: 600})
	for i := range 20 {
		handleAll(p, fnLog(at(float64(i)), "a line of forty characters, more or less"))
	}
	st := p.Stats()
	if st.DroppedLogRecords == 0 || st.LogRecords == 0 || st.LogRecords+st.DroppedLogRecords != 20 {
		t.Errorf("stats %+v", st)
	}
	if n := len(collect(t, p).records()); uint64(n) != st.LogRecords {
		t.Errorf("%d records collected, %d counted", n, st.LogRecords)
	}
	handleAll(p, fnLog(at(30), "room again"))
	if n := len(collect(t, p).records()); n != 1 {
		t.Errorf("after Collect: %d records", n)
	}
}
