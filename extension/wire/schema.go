package wire

import "github.com/lambdaotel/lambdaotel/internal/pbwire"

// The OTLP schema as far as validation needs it, as tables rather than one
// hand-written function per message: every message gets the same checks, and
// a new OTLP field is one line here. Field numbers and types follow
// opentelemetry-proto (common, resource, trace, metrics and logs v1),
// including the newer entity_refs and *_strindex fields.

// kind is how a known field's value is checked.
type kind uint8

const (
	kindUnknown       kind = iota // not in the schema: skipped
	kindScalar                    // varint, fixed32 or fixed64: any bits are valid
	kindString                    // proto3 string: valid UTF-8
	kindBytes                     // bytes: anything
	kindTraceID                   // bytes: empty or 16 long
	kindSpanID                    // bytes: empty or 8 long
	kindMessage                   // a nested message, walked recursively
	kindPackedVarint              // repeated varint scalar: packed or not
	kindPackedFixed64             // repeated fixed64 scalar: packed or not
)

// field describes one field of a message.
type field struct {
	name     string
	kind     kind
	wire     pbwire.Type // for packed kinds, the wire type of one unpacked element
	repeated bool        // adds an index to the error path
	msg      *message    // for kindMessage
}

// role is what entering a message means for counting and depth.
type role uint8

const (
	roleNone     role = iota
	roleResource      // ResourceSpans, ResourceMetrics, ResourceLogs
	roleItem          // Span, the four data point types, LogRecord
	roleAnyValue      // AnyValue: one nesting level
)

// message describes a message type: fields[n] is field number n.
type message struct {
	fields []field
	role   role
}

func scalar(name string, t pbwire.Type) field { return field{name: name, kind: kindScalar, wire: t} }
func varint(name string) field                { return scalar(name, pbwire.VarintType) }
func fixed32(name string) field               { return scalar(name, pbwire.Fixed32Type) }
func fixed64(name string) field               { return scalar(name, pbwire.Fixed64Type) }
func str(name string) field                   { return field{name: name, kind: kindString, wire: pbwire.BytesType} }
func strs(name string) field {
	return field{name: name, kind: kindString, wire: pbwire.BytesType, repeated: true}
}
func bytesField(name string) field {
	return field{name: name, kind: kindBytes, wire: pbwire.BytesType}
}
func traceID(name string) field {
	return field{name: name, kind: kindTraceID, wire: pbwire.BytesType}
}
func spanID(name string) field { return field{name: name, kind: kindSpanID, wire: pbwire.BytesType} }
func msg(name string, m *message) field {
	return field{name: name, kind: kindMessage, wire: pbwire.BytesType, msg: m}
}
func msgs(name string, m *message) field {
	return field{name: name, kind: kindMessage, wire: pbwire.BytesType, repeated: true, msg: m}
}
func packedVarints(name string) field {
	return field{name: name, kind: kindPackedVarint, wire: pbwire.VarintType, repeated: true}
}
func packedFixed64s(name string) field {
	return field{name: name, kind: kindPackedFixed64, wire: pbwire.Fixed64Type, repeated: true}
}

// common/v1 and resource/v1.
var (
	// anyValue's array_value and kvlist_value close a cycle
	// (AnyValue → ArrayValue/KeyValueList → AnyValue), which package-level
	// initialisers cannot express; init fills them in.
	anyValue = message{role: roleAnyValue, fields: []field{
		1: str("string_value"),
		2: varint("bool_value"),
		3: varint("int_value"),
		4: fixed64("double_value"),
		5: {}, // array_value, see init
		6: {}, // kvlist_value, see init
		7: bytesField("bytes_value"),
		8: varint("string_value_strindex"),
	}}
	arrayValue = message{fields: []field{
		1: msgs("values", &anyValue),
	}}
	keyValue = message{fields: []field{
		1: str("key"),
		2: msg("value", &anyValue),
		3: varint("key_strindex"),
	}}
	keyValueList = message{fields: []field{
		1: msgs("values", &keyValue),
	}}
	scope = message{fields: []field{
		1: str("name"),
		2: str("version"),
		3: msgs("attributes", &keyValue),
		4: varint("dropped_attributes_count"),
	}}
	entityRef = message{fields: []field{
		1: str("schema_url"),
		2: str("type"),
		3: strs("id_keys"),
		4: strs("description_keys"),
	}}
	resource = message{fields: []field{
		1: msgs("attributes", &keyValue),
		2: varint("dropped_attributes_count"),
		3: msgs("entity_refs", &entityRef),
	}}
)

func init() {
	anyValue.fields[5] = msg("array_value", &arrayValue)
	anyValue.fields[6] = msg("kvlist_value", &keyValueList)
}

// trace/v1.
var (
	status = message{fields: []field{
		2: str("message"),
		3: varint("code"),
	}}
	spanEvent = message{fields: []field{
		1: fixed64("time_unix_nano"),
		2: str("name"),
		3: msgs("attributes", &keyValue),
		4: varint("dropped_attributes_count"),
	}}
	spanLink = message{fields: []field{
		1: traceID("trace_id"),
		2: spanID("span_id"),
		3: str("trace_state"),
		4: msgs("attributes", &keyValue),
		5: varint("dropped_attributes_count"),
		6: fixed32("flags"),
	}}
	span = message{role: roleItem, fields: []field{
		1:  traceID("trace_id"),
		2:  spanID("span_id"),
		3:  str("trace_state"),
		4:  spanID("parent_span_id"),
		5:  str("name"),
		6:  varint("kind"),
		7:  fixed64("start_time_unix_nano"),
		8:  fixed64("end_time_unix_nano"),
		9:  msgs("attributes", &keyValue),
		10: varint("dropped_attributes_count"),
		11: msgs("events", &spanEvent),
		12: varint("dropped_events_count"),
		13: msgs("links", &spanLink),
		14: varint("dropped_links_count"),
		15: msg("status", &status),
		16: fixed32("flags"),
	}}
	scopeSpans = message{fields: []field{
		1: msg("scope", &scope),
		2: msgs("spans", &span),
		3: str("schema_url"),
	}}
	resourceSpans = message{role: roleResource, fields: []field{
		1: msg("resource", &resource),
		2: msgs("scope_spans", &scopeSpans),
		3: str("schema_url"),
	}}
	tracesRequest = message{fields: []field{
		1: msgs("resource_spans", &resourceSpans),
	}}
)

