package receiver

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
	"google.golang.org/protobuf/proto"
)

func TestExportProtobuf(t *testing.T) {
	for _, sc := range signalCases() {
		for _, ct := range []string{"", "application/x-protobuf", "application/protobuf", "Application/X-Protobuf; charset=binary"} {
			t.Run(sc.sig.String()+"/"+ct, func(t *testing.T) {
				sink := &recSink{}
				body := mustMarshal(t, sc.msg)
				w := serve(t, New(sink, nil, Options{}), req{path: sc.path, ct: ct, body: body})
				if w.Code != http.StatusOK {
					t.Fatalf("status %d, body %q", w.Code, w.Body)
				}
				if w.Body.Len() != 0 {
					t.Errorf("protobuf response body %q, want empty Export*ServiceResponse", w.Body)
				}
				wantCT := "application/x-protobuf"
				if strings.HasPrefix(ct, "application/protobuf") {
					wantCT = "application/protobuf"
				}
				if got := w.Header().Get("Content-Type"); got != wantCT {
					t.Errorf("response Content-Type %q, want %q", got, wantCT)
				}
				offers := sink.all()
				if len(offers) != 1 {
					t.Fatalf("%d offers, want 1", len(offers))
				}
				o := offers[0]
				if o.sig != sc.sig || o.items != sc.items || !bytes.Equal(o.body, body) {
					t.Errorf("offer (%v, %d items, %d bytes), want (%v, %d, %d)", o.sig, o.items, len(o.body), sc.sig, sc.items, len(body))
				}
				if cap(o.body) != len(o.body) {
					t.Errorf("sink body has cap %d for len %d, want exactly sized", cap(o.body), len(o.body))
				}
			})
		}
	}
}

func TestEmptyProtobufBody(t *testing.T) {
	sink := &recSink{}
	w := serve(t, New(sink, nil, Options{}), req{path: PathLogs, ct: "application/x-protobuf"})
	if w.Code != http.StatusOK || len(sink.all()) != 1 || sink.all()[0].items != 0 {
		t.Fatalf("empty request: status %d, offers %v", w.Code, sink.all())
	}
}

// JSON is converted once at the door to exactly the protobuf the
// equivalent message marshals to.
func TestExportJSONEqualsProtobuf(t *testing.T) {
	check := func(t *testing.T, sig wire.Signal, path string, body []byte, want proto.Message, items int, gzipped, chunked bool) {
		t.Helper()
		sink := &recSink{}
		ce := ""
		if gzipped {
			body, ce = gz(t, body), "gzip"
		}
		w := serve(t, New(sink, nil, Options{}), req{path: path, ct: "application/json; charset=utf-8", ce: ce, body: body, chunked: chunked})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d, body %q", w.Code, w.Body)
		}
		if w.Body.String() != "{}" || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("response %q %q, want {} application/json", w.Header().Get("Content-Type"), w.Body)
		}
		offers := sink.all()
		if len(offers) != 1 {
			t.Fatalf("%d offers", len(offers))
		}
		got, err := unmarshalSignal(sig, offers[0].body)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("converted JSON differs from the equivalent message:\n got %v\nwant %v", got, want)
		}
		if offers[0].sig != sig || offers[0].items != items {
			t.Errorf("offer %v/%d items, want %v/%d", offers[0].sig, offers[0].items, sig, items)
		}
	}
	for _, sc := range signalCases() {
		js := otlpJSON(t, sc.msg)
		if !bytes.Contains(js, []byte(`"5b8efff798038103d269b633813fc60c"`)) {
			t.Fatalf("test JSON has no hex trace ID: %s", js)
		}
		for _, mode := range []struct {
			name          string
			gzip, chunked bool
		}{{"plain", false, false}, {"gzip", true, false}, {"chunked", false, true}} {
			t.Run(sc.sig.String()+"/"+mode.name, func(t *testing.T) {
				check(t, sc.sig, sc.path, js, sc.msg, sc.items, mode.gzip, mode.chunked)
			})
		}
	}
	paths := map[wire.Signal]string{wire.Traces: PathTraces, wire.Metrics: PathMetrics, wire.Logs: PathLogs}
	for i, hj := range handJSON {
		t.Run(fmt.Sprintf("hand-written/%v/%d", hj.sig, i), func(t *testing.T) {
			want := hj.want()
			c, err := wire.Validate(hj.sig, mustMarshal(t, want))
			if err != nil {
				t.Fatal(err)
			}
			check(t, hj.sig, paths[hj.sig], []byte(hj.json), want, c.Items, false, false)
		})
	}
}

