package otlpjson

import (
	"bytes"
	"math"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// Tests of AppendJSON's own rules; the oracle tests cover the rest.

// msg builds a protobuf message from fields, each a complete encoded field.
func msg(fields ...[]byte) []byte { return bytes.Join(fields, nil) }

func fBytes(num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
}
func fString(num protowire.Number, s string) []byte { return fBytes(num, []byte(s)) }
func fVarint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}
func fFixed64(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), v)
}
func fFixed32(num protowire.Number, v uint32) []byte {
	return protowire.AppendFixed32(protowire.AppendTag(nil, num, protowire.Fixed32Type), v)
}
func fGroup(num protowire.Number, body []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.StartGroupType)
	b = append(b, body...)
	return protowire.AppendTag(b, num, protowire.EndGroupType)
}

// pbSpans wraps encoded spans in a TracesData.
func pbSpans(spans ...[]byte) []byte {
	var ss []byte
	for _, s := range spans {
		ss = append(ss, fBytes(2, s)...)
	}
	return fBytes(1, fBytes(2, ss))
}

// pbBody wraps an encoded AnyValue as the body of one log record.
func pbBody(anyValue []byte) []byte {
	return fBytes(1, fBytes(2, fBytes(2, fBytes(5, anyValue))))
}

func TestAppendJSONFormat(t *testing.T) {
	m := spansData(&tracepb.Span{
		TraceId: traceID, SpanId: spanID, Name: "n", Kind: 2, Flags: 0x101,
		StartTimeUnixNano: 1544712660000000000, EndTimeUnixNano: math.MaxUint64,
		Attributes: []*commonpb.KeyValue{
			kv("i", anyInt(-3)), kv("d", anyDouble(math.NaN())), kv("inf", anyDouble(math.Inf(-1))), kv("f", anyDouble(2.5e-7)),
			kv("b", anyBytes([]byte{0xfb, 0xff})), kv("s", anyStr("\"\n\x01é")), kv("big", anyDouble(1e21)), kv("int", anyDouble(3)),
		},
		Status: &tracepb.Status{Code: 2},
	})
	want := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",` +
		`"name":"n","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"18446744073709551615","attributes":[` +
		`{"key":"i","value":{"intValue":"-3"}},{"key":"d","value":{"doubleValue":"NaN"}},{"key":"inf","value":{"doubleValue":"-Infinity"}},` +
		`{"key":"f","value":{"doubleValue":2.5e-7}},{"key":"b","value":{"bytesValue":"+/8="}},{"key":"s","value":{"stringValue":"\"\n\u0001é"}},` +
		`{"key":"big","value":{"doubleValue":1e+21}},{"key":"int","value":{"doubleValue":3}}],"status":{"code":2},"flags":257}]}]}]}`
	if got := toJSON(t, Traces, mustMarshal(t, m)); string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := toJSON(t, Metrics, nil); string(got) != "{}" {
		t.Errorf("empty request: %s", got)
	}
}

