package bench

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/lambdaotel/lambdaotel/bench/internal/fn"
	"github.com/lambdaotel/lambdaotel/lambdasim"
)

// latencySetup is one column of the response-latency comparison: a function
// binary and its environment. Each setup's spans carry its name as
// service.name, so one collector can tell them apart.
type latencySetup struct {
	name string
	bin  string
	env  map[string]string
	// exports says whether the setup sends spans at all.
	exports bool
}

// latencySetups are the four setups, the baseline first. Every
// instrumented one exports over OTLP/HTTP protobuf, uncompressed (both
// exporters' default), to the collector at endpoint.
func latencySetups(endpoint string) []latencySetup {
	otlp := func(name string, extra map[string]string) map[string]string {
		env := map[string]string{
			"OTEL_SERVICE_NAME":           name,
			"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	return []latencySetup{
		// The same aws-lambda-go function with no telemetry.
		{"plain", lambdaotelfn, otlp("plain", map[string]string{fn.EnvPlain: "1"}), false},
		// lambdaotel, async: the export runs after the response, from the
		// internal extension, before Lambda may freeze the process.
		{"lambdaotel-async", lambdaotelfn, otlp("lambdaotel-async", map[string]string{
			"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "async", "OTEL_TRACES_EXPORTER": "otlp",
		}), true},
		// lambdaotel, sync: the export runs before the response.
		{"lambdaotel-sync", lambdaotelfn, otlp("lambdaotel-sync", map[string]string{
			"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "sync", "OTEL_TRACES_EXPORTER": "otlp",
		}), true},
		// The OTel SDK, BatchSpanProcessor + otlptracehttp, with
		// otellambda's synchronous ForceFlush before the response.
		{"sdk-forceflush", sdkfn, otlp("sdk-forceflush", nil), true},
	}
}

// benchChildren is the child spans per invocation: with the invocation's
// own span, ten spans, as the main module's BenchmarkResponseLatency.
const benchChildren = 9

// BenchmarkResponseLatencyVsSDK is what a caller waits for (lambdasim's
// ResponseLatencyMs: event handed to the runtime → response received) and
// what is billed (DurationMs: the whole invoke phase, extensions included)
// for the same function, ten spans per invocation, in four setups:
// uninstrumented, lambdaotel async, lambdaotel sync, and the OTel SDK with
// otellambda's synchronous ForceFlush. Every instrumented setup exports
// over OTLP/HTTP to the same in-process collector on loopback. The four run
// side by side on lambdasim, with freeze, one invocation each in turn, so
// that they see the same machine; "added" is a setup's p50 over the
// uninstrumented p50. Metrics are in µs.
func BenchmarkResponseLatencyVsSDK(b *testing.B) {
	col := newCollector(b)
	setups := latencySetups(col.endpoint())
	sims := make([]*lambdasim.Sim, len(setups))
	for i, st := range setups {
		sims[i] = startSim(b, st.bin, st.env)
	}
	ctx := context.Background()
	req := lambdasim.Request{Payload: []byte(`{"spans":` + strconv.Itoa(benchChildren) + `}`)}
	lat := make([][]float64, len(setups))
	dur := make([][]float64, len(setups))
	round := func(record bool) {
		for i, s := range sims {
			r, err := s.Invoke(ctx, req)
			if err != nil || r.Status != "success" {
				b.Fatalf("%s: %v %+v\n%s", setups[i].name, err, r, functionLog(s))
			}
			if record {
				lat[i] = append(lat[i], r.ResponseLatencyMs)
				dur[i] = append(dur[i], r.DurationMs)
			}
		}
	}
	const warmup = 20
	for i := 0; i < warmup; i++ {
		round(false)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		round(true)
	}
	b.StopTimer()

	// Fair only if everyone really exported: by the end of each invoke
	// phase every span is at the collector.
	for _, st := range setups {
		want := 0
		if st.exports {
			want = (warmup + b.N) * (benchChildren + 1)
		}
		if got := col.count(st.name); got != want {
			b.Fatalf("%s: the collector has %d spans, want %d", st.name, got, want)
		}
	}
	if err := col.err(); err != nil {
		b.Fatal(err)
	}

	latP50 := make([]float64, len(setups))
	durP50 := make([]float64, len(setups))
	for i, st := range setups {
		latP50[i] = percentile(lat[i], 0.50)
		durP50[i] = percentile(dur[i], 0.50)
		b.ReportMetric(latP50[i]*1000, st.name+"-p50-µs")
		b.ReportMetric(percentile(lat[i], 0.99)*1000, st.name+"-p99-µs")
		b.ReportMetric(durP50[i]*1000, st.name+"-billed-p50-µs")
	}
	for i := 1; i < len(setups); i++ {
		b.ReportMetric((latP50[i]-latP50[0])*1000, setups[i].name+"-added-p50-µs")
		b.ReportMetric((durP50[i]-durP50[0])*1000, setups[i].name+"-added-billed-p50-µs")
	}
}

// percentile is the nearest-rank p-quantile of xs (sorted in place).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	i := int(math.Ceil(p*float64(len(xs)))) - 1
	return xs[max(i, 0)]
}

