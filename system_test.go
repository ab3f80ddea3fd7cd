package lambdaotel_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
	"github.com/lambdaotel/lambdaotel/lambdasim"
	"github.com/lambdaotel/lambdaotel/otlpstdout"
	"github.com/lambdaotel/lambdaotel/otlpstdout/tracedata"
)

// otelfn is testdata/otelfn, built once: an aws-lambda-go function using
// the library, run on lambdasim by the tests below.
var otelfn string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lambdaotel-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	otelfn = filepath.Join(dir, "otelfn")
	cmd := exec.Command("go", "build", "-o", otelfn, "./testdata/otelfn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build testdata/otelfn: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// run starts otelfn on lambdasim with env and returns the Sim.
func run(t *testing.T, env map[string]string) *lambdasim.Sim {
	t.Helper()
	s, err := lambdasim.New(lambdasim.Config{Runtime: &lambdasim.Process{Path: otelfn}, Env: env, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return s
}

func invoke(t *testing.T, s *lambdasim.Sim, payload string) *lambdasim.Result {
	t.Helper()
	res, err := s.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(payload)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// functionLines returns the function's output lines, in order.
func functionLines(t *testing.T, s *lambdasim.Sim) []string {
	t.Helper()
	var lines []string
	for _, ev := range s.Telemetry() {
		if ev.Type != lambdaapi.EventFunction {
			continue
		}
		d, err := ev.Decode()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, d.(*lambdaapi.LogRecord).Text)
	}
	return lines
}

// exportTimes returns the start and end of each export the function logged.
func exportTimes(t *testing.T, lines []string) (starts, ends []time.Time) {
	t.Helper()
	for _, l := range lines {
		var which string
		var ns int64
		switch {
		case strings.HasPrefix(l, "EXPORT start="):
			which = "start"
			f := strings.Fields(strings.TrimPrefix(l, "EXPORT start="))
			ns, _ = strconv.ParseInt(f[0], 10, 64)
		case strings.HasPrefix(l, "EXPORT end="):
			which = "end"
			ns, _ = strconv.ParseInt(strings.TrimPrefix(l, "EXPORT end="), 10, 64)
		default:
			continue
		}
		if which == "start" {
			starts = append(starts, time.Unix(0, ns))
		} else {
			ends = append(ends, time.Unix(0, ns))
		}
	}
	return starts, ends
}

// spanNames decodes every otlp-stdout record the function printed.
func spanNames(t *testing.T, lines []string) []string {
	t.Helper()
	var names []string
	for _, l := range lines {
		if !otlpstdout.IsRecord([]byte(l)) {
			continue
		}
		rec, err := otlpstdout.Decode([]byte(l))
		if err != nil {
			t.Fatalf("record %q: %v", l, err)
		}
		body, err := rec.Body()
		if err != nil {
			t.Fatal(err)
		}
		req, err := tracedata.Traces(body, rec.IsJSON())
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					names = append(names, sp.Name)
				}
			}
		}
	}
	return names
}

func TestSyncExportsBeforeTheResponse(t *testing.T) {
	t.Parallel()
	s := run(t, map[string]string{"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "sync"})
	var results []*lambdasim.Result
	for i := 0; i < 3; i++ {
		results = append(results, invoke(t, s, `{"spans":2}`))
	}
	starts, _ := exportTimes(t, functionLines(t, s))
	if len(starts) != 3 {
		t.Fatalf("%d exports for 3 invocations", len(starts))
	}
	for i, r := range results {
		if r.Status != "success" {
			t.Fatalf("invocation %d: %+v", i, r)
		}
		if !starts[i].Before(r.Timeline.ResponseStart) {
			t.Errorf("invocation %d: export started %v after the response began (%v)", i, starts[i], r.Timeline.ResponseStart)
		}
	}
}

func TestAsyncExportsAfterTheResponseAndBeforeTheFreeze(t *testing.T) {
	t.Parallel()
	s := run(t, map[string]string{"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "async"})
	if got := strings.Join(s.Extensions(), ","); got != "otel-internal" {
		t.Fatalf("registered extensions %q, want otel-internal", got)
	}
	var results []*lambdasim.Result
	for i := 0; i < 5; i++ {
		results = append(results, invoke(t, s, `{"spans":3}`))
	}
	starts, ends := exportTimes(t, functionLines(t, s))
	if len(starts) != 5 || len(ends) != 5 {
		t.Fatalf("%d/%d export starts/ends for 5 invocations", len(starts), len(ends))
	}
	for i, r := range results {
		if r.Status != "success" {
			t.Fatalf("invocation %d: %+v", i, r)
		}
		if !starts[i].After(r.Timeline.ResponseEnd) {
			t.Errorf("invocation %d: export started %v, before the response reached the Runtime API (%v)", i, starts[i], r.Timeline.ResponseEnd)
		}
		if !ends[i].Before(r.Timeline.End) {
			t.Errorf("invocation %d: export ended %v, after the invoke phase ended (%v): it would cross the freeze", i, ends[i], r.Timeline.End)
		}
	}
}

func TestAsyncLosesNoSpanAcrossFreezes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("1,000 invocations")
	}
	s := run(t, map[string]string{"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "async"})
	const n, children = 1000, 9
	for i := 0; i < n; i++ {
		if r := invoke(t, s, `{"spans":9}`); r.Status != "success" {
			t.Fatalf("invocation %d: %+v", i, r)
		}
	}
	if !s.Frozen() {
		t.Fatal("the environment should be frozen between invocations")
	}
	names := spanNames(t, functionLines(t, s))
	if len(names) != n*(children+1) {
		t.Fatalf("%d spans exported, want %d", len(names), n*(children+1))
	}
}

// In finalize mode nothing is exported until SIGTERM; at shutdown every span
// must come out, and the runtime must exit by itself within its share.
func TestSIGTERMFlushes(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"finalize", "async"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := run(t, map[string]string{"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": mode})
			for i := 0; i < 3; i++ {
				invoke(t, s, `{"spans":1}`)
			}
			if mode == "finalize" {
				if got := spanNames(t, functionLines(t, s)); len(got) != 0 {
					t.Fatalf("finalize exported %d spans before SIGTERM", len(got))
				}
			}
			sr, err := s.Shutdown(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if !sr.RuntimeSigterm || sr.Runtime == nil || sr.Runtime.Killed || sr.Runtime.ExitCode != 0 {
				t.Fatalf("shutdown %+v runtime %+v: the runtime must get SIGTERM, flush and exit 0", sr, sr.Runtime)
			}
			if got := spanNames(t, functionLines(t, s)); len(got) != 6 {
				t.Fatalf("%d spans after shutdown, want 6: %v", len(got), got)
			}
		})
	}
}

func TestRecordsDecodeToExactlyTheSpansCreated(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"sync", "async"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := run(t, map[string]string{"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": mode})
			invoke(t, s, `{"spans":2}`)
			if r := invoke(t, s, `{"fail":true}`); r.Status != "error" {
				t.Fatalf("failing invocation: %+v", r)
			}
			if _, err := s.Shutdown(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(spanNames(t, functionLines(t, s)), ",")
			want := "child-0,child-1,lambda-invocation,lambda-invocation"
			if got != want {
				t.Fatalf("spans %s, want %s", got, want)
			}
		})
	}
}

