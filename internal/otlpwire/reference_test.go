package otlpwire

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// referenceRequest converts spans to the generated proto types the obvious
// way, sharing no code with the encoder. Tests compare the encoder against
// it, and the benchmarks use it (plus proto.Marshal) as the baseline.
func referenceRequest(spans []sdktrace.ReadOnlySpan) *tracepb.TracesData {
	req := &tracepb.TracesData{}
	type scopeKey struct {
		name, version, schema string
		attrs                 attribute.Distinct
	}
	type resEntry struct {
		rs     *tracepb.ResourceSpans
		res    *resource.Resource
		scopes map[scopeKey]*tracepb.ScopeSpans
	}
	var entries []*resEntry
	for _, s := range spans {
		res := s.Resource()
		var e *resEntry
		for _, cand := range entries {
			if cand.res == res || (cand.res.SchemaURL() == res.SchemaURL() && cand.res.Equal(res)) {
				e = cand
				break
			}
		}
		if e == nil {
			e = &resEntry{
				res: res,
				rs: &tracepb.ResourceSpans{
					Resource:  &resourcepb.Resource{Attributes: referenceKeyValues(res.Attributes())},
					SchemaUrl: res.SchemaURL(),
				},
				scopes: map[scopeKey]*tracepb.ScopeSpans{},
			}
			entries = append(entries, e)
			req.ResourceSpans = append(req.ResourceSpans, e.rs)
		}
		sc := s.InstrumentationScope()
		k := scopeKey{sc.Name, sc.Version, sc.SchemaURL, sc.Attributes.Equivalent()}
		ss := e.scopes[k]
		if ss == nil {
			ss = &tracepb.ScopeSpans{Scope: referenceScope(sc), SchemaUrl: sc.SchemaURL}
			e.scopes[k] = ss
			e.rs.ScopeSpans = append(e.rs.ScopeSpans, ss)
		}
		ss.Spans = append(ss.Spans, referenceSpan(s))
	}
	return req
}

func referenceScope(sc instrumentation.Scope) *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{
		Name:       sc.Name,
		Version:    sc.Version,
		Attributes: referenceKeyValues(sc.Attributes.ToSlice()),
	}
}

func referenceSpan(s sdktrace.ReadOnlySpan) *tracepb.Span {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	out := &tracepb.Span{
		TraceId:                tid[:],
		SpanId:                 sid[:],
		TraceState:             sc.TraceState().String(),
		Name:                   s.Name(),
		Kind:                   tracepb.Span_SpanKind(s.SpanKind()),
		StartTimeUnixNano:      referenceTime(s.StartTime().IsZero(), s.StartTime().UnixNano()),
		EndTimeUnixNano:        referenceTime(s.EndTime().IsZero(), s.EndTime().UnixNano()),
		Attributes:             referenceKeyValues(s.Attributes()),
		DroppedAttributesCount: uint32(s.DroppedAttributes()),
		DroppedEventsCount:     uint32(s.DroppedEvents()),
		DroppedLinksCount:      uint32(s.DroppedLinks()),
		Status:                 &tracepb.Status{},
		Flags:                  uint32(sc.TraceFlags()) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK),
	}
	if s.SpanKind() > trace.SpanKindConsumer || s.SpanKind() < 0 {
		out.Kind = tracepb.Span_SPAN_KIND_UNSPECIFIED
	}
	if p := s.Parent(); p.SpanID().IsValid() {
		psid := p.SpanID()
		out.ParentSpanId = psid[:]
	}
	if s.Parent().IsRemote() {
		out.Flags |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
	}
	switch s.Status().Code {
	case codes.Ok:
		out.Status.Code = tracepb.Status_STATUS_CODE_OK
	case codes.Error:
		out.Status.Code = tracepb.Status_STATUS_CODE_ERROR
		out.Status.Message = s.Status().Description
	}
	for _, ev := range s.Events() {
		out.Events = append(out.Events, &tracepb.Span_Event{
			TimeUnixNano:           referenceTime(ev.Time.IsZero(), ev.Time.UnixNano()),
			Name:                   ev.Name,
			Attributes:             referenceKeyValues(ev.Attributes),
			DroppedAttributesCount: uint32(ev.DroppedAttributeCount),
		})
	}
	for _, l := range s.Links() {
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		flags := uint32(l.SpanContext.TraceFlags()) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
		if l.SpanContext.IsRemote() {
			flags |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
		}
		out.Links = append(out.Links, &tracepb.Span_Link{
			TraceId:                ltid[:],
			SpanId:                 lsid[:],
			TraceState:             l.SpanContext.TraceState().String(),
			Attributes:             referenceKeyValues(l.Attributes),
			DroppedAttributesCount: uint32(l.DroppedAttributeCount),
			Flags:                  flags,
		})
	}
	return out
}

func referenceTime(zero bool, n int64) uint64 {
	if zero || n < 0 {
		return 0
	}
	return uint64(n)
}

func referenceKeyValues(kvs []attribute.KeyValue) []*commonpb.KeyValue {
	var out []*commonpb.KeyValue
	for _, kv := range kvs {
		out = append(out, &commonpb.KeyValue{Key: string(kv.Key), Value: referenceValue(kv.Value)})
	}
	return out
}

func referenceValue(v attribute.Value) *commonpb.AnyValue {
	av := &commonpb.AnyValue{}
	switch v.Type() {
	case attribute.BOOL:
		av.Value = &commonpb.AnyValue_BoolValue{BoolValue: v.AsBool()}
	case attribute.INT64:
		av.Value = &commonpb.AnyValue_IntValue{IntValue: v.AsInt64()}
	case attribute.FLOAT64:
		av.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: v.AsFloat64()}
	case attribute.STRING:
		av.Value = &commonpb.AnyValue_StringValue{StringValue: v.AsString()}
	case attribute.BYTESLICE:
		av.Value = &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}
	case attribute.BOOLSLICE:
		arr := &commonpb.ArrayValue{}
		for _, x := range v.AsBoolSlice() {
			arr.Values = append(arr.Values, &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: x}})
		}
		av.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: arr}
	case attribute.INT64SLICE:
		arr := &commonpb.ArrayValue{}
		for _, x := range v.AsInt64Slice() {
			arr.Values = append(arr.Values, &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: x}})
		}
		av.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: arr}
	case attribute.FLOAT64SLICE:
		arr := &commonpb.ArrayValue{}
		for _, x := range v.AsFloat64Slice() {
			arr.Values = append(arr.Values, &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: x}})
		}
		av.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: arr}
	case attribute.STRINGSLICE:
		arr := &commonpb.ArrayValue{}
		for _, x := range v.AsStringSlice() {
			arr.Values = append(arr.Values, &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: x}})
		}
		av.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: arr}
	case attribute.SLICE:
		arr := &commonpb.ArrayValue{}
		for _, x := range v.AsSlice() {
			arr.Values = append(arr.Values, referenceValue(x))
		}
		av.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: arr}
	case attribute.MAP:
		list := &commonpb.KeyValueList{}
		for _, kv := range v.AsMap() {
			list.Values = append(list.Values, &commonpb.KeyValue{Key: string(kv.Key), Value: referenceValue(kv.Value)})
		}
		av.Value = &commonpb.AnyValue_KvlistValue{KvlistValue: list}
	}
	return av
}
