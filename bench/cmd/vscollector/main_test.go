package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// These tests keep the harness's parts honest without building or running
// the collector: CI runs them; the benchmark itself runs by hand.

func TestParseStatCPU(t *testing.T) {
	// Field 2 may hold spaces and parentheses; utime=150, stime=50 ticks.
	line := "1234 (my (odd) prog) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 4 0 100 1000000 200 18446744073709551615"
	got, err := parseStatCPU(line)
	if err != nil || got != 2*time.Second {
		t.Fatalf("parseStatCPU = %v, %v; want 2s", got, err)
	}
	if _, err := parseStatCPU("1234 (x) S 1"); err == nil {
		t.Error("a short line parsed")
	}
}

func TestParseStatusMem(t *testing.T) {
	status := "Name:\tx\nVmPeak:\t  900 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nThreads:\t5\n"
	rss, hwm, err := parseStatusMem(status)
	if err != nil || rss != 1<<20 || hwm != 2<<20 {
		t.Fatalf("parseStatusMem = %d, %d, %v", rss, hwm, err)
	}
	if _, _, err := parseStatusMem("Name:\tx\n"); err == nil {
		t.Error("a status without VmRSS parsed")
	}
}

// The generated load holds exactly the spans it says, as countSpans (the
// sink's counter) and the real decoder see them, also when concatenated.
func TestMakeRequestsAndCountSpans(t *testing.T) {
	bodies, raw, err := makeRequests(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != requestVariants || raw <= 0 {
		t.Fatalf("%d bodies, %d raw bytes", len(bodies), raw)
	}
	var all []byte
	for _, b := range bodies[:2] {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		pb, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(pb, &req); err != nil {
			t.Fatal(err)
		}
		if n := len(req.ResourceSpans[0].ScopeSpans[0].Spans); n != 100 {
			t.Fatalf("decoded %d spans, want 100", n)
		}
		all = append(all, pb...)
	}
	if n, other, err := countSpans(all); err != nil || n != 200 || other != 0 {
		t.Fatalf("countSpans = %d, %d, %v; want 200 of the load", n, other, err)
	}
	foreign, _ := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "lambdaotel-extension"}, Spans: []*tracepb.Span{{}, {}}}},
	}}})
	if n, other, err := countSpans(append(all, foreign...)); err != nil || n != 200 || other != 2 {
		t.Fatalf("countSpans = %d, %d, %v; want 200 of the load and 2 others", n, other, err)
	}
	if _, _, err := countSpans([]byte{0x0a, 0x05, 0x01}); err == nil {
		t.Error("a truncated request was counted")
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3}
	if got := median(ds); got != 3 {
		t.Errorf("median = %v", got)
	}
	if got := percentile(ds, 90); got != 5 {
		t.Errorf("p90 = %v", got)
	}
	if got := percentile([]int64{7}, 50); got != 7 {
		t.Errorf("p50 of one = %v", got)
	}
	if ds[0] != 5 {
		t.Error("percentile sorted its input in place")
	}
}

// The sink counts spans, and awaitSpans reports when a count is reached.
func TestSink(t *testing.T) {
	s, err := startSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	bodies, _, err := makeRequests(10, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.awaitSpans(ctx, 20)
		done <- err
	}()
	c := newClient(1)
	defer c.CloseIdleConnections()
	for _, b := range bodies[:2] {
		if code, err := post(ctx, c, s.url()+"/v1/traces", b); err != nil || code != http.StatusOK {
			t.Fatalf("post: %d %v", code, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	spans, reqs, gz, err := s.stats()
	if spans != 20 || reqs != 2 || gz != 2 || err != nil {
		t.Fatalf("stats %d spans, %d requests, %d gzipped, %v", spans, reqs, gz, err)
	}
}

// The fake Extensions API speaks the protocol as lambdaapi's client (the
// extension's) expects it.
func TestExtensionsAPI(t *testing.T) {
	api, err := startExtensionsAPI()
	if err != nil {
		t.Fatal(err)
	}
	defer api.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := lambdaapi.NewExtensionClient(api.addr, nil)
	if _, err := c.Register(ctx, "bench", lambdaapi.Invoke, lambdaapi.Shutdown); err != nil {
		t.Fatal(err)
	}
	if _, err := api.registeredAt(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(ctx, lambdaapi.SubscribeRequest{}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	got := make(chan *lambdaapi.Event, 2)
	go func() {
		for range 2 {
			ev, err := c.Next(ctx)
			if err != nil {
				t.Error(err)
				close(got)
				return
			}
			got <- ev
		}
	}()
	if _, err := api.awaitNext(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := api.invoke(ctx, "req-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if ev := <-got; ev == nil || ev.EventType != lambdaapi.Invoke || ev.RequestID != "req-1" {
		t.Fatalf("first event %+v", ev)
	}
	if _, err := api.awaitNext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := api.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := <-got; ev == nil || ev.EventType != lambdaapi.Shutdown {
		t.Fatalf("second event %+v", ev)
	}
}

// The results render as Markdown tables and well-formed SVG.
func TestRender(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	r := &results{
		cfg:     runConfig{startRuns: 2, idleRuns: 1, spans: 1000, batch: 100, conc: 2, latencyRuns: 2, latencySpans: 10, floodRequests: 10, floodSpans: 512, floodConc: 2, memoryMB: 128, date: "2026-01-02"},
		machine: "test", goVersion: "go1.26", collectorVersion: "v0.0.0",
		sizes:      map[string]map[string]int64{extName: {"amd64": 6e6, "arm64": 5.8e6}, colName: {"amd64": 38e6, "arm64": 36e6}},
		extStart:   startStats{listening: []time.Duration{ms(2), ms(3)}, registered: []time.Duration{ms(3), ms(4)}, ready: []time.Duration{ms(3), ms(4)}, idleRSS: []int64{8 << 20}},
		colStart:   startStats{listening: []time.Duration{ms(28), ms(30)}, ready: []time.Duration{ms(28), ms(30)}, idleRSS: []int64{34 << 20}},
		floorStart: []time.Duration{ms(1), ms(2)},
		extTput:    throughputStats{spans: 1000, delivered: 1000, wall: time.Second, cpu: ms(100), gzipOut: true},
		colTput:    throughputStats{spans: 1000, delivered: 1000, wall: 2 * time.Second, cpu: ms(500), gzipOut: true},
		extLatency: latencyStats{postToSink: []time.Duration{ms(1), ms(2)}, signalToNext: []time.Duration{ms(1), ms(1)}},
		colLatency: latencyStats{postToSink: []time.Duration{ms(200), ms(201)}}, colLatency0: latencyStats{postToSink: []time.Duration{ms(1), ms(2)}},
		extFlood: floodStats{hwm: 30 << 20, dropped: 5}, colFlood: floodStats{hwm: 300 << 20, dropped: -1},
	}
	files := r.render()
	md := files["2026-01-02.md"]
	for _, want := range []string{"| extension binary, stripped", "6.0 MB | 38.0 MB | 0.16× | ≤ 8 MB | **pass**",
		"≤ ¼ of the collector's | **pass**", "shared 2-core VM", "![", "2026-01-02-size.svg"} {
		if !strings.Contains(md, want) {
			t.Errorf("results file lacks %q:\n%s", want, md)
		}
	}
	n := 0
	for name, content := range files {
		if !strings.HasSuffix(name, ".svg") {
			continue
		}
		n++
		d := xml.NewDecoder(strings.NewReader(content))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s is not well-formed XML: %v\n%s", name, err, content)
			}
		}
	}
	if n != 7 {
		t.Errorf("%d charts, want 7", n)
	}
}