// metrics/v1.
var (
	exemplar = message{fields: []field{
		2: fixed64("time_unix_nano"),
		3: fixed64("as_double"),
		4: spanID("span_id"),
		5: traceID("trace_id"),
		6: fixed64("as_int"),
		7: msgs("filtered_attributes", &keyValue),
	}}
	numberDataPoint = message{role: roleItem, fields: []field{
		2: fixed64("start_time_unix_nano"),
		3: fixed64("time_unix_nano"),
		4: fixed64("as_double"),
		5: msgs("exemplars", &exemplar),
		6: fixed64("as_int"),
		7: msgs("attributes", &keyValue),
		8: varint("flags"),
	}}
	histogramDataPoint = message{role: roleItem, fields: []field{
		2:  fixed64("start_time_unix_nano"),
		3:  fixed64("time_unix_nano"),
		4:  fixed64("count"),
		5:  fixed64("sum"),
		6:  packedFixed64s("bucket_counts"),
		7:  packedFixed64s("explicit_bounds"),
		8:  msgs("exemplars", &exemplar),
		9:  msgs("attributes", &keyValue),
		10: varint("flags"),
		11: fixed64("min"),
		12: fixed64("max"),
	}}
	buckets = message{fields: []field{
		1: varint("offset"),
		2: packedVarints("bucket_counts"),
	}}
	expHistogramDataPoint = message{role: roleItem, fields: []field{
		1:  msgs("attributes", &keyValue),
		2:  fixed64("start_time_unix_nano"),
		3:  fixed64("time_unix_nano"),
		4:  fixed64("count"),
		5:  fixed64("sum"),
		6:  varint("scale"),
		7:  fixed64("zero_count"),
		8:  msg("positive", &buckets),
		9:  msg("negative", &buckets),
		10: varint("flags"),
		11: msgs("exemplars", &exemplar),
		12: fixed64("min"),
		13: fixed64("max"),
		14: fixed64("zero_threshold"),
	}}
	valueAtQuantile = message{fields: []field{
		1: fixed64("quantile"),
		2: fixed64("value"),
	}}
	summaryDataPoint = message{role: roleItem, fields: []field{
		2: fixed64("start_time_unix_nano"),
		3: fixed64("time_unix_nano"),
		4: fixed64("count"),
		5: fixed64("sum"),
		6: msgs("quantile_values", &valueAtQuantile),
		7: msgs("attributes", &keyValue),
		8: varint("flags"),
	}}
	gauge = message{fields: []field{
		1: msgs("data_points", &numberDataPoint),
	}}
	sum = message{fields: []field{
		1: msgs("data_points", &numberDataPoint),
		2: varint("aggregation_temporality"),
		3: varint("is_monotonic"),
	}}
	histogram = message{fields: []field{
		1: msgs("data_points", &histogramDataPoint),
		2: varint("aggregation_temporality"),
	}}
	expHistogram = message{fields: []field{
		1: msgs("data_points", &expHistogramDataPoint),
		2: varint("aggregation_temporality"),
	}}
	summary = message{fields: []field{
		1: msgs("data_points", &summaryDataPoint),
	}}
	metric = message{fields: []field{
		1:  str("name"),
		2:  str("description"),
		3:  str("unit"),
		5:  msg("gauge", &gauge),
		7:  msg("sum", &sum),
		9:  msg("histogram", &histogram),
		10: msg("exponential_histogram", &expHistogram),
		11: msg("summary", &summary),
		12: msgs("metadata", &keyValue),
	}}
	scopeMetrics = message{fields: []field{
		1: msg("scope", &scope),
		2: msgs("metrics", &metric),
		3: str("schema_url"),
	}}
	resourceMetrics = message{role: roleResource, fields: []field{
		1: msg("resource", &resource),
		2: msgs("scope_metrics", &scopeMetrics),
		3: str("schema_url"),
	}}
	metricsRequest = message{fields: []field{
		1: msgs("resource_metrics", &resourceMetrics),
	}}
)

// logs/v1.
var (
	logRecord = message{role: roleItem, fields: []field{
		1:  fixed64("time_unix_nano"),
		2:  varint("severity_number"),
		3:  str("severity_text"),
		5:  msg("body", &anyValue),
		6:  msgs("attributes", &keyValue),
		7:  varint("dropped_attributes_count"),
		8:  fixed32("flags"),
		9:  traceID("trace_id"),
		10: spanID("span_id"),
		11: fixed64("observed_time_unix_nano"),
		12: str("event_name"),
	}}
	scopeLogs = message{fields: []field{
		1: msg("scope", &scope),
		2: msgs("log_records", &logRecord),
		3: str("schema_url"),
	}}
	resourceLogs = message{role: roleResource, fields: []field{
		1: msg("resource", &resource),
		2: msgs("scope_logs", &scopeLogs),
		3: str("schema_url"),
	}}
	logsRequest = message{fields: []field{
		1: msgs("resource_logs", &resourceLogs),
	}}
)
