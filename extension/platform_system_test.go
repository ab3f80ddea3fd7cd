package extension_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/extension/platformtel"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
	"github.com/lambdaotel/lambdaotel/lambdasim"
)

// sink is an OTLP/HTTP backend keeping every span, metric and log record.
type sink struct {
	mu      sync.Mutex
	spans   []*tracepb.Span
	scopeOf map[*tracepb.Span]string
	metrics []*metricspb.Metric // in arrival order
	logs    []*logspb.LogRecord
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body, _ = io.ReadAll(zr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	switch r.URL.Path {
	case "/v1/traces":
		var req tracepb.TracesData // the wire format of ExportTraceServiceRequest
		if err = proto.Unmarshal(body, &req); err == nil {
			if s.scopeOf == nil {
				s.scopeOf = map[*tracepb.Span]string{}
			}
			for _, rs := range req.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					for _, sp := range ss.Spans {
						s.spans = append(s.spans, sp)
						s.scopeOf[sp] = ss.Scope.GetName()
					}
				}
			}
		}
	case "/v1/metrics":
		var req metricspb.MetricsData
		if err = proto.Unmarshal(body, &req); err == nil {
			for _, rm := range req.ResourceMetrics {
				for _, sm := range rm.ScopeMetrics {
					if sm.Scope.GetName() == platformtel.ScopeName {
						s.metrics = append(s.metrics, sm.Metrics...)
					}
				}
			}
		}
	case "/v1/logs":
		var req logspb.LogsData
		if err = proto.Unmarshal(body, &req); err == nil {
			for _, rl := range req.ResourceLogs {
				for _, sl := range rl.ScopeLogs {
					s.logs = append(s.logs, sl.LogRecords...)
				}
			}
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

// split returns the spans the extension made, and the function's.
func (s *sink) split() (platform, function []*tracepb.Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range s.spans {
		if s.scopeOf[sp] == platformtel.ScopeName {
			platform = append(platform, sp)
		} else {
			function = append(function, sp)
		}
	}
	return platform, function
}

// lastMetric is the latest point of a platform metric (cumulative: the
// last report holds the totals).
func (s *sink) lastMetric(name string) *metricspb.Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.metrics) - 1; i >= 0; i-- {
		if s.metrics[i].Name == name {
			return s.metrics[i]
		}
	}
	return nil
}

func spanAttr(sp *tracepb.Span, key string) (string, bool) {
	for _, kv := range sp.Attributes {
		if kv.Key == key {
			return kv.Value.GetStringValue(), true
		}
	}
	return "", false
}

// runtimeDoneDurations maps request ids to the durationMs of their
// platform.runtimeDone, as lambdasim recorded it.
func runtimeDoneDurations(t *testing.T, s *lambdasim.Sim) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, ev := range s.Telemetry() {
		if ev.Type != lambdaapi.EventRuntimeDone {
			continue
		}
		var rd lambdaapi.RuntimeDone
		if err := json.Unmarshal(ev.Record, &rd); err != nil {
			t.Fatal(err)
		}
		if rd.Metrics != nil {
			out[rd.RequestID] = rd.Metrics.DurationMs
		}
	}
	return out
}

func platformSim(t *testing.T, timeout time.Duration, mode string, be http.Handler) *lambdasim.Sim {
	t.Helper()
	srv := httptest.NewServer(be)
	t.Cleanup(srv.Close)
	s := newSim(t, timeout, mode, srv.URL, nil)
	t.Cleanup(func() {
		if t.Failed() {
			for _, ev := range s.Telemetry() {
				if ev.Type == lambdaapi.EventExtensionLog {
					t.Logf("extension: %.400s", ev.Record)
				}
			}
		}
	})
	return s
}

// After N invocations the backend holds N invocation spans, each as long
// as lambdasim's runtimeDone said (within 1 ms) and a child of the
// function's own invocation span; one init span; the FaaS metrics with the
// right values; and the function's log lines with the invocation's trace.
func TestPlatformTelemetryReachesTheBackend(t *testing.T) {
	for _, mode := range []string{"sync", "async"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			testPlatformTelemetry(t, mode)
		})
	}
}

