package otlpbuild

import (
	"math"

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

// Field tags (field number << 3 | wire type). Every field written here has a
// number below 16, so its tag is one byte, except Span.flags (see
// tagSpanFlags).
const (
	// Export{Trace,Metrics,Logs}ServiceRequest: field 1 in all three.
	tagRequestResource = 1<<3 | wireBytes

	// Resource{Spans,Metrics,Logs} share their layout.
	tagResourceXResource  = 1<<3 | wireBytes
	tagResourceXScopeX    = 2<<3 | wireBytes
	tagResourceXSchemaURL = 3<<3 | wireBytes

	// Scope{Spans,Metrics,Logs} share their layout too.
	tagScopeXScope     = 1<<3 | wireBytes
	tagScopeXItems     = 2<<3 | wireBytes
	tagScopeXSchemaURL = 3<<3 | wireBytes

	// Resource
	tagResourceAttributes = 1<<3 | wireBytes

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
	tagSpanStatus            = 15<<3 | wireBytes

	// Span.Event
	tagEventTime       = 1<<3 | wireFixed64
	tagEventName       = 2<<3 | wireBytes
	tagEventAttributes = 3<<3 | wireBytes

	// Status
	tagStatusMessage = 2<<3 | wireBytes
	tagStatusCode    = 3<<3 | wireVarint

	// Metric
	tagMetricName        = 1<<3 | wireBytes
	tagMetricDescription = 2<<3 | wireBytes
	tagMetricUnit        = 3<<3 | wireBytes
	tagMetricGauge       = 5<<3 | wireBytes
	tagMetricSum         = 7<<3 | wireBytes
	tagMetricHistogram   = 9<<3 | wireBytes

	// Gauge, Sum and Histogram
	tagDataPoints  = 1<<3 | wireBytes
	tagTemporality = 2<<3 | wireVarint
	tagMonotonic   = 3<<3 | wireVarint

	// NumberDataPoint
	tagNumberStart      = 2<<3 | wireFixed64
	tagNumberTime       = 3<<3 | wireFixed64
	tagNumberDouble     = 4<<3 | wireFixed64
	tagNumberInt        = 6<<3 | wireFixed64 // sfixed64
	tagNumberAttributes = 7<<3 | wireBytes
	tagNumberFlags      = 8<<3 | wireVarint

	// HistogramDataPoint
	tagHistStart        = 2<<3 | wireFixed64
	tagHistTime         = 3<<3 | wireFixed64
	tagHistCount        = 4<<3 | wireFixed64
	tagHistSum          = 5<<3 | wireFixed64
	tagHistBucketCounts = 6<<3 | wireBytes // packed fixed64
	tagHistBounds       = 7<<3 | wireBytes // packed double
	tagHistAttributes   = 9<<3 | wireBytes
	tagHistFlags        = 10<<3 | wireVarint
	tagHistMin          = 11<<3 | wireFixed64
	tagHistMax          = 12<<3 | wireFixed64

	// LogRecord
	tagLogTime              = 1<<3 | wireFixed64
	tagLogSeverityNumber    = 2<<3 | wireVarint
	tagLogSeverityText      = 3<<3 | wireBytes
	tagLogBody              = 5<<3 | wireBytes
	tagLogAttributes        = 6<<3 | wireBytes
	tagLogDroppedAttributes = 7<<3 | wireVarint
	tagLogFlags             = 8<<3 | wireFixed32
	tagLogTraceID           = 9<<3 | wireBytes
	tagLogSpanID            = 10<<3 | wireBytes
	tagLogObservedTime      = 11<<3 | wireFixed64
	tagLogEventName         = 12<<3 | wireBytes

	// KeyValue
	tagKeyValueKey   = 1<<3 | wireBytes
	tagKeyValueValue = 2<<3 | wireBytes

	// AnyValue
	tagAnyString = 1<<3 | wireBytes
	tagAnyBool   = 2<<3 | wireVarint
	tagAnyInt    = 3<<3 | wireVarint
	tagAnyDouble = 4<<3 | wireFixed64
	tagAnyArray  = 5<<3 | wireBytes

	// ArrayValue
	tagArrayValues = 1<<3 | wireBytes
)

// Span.flags is field 16, fixed32: its tag (16<<3|5 = 133) is the two-byte
// varint 0x85 0x01.
var tagSpanFlags = [2]byte{0x85, 0x01}

// Length placeholder widths for nested messages. A wrong guess still gives
// canonical output (closeMsg moves the body); a good one avoids the move.
const (
	reserveLarge = 2 // resource/scope groups, spans, metrics: 128 B – 16 KiB
	reserveSmall = 1 // events, data points, log records, values: usually < 128 B
)

func float64bits(f float64) uint64 { return math.Float64bits(f) }

func appendVarint(b []byte, tag byte, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, tag)
	return pbwire.AppendVarint(b, v)
}

// appendEnum writes an enum field. Negative values are sign-extended to ten
// bytes, as protobuf encodes negative int32s.
func appendEnum(b []byte, tag byte, v int32) []byte {
	return appendVarint(b, tag, uint64(int64(v)))
}

// appendID writes a trace or span ID, leaving out the all-zero (invalid) one.
func appendID(b []byte, tag byte, id []byte) []byte {
	for _, c := range id {
		if c != 0 {
			b = append(b, tag, byte(len(id)))
			return append(b, id...)
		}
	}
	return b
}

