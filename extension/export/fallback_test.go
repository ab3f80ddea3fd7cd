package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/config"
	"github.com/lambdaotel/lambdaotel/otlpstdout"
)

// decodeFallback reads fallback lines back the way a forwarder would: unwrap
// otlp_fallback and decode the inner object as an otlp-stdout record.
func decodeFallback(t *testing.T, out string) (bodies [][]byte, inner []map[string]any) {
	t.Helper()
	for _, line := range strings.SplitAfter(out, "\n") {
		if line == "" {
			continue
		}
		if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
			t.Fatalf("not one line: %q", line)
		}
		// Not a top-level otlp-stdout record: our own Telemetry API
		// listener must not re-ingest it.
		if _, err := otlpstdout.Decode([]byte(line)); !errors.Is(err, otlpstdout.ErrNotRecord) {
			t.Fatalf("line decodes as a top-level record: %v", err)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &top); err != nil || len(top) != 1 {
			t.Fatalf("line %q: %v", line, err)
		}
		rec, err := otlpstdout.Decode(top[FallbackKey])
		if err != nil {
			t.Fatal(err)
		}
		if rec.Version != FallbackMarker || rec.Method != "POST" || rec.ContentType != "application/x-protobuf" ||
			rec.ContentEncoding != "gzip" || !rec.Base64 || rec.Headers != nil {
			t.Fatalf("record = %+v", rec)
		}
		body, err := rec.Body()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(top[FallbackKey], &m); err != nil {
			t.Fatal(err)
		}
		if m["endpoint"] != "http://localhost:4318/v1/"+m["signal"].(string) || m["bytes"] != float64(len(body)) {
			t.Fatalf("fields = %v", m)
		}
		bodies = append(bodies, body)
		inner = append(inner, m)
	}
	return bodies, inner
}

func TestWriteFallbackFormat(t *testing.T) {
	h := newExporter(t, config.Exporter{Endpoint: "http://127.0.0.1:1", Headers: map[string]string{"x-key": "hidden"}},
		Options{Source: `svc "quoted"`}, false)
	body := traces(2, 3, 20)
	if err := h.exp.WriteFallback("traces", body); err != nil {
		t.Fatal(err)
	}
	out := h.stdout.String()
	if h.stdout.writes.Load() != 1 {
		t.Errorf("%d writes for one line", h.stdout.writes.Load())
	}
	if !strings.HasPrefix(out, `{"otlp_fallback":{"__otel_otlp_stdout":"lambdaotel-extension@1","source":"svc \"quoted\"","signal":"traces",`) {
		t.Errorf("line = %s", out)
	}
	if strings.Contains(out, "hidden") {
		t.Error("a header value was written")
	}
	bodies, inner := decodeFallback(t, out)
	if len(bodies) != 1 || !bytes.Equal(bodies[0], body) {
		t.Fatal("payload does not decode to the body")
	}
	if inner[0]["items"] != float64(6) || inner[0]["source"] != `svc "quoted"` {
		t.Errorf("fields = %v", inner[0])
	}
	if s := h.exp.Stats(); s.Fallbacks != 1 || s.FallbackLines != 1 || s.FallbackBytes != int64(len(body)) {
		t.Errorf("stats = %+v", s)
	}

	// A body that does not validate is still written, without items.
	h.stdout.b.Reset()
	if err := h.exp.WriteFallback("logs", []byte{0x0a, 0x01, 0x00}); err != nil {
		t.Fatal(err)
	}
	_, inner = decodeFallback(t, h.stdout.String())
	if _, ok := inner[0]["items"]; ok || inner[0]["signal"] != "logs" {
		t.Errorf("fields = %v", inner[0])
	}
	// Nothing to write, nothing written.
	if err := h.exp.WriteFallback("logs", nil); err != nil || h.exp.Stats().Fallbacks != 2 {
		t.Error("empty body written")
	}
}

