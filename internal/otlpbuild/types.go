package otlpbuild

import "time"

// Kind says which of Value's variants is set.
type Kind uint8

// The value kinds OTLP's AnyValue can carry that this package writes.
const (
	// KindEmpty is the empty AnyValue (no variant set): a valid OTLP value
	// meaning "no value".
	KindEmpty Kind = iota
	KindString
	KindBool
	KindInt
	KindDouble
	// KindStrings is an array of strings, as resource attributes such as
	// aws.log.group.names use.
	KindStrings
)

// Value is an attribute value or a log body. Build it with StringValue,
// IntValue, DoubleValue, BoolValue or StringsValue; the zero Value is the
// empty value.
type Value struct {
	kind Kind
	str  string
	num  uint64 // int64, float64 bits or bool, by kind
	strs []string
}

// StringValue returns a string value.
func StringValue(s string) Value { return Value{kind: KindString, str: s} }

// IntValue returns a 64-bit integer value.
func IntValue(v int64) Value { return Value{kind: KindInt, num: uint64(v)} }

// DoubleValue returns a double value.
func DoubleValue(v float64) Value { return Value{kind: KindDouble, num: float64bits(v)} }

// BoolValue returns a boolean value.
func BoolValue(v bool) Value {
	var n uint64
	if v {
		n = 1
	}
	return Value{kind: KindBool, num: n}
}

// StringsValue returns an array-of-strings value. The slice is kept, not
// copied.
func StringsValue(v []string) Value { return Value{kind: KindStrings, strs: v} }

// Kind returns which variant v holds.
func (v Value) Kind() Kind { return v.kind }

// KeyValue is one attribute.
type KeyValue struct {
	Key   string
	Value Value
}

// String returns a string attribute.
func String(key, v string) KeyValue { return KeyValue{key, StringValue(v)} }

// Int returns an integer attribute.
func Int(key string, v int64) KeyValue { return KeyValue{key, IntValue(v)} }

// Double returns a double attribute.
func Double(key string, v float64) KeyValue { return KeyValue{key, DoubleValue(v)} }

// Bool returns a boolean attribute.
func Bool(key string, v bool) KeyValue { return KeyValue{key, BoolValue(v)} }

// Strings returns an array-of-strings attribute.
func Strings(key string, v []string) KeyValue { return KeyValue{key, StringsValue(v)} }

// Resource is the entity that produced the telemetry.
type Resource struct {
	Attributes []KeyValue
	// SchemaURL is written on the Resource{Spans,Metrics,Logs} message.
	SchemaURL string
}

// Scope is the instrumentation scope: what generated the telemetry.
type Scope struct {
	Name       string
	Version    string
	Attributes []KeyValue
	// SchemaURL is written on the Scope{Spans,Metrics,Logs} message.
	SchemaURL string
}

// SpanKind is OTLP's Span.SpanKind.
type SpanKind int32

// Span kinds, numbered as in OTLP.
const (
	SpanKindUnspecified SpanKind = 0
	SpanKindInternal    SpanKind = 1
	SpanKindServer      SpanKind = 2
	SpanKindClient      SpanKind = 3
	SpanKindProducer    SpanKind = 4
	SpanKindConsumer    SpanKind = 5
)

// Bits of Span.Flags and LogRecord.Flags: the W3C trace flags in the low
// byte, and OTLP's SpanFlags for whether the parent is remote.
const (
	FlagSampled          uint32 = 0x01
	FlagContextHasRemote uint32 = 0x100
	FlagContextIsRemote  uint32 = 0x200
)

// StatusCode is OTLP's Status.StatusCode.
type StatusCode int32

// Status codes, numbered as in OTLP.
const (
	StatusUnset StatusCode = 0
	StatusOK    StatusCode = 1
	StatusError StatusCode = 2
)

// Status is a span's outcome. Message is written only with StatusError, as
// OTLP defines it only for errors.
type Status struct {
	Code    StatusCode
	Message string
}

// Event is a timed annotation on a span.
type Event struct {
	Time       time.Time
	Name       string
	Attributes []KeyValue
}

// Span is one span. A zero ParentSpanID makes a root span. Zero times are
// written as 0 (unset).
type Span struct {
	TraceID      [16]byte
	SpanID       [8]byte
	ParentSpanID [8]byte
	TraceState   string
	// Flags are the W3C trace flags (FlagSampled) and the OTLP remote-parent
	// bits; 0 writes nothing.
	Flags             uint32
	Name              string
	Kind              SpanKind
	Start, End        time.Time
	Attributes        []KeyValue
	DroppedAttributes uint32
	Events            []Event
	Status            Status
}

// MetricType says which data a Metric carries.
type MetricType uint8

// The metric types this package writes.
const (
	// Gauge: NumberPoints, no temporality.
	Gauge MetricType = iota
	// Sum: NumberPoints, with Temporality and Monotonic.
	Sum
	// Histogram: HistogramPoints with explicit bounds, with Temporality.
	Histogram
)

// Temporality is OTLP's AggregationTemporality.
type Temporality int32

// Aggregation temporalities, numbered as in OTLP.
const (
	TemporalityUnspecified Temporality = 0
	// Delta points cover the time since the previous point's time.
	Delta Temporality = 1
	// Cumulative points cover the time since a fixed start time.
	Cumulative Temporality = 2
)

// Metric is one metric with its data points. Points is used by Gauge and
// Sum, HistogramPoints by Histogram.
type Metric struct {
	Name        string
	Description string
	Unit        string
	Type        MetricType
	// Temporality applies to Sum and Histogram.
	Temporality Temporality
	// Monotonic applies to Sum: true for counters.
	Monotonic       bool
	Points          []NumberPoint
	HistogramPoints []HistogramPoint
}

// NumberPoint is a Gauge or Sum data point: Int, or Double when IsDouble.
type NumberPoint struct {
	Attributes  []KeyValue
	Start, Time time.Time
	Int         int64
	Double      float64
	IsDouble    bool
	Flags       uint32
}

// HistogramPoint is an explicit-bounds histogram data point. BucketCounts
// has len(Bounds)+1 entries (the last bucket is everything above the last
// bound). Sum, Min and Max are written when Count > 0: OTLP makes them
// optional, and a histogram of no observations has none of them.
type HistogramPoint struct {
	Attributes   []KeyValue
	Start, Time  time.Time
	Count        uint64
	Sum          float64
	Min, Max     float64
	Bounds       []float64
	BucketCounts []uint64
	Flags        uint32
}

// Severity is OTLP's SeverityNumber.
type Severity int32

// The base severity of each range OTLP defines (TRACE is 1–4, DEBUG 5–8,
// and so on).
const (
	SeverityUnspecified Severity = 0
	SeverityTrace       Severity = 1
	SeverityDebug       Severity = 5
	SeverityInfo        Severity = 9
	SeverityWarn        Severity = 13
	SeverityError       Severity = 17
	SeverityFatal       Severity = 21
)

// LogRecord is one log record. Zero trace or span IDs are left out.
type LogRecord struct {
	Time              time.Time
	ObservedTime      time.Time
	SeverityNumber    Severity
	SeverityText      string
	Body              Value
	Attributes        []KeyValue
	DroppedAttributes uint32
	// Flags are the W3C trace flags of the record's span (FlagSampled).
	Flags     uint32
	TraceID   [16]byte
	SpanID    [8]byte
	EventName string
}
