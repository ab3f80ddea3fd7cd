// Package selfmetrics reports what lambdaotel-extension does with the
// telemetry it is given — received, exported, written to the fallback,
// dropped and why, export retries and failures, flush durations, queue
// use — as OTLP metrics with the function's resource, so that a backend
// shows an extension that drops data as plainly as one that works, and as
// log attributes for the line the extension writes at SHUTDOWN.
//
// The counters live where the work happens (extension/queue,
// extension/export, extension/flush); this package only keeps the flush
// duration histograms and turns a Snapshot of everything into an
// ExportMetricsServiceRequest. Sums are cumulative from the extension's
// start, which is also each point's start time, so a report that is lost
// loses nothing but resolution.
//
// Metrics (all monotonic Sums unless said otherwise):
//
//	lambdaotel.extension.received        {item}    signal
//	lambdaotel.extension.exported        {item}    signal (accepted by the backend)
//	lambdaotel.extension.fallback        {item}    signal (written to stdout as otlp_fallback)
//	lambdaotel.extension.dropped         {item}    signal, reason (evicted, too_large, queue_full, export_failed, shutdown_deadline)
//	lambdaotel.extension.export.requests {request} outcome (success, failure, skipped)
//	lambdaotel.extension.export.retries  {request}
//	lambdaotel.extension.export.rejected {item}    (partial success)
//	lambdaotel.extension.breaker.opens   {event}
//	lambdaotel.extension.flush.duration  s         reason (Histogram)
//	lambdaotel.extension.platform.events {event}   (Telemetry API events handled)
//	lambdaotel.extension.platform.anomalies {event} kind (unknown_type, undecodable, missing_request_id, duplicate,
//	                                                 out_of_order, report_missing, runtime_done_missing, evicted,
//	                                                 late_record, late_parent, corrupt_stdout_record, dropped_by_lambda, over_budget)
//	lambdaotel.extension.queue.size      By        (Gauge: queued and in flight)
//	lambdaotel.extension.queue.capacity  By        (Gauge)
package selfmetrics

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/export"
	"github.com/lambdaotel/lambdaotel/extension/flush"
	"github.com/lambdaotel/lambdaotel/extension/platformtel"
	"github.com/lambdaotel/lambdaotel/extension/queue"
	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
)

// ScopeName names the instrumentation scope of the metrics.
const ScopeName = "lambdaotel-extension"

// durationBounds are the flush-duration histogram's bucket bounds in
// seconds: from a no-op flush to the longest budget.
var durationBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Recorder keeps the flush-duration histograms, one per flush reason.
// It is safe for concurrent use.
type Recorder struct {
	start time.Time
	mu    sync.Mutex
	hist  map[string]*histogram
	order []string // reasons in first-seen order, for a stable encoding
}

type histogram struct {
	count    uint64
	sum      float64
	min, max float64
	buckets  []uint64
}

// New returns a Recorder whose cumulative points start at start.
func New(start time.Time) *Recorder {
	return &Recorder{start: start, hist: map[string]*histogram{}}
}

// ObserveFlush records one flush of reason that took d.
func (r *Recorder) ObserveFlush(reason string, d time.Duration) {
	s := d.Seconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hist[reason]
	if h == nil {
		h = &histogram{buckets: make([]uint64, len(durationBounds)+1), min: s, max: s}
		r.hist[reason] = h
		r.order = append(r.order, reason)
	}
	h.count++
	h.sum += s
	h.min, h.max = min(h.min, s), max(h.max, s)
	i := 0
	for i < len(durationBounds) && s > durationBounds[i] {
		i++
	}
	h.buckets[i]++
}

// Snapshot is the other components' counters at one moment.
type Snapshot struct {
	Time   time.Time
	Queue  queue.Stats
	Export export.Stats
	Flush  flush.Stats
	// Platform is the platform telemetry's counters (zero when the
	// Telemetry API is off).
	Platform platformtel.Stats
}

