package selfmetrics

import (
	"math"
	"testing"
	"time"

	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/extension/export"
	"github.com/lambdaotel/lambdaotel/extension/flush"
	"github.com/lambdaotel/lambdaotel/extension/platformtel"
	"github.com/lambdaotel/lambdaotel/extension/queue"
	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
)

// activity drives a real queue: 3 trace requests of 10 items received, one
// exported, one evicted by a large metrics request, one left queued.
func activity(t *testing.T) queue.Stats {
	t.Helper()
	q := queue.New(queue.Budget{MaxBytes: 300, MaxEntries: 100})
	for range 2 {
		if err := q.Offer(queue.Traces, make([]byte, 100), 10); err != nil {
			t.Fatal(err)
		}
	}
	q.Take(queue.Traces, 100, 1).Done() // exported: 10 items
	if err := q.Offer(queue.Traces, make([]byte, 100), 10); err != nil {
		t.Fatal(err)
	}
	if err := q.Offer(queue.Metrics, make([]byte, 150), 4); err != nil { // evicts the oldest trace request
		t.Fatal(err)
	}
	return q.Stats()
}

func TestAppendRequest(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	now := start.Add(time.Minute)
	r := New(start)
	r.ObserveFlush("invoke", 3*time.Millisecond)
	r.ObserveFlush("invoke", 30*time.Millisecond)
	r.ObserveFlush("shutdown", 20*time.Second)
	snap := Snapshot{
		Time: now, Queue: activity(t),
		Export:   export.Stats{Exports: 5, Failures: 2, Skipped: 1, Retries: 3, Rejected: 7, BreakerOpens: 1},
		Flush:    flush.Stats{FallbackItems: map[string]int64{"traces": 0}, LateItems: map[string]int64{}},
		Platform: platformtel.Stats{Events: 40, Duplicates: 2, ReportWithoutStart: 1},
	}
	res := &otlpbuild.Resource{Attributes: []otlpbuild.KeyValue{otlpbuild.String("service.name", "fn")}}
	b := r.AppendRequest(nil, res, snap)
	var md metricspb.MetricsData
	if err := proto.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	if len(md.ResourceMetrics) != 1 || len(md.ResourceMetrics[0].ScopeMetrics) != 1 {
		t.Fatalf("%d resources", len(md.ResourceMetrics))
	}
	sm := md.ResourceMetrics[0].ScopeMetrics[0]
	if sm.Scope.GetName() != ScopeName || md.ResourceMetrics[0].Resource.Attributes[0].Value.GetStringValue() != "fn" {
		t.Fatalf("scope %v resource %v", sm.Scope, md.ResourceMetrics[0].Resource)
	}
	byName := map[string]*metricspb.Metric{}
	for _, m := range sm.Metrics {
		byName[m.Name] = m
	}
	// value returns the Sum point with the given attributes.
	value := func(name string, attrs ...string) int64 {
		t.Helper()
		m := byName[name]
		if m == nil {
			t.Fatalf("no metric %s", name)
		}
		s := m.GetSum()
		if s == nil || !s.IsMonotonic || s.AggregationTemporality != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
			t.Fatalf("%s is not a cumulative monotonic sum: %v", name, m)
		}
	points:
		for _, p := range s.DataPoints {
			if p.StartTimeUnixNano != uint64(start.UnixNano()) || p.TimeUnixNano != uint64(now.UnixNano()) {
				t.Fatalf("%s: point times %d..%d", name, p.StartTimeUnixNano, p.TimeUnixNano)
			}
			if len(p.Attributes) != len(attrs)/2 {
				continue
			}
			for i, kv := range p.Attributes {
				if kv.Key != attrs[2*i] || kv.Value.GetStringValue() != attrs[2*i+1] {
					continue points
				}
			}
			return p.GetAsInt()
		}
		t.Fatalf("%s has no point %v", name, attrs)
		return 0
	}
	for _, c := range []struct {
		got, want int64
		what      string
	}{
		{value("lambdaotel.extension.received", "signal", "traces"), 30, "traces received"},
		{value("lambdaotel.extension.received", "signal", "metrics"), 4, "metrics received"},
		{value("lambdaotel.extension.exported", "signal", "traces"), 10, "traces exported"},
		{value("lambdaotel.extension.dropped", "signal", "traces", "reason", "evicted"), 10, "traces evicted"},
		{value("lambdaotel.extension.dropped", "signal", "logs", "reason", "queue_full"), 0, "logs refused"},
		{value("lambdaotel.extension.export.requests", "outcome", "failure"), 2, "failed exports"},
		{value("lambdaotel.extension.export.retries"), 3, "retries"},
		{value("lambdaotel.extension.export.rejected"), 7, "rejected"},
		{value("lambdaotel.extension.breaker.opens"), 1, "breaker opens"},
		{value("lambdaotel.extension.platform.events"), 40, "platform events"},
		{value("lambdaotel.extension.platform.anomalies", "kind", "duplicate"), 2, "duplicates"},
		{value("lambdaotel.extension.platform.anomalies", "kind", "out_of_order"), 1, "out of order"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
	if g := byName["lambdaotel.extension.queue.size"].GetGauge(); g == nil || g.DataPoints[0].GetAsInt() != 250 || byName["lambdaotel.extension.queue.size"].Unit != "By" {
		t.Errorf("queue.size %v, want 250 bytes (one trace and one metrics request)", byName["lambdaotel.extension.queue.size"])
	}
	h := byName["lambdaotel.extension.flush.duration"].GetHistogram()
	if h == nil || h.AggregationTemporality != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE || len(h.DataPoints) != 2 {
		t.Fatalf("flush.duration %v", byName["lambdaotel.extension.flush.duration"])
	}
	inv := h.DataPoints[0]
	if inv.Count != 2 || math.Abs(inv.GetSum()-0.033) > 1e-9 || inv.GetMin() != 0.003 || inv.GetMax() != 0.03 ||
		inv.BucketCounts[2] != 1 || inv.BucketCounts[5] != 1 || len(inv.BucketCounts) != len(inv.ExplicitBounds)+1 {
		t.Errorf("invoke flushes %v", inv)
	}
	if sd := h.DataPoints[1]; sd.BucketCounts[len(sd.BucketCounts)-1] != 1 {
		t.Errorf("a 20 s flush belongs in the overflow bucket: %v", sd.BucketCounts)
	}
}

// Items written as fallback, or dropped for lack of time at SHUTDOWN, are
// told apart from those the backend took and those it failed.
func TestFallbackAndLateAreSeparated(t *testing.T) {
	q := queue.New(queue.Budget{MaxBytes: 1 << 20, MaxEntries: 100})
	for range 3 {
		if err := q.Offer(queue.Logs, make([]byte, 10), 5); err != nil {
			t.Fatal(err)
		}
	}
	q.Take(queue.Logs, 10, 1).Done() // to the backend
	q.Take(queue.Logs, 10, 1).Done() // to the fallback
	q.Take(queue.Logs, 10, 1).Drop() // too late
	snap := Snapshot{Time: time.Unix(1, 0), Queue: q.Stats(),
		Flush: flush.Stats{FallbackItems: map[string]int64{"logs": 5}, LateItems: map[string]int64{"logs": 5}}}
	attrs := map[string]int64{}
	for _, a := range LogAttrs(snap) {
		attrs[a.Key] = a.Value.Int64()
	}
	if attrs["receivedItems"] != 15 || attrs["exportedItems"] != 5 || attrs["fallbackItems"] != 5 || attrs["droppedItems"] != 5 || attrs["lateItems"] != 5 {
		t.Fatalf("log attrs %v", attrs)
	}
	var md metricspb.MetricsData
	if err := proto.Unmarshal(New(time.Unix(0, 0)).AppendRequest(nil, &otlpbuild.Resource{}, snap), &md); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, m := range md.ResourceMetrics[0].ScopeMetrics[0].Metrics {
		for _, p := range m.GetSum().GetDataPoints() {
			sig, reason := "", ""
			for _, kv := range p.Attributes {
				switch kv.Key {
				case "signal":
					sig = kv.Value.GetStringValue()
				case "reason":
					reason = kv.Value.GetStringValue()
				}
			}
			if sig != "logs" {
				continue
			}
			switch {
			case m.Name == "lambdaotel.extension.exported", m.Name == "lambdaotel.extension.fallback",
				m.Name == "lambdaotel.extension.dropped" && reason == "shutdown_deadline":
				found++
				if p.GetAsInt() != 5 {
					t.Errorf("%s %s = %d, want 5", m.Name, reason, p.GetAsInt())
				}
			case m.Name == "lambdaotel.extension.dropped" && reason == "export_failed":
				if p.GetAsInt() != 0 {
					t.Errorf("export_failed = %d: the late drop is counted apart", p.GetAsInt())
				}
			}
		}
	}
	if found != 3 {
		t.Fatalf("found %d of the 3 points", found)
	}
}
