package otlpjson

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// fixture is a real-world-shaped OTLP/JSON document from testdata: the OTLP
// specification's examples and what the OTel JS exporter, the Collector and
// protobuf JSON printers with proto field names write.
type fixture struct {
	name string
	sig  Signal
	data []byte
}

// fixtures loads testdata/<signal>_*.json.
func fixtures(t testing.TB) []fixture {
	t.Helper()
	paths, err := filepath.Glob("testdata/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var fs []fixture
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		var sig Signal
		switch {
		case strings.HasPrefix(name, "traces_"):
			sig = Traces
		case strings.HasPrefix(name, "metrics_"):
			sig = Metrics
		case strings.HasPrefix(name, "logs_"):
			sig = Logs
		default:
			t.Fatalf("%s: name must start with the signal", name)
		}
		fs = append(fs, fixture{name, sig, data})
	}
	return fs
}

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			got := toProtobuf(t, fx.sig, fx.data)
			want, err := protojsonFromOTLP(fx.sig, fx.data)
			if err != nil {
				t.Fatalf("protojson oracle: %v", err)
			}
			assertEqual(t, "AppendProtobuf vs protojson", got, want)
			if proto.Size(got) == 0 {
				t.Error("decoded to nothing")
			}

			pb := mustMarshal(t, got)
			js := toJSON(t, fx.sig, pb)
			back, err := AppendProtobuf(nil, fx.sig, js)
			if err != nil {
				t.Fatalf("round trip: %v", err)
			}
			if !bytes.Equal(back, pb) {
				t.Error("round trip changed the bytes")
			}
			checkFixture(t, fx.name, got)
		})
	}
}

// checkFixture spot-checks values the oracle comparison alone would not
// catch if both sides got them wrong the same way.
func checkFixture(t *testing.T, name string, m proto.Message) {
	switch name {
	case "traces_spec.json":
		s := m.(*tracepb.TracesData).ResourceSpans[0].ScopeSpans[0].Spans[0]
		if s.Kind != tracepb.Span_SPAN_KIND_SERVER || s.TraceId[0] != 0x7a || s.SpanId[7] != 0x81 || s.EndTimeUnixNano != 1700000000250000000 {
			t.Errorf("span: %v", s)
		}
	case "traces_js_exporter.json":
		s := m.(*tracepb.TracesData).ResourceSpans[0].ScopeSpans[0].Spans
		if s[1].StartTimeUnixNano != 1727866392100000000 || s[0].Links[0].Flags != 257 || s[0].Status.Code != tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("spans: %v", s)
		}
	case "metrics_spec.json":
		ms := m.(*metricspb.MetricsData).ResourceMetrics[0].ScopeMetrics[0].Metrics
		h := ms[2].GetHistogram().DataPoints[0]
		if h.GetSum() != 410.5 || len(h.BucketCounts) != 4 || h.BucketCounts[2] != 2 || h.GetMin() != 8.25 {
			t.Errorf("histogram: %v", h)
		}
		e := ms[3].GetExponentialHistogram().DataPoints[0]
		if e.Min == nil || *e.Min != 0 || e.Negative == nil || e.Positive.Offset != 2 {
			t.Errorf("exponential histogram: %v", e)
		}
	case "logs_spec.json":
		r := m.(*logspb.LogsData).ResourceLogs[0].ScopeLogs[0].LogRecords[0]
		if r.EventName != "order.placed" || string(r.Attributes[6].Value.GetBytesValue()) != "Order 1234" || r.SeverityNumber != 10 {
			t.Errorf("log record: %v", r)
		}
	case "logs_proto_names.json":
		r := m.(*logspb.LogsData).ResourceLogs[0].ScopeLogs[0].LogRecords[0]
		if r.SeverityNumber != logspb.SeverityNumber_SEVERITY_NUMBER_INFO || !math.IsNaN(r.Attributes[2].Value.GetDoubleValue()) || len(r.TraceId) != 16 {
			t.Errorf("log record: %v", r)
		}
	}
}