// anomalies lists the platform telemetry's anomaly counters by kind.
func anomalies(p platformtel.Stats) []struct {
	kind string
	n    uint64
} {
	return []struct {
		kind string
		n    uint64
	}{
		{"unknown_type", p.UnknownTypes}, {"undecodable", p.Undecodable}, {"missing_request_id", p.MissingRequestID},
		{"duplicate", p.Duplicates}, {"out_of_order", p.OutOfOrder + p.RuntimeDoneWithoutStart + p.ReportWithoutStart},
		{"report_missing", p.ReportMissing}, {"runtime_done_missing", p.RuntimeDoneMissing}, {"evicted", p.Evictions},
		{"late_record", p.LateRecords}, {"late_parent", p.LateParents}, {"corrupt_stdout_record", p.CorruptStdoutRecords},
		{"dropped_by_lambda", p.PlatformDroppedRecords},
		{"over_budget", p.DroppedSpans + p.DroppedLogRecords + p.DroppedStdoutRecords},
	}
}

var signals = [...]queue.Signal{queue.Traces, queue.Metrics, queue.Logs}

// AppendRequest appends an ExportMetricsServiceRequest for s under res.
func (r *Recorder) AppendRequest(dst []byte, res *otlpbuild.Resource, s Snapshot) []byte {
	sum := func(name, unit, desc string, points []otlpbuild.NumberPoint) otlpbuild.Metric {
		for i := range points {
			points[i].Start, points[i].Time = r.start, s.Time
		}
		return otlpbuild.Metric{Name: name, Unit: unit, Description: desc, Type: otlpbuild.Sum,
			Temporality: otlpbuild.Cumulative, Monotonic: true, Points: points}
	}
	point := func(v int64, attrs ...otlpbuild.KeyValue) otlpbuild.NumberPoint {
		return otlpbuild.NumberPoint{Int: v, Attributes: attrs}
	}
	var received, exported, fallback, dropped []otlpbuild.NumberPoint
	for _, sig := range signals {
		st := s.Queue.Signal(sig)
		name := sig.String()
		attr := otlpbuild.String("signal", name)
		fb := s.Flush.FallbackItems[name]
		late := s.Flush.LateItems[name]
		received = append(received, point(st.Received.Items, attr))
		exported = append(exported, point(st.Exported.Items-fb, attr))
		fallback = append(fallback, point(fb, attr))
		for _, d := range []struct {
			reason string
			n      int64
		}{
			{"evicted", st.Evicted.Items}, {"too_large", st.TooLarge.Items}, {"queue_full", st.Full.Items},
			{"export_failed", st.ExportFailed.Items - late}, {"shutdown_deadline", late},
		} {
			dropped = append(dropped, point(d.n, attr, otlpbuild.String("reason", d.reason)))
		}
	}
	e := s.Export
	metrics := []otlpbuild.Metric{
		sum("lambdaotel.extension.received", "{item}", "Spans, metric data points and log records queued: from the function, and made from platform telemetry.", received),
		sum("lambdaotel.extension.exported", "{item}", "Items the backend accepted.", exported),
		sum("lambdaotel.extension.fallback", "{item}", "Items written to stdout as otlp_fallback lines.", fallback),
		sum("lambdaotel.extension.dropped", "{item}", "Items lost, by reason.", dropped),
		sum("lambdaotel.extension.export.requests", "{request}", "Export requests by outcome.", []otlpbuild.NumberPoint{
			point(e.Exports, otlpbuild.String("outcome", "success")),
			point(e.Failures, otlpbuild.String("outcome", "failure")),
			point(e.Skipped, otlpbuild.String("outcome", "skipped")),
		}),
		sum("lambdaotel.extension.export.retries", "{request}", "Export attempts after the first.", []otlpbuild.NumberPoint{point(e.Retries)}),
		sum("lambdaotel.extension.export.rejected", "{item}", "Items the backend refused in a partial success.", []otlpbuild.NumberPoint{point(e.Rejected)}),
		sum("lambdaotel.extension.breaker.opens", "{event}", "Times the backend was judged unavailable.", []otlpbuild.NumberPoint{point(e.BreakerOpens)}),
	}
	var an []otlpbuild.NumberPoint
	for _, a := range anomalies(s.Platform) {
		an = append(an, point(int64(a.n), otlpbuild.String("kind", a.kind)))
	}
	metrics = append(metrics,
		sum("lambdaotel.extension.platform.events", "{event}", "Telemetry API events handled.", []otlpbuild.NumberPoint{point(int64(s.Platform.Events))}),
		sum("lambdaotel.extension.platform.anomalies", "{event}", "Telemetry API records that were odd or lost, by kind.", an))
	total := s.Queue.Total()
	gauge := func(name, desc string, v int64) otlpbuild.Metric {
		return otlpbuild.Metric{Name: name, Unit: "By", Description: desc, Type: otlpbuild.Gauge,
			Points: []otlpbuild.NumberPoint{{Int: v, Time: s.Time}}}
	}
	metrics = append(metrics,
		gauge("lambdaotel.extension.queue.size", "Bytes queued or in flight.", total.Queued.Bytes+total.InFlight.Bytes),
		gauge("lambdaotel.extension.queue.capacity", "The queue's byte budget.", s.Queue.Budget.MaxBytes))

	r.mu.Lock()
	hp := make([]otlpbuild.HistogramPoint, 0, len(r.order))
	for _, reason := range r.order {
		h := r.hist[reason]
		hp = append(hp, otlpbuild.HistogramPoint{
			Attributes: []otlpbuild.KeyValue{otlpbuild.String("reason", reason)},
			Start:      r.start, Time: s.Time,
			Count: h.count, Sum: h.sum, Min: h.min, Max: h.max,
			Bounds: durationBounds, BucketCounts: append([]uint64(nil), h.buckets...),
		})
	}
	r.mu.Unlock()
	if len(hp) > 0 {
		metrics = append(metrics, otlpbuild.Metric{Name: "lambdaotel.extension.flush.duration", Unit: "s",
			Description: "Time a flush took, by what started it.", Type: otlpbuild.Histogram,
			Temporality: otlpbuild.Cumulative, HistogramPoints: hp})
	}
	return otlpbuild.AppendMetrics(dst, res, &otlpbuild.Scope{Name: ScopeName}, metrics)
}

