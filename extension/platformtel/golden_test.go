package platformtel

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// A fixture is a session as the listener would see it, one JSON object per
// line: telemetry events in delivery order, and directives —
// {"clock": time} sets the clock, {"collect": true} calls Collect,
// {"shutdown": reason} calls Shutdown at the clock, {"comment": …} says
// what the fixture is. The golden files hold every Collect's output of a
// signal, concatenated (concatenated requests merge), as OTLP/JSON (hex
// IDs, as the OTLP specification writes them, so that parent links can be
// read), and the final Stats as JSON. They are compared as decoded
// messages with proto.Equal.
var fixtures = []struct {
	name string
	opts Options
}{
	{"schema-2022-12-13", Options{}},
	{"schema-2025-01-29", Options{InitType: lambdaapi.InitManagedInstances}},
	{"schema-2022-07-01", Options{}},
}

func TestGolden(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			traces, metrics, logs, stats := runFixture(t, fx.name, fx.opts)
			got := map[string]proto.Message{"traces": traces, "metrics": metrics, "logs": logs}
			for _, sig := range []string{"traces", "metrics", "logs"} {
				path := filepath.Join("testdata", fx.name+"."+sig+".json")
				if *update {
					if err := os.WriteFile(path, goldenJSON(t, got[sig]), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				text, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				want := got[sig].ProtoReflect().New().Interface()
				if err := fromGoldenJSON(text, want); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				if !proto.Equal(got[sig], want) {
					t.Errorf("%s differs from %s (check, then run with -update):\n%s", sig, path, goldenJSON(t, got[sig]))
				}
			}
			statsJSON, _ := json.MarshalIndent(stats, "", "  ")
			path := filepath.Join("testdata", fx.name+".stats.json")
			if *update {
				if err := os.WriteFile(path, append(statsJSON, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bytes.TrimSpace(want), statsJSON) {
				t.Errorf("stats differ from %s:\n%s", path, statsJSON)
			}
		})
	}
}

// runFixture plays a fixture and returns every Collect's output, merged.
func runFixture(t *testing.T, name string, opts Options) (*tracepb.TracesData, *metricspb.MetricsData, *logspb.LogsData, Stats) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts.ScopeVersion = "test"
	p, c := newProc(t, opts)
	var tr, me, lo []byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		var d struct {
			Clock    *time.Time `json:"clock"`
			Collect  bool       `json:"collect"`
			Shutdown string     `json:"shutdown"`
			Comment  string     `json:"comment"`
			Type     string     `json:"type"`
		}
		if err := json.Unmarshal(line, &d); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		switch {
		case d.Type != "":
			var ev lambdaapi.TelemetryEvent
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			p.Handle(ev)
		case d.Clock != nil:
			c.Set(*d.Clock)
		case d.Collect:
			tr, me, lo = p.Collect(tr, me, lo)
		case d.Shutdown != "":
			p.Shutdown(d.Shutdown, c.Now())
		case d.Comment != "":
		default:
			t.Fatalf("line %d: unknown directive %s", n, strings.TrimSpace(string(line)))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var o output
	o.traces, o.metrics, o.logs = new(tracepb.TracesData), new(metricspb.MetricsData), new(logspb.LogsData)
	for _, x := range []struct {
		b []byte
		m proto.Message
	}{{tr, o.traces}, {me, o.metrics}, {lo, o.logs}} {
		if err := proto.Unmarshal(x.b, x.m); err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
	}
	return o.traces, o.metrics, o.logs, p.Stats()
}

// idKeys are the protojson keys of trace and span IDs, which OTLP/JSON
// writes as hex where protojson writes base64.
var idKeys = map[string]bool{"traceId": true, "spanId": true, "parentSpanId": true}

// goldenJSON renders m as indented OTLP/JSON.
func goldenJSON(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := protojson.MarshalOptions{UseProtoNames: false}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	rewriteIDs(doc, func(s string) string {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(raw)
	})
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// fromGoldenJSON reads what goldenJSON wrote.
func fromGoldenJSON(text []byte, m proto.Message) error {
	var doc any
	if err := json.Unmarshal(text, &doc); err != nil {
		return err
	}
	var bad error
	rewriteIDs(doc, func(s string) string {
		raw, err := hex.DecodeString(s)
		if err != nil {
			bad = err
		}
		return base64.StdEncoding.EncodeToString(raw)
	})
	if bad != nil {
		return bad
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(b, m)
}

func rewriteIDs(v any, conv func(string) string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && idKeys[k] {
				v[k] = conv(s)
				continue
			}
			rewriteIDs(x, conv)
		}
	case []any:
		for _, x := range v {
			rewriteIDs(x, conv)
		}
	}
}
