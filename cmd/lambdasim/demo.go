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
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

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
		"lets Lambda freeze. %d invocations, frozen between them, then a graceful shutdown.\n\n", *invocations)
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

	mu    sync.Mutex
	spans []*tracepb.Span
}

func startBackend(out io.Writer) (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &backend{url: "http://" + ln.Addr().String(), out: out}
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
	if err != nil || r.URL.Path != "/v1/traces" {
		return // metrics and logs are not shown
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

// printTraces shows every span the backend received, by trace.
func (b *backend) printTraces(w io.Writer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	spans := append([]*tracepb.Span(nil), b.spans...)
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].StartTimeUnixNano < spans[j].StartTimeUnixNano })
	fmt.Fprintf(w, "\nspans at the backend (%d):\n", len(spans))
	last := ""
	for _, sp := range spans {
		trace := hex.EncodeToString(sp.TraceId)
		indent := ""
		if len(sp.ParentSpanId) > 0 && sp.Flags&0x200 == 0 {
			indent = "  "
		}
		if indent == "" && trace != last {
			fmt.Fprintf(w, "trace %s\n", trace)
			last = trace
		}
		fmt.Fprintf(w, "  %s%s\n", indent, describeSpan(sp))
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