func TestGzipProtobuf(t *testing.T) {
	for _, sc := range signalCases() {
		for _, ce := range []string{"gzip", "GZIP", "x-gzip"} {
			for _, chunked := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/%s/chunked=%v", sc.sig, ce, chunked), func(t *testing.T) {
					sink := &recSink{}
					body := mustMarshal(t, sc.msg)
					w := serve(t, New(sink, nil, Options{}), req{path: sc.path, ct: "application/x-protobuf", ce: ce, body: gz(t, body), chunked: chunked})
					if w.Code != http.StatusOK {
						t.Fatalf("status %d, body %q", w.Code, statusMessage(t, w))
					}
					o := sink.all()
					if len(o) != 1 || !bytes.Equal(o[0].body, body) || o[0].items != sc.items {
						t.Fatalf("sink did not get the decompressed body")
					}
					if cap(o[0].body) != len(o[0].body) {
						t.Errorf("sink body cap %d len %d, want an exactly-sized copy", cap(o[0].body), len(o[0].body))
					}
				})
			}
		}
	}
}

func TestIdentityEncodingAccepted(t *testing.T) {
	sink := &recSink{}
	w := serve(t, New(sink, nil, Options{}), req{path: PathTraces, ce: "identity", body: mustMarshal(t, testTraces(1))})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
}

// The cap is inclusive: a body of exactly MaxRequestBytes is accepted, as
// sent and after decompression; one more byte is refused.
func TestSizeBoundary(t *testing.T) {
	const max = 4096
	for _, n := range []int{max, max + 1} {
		body := padded(n)
		for _, mode := range []string{"plain", "chunked", "gzip"} {
			t.Run(fmt.Sprintf("%d/%s", n, mode), func(t *testing.T) {
				q := req{path: PathTraces, ct: "application/x-protobuf", body: body}
				switch mode {
				case "chunked":
					q.chunked = true
				case "gzip":
					q.body, q.ce = gz(t, body), "gzip"
				}
				sink := &recSink{}
				w := serve(t, New(sink, nil, Options{MaxRequestBytes: max}), q)
				want := http.StatusOK
				if n > max {
					want = http.StatusRequestEntityTooLarge
				}
				if w.Code != want {
					t.Fatalf("status %d, want %d (%q)", w.Code, want, w.Body)
				}
				if n > max && len(sink.all()) != 0 {
					t.Fatal("oversized request reached the sink")
				}
			})
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// badCase is a request the receiver must refuse without touching the sink.
type badCase struct {
	name   string
	q      req
	status int
	msg    string // substring of the error message
}

func badCases(t *testing.T) []badCase {
	traces := mustMarshal(t, testTraces(2))
	bomb := gz(t, make([]byte, 16<<20)) // 16 MiB of zeros, ~16 KiB compressed
	return []badCase{
		{"malformed protobuf", req{path: PathTraces, ct: "application/x-protobuf", body: []byte{0x0a, 0x05, 0x01}}, 400, "malformed OTLP traces request"},
		{"truncated protobuf", req{path: PathTraces, body: traces[:len(traces)-3]}, 400, "malformed OTLP traces request"},
		{"metrics body on logs path", req{path: PathLogs, body: mustMarshal(t, testMetrics())}, 400, "malformed OTLP logs request"},
		{"bad span id length", req{path: PathTraces, body: []byte{0x0a, 0x09, 0x12, 0x07, 0x12, 0x05, 0x12, 0x03, 1, 2, 3}}, 400, "span_id"},
		{"malformed gzip protobuf", req{path: PathTraces, ce: "gzip", body: []byte("not gzip at all")}, 400, "invalid gzip body"},
		{"truncated gzip", req{path: PathMetrics, ce: "gzip", body: gz(t, traces)[:20]}, 400, "invalid gzip body"},
		{"empty gzip body", req{path: PathLogs, ce: "gzip"}, 400, "invalid gzip body"},
		{"gzip with trailing garbage", req{path: PathTraces, ce: "gzip", body: append(gz(t, traces), "junk!junk!"...)}, 400, "invalid gzip body"},
		{"malformed JSON", req{path: PathTraces, ct: "application/json", body: []byte(`{"resourceSpans":[`)}, 400, "invalid OTLP/JSON traces request"},
		{"empty JSON", req{path: PathMetrics, ct: "application/json"}, 400, "invalid OTLP/JSON metrics request"},
		{"JSON array", req{path: PathLogs, ct: "application/json", body: []byte(`[]`)}, 400, "want a JSON object"},
		{"JSON trailing data", req{path: PathLogs, ct: "application/json", body: []byte(`{} {}`)}, 400, "data after"},
		{"JSON enum as bool", req{path: PathTraces, ct: "application/json", body: []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":true}]}]}]}`)}, 400, "invalid OTLP/JSON traces request"},
		{"JSON base64 trace id", req{path: PathTraces, ct: "application/json", body: []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"W47/95gDgQPSabYzgT/GDA=="}]}]}]}`)}, 400, "traceId"},
		{"JSON short span id", req{path: PathLogs, ct: "application/json", body: []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"abcd"}]}]}]}`)}, 400, "spanId"},
		{"JSON wrong type", req{path: PathMetrics, ct: "application/json", body: []byte(`{"resourceMetrics":{"a":1}}`)}, 400, "invalid OTLP/JSON metrics request"},
		{"gzip malformed JSON", req{path: PathTraces, ct: "application/json", ce: "gzip", body: gz(t, []byte(`{"resourceSpans":7}`))}, 400, "invalid OTLP/JSON traces request"},
		{"JSON too deep for OTLP", req{path: PathLogs, ct: "application/json", body: deepJSONLog(wire.MaxDepth + 1)}, 400, "malformed OTLP logs request"},
		{"oversized by Content-Length", req{path: PathTraces, body: make([]byte, 70<<10)}, 413, "larger than"},
		{"oversized chunked", req{path: PathTraces, body: make([]byte, 70<<10), chunked: true}, 413, "larger than"},
		{"oversized JSON", req{path: PathTraces, ct: "application/json", body: bytes.Repeat([]byte(" "), 70<<10)}, 413, "larger than"},
		{"oversized compressed", req{path: PathTraces, ce: "gzip", body: gz(t, randomBytes(70<<10))}, 413, "larger than"},
		{"oversized compressed chunked", req{path: PathTraces, ce: "gzip", body: gz(t, randomBytes(70<<10)), chunked: true}, 413, "larger than"},
		{"decompression bomb", req{path: PathTraces, ce: "gzip", body: bomb}, 413, "larger than"},
		{"decompression bomb JSON", req{path: PathLogs, ct: "application/json", ce: "gzip", body: bomb}, 413, "larger than"},
		{"text/plain", req{path: PathTraces, ct: "text/plain", body: traces}, 415, "Content-Type"},
		{"form", req{path: PathLogs, ct: "application/x-www-form-urlencoded", body: []byte("a=b")}, 415, "Content-Type"},
		{"brotli", req{path: PathTraces, ce: "br", body: traces}, 415, "Content-Encoding"},
		{"deflate", req{path: PathMetrics, ct: "application/json", ce: "deflate", body: []byte("{}")}, 415, "Content-Encoding"},
		{"stacked gzip", req{path: PathTraces, ce: "gzip, gzip", body: gz(t, gz(t, traces))}, 415, "Content-Encoding"},
		{"unknown path", req{path: "/v1/profiles", body: traces}, 404, ""},
		{"trailing slash", req{path: "/v1/traces/", body: traces}, 404, ""},
		{"root", req{method: "GET", path: "/"}, 404, ""},
		{"GET traces", req{method: "GET", path: PathTraces}, 405, ""},
		{"PUT logs", req{method: "PUT", path: PathLogs, body: traces}, 405, ""},
		{"POST health", req{path: PathHealth}, 405, ""},
		{"GET complete", req{method: "GET", path: PathComplete}, 405, ""},
	}
}

