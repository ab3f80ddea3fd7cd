package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/lambdaotel/lambdaotel/examples/httpapi"
	"github.com/lambdaotel/lambdaotel/examples/logextension"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
	"github.com/lambdaotel/lambdaotel/lambdasim"
	"github.com/lambdaotel/lambdaotel/otlpstdout"
	"github.com/lambdaotel/lambdaotel/otlpstdout/tracedata"
)

// The demo runs this binary under these file names; the name picks the role,
// and the extension's name is what it registers with.
const (
	demoFunction  = "lambdasim-demo-function"
	demoExtension = "lambdasim-demo-extension"
)

func demoRole() (func() int, bool) {
	switch filepath.Base(os.Args[0]) {
	case demoFunction:
		return func() int { httpapi.Main(); return 0 }, true
	case demoExtension:
		return func() int {
			log := slog.New(slog.NewTextHandler(os.Stdout, nil))
			if err := logextension.Run(context.Background(), log); err != nil {
				log.Error("extension failed", "err", err)
				return 1
			}
			return 0
		}, true
	}
	return nil, false
}

// demoEvents are API Gateway HTTP API requests; the first carries a W3C
// traceparent, as a caller instrumented with OpenTelemetry would send.
var demoEvents = [][]byte{
	httpEvent("/items/1", `"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"`),
	httpEvent("/items/2", ""),
	httpEvent("/items/9", ""),
}

func httpEvent(path, extraHeader string) []byte {
	headers := `"user-agent":"curl/8.5.0"`
	if extraHeader != "" {
		headers += "," + extraHeader
	}
	id := strings.TrimPrefix(path, "/items/")
	return []byte(`{"version":"2.0","routeKey":"GET /items/{id}","rawPath":"` + path + `","rawQueryString":"",` +
		`"headers":{` + headers + `},"pathParameters":{"id":"` + id + `"},` +
		`"requestContext":{"accountId":"123456789012","apiId":"demo","domainName":"demo.execute-api.us-east-1.amazonaws.com",` +
		`"http":{"method":"GET","path":"` + path + `","protocol":"HTTP/1.1","sourceIp":"203.0.113.7","userAgent":"curl/8.5.0"},` +
		`"requestId":"demo","routeKey":"GET /items/{id}","stage":"$default"},"isBase64Encoded":false}`)
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	invocations := fs.Int("invocations", len(demoEvents), "how many invocations")
	report := fs.String("report", "", "write a JSON report to `file`")
	if !parse(fs, args, stderr) {
		return 2
	}
	exe, err := exePath()
	if err != nil {
		fmt.Fprintf(stderr, "lambdasim demo: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "lambdasim-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "lambdasim demo: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	fn, ext := filepath.Join(dir, demoFunction), filepath.Join(dir, demoExtension)
	for _, p := range []string{fn, ext} {
		if err := os.Symlink(exe, p); err != nil {
			fmt.Fprintf(stderr, "lambdasim demo: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "lambdasim demo: an HTTP API function instrumented with lambdaotel (async mode: spans are\n"+
		"exported after the response, before the freeze) and a Telemetry API extension printing each\n"+
		"platform.report; %d invocations, frozen between them, then a graceful shutdown.\n\n", *invocations)
	cfg := lambdasim.Config{
		Runtime:      &lambdasim.Process{Path: fn},
		Extensions:   []lambdasim.Process{{Path: ext}},
		FunctionName: "httpapi",
		Env:          map[string]string{"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "async"},
		Output:       &recordAbbreviator{w: stdout},
		Logger:       log,
	}
	return session(ctx, cfg, lambdasim.RunOptions{Events: demoEvents, Invocations: *invocations, Idle: 100 * time.Millisecond},
		*report, stdout, stderr, log, func(s *lambdasim.Sim) { printSpans(stdout, s.Telemetry()) })
}

// recordAbbreviator shortens otlp-stdout records on the terminal: they are
// one long base64 line each, for machines.
type recordAbbreviator struct{ w io.Writer }

func (r *recordAbbreviator) Write(p []byte) (int, error) {
	if i := bytes.Index(p, []byte("] ")); i > 0 && otlpstdout.IsRecord(bytes.TrimSpace(p[i+2:])) {
		line := fmt.Sprintf("%s] (otlp-stdout record, %d bytes: the spans below)\n", p[:i], len(p)-i-3)
		if _, err := io.WriteString(r.w, line); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return r.w.Write(p)
}

// printSpans decodes the otlp-stdout records the function wrote and shows
// each trace's spans.
func printSpans(w io.Writer, events []lambdaapi.TelemetryEvent) {
	type row struct {
		trace, indent, line string
		start               uint64
	}
	var rows []row
	for _, ev := range events {
		if ev.Type != lambdaapi.EventFunction {
			continue
		}
		d, err := ev.Decode()
		if err != nil {
			continue
		}
		text := d.(*lambdaapi.LogRecord).Text
		if !otlpstdout.IsRecord([]byte(text)) {
			continue
		}
		rec, err := otlpstdout.Decode([]byte(text))
		if err != nil {
			fmt.Fprintf(w, "undecodable record: %v\n", err)
			continue
		}
		body, err := rec.Body()
		if err != nil {
			fmt.Fprintf(w, "undecodable record: %v\n", err)
			continue
		}
		td, err := tracedata.Traces(body, rec.IsJSON())
		if err != nil {
			fmt.Fprintf(w, "undecodable payload: %v\n", err)
			continue
		}
		for _, rs := range td.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					indent := ""
					if len(sp.ParentSpanId) > 0 && sp.Flags&0x200 == 0 {
						indent = "  "
					}
					rows = append(rows, row{trace: hex.EncodeToString(sp.TraceId), indent: indent, start: sp.StartTimeUnixNano, line: describeSpan(sp)})
				}
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].start < rows[j].start })
	fmt.Fprintf(w, "\nspans decoded from the function's otlp-stdout records (%d):\n", len(rows))
	last := ""
	for _, r := range rows {
		if r.indent == "" && r.trace != last {
			fmt.Fprintf(w, "trace %s\n", r.trace)
			last = r.trace
		}
		fmt.Fprintf(w, "  %s%s\n", r.indent, r.line)
	}
}

func describeSpan(sp *tracepb.Span) string {
	var attrs []string
	for _, kv := range sp.Attributes {
		switch kv.Key {
		case "http.route", "http.response.status_code", "faas.coldstart", "faas.trigger", "item.id":
			attrs = append(attrs, kv.Key+"="+anyValue(kv.Value))
		}
	}
	for _, e := range sp.Events {
		attrs = append(attrs, "event:"+e.Name)
	}
	status := ""
	if sp.Status != nil && sp.Status.Code == tracepb.Status_STATUS_CODE_ERROR {
		status = " ERROR"
	}
	dur := time.Duration(sp.EndTimeUnixNano - sp.StartTimeUnixNano)
	kind := strings.TrimPrefix(sp.Kind.String(), "SPAN_KIND_")
	return fmt.Sprintf("%-18s %-8s %8.3f ms%s  %s", sp.Name, kind, float64(dur)/1e6, status, strings.Join(attrs, " "))
}

func anyValue(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	default:
		return v.String()
	}
}