// LogAttrs summarises s for a log line: totals across signals.
func LogAttrs(s Snapshot) []slog.Attr {
	t := s.Queue.Total()
	var fb, late int64
	for _, n := range s.Flush.FallbackItems {
		fb += n
	}
	for _, n := range s.Flush.LateItems {
		late += n
	}
	attrs := []slog.Attr{
		slog.Int64("receivedItems", t.Received.Items),
		slog.Int64("exportedItems", t.Exported.Items-fb),
		slog.Int64("droppedItems", t.Dropped().Items),
		slog.Int64("fallbackItems", fb),
		slog.Int64("evictedItems", t.Evicted.Items),
		slog.Int64("refusedItems", t.Full.Items+t.TooLarge.Items),
		slog.Int64("lateItems", late),
		slog.Int64("exports", s.Export.Exports),
		slog.Int64("exportFailures", s.Export.Failures),
		slog.Int64("exportRetries", s.Export.Retries),
		slog.Int64("exportsSkipped", s.Export.Skipped),
		slog.Int64("breakerOpens", s.Export.BreakerOpens),
		slog.Int64("platformEvents", int64(s.Platform.Events)),
		slog.Int64("platformAnomalies", int64(anomalyTotal(s.Platform))),
	}
	var kinds []string
	for _, a := range anomalies(s.Platform) {
		if a.n > 0 {
			kinds = append(kinds, a.kind+":"+strconv.FormatUint(a.n, 10))
		}
	}
	if len(kinds) > 0 {
		attrs = append(attrs, slog.String("platformAnomalyKinds", strings.Join(kinds, ",")))
	}
	return attrs
}

func anomalyTotal(p platformtel.Stats) uint64 {
	var n uint64
	for _, a := range anomalies(p) {
		n += a.n
	}
	return n
}
