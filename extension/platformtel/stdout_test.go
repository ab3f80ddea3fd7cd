package platformtel

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/internal/stdoutrecord"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The otlp-stdout fixtures are otlpstdout's: records as the Rust, Node and
// Python exporters and our own library write them.
func fixtureLines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "otlpstdout", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func readFixtureLine(t testing.TB, name string, i int) string { return fixtureLines(t, name)[i] }

// TestStdoutRecords: every fixture record, as a function log line, is
// forwarded as the traces it carries and is not also a log record.
func TestStdoutRecords(t *testing.T) {
	for _, name := range []string{"rust.jsonl", "node.jsonl", "python.jsonl", "golden.jsonl"} {
		for i, line := range fixtureLines(t, name) {
			t.Run(fmt.Sprintf("%s:%d", name, i+1), func(t *testing.T) {
				want := recordTraces(t, line)
				p, _ := newProc(t, Options{})
				handleAll(p, fnLog(at(0), line+"\n"))
				o := collect(t, p)
				if len(o.records()) != 0 {
					t.Errorf("forwarded record also became a log: %v", o.records())
				}
				if !proto.Equal(o.traces, want) {
					t.Errorf("forwarded traces differ\n got %v\nwant %v", o.traces, want)
				}
				if st := p.Stats(); st.StdoutRecords != 1 || st.CorruptStdoutRecords != 0 {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}

// recordTraces decodes a record's payload independently of the processor:
// protobuf with the generated types; JSON by way of the fixture's
// protobuf twin (the fixtures carry the same traces in every encoding).
func recordTraces(t *testing.T, line string) *tracepb.TracesData {
	t.Helper()
	r, err := stdoutrecord.Decode([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if r.IsJSON() {
		line = readFixtureLine(t, "rust.jsonl", 0)
		if r, err = stdoutrecord.Decode([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	body, err := r.Body()
	if err != nil {
		t.Fatal(err)
	}
	td := new(tracepb.TracesData)
	if err := proto.Unmarshal(body, td); err != nil {
		t.Fatal(err)
	}
	return td
}

// TestStdoutRecordsWithSpans: forwarded payloads follow the processor's own
// spans in the same request; both parse.
func TestStdoutRecordsWithSpans(t *testing.T) {
	p, _ := newProc(t, Options{})
	handleAll(p,
		startEv(reqA, at(0), xrayA),
		fnLog(at(1), readFixtureLine(t, "rust.jsonl", 1)),
		// JSON log format: the record as the function's JSON object, and
		// wrapped as the message of Lambda's own object.
		event(lambdaapi.EventFunction, at(2), json.RawMessage(readFixtureLine(t, "python.jsonl", 0))),
		event(lambdaapi.EventFunction, at(3), json.RawMessage(`{"timestamp":"2024-07-01T08:54:54.003Z","level":"INFO","requestId":"`+
			reqA+`","message":`+mustJSON(readFixtureLine(t, "node.jsonl", 0))+`}`)),
		runtimeDoneEv(reqA, at(0), 10, "success", "", ""),
	)
	o := collect(t, p)
	if got := len(o.traces.ResourceSpans); got != 4 {
		t.Errorf("%d ResourceSpans, want ours and three forwarded", got)
	}
	if got := len(o.spans()); got != 4+3*2 {
		t.Errorf("%d spans", got)
	}
	if p.Stats().StdoutRecords != 3 || len(o.records()) != 0 {
		t.Errorf("stats %+v, records %v", p.Stats(), o.records())
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestCorruptStdoutRecords: a record that does not decode is counted,
// logged once, and kept as an ordinary log line.
func TestCorruptStdoutRecords(t *testing.T) {
	h := &captureHandler{}
	p, _ := newProc(t, Options{Logger: newLogger(h)})
	good := readFixtureLine(t, "rust.jsonl", 0)
	notProto := base64.StdEncoding.EncodeToString([]byte("\xff\xff\xff not protobuf"))
	corrupt := []string{
		`{"__otel_otlp_stdout":"0.17.1","payload":"!!! not base64","base64":true}`,
		`{"__otel_otlp_stdout":"0.17.1","payload":"aGVsbG8=","base64":true,"content-encoding":"gzip"}`,
		`{"__otel_otlp_stdout":"0.17.1","payload":"` + notProto + `","base64":true}`,
		`{"__otel_otlp_stdout":"0.17.1","content-type":"application/json","payload":"{\"resourceSpans\":5}"}`,
		`{"__otel_otlp_stdout":"x","payload":5}`,
		strings.Replace(good, `"payload":"H4sI`, `"payload":"H4sJ`, 1),
	}
	for i, line := range corrupt {
		handleAll(p, fnLog(at(float64(i)), line))
	}
	// Not records at all: ordinary lines, not counted as corrupt.
	handleAll(p,
		fnLog(at(10), `{"message":"mentions \"__otel_otlp_stdout\" in passing"}`),
		fnLog(at(11), `log: {"__otel_otlp_stdout":"1"}`),
	)
	o := collect(t, p)
	st := p.Stats()
	if st.CorruptStdoutRecords != uint64(len(corrupt)) || st.StdoutRecords != 0 {
		t.Errorf("stats %+v", st)
	}
	if len(o.records()) != len(corrupt)+2 || len(o.spans()) != 0 {
		t.Errorf("%d records, %d spans", len(o.records()), len(o.spans()))
	}
	if got := h.count("otlp-stdout record does not decode; kept as a log line"); got != 1 {
		t.Errorf("logged %d times, want once", got)
	}
}

// TestStdoutRecordSignals: a record whose endpoint names metrics or logs is
// forwarded in that signal's request.
func TestStdoutRecordSignals(t *testing.T) {
	logs := otlpbuild.AppendLogs(nil, nil, nil, []otlpbuild.LogRecord{{Body: otlpbuild.StringValue("from stdout")}})
	rec := stdoutrecord.Record{Version: "1", Endpoint: "http://localhost:4318/v1/logs", Method: "POST",
		ContentType: stdoutrecord.ContentTypeProtobuf, Payload: base64.StdEncoding.EncodeToString(logs), Base64: true}
	p, _ := newProc(t, Options{DisableLogs: true})
	handleAll(p, fnLog(at(0), string(rec.AppendJSON(nil))))
	tr, me, lo := p.Collect(nil, nil, nil)
	if len(tr) != 0 || len(me) != 0 || !bytes.Equal(lo, logs) {
		t.Errorf("traces %x metrics %x logs %x", tr, me, lo)
	}
}