// TestAppendJSONMergeRules: protobuf lets a field occur more than once; the
// JSON must say what proto.Unmarshal makes of it.
func TestAppendJSONMergeRules(t *testing.T) {
	cases := map[string]struct {
		sig Signal
		pb  []byte
	}{
		"scalar twice: last wins": {Traces, pbSpans(msg(fString(5, "first"), fVarint(6, 1), fString(5, "second"), fVarint(6, 0)))},
		"message twice: merged": {Traces, pbSpans(msg(
			fBytes(15, fString(2, "m")), fString(5, "n"), fBytes(15, fVarint(3, 2)), fBytes(15, nil)))},
		"repeated split": {Traces, pbSpans(msg(
			fBytes(9, fString(1, "a")), fString(5, "n"), fBytes(9, fString(1, "b")), fVarint(10, 1), fBytes(9, fString(1, "c"))))},
		"oneof: last member wins":                 {Logs, pbBody(msg(fString(1, "s"), fVarint(3, 5)))},
		"oneof: back to an earlier member":        {Logs, pbBody(msg(fBytes(6, fBytes(1, fString(1, "lost"))), fString(1, "s"), fBytes(6, fBytes(1, fString(1, "kept")))))},
		"oneof: same message member twice merges": {Logs, pbBody(msg(fBytes(5, fBytes(1, fString(1, "a"))), fBytes(5, fBytes(1, fVarint(3, 1)))))},
		"oneof: zero member then another":         {Logs, pbBody(msg(fVarint(3, 0), fVarint(2, 0)))},
		"packed and unpacked mixed": {Metrics, fBytes(1, fBytes(2, fBytes(2, fBytes(9, fBytes(1, msg(
			fFixed64(6, 1), fBytes(6, protowire.AppendFixed64(protowire.AppendFixed64(nil, 2), 3)), fFixed64(6, 4),
			fBytes(7, nil), fFixed64(7, math.Float64bits(0.5)),
			fBytes(11, nil), // min, with the wrong wire type: an unknown field
		))))))},
		"exponential buckets packed varints": {Metrics, fBytes(1, fBytes(2, fBytes(2, fBytes(10, fBytes(1, fBytes(8, msg(
			fBytes(2, protowire.AppendVarint(protowire.AppendVarint(nil, 1), math.MaxUint64)), fVarint(2, 7), fVarint(1, protowire.EncodeZigZag(-3)),
		)))))))},
		"wrong wire type is unknown": {Traces, pbSpans(msg(fVarint(5, 1), fFixed64(1, 1), fString(7, "x"), fFixed32(6, 1), fString(5, "kept")))},
		"unknown fields everywhere": {Traces, msg(
			fVarint(99, 1), fGroup(100, fString(1, "g")), fFixed32(101, 1),
			fBytes(1, msg(
				fFixed64(98, 1),
				fBytes(1, msg(fBytes(1, msg(fString(1, "k"), fVarint(50, 1), fBytes(2, msg(fString(1, "v"), fVarint(51, 2))))), fString(9, "x"))),
				fBytes(2, msg(fString(97, "y"), fBytes(2, msg(fVarint(96, 1), fString(5, "n"))))),
			)),
		)},
		"int32 truncation":   {Traces, pbSpans(msg(fVarint(6, 1<<32|2), fVarint(10, 1<<32)))},
		"empty packed field": {Metrics, fBytes(1, fBytes(2, fBytes(2, fBytes(9, fBytes(1, fBytes(6, nil))))))},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := unmarshalPB(tc.sig, tc.pb)
			if err != nil {
				t.Fatalf("test input: %v", err)
			}
			js := toJSON(t, tc.sig, tc.pb)
			assertEqual(t, "round trip", toProtobuf(t, tc.sig, js), want)
		})
	}
}

