package extension_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/extension/selfmetrics"
	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
	"github.com/lambdaotel/lambdaotel/lambdasim"
)

// spansRequest is an ExportTraceServiceRequest with n spans of a realistic
// size (a few attributes each).
func spansRequest(t testing.TB, n int) []byte {
	t.Helper()
	ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "flood"}}
	for i := range n {
		ss.Spans = append(ss.Spans, &tracepb.Span{
			TraceId: bytes.Repeat([]byte{byte(i>>8) | 1, byte(i)}, 8), SpanId: bytes.Repeat([]byte{byte(i) | 1}, 8),
			Name: "GET /items/{id}", Kind: tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: uint64(1e18) + uint64(i), EndTimeUnixNano: uint64(1e18) + uint64(i) + 1e6,
			Attributes: []*commonpb.KeyValue{
				{Key: "http.request.method", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "GET"}}},
				{Key: "url.path", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "/items/" + strconv.Itoa(i)}}},
				{Key: "http.response.status_code", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 200}}},
			},
		})
	}
	b, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "flood"}}},
		}},
		ScopeSpans: []*tracepb.ScopeSpans{ss},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attachedSim runs the extension binary with the test as the function (an
// attached runtime), its OTLP/HTTP receiver on the returned port.
func attachedSim(t *testing.T, timeout time.Duration, env map[string]string) (*lambdasim.Sim, int) {
	t.Helper()
	port := freePort(t)
	env["LAMBDA_OTEL_RECEIVER_HTTP_PORT"] = strconv.Itoa(port)
	env["LAMBDA_OTEL_RECEIVER_GRPC_ENABLED"] = "false"
	if _, ok := env["LAMBDA_OTEL_SELF_METRICS_ENABLED"]; !ok {
		env["LAMBDA_OTEL_SELF_METRICS_ENABLED"] = "false"
	}
	s, err := lambdasim.New(lambdasim.Config{
		Extensions: []lambdasim.Process{{Path: bins.ext}},
		Timeout:    timeout,
		Env:        env,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	return s, port
}

// procStatusKiB reads a "VmRSS:"-style field of /proc/<pid>/status in KiB.
func procStatusKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// stopCounts reads the counters of the extension's closing log line
// (receivedItems, exportedItems, fallbackItems, droppedItems, ...) from the
// telemetry stream.
func stopCounts(t *testing.T, s *lambdasim.Sim) map[string]int {
	t.Helper()
	re := regexp.MustCompile(`(\w+)=(\d+)`)
	for _, ev := range s.Telemetry() {
		if ev.Type != lambdaapi.EventExtensionLog || !bytes.Contains(ev.Record, []byte("lambdaotel-extension stopped")) {
			continue
		}
		counts := map[string]int{}
		for _, m := range re.FindAllSubmatch(ev.Record, -1) {
			n, _ := strconv.Atoi(string(m[2]))
			counts[string(m[1])] = n
		}
		return counts
	}
	t.Fatal("no closing counts in the extension's log")
	return nil
}

// countingBackend counts the spans of every export at the wire level: the
// flood's backend must keep up even in a -race test binary.
type countingBackend struct {
	spans atomic.Int64
	gate  chan struct{} // exports wait until it is closed
}

func (b *countingBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-b.gate:
	case <-r.Context().Done():
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b2, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c, err := wire.Validate(wire.Traces, b2)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.spans.Add(int64(c.Items))
}

// A function flooding the extension (2,000 requests of 512 spans, eight at
// a time, ~160 MiB) during one invocation while the backend stalls. The
// extension starts exporting at half the queue (the export then stalls);
// once the queue holds its budget while that flush is in flight, it answers
// 503 with Retry-After (the flood's clients do not retry), and it never
// evicts what it accepted while a flush drains. Peak RSS stays within the
// queue budget plus a fixed overhead; when the backend recovers and the
// function signals completion, everything accepted is delivered before the
// freeze; every item is accounted for as exported or dropped.
func TestFloodStaysWithinTheQueueBudget(t *testing.T) {
	t.Parallel()
	const (
		requests, perRequest, workers = 2000, 512, 8
		budget                        = 8 << 20
	)
	be := &countingBackend{gate: make(chan struct{})}
	srv := httptest.NewServer(be)
	defer srv.Close()
	var once sync.Once
	open := func() { once.Do(func() { close(be.gate) }) }
	defer open()

	s, port := attachedSim(t, 5*time.Minute, map[string]string{
		"LAMBDA_OTEL_EXPORTER_ENDPOINT":          srv.URL,
		"LAMBDA_OTEL_FLUSH_MAX_QUEUE_BYTES":      strconv.Itoa(budget),
		"LAMBDA_OTEL_EXPORTER_TIMEOUT":           "60000",
		"LAMBDA_OTEL_FLUSH_INVOKE_BUDGET":        "60000",
		"LAMBDA_OTEL_TELEMETRY_API_ENABLED":      "false", // the hold ends on the completion signal
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE":        "1024",
		"LAMBDA_OTEL_RECEIVER_MAX_REQUEST_BYTES": strconv.Itoa(1 << 20),
	})
	ctx := testCtx(t)
	rt := lambdaapi.NewRuntimeClient(s.Addr(), nil)
	started := make(chan error, 1)
	go func() { started <- s.Start(ctx) }()
	// The test is the runtime: its first next ends init and returns the
	// invocation below.
	first := make(chan *lambdaapi.Invocation, 1)
	go func() {
		if inv, err := rt.Next(ctx); err == nil {
			first <- inv
		}
		close(first)
	}()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	pid := s.Pids()["lambdaotel-extension"]
	if pid == 0 {
		t.Fatalf("no extension process: %v", s.Pids())
	}
	idleKiB := procStatusKiB(t, pid, "VmRSS")

	p, err := s.InvokeAsync(ctx, lambdasim.Request{Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	inv := <-first
	if inv == nil {
		t.Fatal("the runtime got no invocation")
	}
	body := spansRequest(t, perRequest)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	var accepted, full, next atomic.Int64
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for next.Add(1) <= requests {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/traces", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/x-protobuf")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusOK:
					accepted.Add(1)
				case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
					full.Add(1)
				default:
					errs <- fmt.Errorf("status %d (Retry-After %q)", resp.StatusCode, resp.Header.Get("Retry-After"))
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	peakKiB := procStatusKiB(t, pid, "VmHWM")

	// The backend recovers; the function answers and signals completion;
	// the extension's end flush delivers what is queued, then lets Lambda
	// freeze.
	open()
	if err := rt.Respond(ctx, inv.RequestID, strings.NewReader(`"ok"`)); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = rt.Next(ctx) }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/invocation/complete", nil)
	req.Header.Set("Lambda-Request-Id", inv.RequestID)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	atFreeze := be.spans.Load()
	sr, err := s.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sr.Extensions[0].Killed || sr.Extensions[0].ExitCode != 0 {
		t.Errorf("shutdown %+v: the extension must exit 0 in time", sr.Extensions[0])
	}
	defer func() {
		if t.Failed() {
			for _, ev := range s.Telemetry() {
				if ev.Type == lambdaapi.EventExtensionLog {
					t.Log(ev.Time.Format("15:04:05.000"), string(ev.Record[:min(len(ev.Record), 300)]))
				}
			}
		}
	}()
	counts := stopCounts(t, s)
	received, exported, dropped := counts["receivedItems"], counts["exportedItems"], counts["droppedItems"]

	growthMiB := float64(peakKiB-idleKiB) / 1024
	t.Logf("idle RSS %.1f MiB, peak %.1f MiB (+%.1f MiB for a %d MiB queue budget); %d accepted, %d answered 503; extension: %d received, %d exported (%d before the freeze), %d dropped",
		float64(idleKiB)/1024, float64(peakKiB)/1024, growthMiB, budget>>20, accepted.Load(), full.Load(), received, exported, atFreeze, dropped)
	if full.Load() == 0 {
		t.Error("no 503 while the stalled flush held the queue")
	}
	if counts["evictedItems"] != 0 {
		t.Errorf("%d items evicted while a flush was draining: accepted data lost", counts["evictedItems"])
	}
	if received != requests*perRequest {
		t.Errorf("extension received %d items, want %d", received, requests*perRequest)
	}
	if exported+dropped != received {
		t.Errorf("%d exported + %d dropped ≠ %d received: items unaccounted for", exported, dropped, received)
	}
	if got := be.spans.Load(); got != int64(exported) || atFreeze != got {
		t.Errorf("backend has %d spans (%d at the freeze), extension says it exported %d: all before the freeze", got, atFreeze, exported)
	}
	if int64(dropped) < full.Load()*perRequest {
		t.Errorf("%d dropped items, fewer than the %d of requests answered 503", dropped, full.Load()*perRequest)
	}
	if exported < budget/200 { // ~160 bytes a span: most of a full queue
		t.Errorf("only %d spans exported: the queue's content was not delivered", exported)
	}
	// The queue budget, plus a fixed allowance: the heap's headroom over
	// live data and the few requests being read at any moment.
	if limit := float64(budget>>20) + 24; growthMiB > limit {
		t.Errorf("RSS grew %.1f MiB under the flood, more than the %d MiB budget plus 24 MiB", growthMiB, budget>>20)
	}
}

// flaky is a backend that fails every other request in one of the ways
// OTLP clients must retry — 429, 502, 503, 504 with Retry-After, or a reset
// connection — and accepts the retry.
type flaky struct {
	backend
	n atomic.Int64
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.n.Add(1)
	if n%2 == 0 {
		f.backend.ServeHTTP(w, r)
		return
	}
	switch (n / 2) % 5 {
	case 0:
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
	case 1:
		w.WriteHeader(http.StatusBadGateway)
	case 2:
		w.WriteHeader(http.StatusServiceUnavailable)
	case 3:
		w.WriteHeader(http.StatusGatewayTimeout)
	case 4:
		resetConn(w)
	}
}

// resetConn closes the request's connection with a TCP RST.
func resetConn(w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// A backend answering 429/502/503/504 or resetting the connection on every
// other request: the retries deliver every span before each freeze, and no
// invocation pays more than its budget.
func TestFlakyBackendStillGetsEverySpanBeforeEachFreeze(t *testing.T) {
	t.Parallel()
	be := &flaky{}
	srv := httptest.NewServer(be)
	defer srv.Close()
	s := newSim(t, 10*time.Second, "async", srv.URL, map[string]string{"LAMBDA_OTEL_FLUSH_INVOKE_BUDGET": "2000"})
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	const n, perInvocation = 20, 5
	for i := range n {
		res, err := s.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{"spans":4}`)})
		if err != nil || res.Status != "success" {
			t.Fatalf("invocation %d: %v %+v", i, err, res)
		}
		if got := be.count(); got != (i+1)*perInvocation {
			t.Fatalf("invocation %d: the backend has %d spans when the environment froze, want %d", i, got, (i+1)*perInvocation)
		}
		if res.ExtensionOverheadMs > 2000 {
			t.Errorf("invocation %d: extension overhead %.0f ms, over the 2 s budget", i, res.ExtensionOverheadMs)
		}
	}
	if be.n.Load() < 2*n {
		t.Fatalf("%d requests for %d invocations: the failures were not retried", be.n.Load(), n)
	}
	if sr, err := s.Shutdown(testCtx(t)); err != nil || sr.Extensions[0].ExitCode != 0 || sr.Extensions[0].Killed {
		t.Fatalf("shutdown %+v %v", sr, err)
	}
}

// A backend that is down in a way that answers at once — resetting every
// connection, a 500 to everything, or 503 with a Retry-After far beyond the
// budget — costs an invocation at most its budget, and then, with the
// breaker open, next to nothing; at SHUTDOWN every span is in the logs as
// otlp_fallback lines and the extension exits in time.
func TestDownBackendNeverSlowsInvocationsAndLosesNothing(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]http.HandlerFunc{
		"reset": func(w http.ResponseWriter, _ *http.Request) { resetConn(w) },
		"500":   func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
		"503-retry-after-1h": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusServiceUnavailable)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				h(w, r)
			}))
			defer srv.Close()
			s := newSim(t, 10*time.Second, "sync", srv.URL, map[string]string{"LAMBDA_OTEL_FLUSH_INVOKE_BUDGET": "300"})
			if err := s.Start(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			const n = 10
			for i := range n {
				res, err := s.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{"spans":1}`)})
				if err != nil || res.Status != "success" {
					t.Fatalf("invocation %d: %v %+v", i, err, res)
				}
				if res.ExtensionOverheadMs > 300+400 { // the budget, plus scheduling on a loaded 2-core machine
					t.Errorf("invocation %d: extension overhead %.0f ms, over the 300 ms budget", i, res.ExtensionOverheadMs)
				}
			}
			if h := hits.Load(); h > 3*n {
				t.Errorf("%d requests for %d invocations: the breaker did not spare the backend", h, n)
			}
			sr, err := s.Shutdown(testCtx(t))
			if err != nil || sr.Extensions[0].ExitCode != 0 || sr.Extensions[0].Killed {
				t.Fatalf("shutdown %+v %v", sr, err)
			}
			c := stopCounts(t, s)
			// The function's 2n spans and the platform telemetry's items.
			if c["receivedItems"] < 2*n || c["exportedItems"] != 0 || c["fallbackItems"] != c["receivedItems"] || c["droppedItems"] != 0 {
				t.Errorf("closing counts %v; want at least %d received, all of them as fallback, none dropped", c, 2*n)
			}
			fallback := 0
			for _, ev := range s.Telemetry() {
				if ev.Type == lambdaapi.EventExtensionLog && bytes.Contains(ev.Record, []byte("otlp_fallback")) {
					fallback++
				}
			}
			if fallback == 0 {
				t.Fatal("no otlp_fallback line at SHUTDOWN")
			}
		})
	}
}

