package otlpbuild

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/internal/protoappend"
)

// TestRandomRequests builds random requests both ways — with this package
// and with the generated types — and checks that the bytes are identical
// and decode to equal messages. The generators cover every field, zero and
// non-zero values, and sizes that cross varint length boundaries.
func TestRandomRequests(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		res, pres := randResource(r)
		sc, psc := randScope(r)

		spans := make([]Span, r.IntN(4))
		pspans := make([]*tracepb.Span, len(spans))
		for j := range spans {
			spans[j], pspans[j] = randSpan(r)
		}
		got := AppendTraces(nil, res, sc, spans)
		want := &tracepb.TracesData{}
		if len(spans) > 0 {
			want.ResourceSpans = []*tracepb.ResourceSpans{{Resource: pres, SchemaUrl: res.SchemaURL,
				ScopeSpans: []*tracepb.ScopeSpans{{Scope: psc, SchemaUrl: sc.SchemaURL, Spans: pspans}}}}
		}
		same(t, i, got, want)

		metrics := make([]Metric, r.IntN(4))
		pmetrics := make([]*metricspb.Metric, len(metrics))
		for j := range metrics {
			metrics[j], pmetrics[j] = randMetric(r)
		}
		got = AppendMetrics(nil, res, sc, metrics)
		wantM := &metricspb.MetricsData{}
		if len(metrics) > 0 {
			wantM.ResourceMetrics = []*metricspb.ResourceMetrics{{Resource: pres, SchemaUrl: res.SchemaURL,
				ScopeMetrics: []*metricspb.ScopeMetrics{{Scope: psc, SchemaUrl: sc.SchemaURL, Metrics: pmetrics}}}}
		}
		same(t, i, got, wantM)

		logs := make([]LogRecord, r.IntN(4))
		plogs := make([]*logspb.LogRecord, len(logs))
		for j := range logs {
			logs[j], plogs[j] = randLog(r)
		}
		got = AppendLogs(nil, res, sc, logs)
		wantL := &logspb.LogsData{}
		if len(logs) > 0 {
			wantL.ResourceLogs = []*logspb.ResourceLogs{{Resource: pres, SchemaUrl: res.SchemaURL,
				ScopeLogs: []*logspb.ScopeLogs{{Scope: psc, SchemaUrl: sc.SchemaURL, LogRecords: plogs}}}}
		}
		same(t, i, got, wantL)
	}
}

func same(t *testing.T, i int, got []byte, want proto.Message) {
	t.Helper()
	wantBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantBytes) {
		dec := want.ProtoReflect().New().Interface()
		err := proto.Unmarshal(got, dec)
		at := 0
		for at < len(got) && at < len(wantBytes) && got[at] == wantBytes[at] {
			at++
		}
		lo := max(at-40, 0)
		t.Fatalf("case %d: bytes differ at %d of %d/%d (decode: %v, equal: %v)\n got …%x\nwant …%x",
			i, at, len(got), len(wantBytes), err, proto.Equal(dec, want), got[lo:min(at+40, len(got))], wantBytes[lo:min(at+40, len(wantBytes))])
	}
}

func randString(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return ""
	case 1:
		return strings.Repeat("é", 60+r.IntN(10)) // crosses 127 bytes
	case 2:
		return strings.Repeat("x", 16380+r.IntN(10)) // crosses 16 KiB
	}
	return strings.Repeat("k", 1+r.IntN(20))
}

func randTime(r *rand.Rand) time.Time {
	if r.IntN(4) == 0 {
		return time.Time{}
	}
	return time.Unix(0, r.Int64N(1<<62))
}