// TestSetupsExportExactlyTheSpansTheyCreate keeps the latency comparison
// honest: every instrumented setup really exports each invocation's spans
// to the collector, all of them and no more, by the end of the invocation;
// the baseline exports nothing. Each invocation is one trace: one SERVER
// span and its children, named as the handler named them.
func TestSetupsExportExactlyTheSpansTheyCreate(t *testing.T) {
	col := newCollector(t)
	children := []int{0, 1, benchChildren, 3}
	for _, st := range latencySetups(col.endpoint()) {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := startSim(t, st.bin, st.env)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			want := 0
			for _, n := range children {
				r, err := s.Invoke(ctx, lambdasim.Request{Payload: []byte(fmt.Sprintf(`{"spans":%d,"name":"x"}`, n))})
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != "success" || !bytes.Equal(r.Payload, []byte(`{"hello":"x"}`)) {
					t.Fatalf("invocation with %d spans: %s %s\n%s", n, r.Status, r.Payload, functionLog(s))
				}
				if st.exports {
					want += n + 1
				}
				// The invoke phase is over: whatever the setup exports for
				// this invocation must already be at the collector.
				if got := col.count(st.name); got != want {
					t.Fatalf("after the invocation with %d children the collector has %d spans, want %d\n%s", n, got, want, functionLog(s))
				}
			}
			if st.exports {
				checkTraces(t, col.received(st.name), children)
			}
		})
	}
	t.Cleanup(func() {
		if err := col.err(); err != nil {
			t.Error(err)
		}
	})
}

// checkTraces checks that spans are one trace per invocation, in order,
// each a SERVER span with children[i] child spans under it.
func checkTraces(t *testing.T, spans []*tracepb.Span, children []int) {
	t.Helper()
	var order []string
	traces := map[string][]*tracepb.Span{}
	for _, sp := range spans {
		id := hex.EncodeToString(sp.GetTraceId())
		if _, ok := traces[id]; !ok {
			order = append(order, id)
		}
		traces[id] = append(traces[id], sp)
	}
	if len(order) != len(children) {
		t.Fatalf("%d traces for %d invocations", len(order), len(children))
	}
	for i, id := range order {
		var root *tracepb.Span
		names := map[string]bool{}
		for _, sp := range traces[id] {
			if sp.GetKind() == tracepb.Span_SPAN_KIND_SERVER {
				if root != nil {
					t.Fatalf("invocation %d: two SERVER spans, %q and %q", i, root.GetName(), sp.GetName())
				}
				root = sp
			} else {
				names[sp.GetName()] = true
			}
		}
		if root == nil {
			t.Fatalf("invocation %d: no SERVER span", i)
		}
		if len(traces[id]) != children[i]+1 {
			t.Fatalf("invocation %d: %d spans, want %d", i, len(traces[id]), children[i]+1)
		}
		for c := 0; c < children[i]; c++ {
			if !names[fn.ChildName(c)] {
				t.Errorf("invocation %d: no span %q", i, fn.ChildName(c))
			}
		}
		for _, sp := range traces[id] {
			if sp != root && !bytes.Equal(sp.GetParentSpanId(), root.GetSpanId()) {
				t.Errorf("invocation %d: %q is not a child of the SERVER span %q", i, sp.GetName(), root.GetName())
			}
		}
	}
}
