package bench

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an in-process OTLP/HTTP trace receiver on 127.0.0.1: it
// answers 200 to every well-formed POST /v1/traces and keeps the spans,
// decoded, by the service.name of their resource. An
// ExportTraceServiceRequest has the same single field as TracesData, so the
// body decodes as TracesData.
type collector struct {
	srv *httptest.Server

	mu       sync.Mutex
	spans    map[string][]*tracepb.Span
	requests int
	errs     []error
}

// newCollector starts a collector that closes when tb ends.
func newCollector(tb testing.TB) *collector {
	c := &collector{spans: map[string][]*tracepb.Span{}}
	c.srv = httptest.NewServer(c)
	tb.Cleanup(c.srv.Close)
	return c
}

// endpoint is the OTEL_EXPORTER_OTLP_ENDPOINT that reaches the collector.
func (c *collector) endpoint() string { return c.srv.URL }

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/invocation/complete" && r.Method == http.MethodPost {
		// lambdaotel's completion signal, meant for lambdaotel-extension,
		// which this collector stands in for on loopback.
		return
	}
	if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost {
		c.fail(w, http.StatusNotFound, fmt.Errorf("%s %s: not OTLP traces", r.Method, r.URL.Path))
		return
	}
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			c.fail(w, http.StatusBadRequest, err)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		c.fail(w, http.StatusBadRequest, err)
		return
	}
	var td tracepb.TracesData
	if err := proto.Unmarshal(b, &td); err != nil {
		c.fail(w, http.StatusBadRequest, fmt.Errorf("decode %d bytes: %w", len(b), err))
		return
	}
	c.mu.Lock()
	c.requests++
	for _, rs := range td.GetResourceSpans() {
		svc := serviceName(rs)
		for _, ss := range rs.GetScopeSpans() {
			c.spans[svc] = append(c.spans[svc], ss.GetSpans()...)
		}
	}
	c.mu.Unlock()
	// An empty ExportTraceServiceResponse: full success.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (c *collector) fail(w http.ResponseWriter, code int, err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
	http.Error(w, err.Error(), code)
}

func serviceName(rs *tracepb.ResourceSpans) string {
	for _, kv := range rs.GetResource().GetAttributes() {
		if kv.GetKey() == "service.name" {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// count is how many spans service has sent.
func (c *collector) count(service string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.spans[service])
}

// received returns a copy of the spans service has sent, in arrival order.
func (c *collector) received(service string) []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*tracepb.Span(nil), c.spans[service]...)
}

// err reports the first request the collector refused, if any.
func (c *collector) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) == 0 {
		return nil
	}
	return fmt.Errorf("collector refused %d requests, first: %w", len(c.errs), c.errs[0])
}
