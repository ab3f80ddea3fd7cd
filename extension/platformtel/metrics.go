package platformtel

import (
	"math"
	"sort"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
)

// Metric names, units and descriptions. The faas.* ones are the
// OpenTelemetry FaaS semantic-convention metrics, with their instruments
// and units; the aws.lambda.* ones are Lambda's own figures in the same
// style (durations as histograms in seconds). None has attributes: the
// resource says which function, and everything per invocation (the request
// ID above all) would make a series per invocation.
var (
	defInvocations = metricDef{"faas.invocations", "{invocation}", "Number of successful invocations."}
	defErrors      = metricDef{"faas.errors", "{error}", "Number of invocation errors."}
	defTimeouts    = metricDef{"faas.timeouts", "{timeout}", "Number of invocation timeouts."}
	defColdstarts  = metricDef{"faas.coldstarts", "{coldstart}", "Number of invocation cold starts."}

	defInvokeDuration = metricDef{"faas.invoke_duration", "s", "Measures the duration of the function's logic execution."}
	defInitDuration   = metricDef{"faas.init_duration", "s", "Measures the duration of the function's initialization, such as a cold start."}
	defMemUsage       = metricDef{"faas.mem_usage", "By", "Distribution of max memory usage per invocation."}
	defBilled         = metricDef{"aws.lambda.billed_duration", "s", "Billed duration of the invocation."}
	defRestore        = metricDef{"aws.lambda.restore_duration", "s", "Duration of the SnapStart restore."}
	defOverhead       = metricDef{"aws.lambda.extension_overhead_duration", "s",
		"Time extensions worked after the runtime finished the invocation, billed to it."}
)

// Histogram bounds. Durations span a Lambda's range, from sub-millisecond
// extension overheads to the 900 s limit; memory spans 128 MB to 10 GB
// functions.
var (
	durationBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75,
		1, 2.5, 5, 7.5, 10, 30, 60, 300, 900}
	memoryBounds = []float64{16 * mib, 32 * mib, 64 * mib, 128 * mib, 256 * mib, 512 * mib,
		1024 * mib, 2048 * mib, 4096 * mib, 8192 * mib, 10240 * mib}
)

type metricDef struct{ name, unit, desc string }

// counter is a monotonic sum. Under delta temporality it is reset after
// each Collect.
type counter struct {
	def     metricDef
	value   uint64
	changed bool
	pt      [1]otlpbuild.NumberPoint
}

func (c *counter) add(n uint64) {
	c.value += n
	c.changed = true
}

// histogram is an explicit-bounds histogram. Under delta temporality it is
// reset after each Collect.
type histogram struct {
	def      metricDef
	bounds   []float64
	counts   []uint64
	count    uint64
	sum      float64
	min, max float64
	changed  bool
	pt       [1]otlpbuild.HistogramPoint
}

// record adds one observation. Values that cannot be a duration or a size
// (negative, NaN, infinite) are ignored.
func (h *histogram) record(v float64) {
	if !(v >= 0) || math.IsInf(v, 0) {
		return
	}
	// Bucket i holds (bounds[i-1], bounds[i]], as OTLP defines.
	h.counts[sort.SearchFloat64s(h.bounds, v)]++
	if h.count == 0 || v < h.min {
		h.min = v
	}
	if h.count == 0 || v > h.max {
		h.max = v
	}
	h.count++
	h.sum += v
	h.changed = true
}

func (h *histogram) reset() {
	clear(h.counts)
	h.count, h.sum, h.min, h.max = 0, 0, 0, 0
}

type instruments struct {
	invocations, errors, timeouts, coldstarts              counter
	invokeDuration, initDuration, memUsage, billedDuration histogram
	restoreDuration, extensionOverhead                     histogram
	counters                                               [4]*counter
	histograms                                             [6]*histogram
	out                                                    []otlpbuild.Metric
}

func (m *instruments) init() {
	m.counters = [...]*counter{&m.invocations, &m.errors, &m.timeouts, &m.coldstarts}
	for i, d := range []metricDef{defInvocations, defErrors, defTimeouts, defColdstarts} {
		m.counters[i].def = d
	}
	m.histograms = [...]*histogram{&m.invokeDuration, &m.initDuration, &m.memUsage, &m.billedDuration,
		&m.restoreDuration, &m.extensionOverhead}
	for i, d := range []metricDef{defInvokeDuration, defInitDuration, defMemUsage, defBilled, defRestore, defOverhead} {
		h := m.histograms[i]
		h.def, h.bounds = d, durationBounds
		if d == defMemUsage {
			h.bounds = memoryBounds
		}
		h.counts = make([]uint64, len(h.bounds)+1)
	}
	m.out = make([]otlpbuild.Metric, 0, len(m.counters)+len(m.histograms))
}

func (m *instruments) changed() bool {
	for _, c := range m.counters {
		if c.changed {
			return true
		}
	}
	for _, h := range m.histograms {
		if h.changed {
			return true
		}
	}
	return false
}

// appendMetrics writes the metrics request, if anything was recorded since
// the previous Collect. Cumulative: every counter (zeros included, so that a
// backend sees a series start at 0 and the first increase counts) and every
// histogram with data, from the processor's start. Delta: what changed, from
// the previous Collect.
func (p *Processor) appendMetrics(dst []byte, now time.Time) []byte {
	m := &p.metrics
	if !m.changed() {
		return dst
	}
	delta := p.opts.Temporality == otlpbuild.Delta
	start := p.start
	if delta {
		start = p.lastCollect
	}
	out := m.out[:0]
	for _, c := range m.counters {
		if delta && c.value == 0 {
			continue
		}
		c.pt[0] = otlpbuild.NumberPoint{Start: start, Time: now, Int: int64(min(c.value, math.MaxInt64))}
		out = append(out, otlpbuild.Metric{Name: c.def.name, Description: c.def.desc, Unit: c.def.unit,
			Type: otlpbuild.Sum, Temporality: p.opts.Temporality, Monotonic: true, Points: c.pt[:]})
	}
	for _, h := range m.histograms {
		if h.count == 0 {
			continue
		}
		h.pt[0] = otlpbuild.HistogramPoint{Start: start, Time: now, Count: h.count, Sum: h.sum, Min: h.min, Max: h.max,
			Bounds: h.bounds, BucketCounts: h.counts}
		out = append(out, otlpbuild.Metric{Name: h.def.name, Description: h.def.desc, Unit: h.def.unit,
			Type: otlpbuild.Histogram, Temporality: p.opts.Temporality, HistogramPoints: h.pt[:]})
	}
	dst = otlpbuild.AppendMetrics(dst, &p.res, &p.scope, out)
	clear(out) // drop references until next time
	m.out = out[:0]
	for _, c := range m.counters {
		c.changed = false
		if delta {
			c.value = 0
		}
	}
	for _, h := range m.histograms {
		h.changed = false
		if delta {
			h.reset()
		}
	}
	return dst
}
