// Package otlpwire converts OpenTelemetry SDK spans to the OTLP protobuf wire
// format. It is the one conversion from sdktrace.ReadOnlySpan to
// opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest in this
// module, shared by every exporter.
//
// It writes protobuf bytes directly with internal/pbwire instead of building the
// generated proto structs and calling proto.Marshal, because it runs on every
// invocation of a Lambda function: building the structs costs one heap
// allocation per span, attribute, event and link, and reflection-based
// marshalling walks them again. Here nested messages are written in one pass
// with a length placeholder that is patched (and, rarely, widened or narrowed)
// once the body is known, and grouping uses pooled scratch space, so encoding
// spans with scalar attributes allocates nothing in steady state.
package otlpwire

import (
	"math"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
	"github.com/lambdaotel/lambdaotel/internal/protoappend"
)

// Protobuf wire types.
const (
	wireVarint  = byte(pbwire.VarintType)
	wireFixed64 = byte(pbwire.Fixed64Type)
	wireBytes   = byte(pbwire.BytesType)
	wireFixed32 = byte(pbwire.Fixed32Type)
)

// Pre-computed field tags (field number << 3 | wire type). Every field used
// here except Span.flags has a number below 16, so its tag is one byte.
const (
	// ExportTraceServiceRequest
	tagRequestResourceSpans = 1<<3 | wireBytes

	// ResourceSpans
	tagResourceSpansResource   = 1<<3 | wireBytes
	tagResourceSpansScopeSpans = 2<<3 | wireBytes
	tagResourceSpansSchemaURL  = 3<<3 | wireBytes

	// Resource
	tagResourceAttributes = 1<<3 | wireBytes

	// ScopeSpans
	tagScopeSpansScope     = 1<<3 | wireBytes
	tagScopeSpansSpans     = 2<<3 | wireBytes
	tagScopeSpansSchemaURL = 3<<3 | wireBytes

	// InstrumentationScope
	tagScopeName       = 1<<3 | wireBytes
	tagScopeVersion    = 2<<3 | wireBytes
	tagScopeAttributes = 3<<3 | wireBytes

	// Span
	tagSpanTraceID           = 1<<3 | wireBytes
	tagSpanSpanID            = 2<<3 | wireBytes
	tagSpanTraceState        = 3<<3 | wireBytes
	tagSpanParentSpanID      = 4<<3 | wireBytes
	tagSpanName              = 5<<3 | wireBytes
	tagSpanKind              = 6<<3 | wireVarint
	tagSpanStartTime         = 7<<3 | wireFixed64
	tagSpanEndTime           = 8<<3 | wireFixed64
	tagSpanAttributes        = 9<<3 | wireBytes
	tagSpanDroppedAttributes = 10<<3 | wireVarint
	tagSpanEvents            = 11<<3 | wireBytes
	tagSpanDroppedEvents     = 12<<3 | wireVarint
	tagSpanLinks             = 13<<3 | wireBytes
	tagSpanDroppedLinks      = 14<<3 | wireVarint
	tagSpanStatus            = 15<<3 | wireBytes
	// Span.flags is field 16, fixed32: its tag (16<<3|5 = 133) is the
	// two-byte varint 0x85 0x01.
	tagSpanFlags0 = 0x85
	tagSpanFlags1 = 0x01

	// Span.Event
	tagEventTime              = 1<<3 | wireFixed64
	tagEventName              = 2<<3 | wireBytes
	tagEventAttributes        = 3<<3 | wireBytes
	tagEventDroppedAttributes = 4<<3 | wireVarint

	// Span.Link
	tagLinkTraceID           = 1<<3 | wireBytes
	tagLinkSpanID            = 2<<3 | wireBytes
	tagLinkTraceState        = 3<<3 | wireBytes
	tagLinkAttributes        = 4<<3 | wireBytes
	tagLinkDroppedAttributes = 5<<3 | wireVarint
	tagLinkFlags             = 6<<3 | wireFixed32

	// Status
	tagStatusMessage = 2<<3 | wireBytes
	tagStatusCode    = 3<<3 | wireVarint

	// KeyValue
	tagKeyValueKey   = 1<<3 | wireBytes
	tagKeyValueValue = 2<<3 | wireBytes

	// AnyValue (a oneof: exactly one of these is written, even when the
	// value is the zero value, because oneof presence is significant).
	tagAnyString = 1<<3 | wireBytes
	tagAnyBool   = 2<<3 | wireVarint
	tagAnyInt    = 3<<3 | wireVarint
	tagAnyDouble = 4<<3 | wireFixed64
	tagAnyArray  = 5<<3 | wireBytes
	tagAnyKvlist = 6<<3 | wireBytes
	tagAnyBytes  = 7<<3 | wireBytes

	// ArrayValue and KeyValueList
	tagListValues = 1<<3 | wireBytes
)

