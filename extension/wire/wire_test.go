package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func TestSignalString(t *testing.T) {
	for s, want := range map[Signal]string{Traces: "traces", Metrics: "metrics", Logs: "logs", Signal(9): "Signal(9)"} {
		if got := s.String(); got != want {
			t.Errorf("Signal(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestValidCounts(t *testing.T) {
	tests := []struct {
		name string
		sig  Signal
		body []byte
		want Counts
	}{
		{"traces", Traces, mustMarshal(t, testTraces()), Counts{Resources: 2, Items: 10}},
		{"metrics", Metrics, mustMarshal(t, testMetrics()), Counts{Resources: 1, Items: 10}},
		{"logs", Logs, mustMarshal(t, testLogs()), Counts{Resources: 3, Items: 4}},
		{"bench traces", Traces, mustMarshal(t, benchTraces(512)), Counts{Resources: 1, Items: 512}},
		{"empty traces", Traces, nil, Counts{}},
		{"empty metrics", Metrics, []byte{}, Counts{}},
		{"empty logs", Logs, nil, Counts{}},
		{"empty resource", Traces, lenf(1), Counts{Resources: 1}},
		{"empty span", Traces, lenf(1, lenf(2, lenf(2))), Counts{Resources: 1, Items: 1}},
		// Repeated scalars may come unpacked, as the protobuf spec requires
		// parsers to accept.
		{"unpacked buckets", Metrics, lenf(1, lenf(2, lenf(2, lenf(9, lenf(1,
			fix64f(6, 1), fix64f(6, 2), fix64f(7, 0x3ff0000000000000), lenf(6))),
			lenf(10, lenf(1, lenf(8, varf(2, 1), varf(2, 300), lenf(2, []byte{5, 6}))))))),
			Counts{Resources: 1, Items: 2}},
		// Unknown fields at the top level only.
		{"unknown top-level", Logs, unknownFields(), Counts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate(tt.sig, tt.body)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got != tt.want {
				t.Errorf("counts = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestUnknownFields adds unknown fields (of every wire type) to every
// message of every signal: a producer on a newer OTLP version must be
// accepted.
func TestUnknownFields(t *testing.T) {
	raw := protoreflect.RawFields(unknownFields())
	var addUnknown func(m protoreflect.Message)
	addUnknown = func(m protoreflect.Message) {
		m.SetUnknown(append(m.GetUnknown(), raw...))
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.Message() == nil:
			case fd.IsList():
				for i := 0; i < v.List().Len(); i++ {
					addUnknown(v.List().Get(i).Message())
				}
			default:
				addUnknown(v.Message())
			}
			return true
		})
	}
	tests := []struct {
		sig  Signal
		msg  interface{ ProtoReflect() protoreflect.Message }
		want Counts
	}{
		{Traces, testTraces(), Counts{2, 10}},
		{Metrics, testMetrics(), Counts{1, 10}},
		{Logs, testLogs(), Counts{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.sig.String(), func(t *testing.T) {
			plain := mustMarshal(t, tt.msg)
			addUnknown(tt.msg.ProtoReflect())
			body := mustMarshal(t, tt.msg)
			if len(body) <= len(plain)+100 {
				t.Fatalf("unknown fields were not added: %d vs %d bytes", len(body), len(plain))
			}
			got, err := Validate(tt.sig, body)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got != tt.want {
				t.Errorf("counts = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConcatenation(t *testing.T) {
	for _, tt := range []struct {
		sig  Signal
		a, b []byte
	}{
		{Traces, mustMarshal(t, testTraces()), mustMarshal(t, benchTraces(7))},
		{Metrics, mustMarshal(t, testMetrics()), mustMarshal(t, testMetrics())},
		{Logs, mustMarshal(t, testLogs()), unknownFields()},
	} {
		ca, err := Validate(tt.sig, tt.a)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := Validate(tt.sig, tt.b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Validate(tt.sig, cat(tt.a, tt.b))
		if err != nil {
			t.Fatalf("%v: concatenation: %v", tt.sig, err)
		}
		if want := (Counts{ca.Resources + cb.Resources, ca.Items + cb.Items}); got != want {
			t.Errorf("%v: concatenation counts = %+v, want %+v", tt.sig, got, want)
		}
	}
}

func TestUnknownSignal(t *testing.T) {
	_, err := Validate(Signal(7), nil)
	if err == nil || errors.Is(err, ErrMalformed) {
		t.Errorf("Validate(Signal(7)) = %v, want a non-ErrMalformed error", err)
	}
}

// Building blocks for malformed traces: okSpan is a valid span, and
// traceReq wraps spans in scope_spans[0] of resource_spans[0].
var okSpan = lenf(2, lenf(1, traceID16), lenf(5, []byte("ok")))

func traceReq(spans ...[]byte) []byte { return lenf(1, lenf(2, spans...)) }

// spanWith is a span (field 2 of ScopeSpans) holding fields.
func spanWith(fields ...[]byte) []byte { return lenf(2, fields...) }

// deepValue is an attribute value nested depth levels deep, by hand.
func deepValue(depth int) []byte {
	v := lenf(1, []byte("leaf")) // string_value, inside the innermost AnyValue
	for d := 1; d < depth; d++ {
		v = lenf(5, lenf(1, v)) // array_value { values { v } }
	}
	return v
}

// malformedCase is an invalid body and what Validate must say about it.
type malformedCase struct {
	name   string
	sig    Signal
	body   []byte
	path   string
	reason string // a substring of Error.Reason
}

// malformedCases is shared by TestMalformed and the fuzz seeds.
func malformedCases() []malformedCase {
	const span0 = "resource_spans[0].scope_spans[0].spans[0]"
	return []malformedCase{
		{"truncated tag varint", Traces, []byte{0x80}, "", "bad tag"},
		{"truncated tag varint in span", Traces, traceReq(spanWith([]byte{0xff, 0xff})), span0, "bad tag"},
		{"field number 0", Traces, []byte{0x00, 0x00}, "", "invalid field number"},
		{"field number 0 in span", Traces, traceReq(spanWith(varf(6, 1), []byte{0x02, 0x00})), span0, "invalid field number"},
		{"field number too large", Traces, protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3), "", "out of range"},
		{"length past the end", Traces, []byte{0x0a, 0x05, 0x01}, "resource_spans[0]", "length 5 past the end"},
		{"length past the end of parent", Traces, lenf(1, []byte{0x12, 0x10}, make([]byte, 3)), "resource_spans[0].scope_spans[0]", "length 16 past the end"},
		{"truncated length", Traces, []byte{0x0a, 0x80}, "resource_spans[0]", "bad length"},
		{"huge length", Traces, cat([]byte{0x0a}, protowire.AppendVarint(nil, 1<<62)), "resource_spans[0]", "past the end"},
		{"truncated varint value", Traces, traceReq(spanWith([]byte{0x30, 0x80, 0x80})), span0 + ".kind", "bad varint"},
		{"varint overflow", Traces, traceReq(spanWith(cat([]byte{0x30}, bytes.Repeat([]byte{0xff}, 9), []byte{0x02}))), span0 + ".kind", "bad varint"},
		{"truncated fixed64", Traces, traceReq(spanWith([]byte{0x39, 1, 2, 3})), span0 + ".start_time_unix_nano", "truncated fixed64"},
		{"truncated fixed32", Traces, traceReq(spanWith([]byte{0x85, 0x01, 1, 2})), span0 + ".flags", "truncated fixed32"},
		{"truncated unknown field", Traces, traceReq(spanWith([]byte{0xa0, 0x06})), span0, "field 100: bad varint"},
		{"wire type of request field", Traces, varf(1, 1), "resource_spans[0]", "wire type 0, want 2"},
		{"wire type of span name", Traces, traceReq(okSpan, spanWith(varf(5, 1))), "resource_spans[0].scope_spans[0].spans[1].name", "wire type 0, want 2"},
		{"wire type of span kind", Traces, traceReq(spanWith(fix32f(6, 1))), span0 + ".kind", "wire type 5, want 0"},
		{"wire type of span start time", Traces, traceReq(spanWith(varf(7, 1))), span0 + ".start_time_unix_nano", "wire type 0, want 1"},
		{"start group on known field", Traces, []byte{0x0b, 0x0c}, "resource_spans[0]", "group wire type 3"},
		{"end group", Traces, []byte{0x0c}, "resource_spans[0]", "group wire type 4"},
		{"group on unknown field", Traces, traceReq(spanWith(protowire.AppendTag(nil, 99, protowire.StartGroupType), protowire.AppendTag(nil, 99, protowire.EndGroupType))), span0, "field 99: group wire type 3"},
		{"wire type 6", Traces, []byte{0x0e}, "resource_spans[0]", "invalid wire type 6"},
		{"wire type 7 unknown", Traces, []byte{0x3f}, "", "field 7: invalid wire type 7"},
		{"span name UTF-8", Traces, traceReq(spanWith(lenf(5, []byte("bad \xc3\x28")))), span0 + ".name", "invalid UTF-8"},
		{"15-byte trace id", Traces, lenf(1, lenf(2, okSpan), lenf(2, okSpan, okSpan, okSpan, spanWith(lenf(1, make([]byte, 15))))),
			"resource_spans[0].scope_spans[1].spans[3].trace_id", "length 15, want 16"},
		{"17-byte trace id", Traces, traceReq(spanWith(lenf(1, make([]byte, 17)))), span0 + ".trace_id", "length 17, want 16"},
		{"9-byte span id", Traces, traceReq(spanWith(lenf(2, make([]byte, 9)))), span0 + ".span_id", "length 9, want 8"},
		{"7-byte parent span id", Traces, traceReq(spanWith(lenf(4, make([]byte, 7)))), span0 + ".parent_span_id", "length 7, want 8"},
		{"link trace id", Traces, traceReq(spanWith(lenf(13), lenf(13, lenf(1, make([]byte, 3))))), span0 + ".links[1].trace_id", "length 3, want 16"},
		{"event name UTF-8", Traces, traceReq(spanWith(lenf(11, lenf(2, []byte{0xff})))), span0 + ".events[0].name", "invalid UTF-8"},
		{"status message UTF-8", Traces, traceReq(spanWith(lenf(15, lenf(2, []byte{0xed, 0xa0, 0x80})))), span0 + ".status.message", "invalid UTF-8"},
		{"trace state UTF-8", Traces, traceReq(spanWith(lenf(3, []byte{0x80}))), span0 + ".trace_state", "invalid UTF-8"},
		{"resource attribute key UTF-8", Traces, lenf(1, lenf(1, lenf(1, lenf(1, []byte("ok"))), lenf(1, lenf(1, []byte{0xfe})))),
			"resource_spans[0].resource.attributes[1].key", "invalid UTF-8"},
		{"entity ref id key UTF-8", Traces, lenf(1, lenf(1, lenf(3, lenf(3, []byte("a")), lenf(3, []byte{0xff})))),
			"resource_spans[0].resource.entity_refs[0].id_keys[1]", "invalid UTF-8"},
		{"scope name UTF-8", Traces, lenf(1, lenf(2, lenf(1, lenf(1, []byte{0xc0})))), "resource_spans[0].scope_spans[0].scope.name", "invalid UTF-8"},
		{"schema url UTF-8", Traces, lenf(1, lenf(3, []byte{0xc0})), "resource_spans[0].schema_url", "invalid UTF-8"},
		{"string value UTF-8", Traces, traceReq(spanWith(lenf(9, lenf(1, []byte("k")), lenf(2, lenf(1, []byte{0xff}))))), span0 + ".attributes[0].value.string_value", "invalid UTF-8"},
		{"nesting past MaxDepth", Traces, traceReq(spanWith(lenf(9, lenf(2, deepValue(MaxDepth+1))))),
			span0 + ".attributes[0].value" + strings.Repeat(".array_value.values[0]", MaxDepth), "deeper than 32"},
		{"truncated inside nested value", Traces, traceReq(spanWith(lenf(9, lenf(2, lenf(6, lenf(1, lenf(2, []byte{0x21, 1}))))))),
			span0 + ".attributes[0].value.kvlist_value.values[0].value.double_value", "truncated fixed64"},

		// Metrics.
		{"metric name UTF-8", Metrics, lenf(1, lenf(2, lenf(2, lenf(1, []byte{0xff})))), "resource_metrics[0].scope_metrics[0].metrics[0].name", "invalid UTF-8"},
		{"metric unit wire type", Metrics, lenf(1, lenf(2, lenf(2, varf(3, 1)))), "resource_metrics[0].scope_metrics[0].metrics[0].unit", "wire type 0, want 2"},
		{"gauge point value wire type", Metrics, lenf(1, lenf(2, lenf(2, lenf(5, lenf(1), lenf(1, varf(4, 1)))))),
			"resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[1].as_double", "wire type 0, want 1"},
		{"sum exemplar trace id", Metrics, lenf(1, lenf(2, lenf(2, lenf(7, lenf(1, lenf(5, lenf(5, make([]byte, 15)))))))),
			"resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0].exemplars[0].trace_id", "length 15, want 16"},
		{"histogram packed bucket counts", Metrics, lenf(1, lenf(2, lenf(2, lenf(9, lenf(1, lenf(6, make([]byte, 7))))))),
			"resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0].bucket_counts[0]", "not a multiple of 8"},
		{"histogram bounds wire type", Metrics, lenf(1, lenf(2, lenf(2, lenf(9, lenf(1, varf(7, 1)))))),
			"resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0].explicit_bounds[0]", "wire type 0, want 1"},
		{"exponential histogram packed varint", Metrics, lenf(1, lenf(2, lenf(2, lenf(10, lenf(1, lenf(9, lenf(2, []byte{1, 0x80}))))))),
			"resource_metrics[0].scope_metrics[0].metrics[0].exponential_histogram.data_points[0].negative.bucket_counts[0]", "bad packed varint"},
		{"summary quantile truncated", Metrics, lenf(1, lenf(2, lenf(2, lenf(11, lenf(1, lenf(6), lenf(6, []byte{0x09, 1})))))),
			"resource_metrics[0].scope_metrics[0].metrics[0].summary.data_points[0].quantile_values[1].quantile", "truncated fixed64"},
		{"metadata key UTF-8", Metrics, lenf(1, lenf(2, lenf(2, lenf(12, lenf(1, []byte{0xff}))))),
			"resource_metrics[0].scope_metrics[0].metrics[0].metadata[0].key", "invalid UTF-8"},

		// Logs.
		{"log span id", Logs, lenf(1, lenf(2, lenf(2), lenf(2, lenf(10, make([]byte, 7))))), "resource_logs[0].scope_logs[0].log_records[1].span_id", "length 7, want 8"},
		{"log body kvlist key UTF-8", Logs, lenf(1, lenf(2, lenf(2, lenf(5, lenf(6, lenf(1, lenf(1, []byte{0xff}))))))),
			"resource_logs[0].scope_logs[0].log_records[0].body.kvlist_value.values[0].key", "invalid UTF-8"},
		{"log severity text UTF-8", Logs, lenf(1, lenf(2, lenf(2, lenf(3, []byte("WARN\xff"))))),
			"resource_logs[0].scope_logs[0].log_records[0].severity_text", "invalid UTF-8"},
		{"log event name wire type", Logs, lenf(1, lenf(2, lenf(2, fix64f(12, 1)))), "resource_logs[0].scope_logs[0].log_records[0].event_name", "wire type 1, want 2"},
		{"log body nesting", Logs, lenf(1, lenf(2, lenf(2, lenf(5, deepValue(MaxDepth+5))))),
			"resource_logs[0].scope_logs[0].log_records[0].body" + strings.Repeat(".array_value.values[0]", MaxDepth), "deeper than 32"},
	}
}

func TestMalformed(t *testing.T) {
	for _, tt := range malformedCases() {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Validate(tt.sig, tt.body)
			if err == nil {
				t.Fatalf("Validate accepted % x", tt.body)
			}
			if c != (Counts{}) {
				t.Errorf("counts on error = %+v, want zero", c)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("errors.Is(%v, ErrMalformed) = false", err)
			}
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("error %T is not *Error", err)
			}
			if we.Path != tt.path {
				t.Errorf("Path = %q, want %q", we.Path, tt.path)
			}
			if !strings.Contains(we.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", we.Reason, tt.reason)
			}
			if we.Signal != tt.sig {
				t.Errorf("Signal = %v, want %v", we.Signal, tt.sig)
			}
			if we.Offset < 0 || we.Offset > len(tt.body) {
				t.Errorf("Offset = %d, outside the %d-byte body", we.Offset, len(tt.body))
			}
			msg := err.Error()
			wantPath := tt.path
			if wantPath == "" {
				wantPath = "request"
			}
			if !strings.HasPrefix(msg, "malformed OTLP "+tt.sig.String()+" request: "+wantPath+": ") {
				t.Errorf("Error() = %q", msg)
			}
		})
	}
}

// TestMalformedConcatenation checks that a bad request after a good one is
// reported with the index it has in the merged request.
func TestMalformedConcatenation(t *testing.T) {
	good := mustMarshal(t, testTraces())
	bad := traceReq(spanWith(lenf(1, make([]byte, 15))))
	_, err := Validate(Traces, cat(good, bad))
	var we *Error
	if !errors.As(err, &we) {
		t.Fatalf("Validate: %v", err)
	}
	if want := "resource_spans[2].scope_spans[0].spans[0].trace_id"; we.Path != want {
		t.Errorf("Path = %q, want %q", we.Path, want)
	}
	if we.Offset < len(good) {
		t.Errorf("Offset = %d, want past the good part (%d bytes)", we.Offset, len(good))
	}
}

func TestDepthLimitExact(t *testing.T) {
	// MaxDepth levels are fine, both hand-built and from the proto types.
	if _, err := Validate(Traces, traceReq(spanWith(lenf(9, lenf(2, deepValue(MaxDepth)))))); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	td := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
		Attributes: []*commonpb.KeyValue{kv("deep", nested(MaxDepth))},
	}}}}}}}
	if _, err := Validate(Traces, mustMarshal(t, td)); err != nil {
		t.Errorf("proto-built depth %d: %v", MaxDepth, err)
	}
	td.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes[0].Value = nested(MaxDepth + 1)
	if _, err := Validate(Traces, mustMarshal(t, td)); !errors.Is(err, ErrMalformed) {
		t.Errorf("proto-built depth %d: err = %v, want ErrMalformed", MaxDepth+1, err)
	}
}

// TestOneofCounts documents that every item message on the wire is counted,
// even when a later member of Metric's data oneof replaces an earlier one for
// a struct decoder (which would then see 1 data point here, not 3).
func TestOneofCounts(t *testing.T) {
	body := lenf(1, lenf(2, lenf(2,
		lenf(5, lenf(1), lenf(1)), // gauge with 2 data points
		lenf(7, lenf(1)),          // then sum with 1
	)))
	c, err := Validate(Metrics, body)
	if err != nil || c != (Counts{1, 3}) {
		t.Fatalf("Validate = %+v, %v; want {1 3}", c, err)
	}
	var m metricspb.MetricsData
	if err := proto.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if n := len(m.ResourceMetrics[0].ScopeMetrics[0].Metrics[0].GetSum().GetDataPoints()); n != 1 {
		t.Errorf("proto.Unmarshal kept %d data points, want 1", n)
	}
}

func TestZeroAllocs(t *testing.T) {
	bodies := []struct {
		sig  Signal
		body []byte
	}{
		{Traces, mustMarshal(t, testTraces())},
		{Metrics, mustMarshal(t, testMetrics())},
		{Logs, mustMarshal(t, testLogs())},
	}
	for _, b := range bodies {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := Validate(b.sig, b.body); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per Validate, want 0", b.sig, allocs)
		}
	}
}
