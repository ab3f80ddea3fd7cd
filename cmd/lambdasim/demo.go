package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/examples/httpapi"
	"github.com/lambdaotel/lambdaotel/extension"
	"github.com/lambdaotel/lambdaotel/lambdasim"
	"github.com/lambdaotel/lambdaotel/otlpstdout/tracedata"
)

// The demo runs this binary under these file names; the name picks the role,
// and the extension's name is what it registers with.
const (
	demoFunction  = "lambdasim-demo-function"
	demoExtension = "lambdaotel-extension"
)

func demoRole() (func() int, bool) {
	switch filepath.Base(os.Args[0]) {
	case demoFunction:
		return func() int { httpapi.Main(); return 0 }, true
	case demoExtension:
		return func() int {
			if err := extension.Run(context.Background(), extension.Options{}); err != nil {
				fmt.Fprintln(os.Stderr, "lambdaotel-extension:", err)
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
	be, err := startBackend(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "lambdasim demo: %v\n", err)
		return 1
	}
	defer be.close()
	httpPort, grpcPort, err := freePorts()
	if err != nil {
		fmt.Fprintf(stderr, "lambdasim demo: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "lambdasim demo: an HTTP API function instrumented with lambdaotel (async mode: spans leave\n"+
		"after the response) exports OTLP to lambdaotel-extension on loopback; the extension holds each\n"+
		"invocation until the export is done, sends it to a backend (here, in this process), and only then\n"+
		"lets Lambda freeze. It also turns the Telemetry API's records into spans under the function's own\n"+
		"(init, response latency, runtime and extension overhead) and FaaS metrics.\n"+
		"%d invocations, frozen between them, then a graceful shutdown.\n\n", *invocations)
	cfg := lambdasim.Config{
		Runtime:      &lambdasim.Process{Path: fn},
		Extensions:   []lambdasim.Process{{Path: ext}},
		FunctionName: "httpapi",
		Env: map[string]string{
			"LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE": "async",
			"OTEL_TRACES_EXPORTER":                 "otlp",
			"OTEL_EXPORTER_OTLP_ENDPOINT":          "http://127.0.0.1:" + httpPort,
			// Free ports, so the demo never collides with a collector
			// already running on 4317/4318.
			"LAMBDA_OTEL_RECEIVER_HTTP_PORT": httpPort,
			"LAMBDA_OTEL_RECEIVER_GRPC_PORT": grpcPort,
			"LAMBDA_OTEL_EXPORTER_ENDPOINT":  be.url,
		},
		Output: stdout,
		Logger: log,
	}
	return session(ctx, cfg, lambdasim.RunOptions{Events: demoEvents, Invocations: *invocations, Idle: 100 * time.Millisecond},
		*report, stdout, stderr, log, func(*lambdasim.Sim) { be.printTraces(stdout) })
}

func freePorts() (string, string, error) {
	var ports []string
	for i := 0; i < 2; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		defer ln.Close()
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	return ports[0], ports[1], nil
}

// backend is the demo's OTLP/HTTP trace backend: it prints what arrives,
// when it arrives, and keeps it for the closing tree.
type backend struct {
	url string
	srv *http.Server
	out io.Writer

	mu      sync.Mutex
	spans   []*tracepb.Span
	metrics map[string]string // platform metric name → last value, shown
}

func startBackend(out io.Writer) (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &backend{url: "http://" + ln.Addr().String(), out: out, metrics: map[string]string{}}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *backend) close() { _ = b.srv.Close() }

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err == nil && r.Header.Get("Content-Encoding") == "gzip" {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
			body, err = io.ReadAll(io.LimitReader(zr, 64<<20))
		}
	}
	if err != nil {
		return
	}
	switch r.URL.Path {
	case "/v1/metrics":
		var md metricspb.MetricsData // the wire format of ExportMetricsServiceRequest
		if proto.Unmarshal(body, &md) == nil {
			b.mu.Lock()
			b.noteMetrics(&md)
			b.mu.Unlock()
		}
		return
	case "/v1/traces":
	default:
		return // logs are not shown
	}
	td, err := tracedata.Traces(body, false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var names []string
	b.mu.Lock()
	for _, rs := range td.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				b.spans = append(b.spans, sp)
				names = append(names, sp.Name)
			}
		}
	}
	b.mu.Unlock()
	fmt.Fprintf(b.out, "[backend] received %d spans (%s)\n", len(names), strings.Join(names, ", "))
}

// printTraces shows every span the backend received as trees, one per
// trace, children under their parents in start order; then the platform
// metrics' last values.
func (b *backend) printTraces(w io.Writer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	spans := append([]*tracepb.Span(nil), b.spans...)
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].StartTimeUnixNano < spans[j].StartTimeUnixNano })
	byID := map[string]bool{}
	for _, sp := range spans {
		byID[string(sp.SpanId)] = true
	}
	children := map[string][]*tracepb.Span{}
	var roots []*tracepb.Span
	for _, sp := range spans {
		if p := string(sp.ParentSpanId); p != "" && byID[p] {
			children[p] = append(children[p], sp)
		} else {
			roots = append(roots, sp) // its parent, if any, is remote
		}
	}
	fmt.Fprintf(w, "\nspans at the backend (%d; the function's, and the extension's from platform telemetry):\n", len(spans))
	var walk func(sp *tracepb.Span, depth int)
	walk = func(sp *tracepb.Span, depth int) {
		fmt.Fprintf(w, "  %s%s\n", strings.Repeat("  ", depth), describeSpan(sp, 22-2*depth))
		for _, c := range children[string(sp.SpanId)] {
			walk(c, depth+1)
		}
	}
	last := ""
	for _, r := range roots {
		if trace := hex.EncodeToString(r.TraceId); trace != last {
			fmt.Fprintf(w, "trace %s\n", trace)
			last = trace
		}
		walk(r, 0)
	}
	if len(b.metrics) > 0 {
		names := make([]string, 0, len(b.metrics))
		for n := range b.metrics {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "\nplatform metrics (last values):\n")
		for _, n := range names {
			fmt.Fprintf(w, "  %-38s %s\n", n, b.metrics[n])
		}
	}
}

// noteMetrics keeps the last value of each platform (faas.*, aws.lambda.*)
// metric.
func (b *backend) noteMetrics(md *metricspb.MetricsData) {
	for _, rm := range md.ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if !strings.HasPrefix(m.Name, "faas.") && !strings.HasPrefix(m.Name, "aws.lambda.") {
					continue
				}
				switch {
				case m.GetSum() != nil && len(m.GetSum().DataPoints) > 0:
					b.metrics[m.Name] = fmt.Sprint(m.GetSum().DataPoints[0].GetAsInt())
				case m.GetHistogram() != nil && len(m.GetHistogram().DataPoints) > 0:
					p := m.GetHistogram().DataPoints[0]
					b.metrics[m.Name] = fmt.Sprintf("count %d, sum %.4g %s", p.Count, p.GetSum(), m.Unit)
				}
			}
		}
	}
}

func describeSpan(sp *tracepb.Span, nameWidth int) string {
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
	return fmt.Sprintf("%-*s %-8s %8.3f ms%s  %s", max(nameWidth, len(sp.Name)), sp.Name, kind, float64(dur)/1e6, status, strings.Join(attrs, " "))
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