func randAttrs(r *rand.Rand) ([]KeyValue, []*commonpb.KeyValue) {
	n := r.IntN(4)
	kvs := make([]KeyValue, n)
	pkv := make([]*commonpb.KeyValue, n)
	for i := range n {
		k := randString(r)
		var v Value
		var pv *commonpb.AnyValue
		switch r.IntN(6) {
		case 0:
			s := randString(r)
			v, pv = StringValue(s), &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
		case 1:
			b := r.IntN(2) == 0
			v, pv = BoolValue(b), &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
		case 2:
			x := r.Int64() - r.Int64()
			v, pv = IntValue(x), &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: x}}
		case 3:
			f := r.NormFloat64() * math.Pow(10, float64(r.IntN(20)))
			v, pv = DoubleValue(f), &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
		case 4:
			ss := make([]string, r.IntN(3))
			vals := make([]*commonpb.AnyValue, len(ss))
			for j := range ss {
				ss[j] = randString(r)
				vals[j] = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: ss[j]}}
			}
			v, pv = StringsValue(ss), &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}
		default:
			pv = &commonpb.AnyValue{}
		}
		kvs[i], pkv[i] = KeyValue{k, v}, &commonpb.KeyValue{Key: k, Value: pv}
	}
	return kvs, pkv
}

func randResource(r *rand.Rand) (*Resource, *resourcepb.Resource) {
	kv, pkv := randAttrs(r)
	return &Resource{Attributes: kv, SchemaURL: randString(r)}, &resourcepb.Resource{Attributes: pkv}
}

func randScope(r *rand.Rand) (*Scope, *commonpb.InstrumentationScope) {
	kv, pkv := randAttrs(r)
	sc := &Scope{Name: randString(r), Version: randString(r), Attributes: kv, SchemaURL: randString(r)}
	return sc, &commonpb.InstrumentationScope{Name: sc.Name, Version: sc.Version, Attributes: pkv}
}

func randID(r *rand.Rand, b []byte) []byte {
	if r.IntN(3) == 0 {
		clear(b)
		return nil
	}
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0] |= 1 // not all zero
	return append([]byte(nil), b...)
}

func randSpan(r *rand.Rand) (Span, *tracepb.Span) {
	var s Span
	p := &tracepb.Span{}
	p.TraceId = randID(r, s.TraceID[:])
	p.SpanId = randID(r, s.SpanID[:])
	p.ParentSpanId = randID(r, s.ParentSpanID[:])
	s.TraceState, s.Name = randString(r), randString(r)
	p.TraceState, p.Name = s.TraceState, s.Name
	s.Flags = uint32(r.IntN(3)) * 0x101
	s.Kind = SpanKind(r.IntN(6))
	s.Start, s.End = randTime(r), randTime(r)
	p.Flags, p.Kind, p.StartTimeUnixNano, p.EndTimeUnixNano = s.Flags, tracepb.Span_SpanKind(s.Kind), protoappend.UnixNano(s.Start), protoappend.UnixNano(s.End)
	s.Attributes, p.Attributes = randAttrs(r)
	s.DroppedAttributes = uint32(r.IntN(2) * r.IntN(1000))
	p.DroppedAttributesCount = s.DroppedAttributes
	for range r.IntN(3) {
		ev := Event{Time: randTime(r), Name: randString(r)}
		pe := &tracepb.Span_Event{TimeUnixNano: protoappend.UnixNano(ev.Time), Name: ev.Name}
		ev.Attributes, pe.Attributes = randAttrs(r)
		s.Events, p.Events = append(s.Events, ev), append(p.Events, pe)
	}
	s.Status = Status{Code: StatusCode(r.IntN(3)), Message: randString(r)}
	if s.Status.Code != StatusUnset || s.Status.Code == StatusError && s.Status.Message != "" {
		p.Status = &tracepb.Status{Code: tracepb.Status_StatusCode(s.Status.Code)}
		if s.Status.Code == StatusError {
			p.Status.Message = s.Status.Message
		}
	}
	return s, p
}

