package platformtel

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
)

func TestParseTextLine(t *testing.T) {
	cases := []struct {
		line  string
		sev   otlpbuild.Severity
		text  string
		reqID string
	}{
		// The runtimes' own formats.
		{"[ERROR]\t2024-07-01T08:54:54.110Z\t" + reqA + "\tpayment failed", otlpbuild.SeverityError, "ERROR", reqA},
		{"[INFO]\t2024-07-01T08:54:54.110Z\t\tcold init", otlpbuild.SeverityInfo, "INFO", ""},
		{"[WARNING]\t2024-07-01T08:54:54.110Z\t" + reqA + "\tslow", otlpbuild.SeverityWarn, "WARNING", reqA},
		{"2024-07-01T08:54:54.110Z\t" + reqA + "\tERROR\tInvoke Error", otlpbuild.SeverityError, "ERROR", reqA},
		{"2024-07-01T08:54:54.110Z\t" + reqA + "\tINFO\thello", otlpbuild.SeverityInfo, "INFO", reqA},
		{"2024-07-01T08:54:54.110Z\t" + reqA + "\tDEBUG\tdetail", otlpbuild.SeverityDebug, "DEBUG", reqA},
		{"2024-07-01 08:54:54 " + reqA + " WARN  OrderHandler:42 - retry", otlpbuild.SeverityWarn, "WARN", reqA},
		{"2024-07-01 08:54:54.110 [main] ERROR com.example.Handler - boom", otlpbuild.SeverityError, "ERROR", ""},
		// Common loggers.
		{`time=2024-07-01T08:54:54.110Z level=ERROR msg="db down"`, otlpbuild.SeverityError, "ERROR", ""},
		{`ts=2024-07-01T08:54:54Z caller=main.go:12 level=warn msg=x`, otlpbuild.SeverityWarn, "warn", ""},
		{"ERROR:root:something broke", otlpbuild.SeverityError, "ERROR", ""},
		{"CRITICAL:app:disk full", otlpbuild.SeverityFatal, "CRITICAL", ""},
		{"WARN retrying", otlpbuild.SeverityWarn, "WARN", ""},
		{"[TRACE] entering", otlpbuild.SeverityTrace, "TRACE", ""},
		{"FATAL cannot start", otlpbuild.SeverityFatal, "FATAL", ""},
		{"info: server started", otlpbuild.SeverityInfo, "info", ""},
		{"Error: connect ECONNREFUSED", otlpbuild.SeverityError, "Error", ""},
		{"panic: runtime error: index out of range", otlpbuild.SeverityFatal, "panic", ""},
		{"2024/07/01 08:54:54 ERROR cannot connect", otlpbuild.SeverityError, "ERROR", ""},
		{"E, [2024-07-01T08:54:54.110 #1] ERROR -- : failed", otlpbuild.SeverityError, "ERROR", ""},
		{"2024-07-01T08:54:54.110Z " + reqA + " Task timed out after 3.00 seconds", otlpbuild.SeverityError, "ERROR", reqA},
		// No level: the message has begun.
		{"hello world", 0, "", ""},
		{"processing order 42 for INFO desk", 0, "", ""},
		{"the error was handled", 0, "", ""},
		{"[rawfn] 14:33:05.221 response -> 202 {\"status\":\"OK\"}", 0, "", ""},
		{"user Info updated", 0, "", ""},
		{"", 0, "", ""},
		{"   \t  ", 0, "", ""},
		{"START RequestId: " + reqA + " Version: $LATEST", 0, "", ""},
	}
	for _, tc := range cases {
		sev, text, reqID := parseTextLine(tc.line)
		if sev != tc.sev || text != tc.text || reqID != tc.reqID {
			t.Errorf("parseTextLine(%q) = %v %q %q, want %v %q %q", tc.line, sev, text, reqID, tc.sev, tc.text, tc.reqID)
		}
	}
}

