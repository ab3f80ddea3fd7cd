package otlpjson

import (
	"sync"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

// This file is the one description of OTLP that both directions walk. It
// covers every message reachable from TracesData, MetricsData and LogsData in
// opentelemetry-proto as vendored by go.opentelemetry.io/proto/otlp v1.11.1.
// Adding a field to OTLP means adding one line here; nothing else knows field
// numbers or names.

// kind is how a field's value is written in both encodings.
type kind uint8

const (
	kindMessage  kind = iota // length-delimited message; JSON object
	kindString               // length-delimited UTF-8; JSON string
	kindBytes                // length-delimited; JSON base64 string
	kindID                   // length-delimited trace or span ID; JSON hex string
	kindBool                 // varint; JSON true/false
	kindInt32                // varint, sign-extended; JSON number
	kindEnum                 // varint int32; JSON number or value name
	kindUint32               // varint; JSON number
	kindSint32               // zigzag varint; JSON number
	kindInt64                // varint; JSON decimal string
	kindUint64               // varint; JSON decimal string
	kindFixed32              // fixed32 uint32; JSON number
	kindFixed64              // fixed64 uint64; JSON decimal string
	kindSfixed64             // fixed64 int64; JSON decimal string
	kindDouble               // fixed64 IEEE 754; JSON number or "NaN"/"Infinity"/"-Infinity"
)

// wireType is the protobuf wire type of one value of kind k.
func (k kind) wireType() pbwire.Type {
	switch k {
	case kindBool, kindInt32, kindEnum, kindUint32, kindSint32, kindInt64, kindUint64:
		return pbwire.VarintType
	case kindFixed32:
		return pbwire.Fixed32Type
	case kindFixed64, kindSfixed64, kindDouble:
		return pbwire.Fixed64Type
	default:
		return pbwire.BytesType
	}
}

// packable reports whether a repeated field of kind k is packed, which
// proto3 does for every repeated scalar that is not length-delimited.
func (k kind) packable() bool { return k.wireType() != pbwire.BytesType }

// typeName names k in error messages, as the .proto file would.
func (k kind) typeName() string {
	switch k {
	case kindBool:
		return "bool"
	case kindInt32, kindEnum:
		return "int32"
	case kindUint32, kindFixed32:
		return "uint32"
	case kindSint32:
		return "int32"
	case kindInt64, kindSfixed64:
		return "int64"
	case kindUint64, kindFixed64:
		return "uint64"
	case kindDouble:
		return "double"
	}
	return "string"
}

// fieldFlags are a field's cardinality and presence.
type fieldFlags uint8

const (
	// repeated fields are JSON arrays; packable ones are packed.
	repeated fieldFlags = 1 << iota
	// presence fields (oneof members and proto3 optional) are written even
	// when zero, because proto.Marshal does: {"intValue":"0"} is not {}.
	presence
	// oneof marks members of the message's one real oneof; at most one may
	// be set. Every OTLP message has at most one.
	oneof
)

// field describes one field of a message.
type field struct {
	num   pbwire.Number
	snake string // the .proto name, accepted in JSON input
	kind  kind
	flags fieldFlags
	msg   msgID  // for kindMessage
	enum  enumID // for kindEnum
	size  int    // for kindID: length in bytes

	// Filled in by init.
	name string // lowerCamelCase JSON name
	key  string // `"name":`, as written in JSON output
}

// message describes one message type.
type message struct {
	name     string
	fields   []field
	lenWidth int // guessed width of the length prefix, to avoid moving the body

	// Filled in by init.
	byNum []int8 // field number → index in fields, or -1
	order []int8 // indexes of fields in the order Go's proto.Marshal writes them: by number, oneof last
}

// msgID indexes messages. The schema refers to messages by ID rather than by
// pointer because AnyValue is recursive and a pointer cycle would be a Go
// initialisation cycle.
type msgID uint8

const (
	mTracesData msgID = iota
	mResourceSpans
	mScopeSpans
	mSpan
	mEvent
	mLink
	mStatus

	mMetricsData
	mResourceMetrics
	mScopeMetrics
	mMetric
	mGauge
	mSum
	mHistogram
	mExponentialHistogram
	mSummary
	mNumberDataPoint
	mHistogramDataPoint
	mExponentialHistogramDataPoint
	mBuckets
	mSummaryDataPoint
	mValueAtQuantile
	mExemplar

	mLogsData
	mResourceLogs
	mScopeLogs
	mLogRecord

	mResource
	mEntityRef
	mInstrumentationScope
	mKeyValue
	mAnyValue
	mArrayValue
	mKeyValueList

	numMessages
)

// enumID indexes enumNames.
type enumID uint8

const (
	enumSpanKind enumID = iota
	enumStatusCode
	enumAggregationTemporality
	enumSeverityNumber
)

// enumNames are the value names of each enum, indexed by value; every OTLP
// enum used as a field type is dense from zero.
var enumNames = [...][]string{
	enumSpanKind: {
		"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
		"SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
	},
	enumStatusCode: {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"},
	enumAggregationTemporality: {
		"AGGREGATION_TEMPORALITY_UNSPECIFIED", "AGGREGATION_TEMPORALITY_DELTA",
		"AGGREGATION_TEMPORALITY_CUMULATIVE",
	},
	enumSeverityNumber: {
		"SEVERITY_NUMBER_UNSPECIFIED",
		"SEVERITY_NUMBER_TRACE", "SEVERITY_NUMBER_TRACE2", "SEVERITY_NUMBER_TRACE3", "SEVERITY_NUMBER_TRACE4",
		"SEVERITY_NUMBER_DEBUG", "SEVERITY_NUMBER_DEBUG2", "SEVERITY_NUMBER_DEBUG3", "SEVERITY_NUMBER_DEBUG4",
		"SEVERITY_NUMBER_INFO", "SEVERITY_NUMBER_INFO2", "SEVERITY_NUMBER_INFO3", "SEVERITY_NUMBER_INFO4",
		"SEVERITY_NUMBER_WARN", "SEVERITY_NUMBER_WARN2", "SEVERITY_NUMBER_WARN3", "SEVERITY_NUMBER_WARN4",
		"SEVERITY_NUMBER_ERROR", "SEVERITY_NUMBER_ERROR2", "SEVERITY_NUMBER_ERROR3", "SEVERITY_NUMBER_ERROR4",
		"SEVERITY_NUMBER_FATAL", "SEVERITY_NUMBER_FATAL2", "SEVERITY_NUMBER_FATAL3", "SEVERITY_NUMBER_FATAL4",
	},
}

// Shorthands for the table below.
const (
	rep = repeated
	opt = presence         // proto3 optional
	one = presence | oneof // oneof member
)

// messages is the schema. Fields are listed in .proto declaration order,
// which is the order OTel exporters write JSON keys in, so that key lookup
// usually hits on the first try. AppendJSON writes them in the order Go's
// proto.Marshal does instead (by number, the real oneof last), so that its
// output converts back to exactly the bytes proto.Marshal would write.
var messages = [numMessages]message{
	// opentelemetry/proto/trace/v1/trace.proto
	mTracesData: {name: "TracesData", lenWidth: 3, fields: []field{
		{num: 1, snake: "resource_spans", kind: kindMessage, flags: rep, msg: mResourceSpans},
	}},
	mResourceSpans: {name: "ResourceSpans", lenWidth: 3, fields: []field{
		{num: 1, snake: "resource", kind: kindMessage, msg: mResource},
		{num: 2, snake: "scope_spans", kind: kindMessage, flags: rep, msg: mScopeSpans},
		{num: 3, snake: "schema_url", kind: kindString},
	}},
	mScopeSpans: {name: "ScopeSpans", lenWidth: 3, fields: []field{
		{num: 1, snake: "scope", kind: kindMessage, msg: mInstrumentationScope},
		{num: 2, snake: "spans", kind: kindMessage, flags: rep, msg: mSpan},
		{num: 3, snake: "schema_url", kind: kindString},
	}},
	mSpan: {name: "Span", lenWidth: 2, fields: []field{
		{num: 1, snake: "trace_id", kind: kindID, size: 16},
		{num: 2, snake: "span_id", kind: kindID, size: 8},
		{num: 3, snake: "trace_state", kind: kindString},
		{num: 4, snake: "parent_span_id", kind: kindID, size: 8},
		{num: 16, snake: "flags", kind: kindFixed32},
		{num: 5, snake: "name", kind: kindString},
		{num: 6, snake: "kind", kind: kindEnum, enum: enumSpanKind},
		{num: 7, snake: "start_time_unix_nano", kind: kindFixed64},
		{num: 8, snake: "end_time_unix_nano", kind: kindFixed64},
		{num: 9, snake: "attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 10, snake: "dropped_attributes_count", kind: kindUint32},
		{num: 11, snake: "events", kind: kindMessage, flags: rep, msg: mEvent},
		{num: 12, snake: "dropped_events_count", kind: kindUint32},
		{num: 13, snake: "links", kind: kindMessage, flags: rep, msg: mLink},
		{num: 14, snake: "dropped_links_count", kind: kindUint32},
		{num: 15, snake: "status", kind: kindMessage, msg: mStatus},
	}},
	mEvent: {name: "Span.Event", lenWidth: 1, fields: []field{
		{num: 1, snake: "time_unix_nano", kind: kindFixed64},
		{num: 2, snake: "name", kind: kindString},
		{num: 3, snake: "attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 4, snake: "dropped_attributes_count", kind: kindUint32},
	}},
	mLink: {name: "Span.Link", lenWidth: 1, fields: []field{
		{num: 1, snake: "trace_id", kind: kindID, size: 16},
		{num: 2, snake: "span_id", kind: kindID, size: 8},
		{num: 3, snake: "trace_state", kind: kindString},
		{num: 4, snake: "attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 5, snake: "dropped_attributes_count", kind: kindUint32},
		{num: 6, snake: "flags", kind: kindFixed32},
	}},
	mStatus: {name: "Status", lenWidth: 1, fields: []field{
		{num: 2, snake: "message", kind: kindString},
		{num: 3, snake: "code", kind: kindEnum, enum: enumStatusCode},
	}},

	// opentelemetry/proto/metrics/v1/metrics.proto
	mMetricsData: {name: "MetricsData", lenWidth: 3, fields: []field{
		{num: 1, snake: "resource_metrics", kind: kindMessage, flags: rep, msg: mResourceMetrics},
	}},
	mResourceMetrics: {name: "ResourceMetrics", lenWidth: 3, fields: []field{
		{num: 1, snake: "resource", kind: kindMessage, msg: mResource},
		{num: 2, snake: "scope_metrics", kind: kindMessage, flags: rep, msg: mScopeMetrics},
		{num: 3, snake: "schema_url", kind: kindString},
	}},
	mScopeMetrics: {name: "ScopeMetrics", lenWidth: 3, fields: []field{
		{num: 1, snake: "scope", kind: kindMessage, msg: mInstrumentationScope},
		{num: 2, snake: "metrics", kind: kindMessage, flags: rep, msg: mMetric},
		{num: 3, snake: "schema_url", kind: kindString},
	}},
	mMetric: {name: "Metric", lenWidth: 2, fields: []field{
		{num: 1, snake: "name", kind: kindString},
		{num: 2, snake: "description", kind: kindString},
		{num: 3, snake: "unit", kind: kindString},
		{num: 5, snake: "gauge", kind: kindMessage, flags: one, msg: mGauge},
		{num: 7, snake: "sum", kind: kindMessage, flags: one, msg: mSum},
		{num: 9, snake: "histogram", kind: kindMessage, flags: one, msg: mHistogram},
		{num: 10, snake: "exponential_histogram", kind: kindMessage, flags: one, msg: mExponentialHistogram},
		{num: 11, snake: "summary", kind: kindMessage, flags: one, msg: mSummary},
		{num: 12, snake: "metadata", kind: kindMessage, flags: rep, msg: mKeyValue},
	}},
	mGauge: {name: "Gauge", lenWidth: 2, fields: []field{
		{num: 1, snake: "data_points", kind: kindMessage, flags: rep, msg: mNumberDataPoint},
	}},
	mSum: {name: "Sum", lenWidth: 2, fields: []field{
		{num: 1, snake: "data_points", kind: kindMessage, flags: rep, msg: mNumberDataPoint},
		{num: 2, snake: "aggregation_temporality", kind: kindEnum, enum: enumAggregationTemporality},
		{num: 3, snake: "is_monotonic", kind: kindBool},
	}},
	mHistogram: {name: "Histogram", lenWidth: 2, fields: []field{
		{num: 1, snake: "data_points", kind: kindMessage, flags: rep, msg: mHistogramDataPoint},
		{num: 2, snake: "aggregation_temporality", kind: kindEnum, enum: enumAggregationTemporality},
	}},
	mExponentialHistogram: {name: "ExponentialHistogram", lenWidth: 2, fields: []field{
		{num: 1, snake: "data_points", kind: kindMessage, flags: rep, msg: mExponentialHistogramDataPoint},
		{num: 2, snake: "aggregation_temporality", kind: kindEnum, enum: enumAggregationTemporality},
	}},
	mSummary: {name: "Summary", lenWidth: 2, fields: []field{
		{num: 1, snake: "data_points", kind: kindMessage, flags: rep, msg: mSummaryDataPoint},
	}},
	mNumberDataPoint: {name: "NumberDataPoint", lenWidth: 1, fields: []field{
		{num: 7, snake: "attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 2, snake: "start_time_unix_nano", kind: kindFixed64},
		{num: 3, snake: "time_unix_nano", kind: kindFixed64},
		{num: 4, snake: "as_double", kind: kindDouble, flags: one},
		{num: 6, snake: "as_int", kind: kindSfixed64, flags: one},
		{num: 5, snake: "exemplars", kind: kindMessage, flags: rep, msg: mExemplar},
		{num: 8, snake: "flags", kind: kindUint32},
	}},
	mHistogramDataPoint: {name: "HistogramDataPoint", lenWidth: 2, fields: []field{
		{num: 9, snake: "attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 2, snake: "start_time_unix_nano", kind: kindFixed64},
		{num: 3, snake: "time_unix_nano", kind: kindFixed64},
		{num: 4, snake: "count", kind: kindFixed64},
		{num: 5, snake: "sum", kind: kindDouble, flags: opt},
		{num: 6, snake: "bucket_counts", kind: kindFixed64, flags: rep},
		{num: 7, snake: "explicit_bounds", kind: kindDouble, flags: rep},
		{num: 8, snake: "exemplars", kind: kindMessage, flags: rep, msg: mExemplar},
		{num: 10, snake: "flags", kind: kindUint32},
		{num: 11, snake: "min", kind: kindDouble, flags: opt},
		{num: 12, snake: "max", kind: kindDouble, flags: opt},
	}},
	mExponentialHistogramDataPoint: {name: "ExponentialHistogramDataPoint", lenWidth: 2, fields: []field{
		{num: 1, snake: "attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 2, snake: "start_time_unix_nano", kind: kindFixed64},
		{num: 3, snake: "time_unix_nano", kind: kindFixed64},
		{num: 4, snake: "count", kind: kindFixed64},
		{num: 5, snake: "sum", kind: kindDouble, flags: opt},
		{num: 6, snake: "scale", kind: kindSint32},
		{num: 7, snake: "zero_count", kind: kindFixed64},
		{num: 8, snake: "positive", kind: kindMessage, msg: mBuckets},
		{num: 9, snake: "negative", kind: kindMessage, msg: mBuckets},
		{num: 10, snake: "flags", kind: kindUint32},
		{num: 11, snake: "exemplars", kind: kindMessage, flags: rep, msg: mExemplar},
		{num: 12, snake: "min", kind: kindDouble, flags: opt},
		{num: 13, snake: "max", kind: kindDouble, flags: opt},
		{num: 14, snake: "zero_threshold", kind: kindDouble},
	}},
	mBuckets: {name: "ExponentialHistogramDataPoint.Buckets", lenWidth: 1, fields: []field{
		{num: 1, snake: "offset", kind: kindSint32},
		{num: 2, snake: "bucket_counts", kind: kindUint64, flags: rep},
	}},
	mSummaryDataPoint: {name: "SummaryDataPoint", lenWidth: 2, fields: []field{
		{num: 7, snake: "attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 2, snake: "start_time_unix_nano", kind: kindFixed64},
		{num: 3, snake: "time_unix_nano", kind: kindFixed64},
		{num: 4, snake: "count", kind: kindFixed64},
		{num: 5, snake: "sum", kind: kindDouble},
		{num: 6, snake: "quantile_values", kind: kindMessage, flags: rep, msg: mValueAtQuantile},
		{num: 8, snake: "flags", kind: kindUint32},
	}},
	mValueAtQuantile: {name: "SummaryDataPoint.ValueAtQuantile", lenWidth: 1, fields: []field{
		{num: 1, snake: "quantile", kind: kindDouble},
		{num: 2, snake: "value", kind: kindDouble},
	}},
	mExemplar: {name: "Exemplar", lenWidth: 1, fields: []field{
		{num: 7, snake: "filtered_attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 2, snake: "time_unix_nano", kind: kindFixed64},
		{num: 3, snake: "as_double", kind: kindDouble, flags: one},
		{num: 6, snake: "as_int", kind: kindSfixed64, flags: one},
		{num: 4, snake: "span_id", kind: kindID, size: 8},
		{num: 5, snake: "trace_id", kind: kindID, size: 16},
	}},

	// opentelemetry/proto/logs/v1/logs.proto
	mLogsData: {name: "LogsData", lenWidth: 3, fields: []field{
		{num: 1, snake: "resource_logs", kind: kindMessage, flags: rep, msg: mResourceLogs},
	}},
	mResourceLogs: {name: "ResourceLogs", lenWidth: 3, fields: []field{
		{num: 1, snake: "resource", kind: kindMessage, msg: mResource},
		{num: 2, snake: "scope_logs", kind: kindMessage, flags: rep, msg: mScopeLogs},
		{num: 3, snake: "schema_url", kind: kindString},
	}},
	mScopeLogs: {name: "ScopeLogs", lenWidth: 3, fields: []field{
		{num: 1, snake: "scope", kind: kindMessage, msg: mInstrumentationScope},
		{num: 2, snake: "log_records", kind: kindMessage, flags: rep, msg: mLogRecord},
		{num: 3, snake: "schema_url", kind: kindString},
	}},
	mLogRecord: {name: "LogRecord", lenWidth: 2, fields: []field{
		{num: 1, snake: "time_unix_nano", kind: kindFixed64},
		{num: 11, snake: "observed_time_unix_nano", kind: kindFixed64},
		{num: 2, snake: "severity_number", kind: kindEnum, enum: enumSeverityNumber},
		{num: 3, snake: "severity_text", kind: kindString},
		{num: 5, snake: "body", kind: kindMessage, msg: mAnyValue},
		{num: 6, snake: "attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 7, snake: "dropped_attributes_count", kind: kindUint32},
		{num: 8, snake: "flags", kind: kindFixed32},
		{num: 9, snake: "trace_id", kind: kindID, size: 16},
		{num: 10, snake: "span_id", kind: kindID, size: 8},
		{num: 12, snake: "event_name", kind: kindString},
	}},

	// opentelemetry/proto/resource/v1/resource.proto
	mResource: {name: "Resource", lenWidth: 2, fields: []field{
		{num: 1, snake: "attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 2, snake: "dropped_attributes_count", kind: kindUint32},
		{num: 3, snake: "entity_refs", kind: kindMessage, flags: rep, msg: mEntityRef},
	}},

	// opentelemetry/proto/common/v1/common.proto
	mEntityRef: {name: "EntityRef", lenWidth: 1, fields: []field{
		{num: 1, snake: "schema_url", kind: kindString},
		{num: 2, snake: "type", kind: kindString},
		{num: 3, snake: "id_keys", kind: kindString, flags: rep},
		{num: 4, snake: "description_keys", kind: kindString, flags: rep},
	}},
	mInstrumentationScope: {name: "InstrumentationScope", lenWidth: 1, fields: []field{
		{num: 1, snake: "name", kind: kindString},
		{num: 2, snake: "version", kind: kindString},
		{num: 3, snake: "attributes", kind: kindMessage, flags: rep, msg: mKeyValue},
		{num: 4, snake: "dropped_attributes_count", kind: kindUint32},
	}},
	mKeyValue: {name: "KeyValue", lenWidth: 1, fields: []field{
		{num: 1, snake: "key", kind: kindString},
		{num: 2, snake: "value", kind: kindMessage, msg: mAnyValue},
		{num: 3, snake: "key_strindex", kind: kindInt32},
	}},
	mAnyValue: {name: "AnyValue", lenWidth: 1, fields: []field{
		{num: 1, snake: "string_value", kind: kindString, flags: one},
		{num: 2, snake: "bool_value", kind: kindBool, flags: one},
		{num: 3, snake: "int_value", kind: kindInt64, flags: one},
		{num: 4, snake: "double_value", kind: kindDouble, flags: one},
		{num: 5, snake: "array_value", kind: kindMessage, flags: one, msg: mArrayValue},
		{num: 6, snake: "kvlist_value", kind: kindMessage, flags: one, msg: mKeyValueList},
		{num: 7, snake: "bytes_value", kind: kindBytes, flags: one},
		{num: 8, snake: "string_value_strindex", kind: kindInt32, flags: one},
	}},
	mArrayValue: {name: "ArrayValue", lenWidth: 1, fields: []field{
		{num: 1, snake: "values", kind: kindMessage, flags: rep, msg: mAnyValue},
	}},
	mKeyValueList: {name: "KeyValueList", lenWidth: 1, fields: []field{
		{num: 1, snake: "values", kind: kindMessage, flags: rep, msg: mKeyValue},
	}},
}

// maxFields bounds the fields of one message, so that per-message state
// fits in a fixed array and a bit set.
const maxFields = 16

// prepareSchema derives the tables the codec reads from messages. It runs
// on first use rather than at init: most extension starts never see
// OTLP/JSON, and a start is a cold start the function waits for.
var prepareSchema = sync.OnceFunc(func() {
	for i := range messages {
		m := &messages[i]
		if len(m.fields) > maxFields {
			panic("otlpjson: " + m.name + " has more than maxFields fields")
		}
		maxNum := pbwire.Number(0)
		for j := range m.fields {
			f := &m.fields[j]
			f.name = lowerCamel(f.snake)
			f.key = `"` + f.name + `":`
			maxNum = max(maxNum, f.num)
		}
		m.byNum = make([]int8, maxNum+1)
		for j := range m.byNum {
			m.byNum[j] = -1
		}
		for j := range m.fields {
			m.byNum[m.fields[j].num] = int8(j)
		}
		for _, members := range []fieldFlags{0, oneof} {
			for _, j := range m.byNum {
				if j >= 0 && m.fields[j].flags&oneof == members {
					m.order = append(m.order, j)
				}
			}
		}
	}
})

// lowerCamel is protoc's JSON name for a field: underscores dropped and the
// letter after each one upper-cased.
func lowerCamel(snake string) string {
	b := make([]byte, 0, len(snake))
	up := false
	for i := 0; i < len(snake); i++ {
		c := snake[i]
		switch {
		case c == '_':
			up = true
			continue
		case up && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		up = false
		b = append(b, c)
	}
	return string(b)
}

// field returns the field numbered num, or nil when m has none (an unknown
// field, skipped).
func (m *message) field(num pbwire.Number) (int, *field) {
	if num < 0 || int(num) >= len(m.byNum) {
		return -1, nil
	}
	i := m.byNum[num]
	if i < 0 {
		return -1, nil
	}
	return int(i), &m.fields[i]
}