func TestAppendJSONRejects(t *testing.T) {
	cases := []struct {
		name string
		sig  Signal
		pb   []byte
		err  string
	}{
		{"truncated", Traces, fBytes(1, fBytes(2, fString(3, "abc")))[:6], "invalid protobuf: unexpected end of data"},
		{"truncated inside", Traces, pbSpans(fString(5, "abc")[:4]), "resourceSpans[0].scopeSpans[0].spans[0]: invalid protobuf: unexpected end of data"},
		{"field number zero", Traces, fVarint(0, 1), "invalid protobuf: invalid field number"},
		{"field number too large", Traces, fVarint(protowire.MaxValidNumber+1, 1), "invalid protobuf: invalid field number"},
		{"end group alone", Traces, protowire.AppendTag(nil, 5, protowire.EndGroupType), "invalid protobuf: mismatching end group marker"},
		{"reserved wire type", Traces, []byte{0x0e}, "invalid protobuf: cannot parse reserved wire type"},
		{"varint overflow", Traces, []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, "invalid protobuf: variable length integer overflow"},
		{"bad UTF-8", Traces, pbSpans(fString(5, "a\xffb")), spanPath + ".name: invalid UTF-8 in string"},
		{"bad UTF-8 overridden", Traces, pbSpans(msg(fString(5, "a\xffb"), fString(5, "ok"))), spanPath + ".name: invalid UTF-8 in string"},
		{"bad UTF-8 in losing oneof member", Logs, pbBody(msg(fBytes(6, fBytes(1, fString(1, "\xff"))), fVarint(3, 1))),
			logPath + ".body.kvlistValue.values[0].key: invalid UTF-8 in string"},
		{"bad UTF-8 in repeated string", Traces, fBytes(1, fBytes(1, fBytes(3, msg(fString(3, "ok"), fString(3, "\xc0"))))),
			"resourceSpans[0].resource.entityRefs[0].idKeys[1]: invalid UTF-8 in string"},
		{"short trace ID", Traces, pbSpans(fBytes(1, []byte{1, 2, 3, 4, 5})), spanPath + ".traceId: want 16 bytes, got 5"},
		{"long span ID", Logs, fBytes(1, fBytes(2, fBytes(2, fBytes(10, make([]byte, 9))))), logPath + ".spanId: want 8 bytes, got 9"},
		{"merged occurrences that only parse joined", Metrics, fBytes(1, fBytes(2, fBytes(2, msg(fBytes(5, []byte{0x25, 0, 0}), fBytes(5, []byte{0, 0}))))),
			metricPath + ".gauge: invalid protobuf: unexpected end of data"},
		{"packed fixed64 ragged", Metrics, fBytes(1, fBytes(2, fBytes(2, fBytes(9, fBytes(1, fBytes(6, make([]byte, 12))))))),
			metricPath + ".histogram.dataPoints[0].bucketCounts[1]: invalid protobuf: packed field length is not a multiple of 8"},
		{"packed varint truncated", Metrics, fBytes(1, fBytes(2, fBytes(2, fBytes(10, fBytes(1, fBytes(8, fBytes(2, []byte{1, 0x80}))))))),
			metricPath + ".exponentialHistogram.dataPoints[0].positive.bucketCounts[1]: invalid protobuf: unexpected end of data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := AppendJSON(dst, tc.sig, tc.pb)
			if err == nil {
				t.Fatalf("no error; want %q", tc.err)
			}
			if err.Error() != tc.err {
				t.Errorf("error\n got %q\nwant %q", err, tc.err)
			}
			if string(got) != "prefix" {
				t.Errorf("dst changed to %q", got)
			}
		})
	}
}

func TestAppendJSONDepth(t *testing.T) {
	nest := func(n int) []byte {
		v := fVarint(3, 1)
		for range n - 1 {
			v = fBytes(5, fBytes(1, v))
		}
		return pbBody(v)
	}
	if _, err := AppendJSON(nil, Logs, nest(64)); err != nil {
		t.Errorf("64 deep: %v", err)
	}
	_, err := AppendJSON(nil, Logs, nest(65))
	if want := logPath + ".body" + strings.Repeat(".arrayValue.values[0]", 64) + ": AnyValue nested more than 64 deep"; err == nil || err.Error() != want {
		t.Errorf("65 deep: got %v\nwant %s", err, want)
	}
	// A message field repeated at every level is merged, and must not cost
	// exponential time.
	v := fVarint(3, 1)
	for range 60 {
		v = msg(fBytes(5, fBytes(1, v)), fBytes(5, nil))
	}
	if _, err := AppendJSON(nil, Logs, pbBody(v)); err != nil {
		t.Errorf("merged nesting: %v", err)
	}
}

// TestAppendJSONMetricsAndLogs pins a few OTLP/JSON details of the other
// signals.
func TestAppendJSONMetricsAndLogs(t *testing.T) {
	m := metricsData(&metricspb.Metric{Name: "h", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
		DataPoints: []*metricspb.HistogramDataPoint{{Count: 2, Sum: f64(0), BucketCounts: []uint64{1, 1}, ExplicitBounds: []float64{0.5}}},
	}}})
	want := `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"h","histogram":{"dataPoints":[{"count":"2","sum":0,"bucketCounts":["1","1"],"explicitBounds":[0.5]}]}}]}]}]}`
	if got := toJSON(t, Metrics, mustMarshal(t, m)); string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	l := logsData(&logspb.LogRecord{SeverityNumber: 9, Body: anyStr("hi"), EventName: "e", Flags: 1})
	want = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":9,"body":{"stringValue":"hi"},"flags":1,"eventName":"e"}]}]}]}`
	if got := toJSON(t, Logs, mustMarshal(t, l)); string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