// The extension's own counters reach the backend as OTLP metrics with the
// function's resource: here in the report queued at SHUTDOWN, after a few
// invocations.
func TestSelfMetricsReachTheBackend(t *testing.T) {
	t.Parallel()
	traces := &backend{}
	var mu sync.Mutex
	var reports []*metricspb.MetricsData
	mux := http.NewServeMux()
	mux.Handle("/v1/traces", traces)
	mux.HandleFunc("/v1/logs", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body, _ = io.ReadAll(zr)
		}
		var md metricspb.MetricsData
		if err := proto.Unmarshal(body, &md); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		reports = append(reports, &md)
		mu.Unlock()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := newSim(t, 10*time.Second, "sync", srv.URL, map[string]string{
		"LAMBDA_OTEL_SELF_METRICS_ENABLED": "auto", // on: a metrics endpoint is configured
		"OTEL_SERVICE_NAME":                "checkout",
	})
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	const n = 3
	for i := range n {
		if res, err := s.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{"spans":2}`)}); err != nil || res.Status != "success" {
			t.Fatalf("invocation %d: %v %+v", i, err, res)
		}
	}
	if _, err := s.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// The requests also carry the platform (FaaS) metrics; the report is
	// the scope lambdaotel-extension.
	var rm *metricspb.ResourceMetrics
	var sm *metricspb.ScopeMetrics
	found := 0
	for _, md := range reports {
		for _, r := range md.ResourceMetrics {
			for _, s := range r.ScopeMetrics {
				if s.Scope.GetName() == selfmetrics.ScopeName {
					rm, sm = r, s
					found++
				}
			}
		}
	}
	if found != 1 {
		t.Fatalf("%d self-metrics reports, want the one queued at SHUTDOWN (the interval is a minute)", found)
	}
	resAttrs := map[string]string{}
	for _, kv := range rm.Resource.Attributes {
		resAttrs[kv.Key] = kv.Value.GetStringValue()
	}
	if resAttrs["service.name"] != "checkout" || resAttrs["cloud.provider"] != "aws" || resAttrs["faas.name"] == "" {
		t.Errorf("resource %v", resAttrs)
	}
	got := map[string]int64{}
	for _, m := range sm.Metrics {
		for _, p := range m.GetSum().GetDataPoints() {
			key := m.Name
			for _, kv := range p.Attributes {
				key += "," + kv.Value.GetStringValue()
			}
			got[key] = p.GetAsInt()
		}
		for _, p := range m.GetHistogram().GetDataPoints() {
			got[m.Name+","+p.Attributes[0].Value.GetStringValue()] = int64(p.Count)
		}
	}
	spans := int64(traces.count())
	traces.mu.Lock()
	all := spans + int64(traces.platform) // the function's and the platform telemetry's
	traces.mu.Unlock()
	for key, want := range map[string]int64{
		"lambdaotel.extension.received,traces":           all,
		"lambdaotel.extension.dropped,traces,evicted":    0,
		"lambdaotel.extension.export.requests,failure":   0,
		"lambdaotel.extension.flush.duration,invoke":     n,
		"lambdaotel.extension.export.requests,skipped":   0,
		"lambdaotel.extension.fallback,traces":           0,
		"lambdaotel.extension.dropped,traces,queue_full": 0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %d (present %v), want %d", key, v, ok, want)
		}
	}
	// The report is made before the final flush: what that flush exports
	// (the last invocation's platform spans) is not in it yet.
	if e := got["lambdaotel.extension.exported,traces"]; e > all || e < spans {
		t.Errorf("exported traces %d: want between the function's %d and all %d", e, spans, all)
	}
	if spans != n*3 {
		t.Errorf("backend has %d spans, want %d", spans, n*3)
	}
}