func randMetric(r *rand.Rand) (Metric, *metricspb.Metric) {
	m := Metric{Name: randString(r), Description: randString(r), Unit: randString(r),
		Type: MetricType(r.IntN(3)), Temporality: Temporality(r.IntN(3)), Monotonic: r.IntN(2) == 0}
	p := &metricspb.Metric{Name: m.Name, Description: m.Description, Unit: m.Unit}
	var nps []*metricspb.NumberDataPoint
	var hps []*metricspb.HistogramDataPoint
	for range r.IntN(3) {
		if m.Type == Histogram {
			h := HistogramPoint{Start: randTime(r), Time: randTime(r), Count: uint64(r.IntN(3)), Sum: r.Float64(),
				Min: r.Float64(), Max: r.Float64(), Flags: uint32(r.IntN(2))}
			for range r.IntN(4) {
				h.Bounds = append(h.Bounds, r.Float64())
			}
			if r.IntN(2) == 0 {
				for range len(h.Bounds) + 1 {
					h.BucketCounts = append(h.BucketCounts, uint64(r.IntN(100)))
				}
			}
			ph := &metricspb.HistogramDataPoint{StartTimeUnixNano: protoappend.UnixNano(h.Start), TimeUnixNano: protoappend.UnixNano(h.Time),
				Count: h.Count, BucketCounts: h.BucketCounts, ExplicitBounds: h.Bounds, Flags: h.Flags}
			if h.Count > 0 {
				ph.Sum, ph.Min, ph.Max = &h.Sum, &h.Min, &h.Max
			}
			h.Attributes, ph.Attributes = randAttrs(r)
			m.HistogramPoints, hps = append(m.HistogramPoints, h), append(hps, ph)
			continue
		}
		n := NumberPoint{Start: randTime(r), Time: randTime(r), Int: r.Int64() - r.Int64(), Double: r.NormFloat64(),
			IsDouble: r.IntN(2) == 0, Flags: uint32(r.IntN(2))}
		pn := &metricspb.NumberDataPoint{StartTimeUnixNano: protoappend.UnixNano(n.Start), TimeUnixNano: protoappend.UnixNano(n.Time), Flags: n.Flags}
		if n.IsDouble {
			pn.Value = &metricspb.NumberDataPoint_AsDouble{AsDouble: n.Double}
		} else {
			pn.Value = &metricspb.NumberDataPoint_AsInt{AsInt: n.Int}
		}
		n.Attributes, pn.Attributes = randAttrs(r)
		m.Points, nps = append(m.Points, n), append(nps, pn)
	}
	switch m.Type {
	case Gauge:
		p.Data = &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: nps}}
	case Sum:
		p.Data = &metricspb.Metric_Sum{Sum: &metricspb.Sum{DataPoints: nps,
			AggregationTemporality: metricspb.AggregationTemporality(m.Temporality), IsMonotonic: m.Monotonic}}
	case Histogram:
		p.Data = &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: hps,
			AggregationTemporality: metricspb.AggregationTemporality(m.Temporality)}}
	}
	return m, p
}

func randLog(r *rand.Rand) (LogRecord, *logspb.LogRecord) {
	l := LogRecord{Time: randTime(r), ObservedTime: randTime(r), SeverityNumber: Severity(r.IntN(25)),
		SeverityText: randString(r), Flags: uint32(r.IntN(2)), EventName: randString(r),
		DroppedAttributes: uint32(r.IntN(2) * r.IntN(5))}
	p := &logspb.LogRecord{TimeUnixNano: protoappend.UnixNano(l.Time), ObservedTimeUnixNano: protoappend.UnixNano(l.ObservedTime),
		SeverityNumber: logspb.SeverityNumber(l.SeverityNumber), SeverityText: l.SeverityText, Flags: l.Flags,
		EventName: l.EventName, DroppedAttributesCount: l.DroppedAttributes}
	if r.IntN(3) > 0 {
		b := randString(r)
		l.Body, p.Body = StringValue(b), &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: b}}
	}
	p.TraceId = randID(r, l.TraceID[:])
	p.SpanId = randID(r, l.SpanID[:])
	l.Attributes, p.Attributes = randAttrs(r)
	return l, p
}