// appendKeyValues writes each attribute as a KeyValue field with tag.
func appendKeyValues(b []byte, tag byte, kvs []KeyValue) []byte {
	for i := range kvs {
		b = appendKeyValue(b, tag, &kvs[i])
	}
	return b
}

// appendKeyValue writes one KeyValue field. Sizes are computed up front, so
// nothing is moved.
func appendKeyValue(b []byte, tag byte, kv *KeyValue) []byte {
	anyLen := sizeAnyValue(&kv.Value)
	kvLen := 1 + pbwire.SizeBytes(anyLen)
	if kv.Key != "" { // an empty key is proto3's default: left out
		kvLen += 1 + pbwire.SizeBytes(len(kv.Key))
	}
	b = append(b, tag)
	b = pbwire.AppendVarint(b, uint64(kvLen))
	b = protoappend.String(b, tagKeyValueKey, kv.Key)
	b = append(b, tagKeyValueValue)
	b = pbwire.AppendVarint(b, uint64(anyLen))
	return appendAnyValueBody(b, &kv.Value)
}

// appendAnyValue writes v as an AnyValue message field with tag.
func appendAnyValue(b []byte, tag byte, v *Value) []byte {
	b = append(b, tag)
	b = pbwire.AppendVarint(b, uint64(sizeAnyValue(v)))
	return appendAnyValueBody(b, v)
}

// sizeAnyValue is the encoded size of v's AnyValue message body. A oneof
// variant is written even when it holds its zero value, because presence is
// what says which variant is set.
func sizeAnyValue(v *Value) int {
	switch v.kind {
	case KindString:
		return 1 + pbwire.SizeBytes(len(v.str))
	case KindBool:
		return 2
	case KindInt:
		return 1 + pbwire.SizeVarint(v.num)
	case KindDouble:
		return 9
	case KindStrings:
		return 1 + pbwire.SizeBytes(sizeStringArray(v.strs))
	}
	return 0
}

func sizeStringArray(ss []string) int {
	n := 0
	for _, s := range ss {
		n += 1 + pbwire.SizeBytes(1+pbwire.SizeBytes(len(s)))
	}
	return n
}

func appendAnyValueBody(b []byte, v *Value) []byte {
	switch v.kind {
	case KindString:
		return protoappend.StringAlways(b, tagAnyString, v.str)
	case KindBool:
		return append(b, tagAnyBool, byte(v.num))
	case KindInt:
		b = append(b, tagAnyInt)
		return pbwire.AppendVarint(b, v.num)
	case KindDouble:
		b = append(b, tagAnyDouble)
		return pbwire.AppendFixed64(b, v.num)
	case KindStrings:
		b = append(b, tagAnyArray)
		b = pbwire.AppendVarint(b, uint64(sizeStringArray(v.strs)))
		for _, s := range v.strs {
			b = append(b, tagArrayValues)
			b = pbwire.AppendVarint(b, uint64(1+pbwire.SizeBytes(len(s))))
			b = protoappend.StringAlways(b, tagAnyString, s)
		}
	}
	return b
}

// appendResource writes the resource field of a Resource{Spans,Metrics,Logs}.
// It is always present (empty for a nil resource), as the SDKs' exporters
// write it.
func appendResource(b []byte, res *Resource) []byte {
	b, pos := protoappend.OpenMsg(b, tagResourceXResource, reserveLarge)
	if res != nil {
		b = appendKeyValues(b, tagResourceAttributes, res.Attributes)
	}
	return protoappend.CloseMsg(b, pos, reserveLarge)
}

// appendScope writes the scope field of a Scope{Spans,Metrics,Logs}.
func appendScope(b []byte, sc *Scope) []byte {
	b, pos := protoappend.OpenMsg(b, tagScopeXScope, reserveSmall)
	if sc != nil {
		b = protoappend.String(b, tagScopeName, sc.Name)
		b = protoappend.String(b, tagScopeVersion, sc.Version)
		b = appendKeyValues(b, tagScopeAttributes, sc.Attributes)
	}
	return protoappend.CloseMsg(b, pos, reserveSmall)
}

// openGroup writes the start of one Resource{Spans,Metrics,Logs} holding
// one Scope{Spans,Metrics,Logs}, up to where the scope's repeated items go.
// The three signals share this layout field for field, which is what lets
// one function serve all three.
func openGroup(b []byte, res *Resource, sc *Scope) (_ []byte, rpos, spos int) {
	b, rpos = protoappend.OpenMsg(b, tagRequestResource, reserveLarge)
	b = appendResource(b, res)
	b, spos = protoappend.OpenMsg(b, tagResourceXScopeX, reserveLarge)
	b = appendScope(b, sc)
	return b, rpos, spos
}

// closeGroup finishes what openGroup started.
func closeGroup(b []byte, res *Resource, sc *Scope, rpos, spos int) []byte {
	if sc != nil {
		b = protoappend.String(b, tagScopeXSchemaURL, sc.SchemaURL)
	}
	b = protoappend.CloseMsg(b, spos, reserveLarge)
	if res != nil {
		b = protoappend.String(b, tagResourceXSchemaURL, res.SchemaURL)
	}
	return protoappend.CloseMsg(b, rpos, reserveLarge)
}

// wrap writes one group whose items are already encoded as fields. No items
// write nothing: the empty request.
func wrap(dst []byte, res *Resource, sc *Scope, items []byte) []byte {
	if len(items) == 0 {
		return dst
	}
	b, rpos, spos := openGroup(dst, res, sc)
	b = append(b, items...)
	return closeGroup(b, res, sc, rpos, spos)
}