// BenchmarkResponseLatency is what a caller waits for, measured by lambdasim
// (event handed to the runtime → response received) for the same function,
// ten spans per invocation: uninstrumented, in async mode and in sync mode.
// The three run side by side, one invocation each in turn, so they see the
// same machine; "added" is each mode's p50 over the uninstrumented p50.
func BenchmarkResponseLatency(b *testing.B) {
	setups := []struct {
		name string
		env  map[string]string
	}{
		{"plain", map[string]string{"OTELFN_PLAIN": "1"}},
		{"async", map[string]string{"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "async"}},
		{"sync", map[string]string{"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "sync"}},
	}
	ctx := context.Background()
	sims := make([]*lambdasim.Sim, len(setups))
	for i, st := range setups {
		s, err := lambdasim.New(lambdasim.Config{Runtime: &lambdasim.Process{Path: otelfn}, Env: st.env, Timeout: 10 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if err := s.Start(ctx); err != nil {
			b.Fatal(err)
		}
		sims[i] = s
	}
	req := lambdasim.Request{Payload: []byte(`{"spans":9}`)}
	lat := make([][]float64, len(setups))
	round := func(record bool) {
		for i, s := range sims {
			r, err := s.Invoke(ctx, req)
			if err != nil || r.Status != "success" {
				b.Fatalf("%s: %v %+v", setups[i].name, err, r)
			}
			if record {
				lat[i] = append(lat[i], r.ResponseLatencyMs)
			}
		}
	}
	for i := 0; i < 20; i++ {
		round(false)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		round(true)
	}
	b.StopTimer()
	p50 := make([]float64, len(setups))
	for i := range setups {
		sort.Float64s(lat[i])
		p50[i] = lat[i][len(lat[i])/2]
		b.ReportMetric(p50[i]*1000, setups[i].name+"-p50-µs")
	}
	for i := 1; i < len(setups); i++ {
		b.ReportMetric((p50[i]-p50[0])*1000, setups[i].name+"-added-p50-µs")
	}
}

// lambda.WithEnableSIGTERM registers aws-lambda-go's own internal extension
// beside otel-internal; at shutdown both SIGTERM handlers run: the user's
// hook and lambdaotel's flush (finalize mode: the spans exist only in the
// ring until then).
func TestSIGTERMCoexistsWithAWSLambdaGo(t *testing.T) {
	t.Parallel()
	s := run(t, map[string]string{
		"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "finalize", "OTELFN_SIGTERM_HOOK": "1", "OTELFN_NO_EXIT": "1",
	})
	if got := strings.Join(s.Extensions(), ","); got != "GoLangEnableSIGTERM,otel-internal" {
		t.Fatalf("registered %q, want both internal extensions", got)
	}
	for i := 0; i < 2; i++ {
		invoke(t, s, `{"spans":1}`)
	}
	sr, err := s.Shutdown(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	lines := functionLines(t, s)
	if !slices.Contains(lines, "HOOK ran") {
		t.Errorf("the user's SIGTERM hook did not run: %v (shutdown %+v)", lines, sr)
	}
	if got := spanNames(t, lines); len(got) != 4 {
		t.Errorf("%d spans flushed at SIGTERM, want 4", len(got))
	}
}

// A backend that accepts connections and never answers costs async mode its
// export timeout in billed time, once per invocation, and nothing in
// response latency.
func TestAsyncBrokenBackendDoesNotDelayTheResponse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read: a hung backend
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	s := run(t, map[string]string{
		"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "async", "OTEL_TRACES_EXPORTER": "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + ln.Addr().String(), "OTEL_EXPORTER_OTLP_TIMEOUT": "300",
	})
	for i := 0; i < 2; i++ {
		r := invoke(t, s, `{"spans":2}`)
		if r.Status != "success" {
			t.Fatalf("invocation %d: %+v", i, r)
		}
		if r.ResponseLatencyMs > 150 {
			t.Errorf("invocation %d: response latency %.1f ms: the hung backend delayed the response", i, r.ResponseLatencyMs)
		}
		if r.DurationMs < 290 || r.DurationMs > 2000 {
			t.Errorf("invocation %d: duration %.1f ms, want about the 300 ms export timeout", i, r.DurationMs)
		}
	}
}