// OTLP SpanFlags bits (opentelemetry.proto.trace.v1.SpanFlags) for the
// remote-ness of the parent (spans) or of the linked context (links).
const (
	flagContextHasIsRemote = 0x100
	flagContextIsRemote    = 0x200
)

// Length placeholder widths for nested messages. A wrong guess still yields
// canonical output (closeMsg moves the body); a good guess avoids the move.
const (
	reserveLarge = 2 // ResourceSpans, ScopeSpans, Span, Resource: usually 128 B – 16 KiB
	reserveSmall = 1 // Event, Link, Scope, nested AnyValue: usually < 128 B
)

// scratch holds the grouping state of one AppendTraceRequest call. It is
// pooled so that grouping allocates nothing in steady state.
type scratch struct {
	resources []resourceGroup
	scopes    []scopeGroup
	spanScope []int32 // scope group of each input span
	order     []int32 // input span indexes in output order
	fill      []int32 // next free slot in order, per scope group

	// cachedRes/cachedAttrs memoise the encoded attributes of the last
	// resource seen. SDK resources are immutable and a process usually has
	// exactly one, so this turns the per-export resource encoding into a
	// copy. Holding the pointer keeps it alive, so identity cannot be reused.
	cachedRes   *resource.Resource
	cachedAttrs []byte
}

type resourceGroup struct {
	res        *resource.Resource
	firstScope int32
	lastScope  int32
}