func TestJSONLogs(t *testing.T) {
	p, _ := newProc(t, Options{})
	handleAll(p, startEv(reqA, at(0), xrayA))
	lines := []string{
		// Lambda's JSON log format.
		`{"timestamp":"2024-07-01T08:54:54.110Z","level":"ERROR","requestId":"` + reqA + `","message":"payment failed"}`,
		// Python's, with extra keys.
		`{"timestamp":"2024-07-01T08:54:54.111Z","level":"WARNING","message":"slow","logger":"root","requestId":"` + reqA + `","attempt":2,"ratio":0.5,"ok":false,"ctx":{"a":[1, 2]},"none":null}`,
		// Node's error object as the message.
		`{"timestamp":"2024-07-01T08:54:54.112Z","level":"ERROR","requestId":"` + reqA + `","message":{"errorType":"TypeError","errorMessage":"x is undefined"}}`,
		// pino: numeric level, epoch-ms time, msg.
		`{"level":50,"time":1719824094113,"pid":8,"msg":"pino says"}`,
		// slog JSON with its own trace context.
		`{"time":"2024-07-01T08:54:54.114Z","level":"INFO+2","msg":"with ids","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331"}`,
		// No message: the line is its own body.
		`{"event":"checkout","amount":12.5}`,
	}
	for i, l := range lines {
		handleAll(p, event(lambdaapi.EventFunction, at(float64(100+i)), json.RawMessage(l)))
	}
	recs := collect(t, p).records()
	if len(recs) != len(lines) {
		t.Fatalf("%d records", len(recs))
	}
	want := []struct {
		sev     logspb.SeverityNumber
		text    string
		body    string
		timeMs  float64 // since base
		attrs   []string
		traceID string
	}{
		{logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, "ERROR", "payment failed", 110, []string{"faas.invocation_id", "aws.lambda.log.type"}, xrayTraceA},
		{logspb.SeverityNumber_SEVERITY_NUMBER_WARN, "WARNING", "slow", 111,
			[]string{"faas.invocation_id", "aws.lambda.log.type", "logger", "attempt", "ratio", "ok", "ctx", "none"}, xrayTraceA},
		{logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, "ERROR", `{"errorType":"TypeError","errorMessage":"x is undefined"}`, 112, nil, xrayTraceA},
		{logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, "ERROR", "pino says", 113, []string{"faas.invocation_id", "aws.lambda.log.type", "pid"}, xrayTraceA},
		{logspb.SeverityNumber_SEVERITY_NUMBER_INFO, "INFO+2", "with ids", 114, nil, "0af7651916cd43dd8448eb211c80319c"},
		{logspb.SeverityNumber_SEVERITY_NUMBER_UNSPECIFIED, "", `{"event":"checkout","amount":12.5}`, 105, nil, xrayTraceA},
	}
	for i, w := range want {
		r := recs[i]
		if r.SeverityNumber != w.sev || r.SeverityText != w.text || r.Body.GetStringValue() != w.body ||
			r.TimeUnixNano != ns(at(w.timeMs)) || hexOf(r.TraceId) != w.traceID {
			t.Errorf("record %d: %v", i, r)
		}
		if w.attrs != nil {
			var keys []string
			for _, kv := range r.Attributes {
				keys = append(keys, kv.Key)
			}
			if strings.Join(keys, ",") != strings.Join(w.attrs, ",") {
				t.Errorf("record %d keys %v, want %v", i, keys, w.attrs)
			}
		}
		if r.ObservedTimeUnixNano != ns(base) {
			t.Errorf("record %d observed %d", i, r.ObservedTimeUnixNano)
		}
	}
	a := recs[1].Attributes
	if attr(a, "attempt").GetIntValue() != 2 || attr(a, "ratio").GetDoubleValue() != 0.5 || attr(a, "ok").GetBoolValue() ||
		attr(a, "ctx").GetStringValue() != `{"a":[1,2]}` || attr(a, "none").GetValue() != nil {
		t.Errorf("typed attributes: %v", a)
	}
	if hexOf(recs[4].SpanId) != "b7ad6b7169203331" {
		t.Errorf("line's own span id: %x", recs[4].SpanId)
	}
}

// TestLogAttribution: a line without a request ID belongs to the invocation
// running (until its report), its own request ID wins, and lines between
// invocations belong to none.
func TestLogAttribution(t *testing.T) {
	p, _ := newProc(t, Options{})
	handleAll(p,
		startEv(reqA, at(0), xrayA),
		fnLog(at(1), "during A"),
		runtimeDoneEv(reqA, at(0), 10, "success", "", ""),
		event(lambdaapi.EventExtensionLog, at(11), "[other-ext] flushing after A"),
		fnLog(at(12), "2024-07-01T08:54:54.012Z\t"+reqB+"\tINFO\tnames B"),
		reportEv(reqA, at(12), 12, "success", "", nil),
		fnLog(at(13), "between"),
	)
	recs := collect(t, p).records()
	wantIDs := []string{reqA, reqA, reqB, ""}
	if len(recs) != len(wantIDs) {
		t.Fatalf("%d records", len(recs))
	}
	for i, id := range wantIDs {
		got := attr(recs[i].Attributes, "faas.invocation_id").GetStringValue()
		if got != id {
			t.Errorf("record %d (%s): invocation %q, want %q", i, recs[i].Body.GetStringValue(), got, id)
		}
		if (id == reqA) != (len(recs[i].TraceId) == 16) {
			t.Errorf("record %d trace %x", i, recs[i].TraceId)
		}
	}
	if attr(recs[1].Attributes, "aws.lambda.log.type").GetStringValue() != "extension" {
		t.Errorf("extension record type: %v", recs[1].Attributes)
	}
}

