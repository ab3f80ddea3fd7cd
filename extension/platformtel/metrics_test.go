package platformtel

import (
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// runInvocation feeds one whole invocation: start, runtimeDone, report.
func runInvocation(p *Processor, id string, startMs, durMs float64, status string) {
	handleAll(p,
		startEv(id, at(startMs), ""),
		runtimeDoneEv(id, at(startMs), durMs, status, "", ""),
		reportEv(id, at(startMs+durMs+1), durMs+1, status, "", nil),
	)
}

// TestMetricsCumulative checks what a backend needs to chart the metrics
// as they are: names, units, instruments, monotonic flags, temporality,
// start times, values.
func TestMetricsCumulative(t *testing.T) {
	p, c := newProc(t, Options{})
	if tr, me, lo := p.Collect(nil, nil, nil); len(tr)+len(me)+len(lo) != 0 {
		t.Fatalf("an idle processor sent %d+%d+%d bytes", len(tr), len(me), len(lo))
	}
	runInvocation(p, reqA, 0, 100, lambdaapi.StatusSuccess)
	c.Set(at(1000))
	o := collect(t, p)

	want := map[string]struct {
		unit      string
		histogram bool
	}{
		"faas.invocations": {"{invocation}", false}, "faas.errors": {"{error}", false},
		"faas.timeouts": {"{timeout}", false}, "faas.coldstarts": {"{coldstart}", false},
		"faas.invoke_duration": {"s", true}, "faas.mem_usage": {"By", true},
		"aws.lambda.billed_duration": {"s", true}, "aws.lambda.extension_overhead_duration": {"s", true},
	}
	got := map[string]*metricspb.Metric{}
	for _, rm := range o.metrics.ResourceMetrics {
		if attr(rm.Resource.Attributes, "service.name").GetStringValue() != "orders" {
			t.Errorf("resource %v", rm.Resource)
		}
		for _, sm := range rm.ScopeMetrics {
			if sm.Scope.Name != ScopeName {
				t.Errorf("scope %v", sm.Scope)
			}
			for _, m := range sm.Metrics {
				got[m.Name] = m
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("metrics %v", keys(got))
	}
	for name, w := range want {
		m := got[name]
		if m == nil {
			t.Errorf("%s missing", name)
			continue
		}
		if m.Unit != w.unit || m.Description == "" {
			t.Errorf("%s: unit %q description %q", name, m.Unit, m.Description)
		}
		if w.histogram {
			h := m.GetHistogram()
			if h == nil || h.AggregationTemporality != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE ||
				len(h.DataPoints) != 1 {
				t.Errorf("%s: %v", name, m)
				continue
			}
			dp := h.DataPoints[0]
			if dp.StartTimeUnixNano != ns(base) || dp.TimeUnixNano != ns(at(1000)) || len(dp.Attributes) != 0 ||
				len(dp.BucketCounts) != len(dp.ExplicitBounds)+1 {
				t.Errorf("%s point %v", name, dp)
			}
		} else {
			s := m.GetSum()
			if s == nil || !s.IsMonotonic || s.AggregationTemporality != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE ||
				len(s.DataPoints) != 1 || s.DataPoints[0].StartTimeUnixNano != ns(base) || len(s.DataPoints[0].Attributes) != 0 {
				t.Errorf("%s: %v", name, m)
			}
		}
	}
	if h := o.histogram("faas.invoke_duration"); h.GetSum() != 0.1 || h.GetMin() != 0.1 || h.GetMax() != 0.1 {
		t.Errorf("invoke duration %v", h)
	}
	if h := o.histogram("aws.lambda.billed_duration"); h.GetSum() != 0.102 {
		t.Errorf("billed %v", h)
	}
	if h := o.histogram("aws.lambda.extension_overhead_duration"); h.GetSum() < 0.00099 || h.GetSum() > 0.00101 {
		t.Errorf("overhead %v", h)
	}

	// Nothing new: nothing sent.
	if _, me, _ := p.Collect(nil, nil, nil); len(me) != 0 {
		t.Error("metrics sent with nothing new")
	}
	// More: cumulative values grow from the same start.
	runInvocation(p, reqB, 2000, 50, lambdaapi.StatusError)
	runInvocation(p, reqC, 3000, 50, lambdaapi.StatusTimeout)
	c.Set(at(4000))
	o = collect(t, p)
	if o.sumValue("faas.invocations") != 1 || o.sumValue("faas.errors") != 1 || o.sumValue("faas.timeouts") != 1 ||
		o.sumValue("faas.coldstarts") != 1 {
		t.Errorf("counters %v", o.metrics)
	}
	if h := o.histogram("faas.invoke_duration"); h.Count != 3 || h.StartTimeUnixNano != ns(base) || h.GetMin() != 0.05 {
		t.Errorf("invoke duration %v", h)
	}
}

// TestMetricsDelta: each Collect carries what happened since the previous
// one, starting there.
func TestMetricsDelta(t *testing.T) {
	p, c := newProc(t, Options{Temporality: otlpbuild.Delta})
	runInvocation(p, reqA, 0, 100, lambdaapi.StatusSuccess)
	c.Set(at(1000))
	o := collect(t, p)
	if o.sumValue("faas.invocations") != 1 || o.metric("faas.errors") != nil {
		t.Errorf("first window %v", o.metrics)
	}
	m := o.metric("faas.invocations").GetSum()
	if m.AggregationTemporality != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA || !m.IsMonotonic ||
		m.DataPoints[0].StartTimeUnixNano != ns(base) {
		t.Errorf("delta sum %v", m)
	}
	runInvocation(p, reqB, 2000, 50, lambdaapi.StatusSuccess)
	c.Set(at(3000))
	o = collect(t, p)
	if o.sumValue("faas.invocations") != 1 || o.metric("faas.coldstarts") != nil {
		t.Errorf("second window %v", o.metrics)
	}
	h := o.histogram("faas.invoke_duration")
	if h.Count != 1 || h.StartTimeUnixNano != ns(at(1000)) || h.TimeUnixNano != ns(at(3000)) || h.GetSum() != 0.05 {
		t.Errorf("delta histogram %v", h)
	}
}

func TestHistogramBuckets(t *testing.T) {
	var m instruments
	m.init()
	h := &m.invokeDuration
	for _, v := range []float64{0, 0.001, 0.0011, 900, 901, -1, nan()} {
		h.record(v)
	}
	if h.count != 5 || h.counts[0] != 2 || h.counts[1] != 1 || h.counts[len(h.bounds)-1] != 1 || h.counts[len(h.bounds)] != 1 {
		t.Errorf("count %d buckets %v", h.count, h.counts)
	}
	if h.min != 0 || h.max != 901 {
		t.Errorf("min %v max %v", h.min, h.max)
	}
}

func nan() float64 {
	var z float64
	return z / z
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