// In async mode the library's signal (with its span) comes after the
// runtime is done, but well before the Telemetry API delivers runtimeDone
// (it buffers for 25 ms), so the platform spans still join its trace.
func testPlatformTelemetry(t *testing.T, mode string) {
	be := &sink{}
	s := platformSim(t, 10*time.Second, mode, be)
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	const n = 4
	ids := map[string]bool{}
	for i := range n {
		res, err := s.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{"spans":1,"log":"[INFO] handled the order"}`)})
		if err != nil || res.Status != "success" {
			t.Fatalf("invocation %d: %v %+v", i, err, res)
		}
		ids[res.RequestID] = true
	}
	if _, err := s.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	platform, function := be.split()
	durations := runtimeDoneDurations(t, s)

	// The function's root span of each invocation, by request id.
	roots := map[string]*tracepb.Span{}
	for _, sp := range function {
		if id, ok := spanAttr(sp, "faas.invocation_id"); ok {
			roots[id] = sp
		}
	}
	invocations, inits := 0, 0
	traceOf := map[string][]byte{}
	for _, sp := range platform {
		if sp.Name == "init" {
			inits++
			continue
		}
		id, ok := spanAttr(sp, "faas.invocation_id")
		if !ok {
			continue
		}
		invocations++
		if !ids[id] {
			t.Errorf("invocation span for unknown request %s", id)
		}
		got := float64(sp.EndTimeUnixNano-sp.StartTimeUnixNano) / 1e6
		if want := durations[id]; math.Abs(got-want) > 1 {
			t.Errorf("invocation %s: span %.3f ms, runtimeDone %.3f ms", id, got, want)
		}
		root := roots[id]
		if root == nil {
			t.Errorf("no function span for %s", id)
			continue
		}
		if !bytes.Equal(sp.TraceId, root.TraceId) || !bytes.Equal(sp.ParentSpanId, root.SpanId) {
			t.Errorf("invocation %s: platform span %x/%x is not a child of the function's %x/%x", id, sp.TraceId, sp.ParentSpanId, root.TraceId, root.SpanId)
		}
		traceOf[id] = sp.TraceId
	}
	if invocations != n || inits != 1 {
		t.Errorf("%d invocation spans, %d init spans; want %d and 1", invocations, inits, n)
	}

	sum := func(name string) int64 {
		m := be.lastMetric(name)
		if m == nil || m.GetSum() == nil || len(m.GetSum().DataPoints) == 0 {
			t.Errorf("no sum %s", name)
			return -1
		}
		return m.GetSum().DataPoints[0].GetAsInt()
	}
	count := func(name string) uint64 {
		m := be.lastMetric(name)
		if m == nil || m.GetHistogram() == nil || len(m.GetHistogram().DataPoints) == 0 {
			t.Errorf("no histogram %s", name)
			return 0
		}
		return m.GetHistogram().DataPoints[0].Count
	}
	if got := sum("faas.invocations"); got != n {
		t.Errorf("faas.invocations = %d, want %d", got, n)
	}
	if got := sum("faas.coldstarts"); got != 1 {
		t.Errorf("faas.coldstarts = %d, want 1", got)
	}
	if got := sum("faas.errors"); got != 0 {
		t.Errorf("faas.errors = %d", got)
	}
	if got := count("faas.invoke_duration"); got != n {
		t.Errorf("faas.invoke_duration count = %d, want %d", got, n)
	}
	if got := count("faas.init_duration"); got != 1 {
		t.Errorf("faas.init_duration count = %d, want 1", got)
	}
	if m := be.lastMetric("faas.invoke_duration"); m != nil && m.Unit != "s" {
		t.Errorf("faas.invoke_duration unit %q", m.Unit)
	}

	be.mu.Lock()
	defer be.mu.Unlock()
	logged := 0
	for _, lr := range be.logs {
		if lr.Body.GetStringValue() != "[INFO] handled the order" {
			continue
		}
		logged++
		var id string
		for _, kv := range lr.Attributes {
			if kv.Key == "faas.invocation_id" {
				id = kv.Value.GetStringValue()
			}
		}
		if lr.SeverityNumber != logspb.SeverityNumber_SEVERITY_NUMBER_INFO || !bytes.Equal(lr.TraceId, traceOf[id]) || len(lr.SpanId) != 8 {
			t.Errorf("log record %v: want INFO, in invocation %s's trace %x", lr, id, traceOf[id])
		}
	}
	if logged != n {
		t.Errorf("%d function log records, want %d", logged, n)
	}
}

// failureSpan finds the error span the extension made for a failed
// invocation, with its invocation span.
func failureSpan(t *testing.T, be *sink, status string) (failure, invocation *tracepb.Span) {
	t.Helper()
	platform, _ := be.split()
	for _, sp := range platform {
		if sp.Name == "invocation "+status {
			failure = sp
		}
	}
	if failure == nil {
		var names []string
		for _, sp := range platform {
			names = append(names, sp.Name)
		}
		t.Fatalf("no %q span among %v", "invocation "+status, names)
	}
	for _, sp := range platform {
		if bytes.Equal(sp.SpanId, failure.ParentSpanId) {
			invocation = sp
		}
	}
	if failure.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || invocation == nil ||
		invocation.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Fatalf("failure span %v under %v: want error statuses", failure, invocation)
	}
	return failure, invocation
}

// A function that sleeps past its timeout exports nothing for that
// invocation, yet the trace shows it: an error span "invocation timeout".
func TestTimeoutBecomesAnErrorSpan(t *testing.T) {
	t.Parallel()
	be := &sink{}
	s := platformSim(t, time.Second, "sync", be)
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	res, err := s.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{"sleepMs":5000}`)})
	if err != nil || res.Status != "timeout" {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := s.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	failure, _ := failureSpan(t, be, "timeout")
	if d := time.Duration(failure.EndTimeUnixNano - failure.StartTimeUnixNano); d < 900*time.Millisecond {
		t.Errorf("timeout span lasts %v, want about the 1 s timeout", d)
	}
	if got := be.lastMetric("faas.timeouts"); got == nil || got.GetSum().DataPoints[0].GetAsInt() != 1 {
		t.Errorf("faas.timeouts %v, want 1", got)
	}
}

