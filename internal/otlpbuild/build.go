// Package otlpbuild writes OTLP export requests (ExportTraceServiceRequest,
// ExportMetricsServiceRequest, ExportLogsServiceRequest) as protobuf bytes,
// from plain data structs, without the generated OTLP types.
//
// It exists for telemetry the extension makes itself — platform spans,
// metrics and logs from the Telemetry API, and its own self-observation
// metrics — and for the size budget: the generated types and the reflection
// runtime they need would cost the extension binary megabytes, while this
// writes the wire format directly with pbwire. Nested messages are written
// in one pass with a length placeholder that is patched (and, rarely,
// widened or narrowed) once the body is known, so appending to a buffer with
// spare capacity allocates nothing.
//
// There are two ways to build a request:
//
//   - AppendTraces, AppendMetrics and AppendLogs write one whole request (one
//     resource, one scope) from a slice of items;
//   - AppendSpan, AppendMetric and AppendLogRecord encode items one at a
//     time into a caller's buffer, as they happen, and WrapTraces,
//     WrapMetrics and WrapLogs later put the resource and scope around them.
//
// Either way no items produce no bytes, which is the valid encoding of an
// empty request, and since each request has a single repeated field,
// concatenating requests merges them.
//
// Fields are written in field-number order (oneof members last, as Go's
// protobuf runtime does) with proto3's defaults left out, so the output is
// byte for byte what proto.Marshal writes for the equivalent generated
// message. What is supported is what the extension needs: attribute values
// of the scalar kinds and string arrays; spans with events and status (no
// links); gauges, sums and explicit-bounds histograms (no exponential
// histograms, summaries or exemplars); log records with a body value.
package otlpbuild

import (
	"math"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
	"github.com/lambdaotel/lambdaotel/internal/protoappend"
)

// AppendTraces appends an ExportTraceServiceRequest holding spans under res
// and scope, and returns the extended slice. No spans append nothing.
func AppendTraces(dst []byte, res *Resource, scope *Scope, spans []Span) []byte {
	if len(spans) == 0 {
		return dst
	}
	b, rpos, spos := openGroup(dst, res, scope)
	for i := range spans {
		b = AppendSpan(b, &spans[i])
	}
	return closeGroup(b, res, scope, rpos, spos)
}

// WrapTraces appends an ExportTraceServiceRequest whose spans are the
// concatenated output of AppendSpan calls. Empty spans append nothing.
func WrapTraces(dst []byte, res *Resource, scope *Scope, spans []byte) []byte {
	return wrap(dst, res, scope, spans)
}

// AppendSpan appends s as one ScopeSpans.spans field, for WrapTraces.
func AppendSpan(b []byte, s *Span) []byte {
	b, pos := protoappend.OpenMsg(b, tagScopeXItems, reserveLarge)
	b = appendID(b, tagSpanTraceID, s.TraceID[:])
	b = appendID(b, tagSpanSpanID, s.SpanID[:])
	b = protoappend.String(b, tagSpanTraceState, s.TraceState)
	b = appendID(b, tagSpanParentSpanID, s.ParentSpanID[:])
	b = protoappend.String(b, tagSpanName, s.Name)
	b = appendEnum(b, tagSpanKind, int32(s.Kind))
	b = protoappend.Fixed64(b, tagSpanStartTime, protoappend.UnixNano(s.Start))
	b = protoappend.Fixed64(b, tagSpanEndTime, protoappend.UnixNano(s.End))
	b = appendKeyValues(b, tagSpanAttributes, s.Attributes)
	b = appendVarint(b, tagSpanDroppedAttributes, uint64(s.DroppedAttributes))
	for i := range s.Events {
		b = appendEvent(b, &s.Events[i])
	}
	b = appendStatus(b, &s.Status)
	if s.Flags != 0 {
		b = append(b, tagSpanFlags[0], tagSpanFlags[1])
		b = pbwire.AppendFixed32(b, s.Flags)
	}
	return protoappend.CloseMsg(b, pos, reserveLarge)
}