// deepJSONLog is a log whose body nests kvlistValues depth levels deep:
// protojson accepts it, OTLP's nesting limit does not.
func deepJSONLog(depth int) []byte {
	v := `{"stringValue":"leaf"}`
	for i := 1; i < depth; i++ {
		v = `{"kvlistValue":{"values":[{"key":"k","value":` + v + `}]}}`
	}
	return []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":` + v + `}]}]}]}`)
}

// Bad input gets a clear answer and changes nothing: the sink never sees it.
func TestBadInputChangesNothing(t *testing.T) {
	for _, bc := range badCases(t) {
		t.Run(bc.name, func(t *testing.T) {
			sink := &recSink{}
			var received atomic.Int64
			rc := New(sink, nil, Options{MaxRequestBytes: 64 << 10, OnReceived: func(wire.Signal, int) { received.Add(1) }})
			w := serve(t, rc, bc.q)
			if w.Code != bc.status {
				t.Fatalf("status %d, want %d; body %q", w.Code, bc.status, w.Body)
			}
			if n := len(sink.all()); n != 0 || received.Load() != 0 {
				t.Fatalf("rejected request reached the sink (%d offers, %d received)", n, received.Load())
			}
			switch bc.status {
			case 405:
				if w.Header().Get("Allow") == "" {
					t.Error("405 without Allow")
				}
			case 415:
				if !strings.Contains(w.Body.String(), bc.msg) {
					t.Errorf("415 body %q lacks %q", w.Body, bc.msg)
				}
			case 400, 413:
				// OTLP error body: a Status in the request's content type.
				wantCT := "application/x-protobuf"
				if bc.q.ct == "application/json" {
					wantCT = "application/json"
				}
				if got := w.Header().Get("Content-Type"); got != wantCT {
					t.Errorf("error Content-Type %q, want %q", got, wantCT)
				}
				if msg := statusMessage(t, w); !strings.Contains(msg, bc.msg) {
					t.Errorf("error message %q lacks %q", msg, bc.msg)
				}
			}
		})
	}
}

