package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// requestVariants is how many distinct request bodies a load cycles
// through: enough that no layer can cache one, few enough to build fast.
const requestVariants = 16

// makeRequests builds requestVariants gzipped ExportTraceServiceRequests of
// spans spans each, with what a Lambda function's spans typically carry: a
// resource with the Lambda attributes, an HTTP server span per trace and
// client spans with a handful of attributes. The seed makes runs identical.
func makeRequests(spans int, seed uint64) ([][]byte, int, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := func(v string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}
	}
	i64 := func(v int64) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}
	}
	kv := func(k string, v *commonpb.AnyValue) *commonpb.KeyValue { return &commonpb.KeyValue{Key: k, Value: v} }
	res := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		kv("service.name", s("orders-api")), kv("cloud.provider", s("aws")), kv("cloud.platform", s("aws_lambda")),
		kv("cloud.region", s("us-east-1")), kv("faas.name", s("orders-api")), kv("faas.version", s("$LATEST")),
		kv("faas.max_memory", i64(128<<20)), kv("telemetry.sdk.language", s("go")), kv("telemetry.sdk.name", s("opentelemetry")),
	}}
	var out [][]byte
	raw := 0
	start := uint64(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixNano())
	for v := range requestVariants {
		list := make([]*tracepb.Span, 0, spans)
		var traceID [16]byte
		var parent []byte
		for i := range spans {
			if i%10 == 0 {
				binary.LittleEndian.PutUint64(traceID[:8], rng.Uint64())
				binary.LittleEndian.PutUint64(traceID[8:], rng.Uint64())
				parent = nil
			}
			spanID := make([]byte, 8)
			binary.LittleEndian.PutUint64(spanID, rng.Uint64())
			t0 := start + uint64(v*spans+i)*1000
			sp := &tracepb.Span{
				TraceId: bytes.Clone(traceID[:]), SpanId: spanID, ParentSpanId: parent,
				StartTimeUnixNano: t0, EndTimeUnixNano: t0 + uint64(rng.IntN(5_000_000)),
				Status: &tracepb.Status{},
			}
			if parent == nil {
				sp.Name, sp.Kind = "GET /orders/{id}", tracepb.Span_SPAN_KIND_SERVER
				sp.Attributes = []*commonpb.KeyValue{
					kv("http.request.method", s("GET")), kv("http.route", s("/orders/{id}")),
					kv("url.path", s("/orders/"+strconv.Itoa(rng.IntN(1e6)))), kv("http.response.status_code", i64(200)),
					kv("faas.trigger", s("http")), kv("faas.invocation_id", s(fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()))),
				}
				parent = spanID
			} else {
				sp.Name, sp.Kind = "dynamodb.GetItem", tracepb.Span_SPAN_KIND_CLIENT
				sp.Attributes = []*commonpb.KeyValue{
					kv("rpc.system", s("aws-api")), kv("rpc.service", s("DynamoDB")), kv("rpc.method", s("GetItem")),
					kv("aws.dynamodb.table_names", s("orders")), kv("server.address", s("dynamodb.us-east-1.amazonaws.com")),
				}
			}
			list = append(list, sp)
		}
		req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
			Resource: res,
			ScopeSpans: []*tracepb.ScopeSpans{{
				Scope: &commonpb.InstrumentationScope{Name: loadScope, Version: "1.0.0"},
				Spans: list,
			}},
		}}}
		b, err := proto.Marshal(req)
		if err != nil {
			return nil, 0, err
		}
		raw += len(b)
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(b)
		_ = zw.Close()
		out = append(out, z.Bytes())
	}
	return out, raw / requestVariants, nil
}

// loadResult counts what the server answered.
type loadResult struct {
	ok, unavailable, other int64
	// retried counts 503/429 answers that were retried (only with retry).
	retried int64
	// firstOther is the first unexpected answer, for diagnostics.
	firstOther string
}

// client is the load's HTTP client: keep-alive connections, one per
// sender.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}}
}

// post sends one gzipped OTLP/HTTP traces request and returns the status.
func post(ctx context.Context, c *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// sendLoad posts n requests, cycling through bodies, from conc senders.
// With retry, a 503 or 429 (queue full) is retried after a short pause
// until accepted: every span gets in, and the retries are counted; without
// retry (the flood), the answer is only counted.
func sendLoad(ctx context.Context, url string, bodies [][]byte, n, conc int, retry bool) loadResult {
	c := newClient(conc)
	defer c.CloseIdleConnections()
	var next atomic.Int64
	var res loadResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				body := bodies[i%int64(len(bodies))]
				for {
					code, err := post(ctx, c, url, body)
					mu.Lock()
					switch {
					case err == nil && code == http.StatusOK:
						res.ok++
					case err == nil && (code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests):
						if retry {
							res.retried++
						} else {
							res.unavailable++
						}
					default:
						res.other++
						if res.firstOther == "" {
							res.firstOther = fmt.Sprintf("status %d, error %v", code, err)
						}
					}
					mu.Unlock()
					if !retry || err != nil || (code != http.StatusServiceUnavailable && code != http.StatusTooManyRequests) {
						break
					}
					// The queue is full: give the exporter a moment. (The
					// servers' Retry-After is a whole second, far longer
					// than an export takes on loopback.)
					select {
					case <-ctx.Done():
						return
					case <-time.After(2 * time.Millisecond):
					}
				}
			}
		})
	}
	wg.Wait()
	return res
}
