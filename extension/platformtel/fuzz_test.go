package platformtel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// FuzzHandle feeds arbitrary telemetry deliveries (a JSON array, as over
// HTTP, or JSON lines, as over TCP) through Handle, SetParent, Shutdown and
// Collect. It must never panic, state must stay bounded, and every output
// must parse as the generated export types and pass the extension's own
// wire validation.
func FuzzHandle(f *testing.F) {
	// Seeds: the fixtures' sessions, one delivery each, and some
	// otlp-stdout records as function lines.
	for _, fx := range fixtures {
		b, err := os.ReadFile(filepath.Join("testdata", fx.name+".jsonl"))
		if err != nil {
			f.Fatal(err)
		}
		var evs []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, `"type"`) {
				evs = append(evs, line)
			}
		}
		f.Add([]byte("[" + strings.Join(evs, ",") + "]"))
		f.Add([]byte(strings.Join(evs, "\n")))
	}
	for _, name := range []string{"rust.jsonl", "node.jsonl"} {
		for _, line := range fixtureLines(f, name) {
			ev, _ := json.Marshal(map[string]any{"time": "2024-07-01T08:54:54.000Z", "type": "function", "record": line})
			f.Add(ev)
		}
	}
	f.Add([]byte(`[{"type":"platform.report","record":"{\"requestId\":\"x\",\"metrics\":{\"durationMs\":-1e309}}"}]`))
	f.Add([]byte(`[{"type":"platform.start","record":{"requestId":"x","tracing":{"value":"Root=1-00000000-000000000000000000000000;Sampled=1"}}},` +
		`{"type":"platform.runtimeDone","record":{"requestId":"x","status":"timeout","spans":[{"name":"\u00ff","start":"1970-01-01T00:00:00Z","durationMs":1e300}]}}]`))
	f.Add([]byte(`{"type":"function","record":{"level":99,"time":1e30,"msg":{"a":1},"trace_id":"zz"}}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		var evs []lambdaapi.TelemetryEvent
		if d := bytes.TrimSpace(data); len(d) > 0 && d[0] == '[' {
			evs, _ = lambdaapi.DecodeEvents(data)
		} else {
			evs, _ = lambdaapi.DecodeEventLines(data)
		}
		p, c := newProc(t, Options{MaxInvocations: 4, MaxPendingBytes: 1 << 20})
		var tr, me, lo []byte
		for i, ev := range evs {
			p.Handle(ev)
			if i%3 == 2 {
				p.SetParent(fmt.Sprint(i), [16]byte{1}, [8]byte{2})
			}
			if i%5 == 4 {
				tr, me, lo = p.Collect(tr, me, lo)
			}
			if len(p.invs) > 4 || len(p.done.index) > 4 {
				t.Fatalf("state grew: %d live, %d done", len(p.invs), len(p.done.index))
			}
		}
		tr, me, lo = p.Collect(tr, me, lo)
		p.Shutdown("timeout", c.Now())
		tr, me, lo = p.Collect(tr, me, lo)
		if len(p.invs) != 0 {
			t.Fatalf("%d invocations after Shutdown", len(p.invs))
		}
		for _, x := range []struct {
			sig wire.Signal
			b   []byte
			m   proto.Message
		}{{wire.Traces, tr, new(tracepb.TracesData)}, {wire.Metrics, me, new(metricspb.MetricsData)}, {wire.Logs, lo, new(logspb.LogsData)}} {
			if err := proto.Unmarshal(x.b, x.m); err != nil {
				t.Fatalf("%v output does not parse: %v", x.sig, err)
			}
			if _, err := wire.Validate(x.sig, x.b); err != nil {
				t.Fatalf("%v output fails validation: %v", x.sig, err)
			}
		}
	})
}

// TestConcurrentUse runs the listener's, the receiver's and the flusher's
// calls at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	p, _ := newProc(t, Options{})
	var wg sync.WaitGroup
	const n = 200
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := range n {
			id := fmt.Sprintf("req-%d", i)
			handleAll(p,
				startEv(id, at(float64(i*100)), xrayA),
				fnLog(at(float64(i*100+1)), "[INFO] working"),
				runtimeDoneEv(id, at(float64(i*100)), 10, "success", "", ""),
				reportEv(id, at(float64(i*100+12)), 12, "success", "", nil),
			)
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			p.SetParent(fmt.Sprintf("req-%d", i), [16]byte{byte(i), 1}, [8]byte{byte(i), 1})
		}
	}()
	var spans, records int
	go func() {
		defer wg.Done()
		for range n {
			o := collect(t, p)
			spans += len(o.spans())
			records += len(o.records())
			_ = p.Stats()
			_ = p.PendingReports()
		}
	}()
	wg.Wait()
	o := collect(t, p)
	spans += len(o.spans())
	records += len(o.records())
	if st := p.Stats(); spans != int(st.Spans) || records != int(st.LogRecords) || st.LogRecords != n {
		t.Errorf("collected %d spans, %d records; stats %+v", spans, records, st)
	}
}

// FuzzUnquoteJSON checks the fast path for text log records against
// encoding/json: whatever unquoteJSON accepts, it decodes identically.
func FuzzUnquoteJSON(f *testing.F) {
	for _, s := range []string{`"plain"`, `"[INFO]\t2024\tid\tmsg\n"`, `"\u00e9\ud83d\ude00 \ud800 \udc00x \u0041"`,
		"\"\xff\xfe bad utf8\"", `"\q"`, `"\u12"`, `"a"b"`, `  "x"  `, `"é"`, "\"\x01\"", `""`, `"\/\b\f\r"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := unquoteJSON(data)
		var want string
		err := json.Unmarshal(data, &want)
		if ok && (err != nil || got != want) {
			t.Fatalf("unquoteJSON(%q) = %q, encoding/json: %q, %v", data, got, want, err)
		}
		if !ok && err == nil && len(bytes.TrimSpace(data)) > 0 && bytes.TrimSpace(data)[0] == '"' {
			t.Fatalf("unquoteJSON rejected %q, which encoding/json reads as %q", data, want)
		}
	})
}