// TestOwnOutputSkipped: the extension never ingests what it writes itself.
func TestOwnOutputSkipped(t *testing.T) {
	p, _ := newProc(t, Options{ExtensionName: "lambdaotel-extension"})
	fallback := `{"otlp_fallback":{"__otel_otlp_stdout":"lambdaotel-extension@1","source":"orders","signal":"traces","payload":"AAAA"}}`
	handleAll(p,
		event(lambdaapi.EventExtensionLog, at(0), `time=2024-07-01T08:54:54Z level=WARN msg="export failed" ext=lambdaotel-extension`),
		event(lambdaapi.EventExtensionLog, at(0), fallback),
		event(lambdaapi.EventExtensionLog, at(0), json.RawMessage(fallback)),
		event(lambdaapi.EventFunction, at(0), fallback), // an internal extension's, in the function's stream
		event(lambdaapi.EventExtensionLog, at(0), json.RawMessage(`{"level":"INFO","msg":"x","ext":"lambdaotel-extension"}`)),
		event(lambdaapi.EventExtensionLog, at(0), "[datadog] flushing"),
		fnLog(at(0), "the function mentions lambdaotel-extension"),
	)
	recs := collect(t, p).records()
	if len(recs) != 2 {
		t.Fatalf("records %v", recs)
	}
	if st := p.Stats(); st.OwnLogsSkipped != 5 {
		t.Errorf("OwnLogsSkipped = %d", st.OwnLogsSkipped)
	}
}

func TestMinSeverityAndDisable(t *testing.T) {
	p, _ := newProc(t, Options{MinSeverity: otlpbuild.SeverityWarn})
	handleAll(p,
		fnLog(at(0), "[DEBUG] noise"),
		fnLog(at(0), "plain print"), // no level: counts as INFO
		fnLog(at(0), "[WARN] careful"),
		fnLog(at(0), "[ERROR] bad"),
	)
	if recs := collect(t, p).records(); len(recs) != 2 || p.Stats().LogsBelowSeverity != 2 {
		t.Errorf("records %v, stats %+v", recs, p.Stats())
	}

	p, _ = newProc(t, Options{DisableLogs: true})
	line := readFixtureLine(t, "rust.jsonl", 0)
	handleAll(p, fnLog(at(0), "[ERROR] bad"), fnLog(at(0), line))
	o := collect(t, p)
	if len(o.records()) != 0 || len(o.spans()) != 2 {
		t.Errorf("with logs disabled: %d records, %d forwarded spans", len(o.records()), len(o.spans()))
	}
}

// captureHandler counts the warnings a processor logs.
type captureHandler struct {
	mu    sync.Mutex
	lines []string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, r.Message)
	return nil
}
func (h *captureHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, l := range h.lines {
		if l == msg {
			n++
		}
	}
	return n
}

func newLogger(h slog.Handler) *slog.Logger { return slog.New(h) }

func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func TestWarnOnce(t *testing.T) {
	h := &captureHandler{}
	p, _ := newProc(t, Options{Logger: slog.New(h)})
	for range 3 {
		handleAll(p,
			event("platform.mystery", at(0), raw(`{}`)),
			event(lambdaapi.EventStart, at(0), raw(`"garbage"`)),
		)
	}
	if len(h.lines) != 2 {
		t.Errorf("warnings %q, want one per kind", h.lines)
	}
	var buf bytes.Buffer
	p2 := New(Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	for i := range 100 {
		p2.Handle(event("platform.kind"+strings.Repeat("x", i), time.Time{}, raw(`{}`)))
	}
	if len(p2.warned) > 64 {
		t.Errorf("warned set grew to %d", len(p2.warned))
	}
}
