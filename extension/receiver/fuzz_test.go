package receiver

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
	"google.golang.org/protobuf/proto"
)

// FuzzJSONToProtobuf feeds arbitrary JSON to the converter for each signal.
// It must never panic, and whatever it accepts must be bytes wire.Validate
// accepts with the same counts, that the generated types decode, and that
// survive a round trip back through OTLP/JSON unchanged.
func FuzzJSONToProtobuf(f *testing.F) {
	for _, sc := range signalCases() {
		f.Add(uint8(sc.sig), otlpJSON(f, sc.msg))
	}
	for _, hj := range handJSON {
		f.Add(uint8(hj.sig), []byte(hj.json))
	}
	for _, s := range []string{`{}`, `[]`, `null`, `{"resourceSpans":[{}]}`, `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz"}]}]}]}`,
		`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"asDouble":"NaN"}]}}]}]}]}`, `{"a":1}{`} {
		for sig := range 3 {
			f.Add(uint8(sig), []byte(s))
		}
	}
	f.Add(uint8(wire.Logs), deepJSONLog(wire.MaxDepth))
	f.Add(uint8(wire.Logs), deepJSONLog(wire.MaxDepth+1))
	f.Fuzz(func(t *testing.T, s uint8, data []byte) {
		sig := wire.Signal(s % 3)
		out, counts, err := protobufFromJSON(sig, data)
		if err != nil {
			return
		}
		c2, err := wire.Validate(sig, out)
		if err != nil {
			t.Fatalf("accepted JSON converted to bytes Validate rejects: %v\njson: %q", err, data)
		}
		if c2 != counts {
			t.Fatalf("counts %+v, Validate says %+v", counts, c2)
		}
		m, err := unmarshalSignal(sig, out)
		if err != nil {
			t.Fatalf("converted bytes do not unmarshal: %v", err)
		}
		back, _, err := protobufFromJSON(sig, otlpJSON(t, m))
		if err != nil {
			t.Fatalf("re-encoded OTLP/JSON rejected: %v", err)
		}
		m2, err := unmarshalSignal(sig, back)
		if err != nil || !proto.Equal(m, m2) {
			t.Fatalf("round trip through OTLP/JSON changed the message (%v)", err)
		}
	})
}

// FuzzHandler sends arbitrary bodies with arbitrary Content-Type and
// Content-Encoding to the export routes. The handler must never panic,
// answer only 200, 400, 413 or 415, and offer the sink only valid requests,
// and only when it answers 200 — held compressed or not.
func FuzzHandler(f *testing.F) {
	traces := mustMarshal(f, testTraces(2))
	f.Add(uint8(0), "application/x-protobuf", "", traces)
	f.Add(uint8(0), "", "gzip", gz(f, traces))
	f.Add(uint8(1), "application/x-protobuf", "", mustMarshal(f, testMetrics()))
	f.Add(uint8(2), "application/protobuf", "", mustMarshal(f, testLogs()))
	f.Add(uint8(2), "application/json", "", otlpJSON(f, testLogs()))
	f.Add(uint8(1), "application/json", "gzip", gz(f, otlpJSON(f, testMetrics())))
	f.Add(uint8(0), "application/json; charset=utf-8", "identity", []byte(handJSON[0].json))
	f.Add(uint8(0), "text/plain", "", []byte("hello"))
	f.Add(uint8(1), "application/x-protobuf", "br", traces)
	f.Add(uint8(2), "application/x-protobuf", "gzip", []byte("\x1f\x8b\x08\x00garbage"))
	f.Add(uint8(0), "application/x-protobuf", "gzip", gz(f, make([]byte, 1<<16)))
	f.Add(uint8(0), "application/x-protobuf", "", []byte{0x0a, 0x05, 0x01})
	paths := []string{PathTraces, PathMetrics, PathLogs}
	f.Fuzz(func(t *testing.T, p uint8, ct, ce string, body []byte) {
		sig := wire.Signal(p % 3)
		sink := &recGzipSink{}
		var s Sink = sink
		if p&32 != 0 {
			s = &sink.recSink // a Sink that cannot hold requests compressed
		}
		rc := New(s, nil, Options{MaxRequestBytes: 32 << 10})
		r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1"+paths[sig], bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if p&4 != 0 {
			r.ContentLength = -1
		}
		if p&8 == 0 {
			r.Header["Content-Type"] = []string{ct}
		}
		if p&16 == 0 {
			r.Header["Content-Encoding"] = []string{ce}
		}
		w := newDiscardWriter()
		rc.ServeHTTP(w, r)
		offers := sink.all()
		// A request held compressed is checked as what it inflates to.
		for _, o := range sink.allGzip() {
			var raw []byte
			for _, sg := range o.segs {
				var err error
				if raw, _, err = gzjoin.Inflate(raw, sg.Data, 32<<10); err != nil {
					t.Fatalf("held segments do not inflate: %v", err)
				}
			}
			if len(raw) != o.encoded || len(o.gz) >= len(raw) || !bytes.Equal(o.gz, body) {
				t.Fatalf("held %d bytes for %d encoded (sent %d)", len(o.gz), o.encoded, len(body))
			}
			offers = append(offers, offer{o.sig, raw, o.items})
		}
		switch w.status {
		case 200:
			if len(offers) != 1 {
				t.Fatalf("200 with %d offers", len(offers))
			}
			c, err := wire.Validate(sig, offers[0].body)
			if err != nil || c.Items != offers[0].items || offers[0].sig != sig {
				t.Fatalf("offered an invalid or miscounted body: %v", err)
			}
		case 400, 413, 415:
			if len(offers) != 0 {
				t.Fatalf("status %d but the sink got the request", w.status)
			}
		default:
			t.Fatalf("status %d", w.status)
		}
	})
}