func TestMethodNotAllowedAllow(t *testing.T) {
	rc := New(nopSink{}, nil, Options{})
	for path, allow := range map[string]string{PathTraces: "POST", PathMetrics: "POST", PathLogs: "POST", PathComplete: "POST", PathHealth: "GET, HEAD"} {
		w := serve(t, rc, req{method: "DELETE", path: path})
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != allow {
			t.Errorf("DELETE %s: %d Allow %q, want 405 %q", path, w.Code, w.Header().Get("Allow"), allow)
		}
	}
}

func TestSinkErrors(t *testing.T) {
	other := errors.New("queue closed")
	cases := []struct {
		err        error
		status     int
		retryAfter string
		msg        string
	}{
		{ErrFull, 503, "1", "queue full"},
		{fmt.Errorf("%w: %w", ErrFull, errors.New("queue: full while a flush is in progress")), 503, "1", "queue full"},
		{ErrTooLarge, 413, "", "larger than"},
		{fmt.Errorf("adapter: %w", ErrTooLarge), 413, "", "larger than"},
		{other, 500, "", "queue closed"},
	}
	for _, c := range cases {
		for _, ct := range []string{"application/x-protobuf", "application/json"} {
			t.Run(fmt.Sprintf("%v/%s", c.err, ct), func(t *testing.T) {
				sink := &recSink{err: c.err}
				var received atomic.Int64
				rc := New(sink, nil, Options{OnReceived: func(wire.Signal, int) { received.Add(1) }})
				body := mustMarshal(t, testTraces(2))
				if ct == "application/json" {
					body = otlpJSON(t, testTraces(2))
				}
				w := serve(t, rc, req{path: PathTraces, ct: ct, body: body})
				if w.Code != c.status {
					t.Fatalf("status %d, want %d", w.Code, c.status)
				}
				if got := w.Header().Get("Retry-After"); got != c.retryAfter {
					t.Errorf("Retry-After %q, want %q", got, c.retryAfter)
				}
				if w.Header().Get("Content-Type") != ct {
					t.Errorf("Content-Type %q, want %q", w.Header().Get("Content-Type"), ct)
				}
				if msg := statusMessage(t, w); !strings.Contains(msg, c.msg) {
					t.Errorf("message %q lacks %q", msg, c.msg)
				}
				if received.Load() != 0 {
					t.Error("OnReceived called for a refused request")
				}
			})
		}
	}
}

func TestOnReceived(t *testing.T) {
	var got []string
	rc := New(nopSink{}, nil, Options{OnReceived: func(sig wire.Signal, items int) { got = append(got, fmt.Sprint(sig, items)) }})
	for _, sc := range signalCases() {
		if w := serve(t, rc, req{path: sc.path, body: mustMarshal(t, sc.msg)}); w.Code != 200 {
			t.Fatal(w.Code)
		}
	}
	if want := "[traces 3 metrics 6 logs 3]"; fmt.Sprint(got) != want {
		t.Errorf("OnReceived calls %v, want %v", got, want)
	}
}

func TestComplete(t *testing.T) {
	c := &recCompleter{}
	rc := New(nopSink{}, c, Options{})
	w := serve(t, rc, req{path: PathComplete, header: map[string]string{"lambda-request-id": "8476a536-e9f4-11e8-9739-2dfe598c3fcd"}})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	w = serve(t, rc, req{path: PathComplete, body: []byte("ignored")})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if fmt.Sprintf("%q", c.ids) != `["8476a536-e9f4-11e8-9739-2dfe598c3fcd" ""]` {
		t.Errorf("Complete calls %q", c.ids)
	}
	// No completer: acknowledged and ignored.
	if w := serve(t, New(nopSink{}, nil, Options{}), req{path: PathComplete}); w.Code != http.StatusOK {
		t.Errorf("nil completer: status %d", w.Code)
	}
}