// A function that exits mid-invocation: an error span "invocation failure".
func TestCrashBecomesAnErrorSpan(t *testing.T) {
	t.Parallel()
	be := &sink{}
	s := platformSim(t, 5*time.Second, "sync", be)
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	res, err := s.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{"exit":true}`)})
	if err != nil || res.Status != "failure" {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := s.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	failureSpan(t, be, "failure")
	if got := be.lastMetric("faas.errors"); got == nil || got.GetSum().DataPoints[0].GetAsInt() != 1 {
		t.Errorf("faas.errors %v, want 1", got)
	}
}

// A function using the library's default exporter (otlp-stdout records on
// stdout) and no telemetry configuration at all reaches the backend
// through the extension: its records arrive as function log lines, are
// decoded and forwarded as traces, not as logs, before each freeze.
func TestStdoutExporterFunctionNeedsNoConfiguration(t *testing.T) {
	t.Parallel()
	be := &sink{}
	s := platformSim(t, 10*time.Second, "", be)
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	const n = 3
	for i := range n {
		if res, err := s.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{"spans":2}`)}); err != nil || res.Status != "success" {
			t.Fatalf("invocation %d: %v %+v", i, err, res)
		}
		if _, function := be.split(); len(function) != 3*(i+1) {
			t.Fatalf("invocation %d: %d function spans at the backend when the environment froze, want %d", i, len(function), 3*(i+1))
		}
	}
	if _, err := s.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	for _, lr := range be.logs {
		if bytes.Contains([]byte(lr.Body.GetStringValue()), []byte("__otel_otlp_stdout")) {
			t.Fatalf("an otlp-stdout record was also exported as a log: %.100s", lr.Body.GetStringValue())
		}
	}
}