func TestWriteFallbackSplitsLargeBodies(t *testing.T) {
	h := newExporter(t, config.Exporter{}, Options{}, false)
	// 40 resources of ~12 KiB each, made incompressible enough by distinct
	// trace ids is not needed: the split is by protobuf size.
	body := traces(40, 12, 1000)
	if len(body) <= FallbackChunkBytes*2 {
		t.Fatalf("body only %d bytes", len(body))
	}
	if err := h.exp.WriteFallback("traces", body); err != nil {
		t.Fatal(err)
	}
	bodies, _ := decodeFallback(t, h.stdout.String())
	if len(bodies) < 3 || int64(len(bodies)) != h.stdout.writes.Load() {
		t.Fatalf("%d lines in %d writes", len(bodies), h.stdout.writes.Load())
	}
	var joined []byte
	for _, b := range bodies {
		if len(b) > FallbackChunkBytes {
			t.Errorf("piece of %d bytes", len(b))
		}
		joined = append(joined, b...)
	}
	if !bytes.Equal(joined, body) {
		t.Fatal("pieces do not concatenate to the body")
	}
	for _, line := range strings.Split(strings.TrimSpace(h.stdout.String()), "\n") {
		if len(line) >= 256<<10 {
			t.Errorf("line of %d bytes", len(line))
		}
	}
}

func TestNoEndpointFallback(t *testing.T) {
	h := newExporter(t, config.Exporter{Compression: "none"}, Options{}, false)
	if n := strings.Count(h.logs.String(), "no OTLP endpoint configured"); n != 1 {
		t.Fatalf("said %d times at start:\n%s", n, h.logs.String())
	}
	if !strings.Contains(h.logs.String(), "traces,metrics,logs") {
		t.Errorf("log = %s", h.logs.String())
	}
	body := traces(1, 2, 5)
	for range 3 {
		if res := h.exp.Export(budget(t, time.Second), "metrics", Proto(body)); !res.Fallback || res.Err != nil || res.OK || res.Attempts != 0 {
			t.Fatalf("result = %+v", res)
		}
	}
	if n := strings.Count(h.logs.String(), "no OTLP endpoint configured"); n != 1 {
		t.Errorf("repeated per export: %d", n)
	}
	bodies, inner := decodeFallback(t, h.stdout.String())
	if len(bodies) != 3 || !bytes.Equal(bodies[2], body) || inner[0]["signal"] != "metrics" {
		t.Fatalf("lines = %d", len(bodies))
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestFallbackWriteError(t *testing.T) {
	h := newExporter(t, config.Exporter{}, Options{Stdout: failingWriter{}}, false)
	res := h.exp.Export(budget(t, time.Second), "traces", Proto(traces(1, 1, 1)))
	if !res.Fallback || res.Err == nil || !strings.Contains(res.Err.Error(), "broken pipe") {
		t.Fatalf("result = %+v", res)
	}
	if s := h.exp.Stats(); s.Fallbacks != 0 || s.FallbackBytes != 0 {
		t.Errorf("stats count a lost line: %+v", s)
	}
}

func TestSplitTopLevel(t *testing.T) {
	body := traces(5, 1, 100)
	one := len(traces(1, 1, 100))
	if got := splitTopLevel(body, len(body)); len(got) != 1 {
		t.Errorf("fits: %d pieces", len(got))
	}
	if got := splitTopLevel(body, one); len(got) != 5 {
		t.Errorf("one per piece: %d pieces", len(got))
	}
	if got := splitTopLevel(body, one/2); len(got) != 5 {
		t.Errorf("oversized fields stay whole: %d pieces", len(got))
	}
	if got := splitTopLevel(body, 2*one+1); len(got) != 3 {
		t.Errorf("two per piece: %d pieces", len(got))
	}
	bad := append(bytes.Clone(body), 0xff)
	if got := splitTopLevel(bad, one); len(got) != 1 || !bytes.Equal(got[0], bad) {
		t.Error("malformed body not kept whole")
	}
}