func TestHealth(t *testing.T) {
	rc := New(nopSink{}, nil, Options{})
	w := serve(t, rc, req{method: "GET", path: PathHealth})
	if w.Code != 200 || w.Body.String() != `{"status":"ready"}` || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("GET /health: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	w = serve(t, rc, req{method: "HEAD", path: PathHealth})
	if w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD /health: %d %q", w.Code, w.Body)
	}
}

func TestParseContentType(t *testing.T) {
	for _, c := range []struct {
		vals []string
		ok   bool
		json bool
	}{
		{nil, true, false},
		{[]string{""}, true, false},
		{[]string{" application/json ; charset=utf-8"}, true, true},
		{[]string{"APPLICATION/JSON"}, true, true},
		{[]string{"application/jsonx"}, false, false},
		{[]string{"application/x-protobuf", "application/json"}, false, false},
		{[]string{"multipart/form-data; boundary=x"}, false, false},
	} {
		ct, ok := parseContentType(c.vals)
		if ok != c.ok || (ok && ct.json != c.json) {
			t.Errorf("parseContentType(%q) = %v %v, want json=%v ok=%v", c.vals, ct.json, ok, c.json, c.ok)
		}
	}
}

func TestNewPanicsOnNilSink(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(nil, …) did not panic")
		}
	}()
	New(nil, nil, Options{})
}

// TestGzipSinkHoldsCompressed: a Sink that can hold requests compressed
// gets a gzip request as it was sent — exactly sized, with segments that
// inflate to the validated protobuf — when that is the smaller form, and
// the protobuf otherwise.
func TestGzipSinkHoldsCompressed(t *testing.T) {
	big := mustMarshal(t, testTraces(50))
	small := mustMarshal(t, testTraces(1))
	// Two gzip members, each a whole request: their concatenation is one
	// valid request, as for any concatenated OTLP requests.
	half1, half2 := mustMarshal(t, testTraces(20)), mustMarshal(t, testTraces(30))
	for _, tc := range []struct {
		name       string
		sent, want []byte
		segs       int // 0: offered uncompressed
		chunked    bool
	}{
		{"compressible", gz(t, big), big, 1, false},
		{"compressible chunked", gz(t, big), big, 1, true},
		{"two members", append(gz(t, half1), gz(t, half2)...), append(append([]byte(nil), half1...), half2...), 2, false},
		{"not smaller compressed", gzStored(t, small), small, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &recGzipSink{}
			w := serve(t, New(sink, nil, Options{}), req{path: PathTraces, ce: "gzip", body: tc.sent, chunked: tc.chunked})
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, body %q", w.Code, statusMessage(t, w))
			}
			plain, held := sink.all(), sink.allGzip()
			if tc.segs == 0 {
				if len(held) != 0 || len(plain) != 1 || !bytes.Equal(plain[0].body, tc.want) {
					t.Fatalf("got %d plain, %d compressed offers; want the protobuf, uncompressed", len(plain), len(held))
				}
				return
			}
			if len(plain) != 0 || len(held) != 1 {
				t.Fatalf("got %d plain, %d compressed offers; want one compressed", len(plain), len(held))
			}
			o := held[0]
			if !bytes.Equal(o.gz, tc.sent) || cap(o.gz) != len(o.gz) {
				t.Errorf("held %d bytes (cap %d), want the %d bytes sent, exactly sized", len(o.gz), cap(o.gz), len(tc.sent))
			}
			if o.encoded != len(tc.want) || o.items != 50 || o.sig != wire.Traces || len(o.segs) != tc.segs {
				t.Errorf("offer: encoded %d items %d sig %v segs %d; want %d 50 traces %d", o.encoded, o.items, o.sig, len(o.segs), len(tc.want), tc.segs)
			}
			var got []byte
			for _, sg := range o.segs {
				var err error
				if got, _, err = gzjoin.Inflate(got, sg.Data, len(tc.want)); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, tc.want) {
				t.Error("the segments do not inflate to the request")
			}
		})
	}
}

// TestGzipSinkInvalidNotOffered: a gzip body whose protobuf is malformed
// reaches no Sink, compressed or not.
func TestGzipSinkInvalidNotOffered(t *testing.T) {
	sink := &recGzipSink{}
	bad := append(mustMarshal(t, testTraces(20)), 0x0a, 0x05, 1) // truncated field
	w := serve(t, New(sink, nil, Options{}), req{path: PathTraces, ce: "gzip", body: gz(t, bad)})
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", w.Code)
	}
	if len(sink.all())+len(sink.allGzip()) != 0 {
		t.Fatal("a malformed request was offered")
	}
}