type scopeGroup struct {
	scope    instrumentation.Scope
	resource int32
	next     int32 // next scope group of the same resource, or -1
	count    int32
	start    int32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooledScratch bounds the retained scratch so that one huge export does
// not pin its memory in the pool forever.
const maxPooledScratch = 1 << 16

// AppendTraceRequest appends to dst the protobuf encoding of an
// opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest holding
// spans, and returns the extended slice.
//
// Spans are grouped into ResourceSpans by resource (same pointer, or equal
// schema URL and attribute set) and into ScopeSpans by instrumentation scope
// (name, version, schema URL and attributes), keeping first-seen order at
// every level. No spans produce no bytes, which is the valid encoding of an
// empty request. Because the request has a single repeated field,
// concatenating two encodings yields the encoding of the merged request.
func AppendTraceRequest(dst []byte, spans []sdktrace.ReadOnlySpan) []byte {
	if len(spans) == 0 {
		return dst
	}
	s := scratchPool.Get().(*scratch)
	s.group(spans)
	dst = s.encode(dst, spans)
	s.reset()
	if cap(s.order) <= maxPooledScratch && cap(s.cachedAttrs) <= maxPooledScratch {
		scratchPool.Put(s)
	}
	return dst
}

func (s *scratch) reset() {
	clear(s.resources)
	clear(s.scopes)
	s.resources = s.resources[:0]
	s.scopes = s.scopes[:0]
}

// group assigns every span to a scope group and lays out the output order.
func (s *scratch) group(spans []sdktrace.ReadOnlySpan) {
	n := len(spans)
	s.spanScope = grow(s.spanScope, n)
	s.order = grow(s.order, n)

	lastRes := int32(-1)
	lastScope := int32(-1)
	var lastResPtr *resource.Resource
	for i, span := range spans {
		res := span.Resource()
		ri := lastRes
		if ri < 0 || res != lastResPtr {
			ri = s.findResource(res)
			lastResPtr = res
			if ri != lastRes {
				lastScope = -1
			}
			lastRes = ri
		}
		sc := span.InstrumentationScope()
		si := lastScope
		if si < 0 || !sameScope(&s.scopes[si].scope, &sc) {
			si = s.findScope(ri, &sc)
			lastScope = si
		}
		s.spanScope[i] = si
		s.scopes[si].count++
	}

	// Lay out scope groups resource by resource, in first-seen order.
	var off int32
	for ri := range s.resources {
		for si := s.resources[ri].firstScope; si >= 0; si = s.scopes[si].next {
			s.scopes[si].start = off
			off += s.scopes[si].count
		}
	}
	s.fill = grow(s.fill, len(s.scopes))
	for si := range s.scopes {
		s.fill[si] = s.scopes[si].start
	}
	for i := range n {
		si := s.spanScope[i]
		s.order[s.fill[si]] = int32(i)
		s.fill[si]++
	}
}

func grow(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

func (s *scratch) findResource(res *resource.Resource) int32 {
	for i := range s.resources {
		if sameResource(s.resources[i].res, res) {
			return int32(i)
		}
	}
	s.resources = append(s.resources, resourceGroup{res: res, firstScope: -1, lastScope: -1})
	return int32(len(s.resources) - 1)
}

func (s *scratch) findScope(ri int32, sc *instrumentation.Scope) int32 {
	rg := &s.resources[ri]
	for si := rg.firstScope; si >= 0; si = s.scopes[si].next {
		if sameScope(&s.scopes[si].scope, sc) {
			return si
		}
	}
	si := int32(len(s.scopes))
	s.scopes = append(s.scopes, scopeGroup{scope: *sc, resource: ri, next: -1})
	if rg.lastScope >= 0 {
		s.scopes[rg.lastScope].next = si
	} else {
		rg.firstScope = si
	}
	rg.lastScope = si
	return si
}

func sameResource(a, b *resource.Resource) bool {
	if a == b {
		return true
	}
	// A nil resource is the empty resource, as in the SDK.
	return a.SchemaURL() == b.SchemaURL() && a.Set().Equals(b.Set())
}

func sameScope(a, b *instrumentation.Scope) bool {
	return a.Name == b.Name && a.Version == b.Version && a.SchemaURL == b.SchemaURL &&
		a.Attributes.Equals(&b.Attributes)
}

func (s *scratch) encode(b []byte, spans []sdktrace.ReadOnlySpan) []byte {
	for ri := range s.resources {
		rg := &s.resources[ri]
		var rsPos int
		b, rsPos = protoappend.OpenMsg(b, tagRequestResourceSpans, reserveLarge)

		b = s.appendResource(b, rg.res)
		for si := rg.firstScope; si >= 0; si = s.scopes[si].next {
			sg := &s.scopes[si]
			var ssPos int
			b, ssPos = protoappend.OpenMsg(b, tagResourceSpansScopeSpans, reserveLarge)
			b = appendScope(b, &sg.scope)
			for _, idx := range s.order[sg.start : sg.start+sg.count] {
				b = appendSpan(b, spans[idx])
			}
			b = protoappend.String(b, tagScopeSpansSchemaURL, sg.scope.SchemaURL)
			b = protoappend.CloseMsg(b, ssPos, reserveLarge)
		}
		b = protoappend.String(b, tagResourceSpansSchemaURL, rg.res.SchemaURL())
		b = protoappend.CloseMsg(b, rsPos, reserveLarge)
	}
	return b
}

// appendResource writes ResourceSpans.resource. It is always present (empty
// for a nil or empty resource), like the SDK's own OTLP exporters do.
func (s *scratch) appendResource(b []byte, res *resource.Resource) []byte {
	if res == nil || res != s.cachedRes {
		s.cachedAttrs = s.cachedAttrs[:0]
		iter := res.Iter()
		for iter.Next() {
			s.cachedAttrs = appendKeyValue(s.cachedAttrs, tagResourceAttributes, iter.Attribute())
		}
		s.cachedRes = res
	}
	b = append(b, tagResourceSpansResource)
	b = pbwire.AppendVarint(b, uint64(len(s.cachedAttrs)))
	return append(b, s.cachedAttrs...)
}

func appendScope(b []byte, sc *instrumentation.Scope) []byte {
	b, pos := protoappend.OpenMsg(b, tagScopeSpansScope, reserveSmall)
	b = protoappend.String(b, tagScopeName, sc.Name)
	b = protoappend.String(b, tagScopeVersion, sc.Version)
	iter := sc.Attributes.Iter()
	for iter.Next() {
		b = appendKeyValue(b, tagScopeAttributes, iter.Attribute())
	}
	return protoappend.CloseMsg(b, pos, reserveSmall)
}

func appendSpan(b []byte, span sdktrace.ReadOnlySpan) []byte {
	b, pos := protoappend.OpenMsg(b, tagScopeSpansSpans, reserveLarge)

	sc := span.SpanContext()
	tid := sc.TraceID()
	sid := sc.SpanID()
	b = append(b, tagSpanTraceID, byte(len(tid)))
	b = append(b, tid[:]...)
	b = append(b, tagSpanSpanID, byte(len(sid)))
	b = append(b, sid[:]...)
	if ts := sc.TraceState(); ts.Len() > 0 {
		b = protoappend.String(b, tagSpanTraceState, ts.String())
	}
	parent := span.Parent()
	if psid := parent.SpanID(); psid.IsValid() {
		b = append(b, tagSpanParentSpanID, byte(len(psid)))
		b = append(b, psid[:]...)
	}
	b = protoappend.String(b, tagSpanName, span.Name())
	if k := spanKind(span.SpanKind()); k != 0 {
		b = append(b, tagSpanKind, byte(k))
	}
	b = protoappend.Fixed64(b, tagSpanStartTime, protoappend.UnixNano(span.StartTime()))
	b = protoappend.Fixed64(b, tagSpanEndTime, protoappend.UnixNano(span.EndTime()))
	for _, kv := range span.Attributes() {
		b = appendKeyValue(b, tagSpanAttributes, kv)
	}
	b = appendCount(b, tagSpanDroppedAttributes, span.DroppedAttributes())
	for i, events := 0, span.Events(); i < len(events); i++ {
		b = appendEvent(b, &events[i])
	}
	b = appendCount(b, tagSpanDroppedEvents, span.DroppedEvents())
	for i, links := 0, span.Links(); i < len(links); i++ {
		b = appendLink(b, &links[i])
	}
	b = appendCount(b, tagSpanDroppedLinks, span.DroppedLinks())
	b = appendStatus(b, span.Status())

	flags := uint32(sc.TraceFlags()) | flagContextHasIsRemote
	if parent.IsRemote() {
		flags |= flagContextIsRemote
	}
	b = append(b, tagSpanFlags0, tagSpanFlags1)
	b = pbwire.AppendFixed32(b, flags)

	return protoappend.CloseMsg(b, pos, reserveLarge)
}

// spanKind maps the API's SpanKind to the OTLP enum. They share numbering
// today; the switch keeps an out-of-range value from leaking onto the wire.
func spanKind(k trace.SpanKind) uint8 {
	switch k {
	case trace.SpanKindInternal, trace.SpanKindServer, trace.SpanKindClient,
		trace.SpanKindProducer, trace.SpanKindConsumer:
		return uint8(k)
	default:
		return 0 // SPAN_KIND_UNSPECIFIED
	}
}

func appendEvent(b []byte, ev *sdktrace.Event) []byte {
	b, pos := protoappend.OpenMsg(b, tagSpanEvents, reserveSmall)
	b = protoappend.Fixed64(b, tagEventTime, protoappend.UnixNano(ev.Time))
	b = protoappend.String(b, tagEventName, ev.Name)
	for _, kv := range ev.Attributes {
		b = appendKeyValue(b, tagEventAttributes, kv)
	}
	b = appendCount(b, tagEventDroppedAttributes, ev.DroppedAttributeCount)
	return protoappend.CloseMsg(b, pos, reserveSmall)
}

func appendLink(b []byte, l *sdktrace.Link) []byte {
	b, pos := protoappend.OpenMsg(b, tagSpanLinks, reserveSmall)
	tid := l.SpanContext.TraceID()
	sid := l.SpanContext.SpanID()
	b = append(b, tagLinkTraceID, byte(len(tid)))
	b = append(b, tid[:]...)
	b = append(b, tagLinkSpanID, byte(len(sid)))
	b = append(b, sid[:]...)
	if ts := l.SpanContext.TraceState(); ts.Len() > 0 {
		b = protoappend.String(b, tagLinkTraceState, ts.String())
	}
	for _, kv := range l.Attributes {
		b = appendKeyValue(b, tagLinkAttributes, kv)
	}
	b = appendCount(b, tagLinkDroppedAttributes, l.DroppedAttributeCount)
	flags := uint32(l.SpanContext.TraceFlags()) | flagContextHasIsRemote
	if l.SpanContext.IsRemote() {
		flags |= flagContextIsRemote
	}
	b = append(b, tagLinkFlags)
	b = pbwire.AppendFixed32(b, flags)
	return protoappend.CloseMsg(b, pos, reserveSmall)
}

// appendStatus always writes Span.status, as the SDK's OTLP exporters do.
// The message travels only with an Error status: the SDK discards it for the
// other codes, and OTLP defines it only for errors.
func appendStatus(b []byte, st sdktrace.Status) []byte {
	var code uint8
	switch st.Code {
	case codes.Ok:
		code = 1
	case codes.Error:
		code = 2
	}
	msg := ""
	if st.Code == codes.Error {
		msg = st.Description
	}
	n := 0
	if msg != "" {
		n += 1 + pbwire.SizeBytes(len(msg))
	}
	if code != 0 {
		n += 2
	}
	b = append(b, tagSpanStatus)
	b = pbwire.AppendVarint(b, uint64(n))
	b = protoappend.String(b, tagStatusMessage, msg)
	if code != 0 {
		b = append(b, tagStatusCode, code)
	}
	return b
}

// appendKeyValue writes one KeyValue field with the given tag. The common
// scalar types have their sizes computed exactly up front; composite values
// fall back to the placeholder technique.
func appendKeyValue(b []byte, tag byte, kv attribute.KeyValue) []byte {
	key := string(kv.Key)
	v := kv.Value
	switch v.Type() {
	case attribute.STRING:
		s := v.AsString()
		anyLen := 1 + pbwire.SizeBytes(len(s))
		b = appendKVHeader(b, tag, key, anyLen)
		b = append(b, tagAnyString)
		b = pbwire.AppendVarint(b, uint64(len(s)))
		return append(b, s...)
	case attribute.BOOL:
		b = appendKVHeader(b, tag, key, 2)
		return append(b, tagAnyBool, boolByte(v.AsBool()))
	case attribute.INT64:
		i := uint64(v.AsInt64())
		b = appendKVHeader(b, tag, key, 1+pbwire.SizeVarint(i))
		b = append(b, tagAnyInt)
		return pbwire.AppendVarint(b, i)
	case attribute.FLOAT64:
		b = appendKVHeader(b, tag, key, 9)
		b = append(b, tagAnyDouble)
		return pbwire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.STRINGSLICE:
		vals := v.AsStringSlice()
		arrLen := 0
		for _, s := range vals {
			arrLen += sizeListElem(1 + pbwire.SizeBytes(len(s)))
		}
		b = appendArrayHeader(b, tag, key, arrLen)
		for _, s := range vals {
			b = append(b, tagListValues)
			b = pbwire.AppendVarint(b, uint64(1+pbwire.SizeBytes(len(s))))
			b = append(b, tagAnyString)
			b = pbwire.AppendVarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		return b
	case attribute.BOOLSLICE:
		vals := v.AsBoolSlice()
		b = appendArrayHeader(b, tag, key, len(vals)*sizeListElem(2))
		for _, x := range vals {
			b = append(b, tagListValues, 2, tagAnyBool, boolByte(x))
		}
		return b
	case attribute.INT64SLICE:
		vals := v.AsInt64Slice()
		arrLen := 0
		for _, x := range vals {
			arrLen += sizeListElem(1 + pbwire.SizeVarint(uint64(x)))
		}
		b = appendArrayHeader(b, tag, key, arrLen)
		for _, x := range vals {
			b = append(b, tagListValues, byte(1+pbwire.SizeVarint(uint64(x))), tagAnyInt)
			b = pbwire.AppendVarint(b, uint64(x))
		}
		return b
	case attribute.FLOAT64SLICE:
		vals := v.AsFloat64Slice()
		b = appendArrayHeader(b, tag, key, len(vals)*sizeListElem(9))
		for _, x := range vals {
			b = append(b, tagListValues, 9, tagAnyDouble)
			b = pbwire.AppendFixed64(b, math.Float64bits(x))
		}
		return b
	default:
		// BYTESLICE, SLICE, MAP and EMPTY: rare, and possibly nested.
		b, pos := protoappend.OpenMsg(b, tag, reserveSmall)
		b = protoappend.String(b, tagKeyValueKey, key)
		b = appendAnyValue(b, tagKeyValueValue, v)
		return protoappend.CloseMsg(b, pos, reserveSmall)
	}
}

// appendKVHeader writes the KeyValue tag and length, the key, and the tag
// and length of an AnyValue whose encoded size is anyLen.
func appendKVHeader(b []byte, tag byte, key string, anyLen int) []byte {
	kvLen := 1 + pbwire.SizeBytes(len(key)) + 1 + pbwire.SizeBytes(anyLen)
	b = append(b, tag)
	b = pbwire.AppendVarint(b, uint64(kvLen))
	b = append(b, tagKeyValueKey)
	b = pbwire.AppendVarint(b, uint64(len(key)))
	b = append(b, key...)
	b = append(b, tagKeyValueValue)
	return pbwire.AppendVarint(b, uint64(anyLen))
}

// appendArrayHeader writes a KeyValue header whose value is an ArrayValue
// with arrLen bytes of encoded elements, up to the first element.
func appendArrayHeader(b []byte, tag byte, key string, arrLen int) []byte {
	b = appendKVHeader(b, tag, key, 1+pbwire.SizeBytes(arrLen))
	b = append(b, tagAnyArray)
	return pbwire.AppendVarint(b, uint64(arrLen))
}

// sizeListElem is the size of one ArrayValue.values entry whose AnyValue
// encodes to n bytes.
func sizeListElem(n int) int { return 1 + pbwire.SizeBytes(n) }

// appendAnyValue writes v as an AnyValue message field with the given tag.
// It handles every attribute type, including the nested ones.
func appendAnyValue(b []byte, tag byte, v attribute.Value) []byte {
	b, pos := protoappend.OpenMsg(b, tag, reserveSmall)
	switch v.Type() {
	case attribute.BOOL:
		b = append(b, tagAnyBool, boolByte(v.AsBool()))
	case attribute.INT64:
		b = append(b, tagAnyInt)
		b = pbwire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = append(b, tagAnyDouble)
		b = pbwire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		b = protoappend.StringAlways(b, tagAnyString, v.AsString())
	case attribute.BYTESLICE:
		bs := v.AsByteSlice()
		b = append(b, tagAnyBytes)
		b = pbwire.AppendVarint(b, uint64(len(bs)))
		b = append(b, bs...)
	case attribute.BOOLSLICE:
		var ap int
		b, ap = protoappend.OpenMsg(b, tagAnyArray, reserveSmall)
		for _, x := range v.AsBoolSlice() {
			b = appendAnyValue(b, tagListValues, attribute.BoolValue(x))
		}
		b = protoappend.CloseMsg(b, ap, reserveSmall)
	case attribute.INT64SLICE:
		var ap int
		b, ap = protoappend.OpenMsg(b, tagAnyArray, reserveSmall)
		for _, x := range v.AsInt64Slice() {
			b = appendAnyValue(b, tagListValues, attribute.Int64Value(x))
		}
		b = protoappend.CloseMsg(b, ap, reserveSmall)
	case attribute.FLOAT64SLICE:
		var ap int
		b, ap = protoappend.OpenMsg(b, tagAnyArray, reserveSmall)
		for _, x := range v.AsFloat64Slice() {
			b = appendAnyValue(b, tagListValues, attribute.Float64Value(x))
		}
		b = protoappend.CloseMsg(b, ap, reserveSmall)
	case attribute.STRINGSLICE:
		var ap int
		b, ap = protoappend.OpenMsg(b, tagAnyArray, reserveSmall)
		for _, x := range v.AsStringSlice() {
			b = appendAnyValue(b, tagListValues, attribute.StringValue(x))
		}
		b = protoappend.CloseMsg(b, ap, reserveSmall)
	case attribute.SLICE:
		var ap int
		b, ap = protoappend.OpenMsg(b, tagAnyArray, reserveSmall)
		for _, x := range v.AsSlice() {
			b = appendAnyValue(b, tagListValues, x)
		}
		b = protoappend.CloseMsg(b, ap, reserveSmall)
	case attribute.MAP:
		var mp int
		b, mp = protoappend.OpenMsg(b, tagAnyKvlist, reserveSmall)
		for _, kv := range v.AsMap() {
			var kp int
			b, kp = protoappend.OpenMsg(b, tagListValues, reserveSmall)
			b = protoappend.String(b, tagKeyValueKey, string(kv.Key))
			b = appendAnyValue(b, tagKeyValueValue, kv.Value)
			b = protoappend.CloseMsg(b, kp, reserveSmall)
		}
		b = protoappend.CloseMsg(b, mp, reserveSmall)
	default:
		// EMPTY (or a type added after this was written): an AnyValue with
		// no value set, which OTLP defines as the empty value.
	}
	return protoappend.CloseMsg(b, pos, reserveSmall)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// appendCount writes a uint32 count field, clamping what does not fit.
func appendCount(b []byte, tag byte, n int) []byte {
	if n <= 0 {
		return b
	}
	b = append(b, tag)
	return pbwire.AppendVarint(b, uint64(min(n, math.MaxUint32)))
}