func appendEvent(b []byte, ev *Event) []byte {
	b, pos := protoappend.OpenMsg(b, tagSpanEvents, reserveSmall)
	b = protoappend.Fixed64(b, tagEventTime, protoappend.UnixNano(ev.Time))
	b = protoappend.String(b, tagEventName, ev.Name)
	b = appendKeyValues(b, tagEventAttributes, ev.Attributes)
	return protoappend.CloseMsg(b, pos, reserveSmall)
}

// appendStatus writes Span.status only when it says something: an unset
// status is the message's default.
func appendStatus(b []byte, st *Status) []byte {
	msg := ""
	if st.Code == StatusError {
		msg = st.Message
	}
	if st.Code == StatusUnset && msg == "" {
		return b
	}
	n := 0
	if msg != "" {
		n += 1 + pbwire.SizeBytes(len(msg))
	}
	if st.Code != 0 {
		n += 1 + pbwire.SizeVarint(uint64(int64(st.Code)))
	}
	b = append(b, tagSpanStatus)
	b = pbwire.AppendVarint(b, uint64(n))
	b = protoappend.String(b, tagStatusMessage, msg)
	return appendEnum(b, tagStatusCode, int32(st.Code))
}

// AppendMetrics appends an ExportMetricsServiceRequest holding metrics under
// res and scope, and returns the extended slice. No metrics append nothing.
func AppendMetrics(dst []byte, res *Resource, scope *Scope, metrics []Metric) []byte {
	if len(metrics) == 0 {
		return dst
	}
	b, rpos, spos := openGroup(dst, res, scope)
	for i := range metrics {
		b = AppendMetric(b, &metrics[i])
	}
	return closeGroup(b, res, scope, rpos, spos)
}

// WrapMetrics appends an ExportMetricsServiceRequest whose metrics are the
// concatenated output of AppendMetric calls. Empty metrics append nothing.
func WrapMetrics(dst []byte, res *Resource, scope *Scope, metrics []byte) []byte {
	return wrap(dst, res, scope, metrics)
}

// AppendMetric appends m as one ScopeMetrics.metrics field, for
// WrapMetrics. An unknown Type writes the metric without data.
func AppendMetric(b []byte, m *Metric) []byte {
	b, pos := protoappend.OpenMsg(b, tagScopeXItems, reserveLarge)
	b = protoappend.String(b, tagMetricName, m.Name)
	b = protoappend.String(b, tagMetricDescription, m.Description)
	b = protoappend.String(b, tagMetricUnit, m.Unit)
	var dpos int
	switch m.Type {
	case Gauge:
		b, dpos = protoappend.OpenMsg(b, tagMetricGauge, reserveLarge)
		for i := range m.Points {
			b = appendNumberPoint(b, &m.Points[i])
		}
		b = protoappend.CloseMsg(b, dpos, reserveLarge)
	case Sum:
		b, dpos = protoappend.OpenMsg(b, tagMetricSum, reserveLarge)
		for i := range m.Points {
			b = appendNumberPoint(b, &m.Points[i])
		}
		b = appendEnum(b, tagTemporality, int32(m.Temporality))
		if m.Monotonic {
			b = append(b, tagMonotonic, 1)
		}
		b = protoappend.CloseMsg(b, dpos, reserveLarge)
	case Histogram:
		b, dpos = protoappend.OpenMsg(b, tagMetricHistogram, reserveLarge)
		for i := range m.HistogramPoints {
			b = appendHistogramPoint(b, &m.HistogramPoints[i])
		}
		b = appendEnum(b, tagTemporality, int32(m.Temporality))
		b = protoappend.CloseMsg(b, dpos, reserveLarge)
	}
	return protoappend.CloseMsg(b, pos, reserveLarge)
}

func appendNumberPoint(b []byte, p *NumberPoint) []byte {
	b, pos := protoappend.OpenMsg(b, tagDataPoints, reserveSmall)
	b = protoappend.Fixed64(b, tagNumberStart, protoappend.UnixNano(p.Start))
	b = protoappend.Fixed64(b, tagNumberTime, protoappend.UnixNano(p.Time))
	b = appendKeyValues(b, tagNumberAttributes, p.Attributes)
	b = appendVarint(b, tagNumberFlags, uint64(p.Flags))
	// The value is a oneof: written even when zero, and last, where Go's
	// protobuf runtime puts oneof fields.
	if p.IsDouble {
		b = append(b, tagNumberDouble)
		b = pbwire.AppendFixed64(b, math.Float64bits(p.Double))
	} else {
		b = append(b, tagNumberInt)
		b = pbwire.AppendFixed64(b, uint64(p.Int))
	}
	return protoappend.CloseMsg(b, pos, reserveSmall)
}

func appendHistogramPoint(b []byte, p *HistogramPoint) []byte {
	b, pos := protoappend.OpenMsg(b, tagDataPoints, reserveLarge)
	b = protoappend.Fixed64(b, tagHistStart, protoappend.UnixNano(p.Start))
	b = protoappend.Fixed64(b, tagHistTime, protoappend.UnixNano(p.Time))
	b = protoappend.Fixed64(b, tagHistCount, p.Count)
	if p.Count > 0 {
		// Optional field: presence matters, so a zero sum is written too.
		b = append(b, tagHistSum)
		b = pbwire.AppendFixed64(b, math.Float64bits(p.Sum))
	}
	if len(p.BucketCounts) > 0 {
		b = append(b, tagHistBucketCounts)
		b = pbwire.AppendVarint(b, uint64(8*len(p.BucketCounts)))
		for _, c := range p.BucketCounts {
			b = pbwire.AppendFixed64(b, c)
		}
	}
	if len(p.Bounds) > 0 {
		b = append(b, tagHistBounds)
		b = pbwire.AppendVarint(b, uint64(8*len(p.Bounds)))
		for _, f := range p.Bounds {
			b = pbwire.AppendFixed64(b, math.Float64bits(f))
		}
	}
	b = appendKeyValues(b, tagHistAttributes, p.Attributes)
	b = appendVarint(b, tagHistFlags, uint64(p.Flags))
	if p.Count > 0 {
		b = append(b, tagHistMin)
		b = pbwire.AppendFixed64(b, math.Float64bits(p.Min))
		b = append(b, tagHistMax)
		b = pbwire.AppendFixed64(b, math.Float64bits(p.Max))
	}
	return protoappend.CloseMsg(b, pos, reserveLarge)
}

// AppendLogs appends an ExportLogsServiceRequest holding records under res
// and scope, and returns the extended slice. No records append nothing.
func AppendLogs(dst []byte, res *Resource, scope *Scope, records []LogRecord) []byte {
	if len(records) == 0 {
		return dst
	}
	b, rpos, spos := openGroup(dst, res, scope)
	for i := range records {
		b = AppendLogRecord(b, &records[i])
	}
	return closeGroup(b, res, scope, rpos, spos)
}

// WrapLogs appends an ExportLogsServiceRequest whose records are the
// concatenated output of AppendLogRecord calls. Empty records append
// nothing.
func WrapLogs(dst []byte, res *Resource, scope *Scope, records []byte) []byte {
	return wrap(dst, res, scope, records)
}

// AppendLogRecord appends r as one ScopeLogs.log_records field, for
// WrapLogs.
func AppendLogRecord(b []byte, r *LogRecord) []byte {
	b, pos := protoappend.OpenMsg(b, tagScopeXItems, reserveLarge)
	b = protoappend.Fixed64(b, tagLogTime, protoappend.UnixNano(r.Time))
	b = appendEnum(b, tagLogSeverityNumber, int32(r.SeverityNumber))
	b = protoappend.String(b, tagLogSeverityText, r.SeverityText)
	if r.Body.kind != KindEmpty {
		b = appendAnyValue(b, tagLogBody, &r.Body)
	}
	b = appendKeyValues(b, tagLogAttributes, r.Attributes)
	b = appendVarint(b, tagLogDroppedAttributes, uint64(r.DroppedAttributes))
	if r.Flags != 0 {
		b = append(b, tagLogFlags)
		b = pbwire.AppendFixed32(b, r.Flags)
	}
	b = appendID(b, tagLogTraceID, r.TraceID[:])
	b = appendID(b, tagLogSpanID, r.SpanID[:])
	b = protoappend.Fixed64(b, tagLogObservedTime, protoappend.UnixNano(r.ObservedTime))
	b = protoappend.String(b, tagLogEventName, r.EventName)
	return protoappend.CloseMsg(b, pos, reserveLarge)
}
