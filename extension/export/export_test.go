package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lambdaotel/lambdaotel/extension/config"
	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/otlpjson"
)

func TestExportGzipAndHeaders(t *testing.T) {
	srv := newBackend(t, nil)
	h := newExporter(t, config.Exporter{Endpoint: srv.URL, Compression: "gzip",
		Headers: map[string]string{"x-api-key": "s3cret-value", "content-type": "text/plain"}}, Options{}, false)
	body := traces(3, 5, 40)
	res := h.exp.Export(budget(t, 2*time.Second), "traces", Proto(body))
	if !res.OK || res.Err != nil || res.Attempts != 1 || res.Status != 200 {
		t.Fatalf("result = %+v", res)
	}
	req, got := srv.lastRequest()
	if !bytes.Equal(got, body) {
		t.Fatal("server did not gunzip to the bytes sent")
	}
	if req.URL.Path != "/v1/traces" || req.Method != http.MethodPost {
		t.Errorf("request = %s %s", req.Method, req.URL.Path)
	}
	for k, want := range map[string]string{"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip",
		"X-Api-Key": "s3cret-value", "User-Agent": "lambdaotel-extension"} {
		if v := req.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	if res.BytesSent <= 0 || res.BytesSent >= int64(len(body)) {
		t.Errorf("BytesSent = %d for a compressible %d-byte body", res.BytesSent, len(body))
	}
	if s := h.exp.Stats(); s.Exports != 1 || s.ExportedBytes != res.BytesSent || s.Failures != 0 {
		t.Errorf("stats = %+v", s)
	}
	if strings.Contains(h.logs.String(), "s3cret") {
		t.Error("a header value reached the logs")
	}
}

func TestExportUncompressed(t *testing.T) {
	srv := newBackend(t, nil)
	h := newExporter(t, config.Exporter{Endpoint: srv.URL, Compression: "none"}, Options{}, false)
	body := traces(1, 1, 10)
	if res := h.exp.Export(budget(t, time.Second), "traces", Proto(body)); !res.OK || res.BytesSent != int64(len(body)) {
		t.Fatalf("result = %+v", res)
	}
	req, got := srv.lastRequest()
	if req.Header.Get("Content-Encoding") != "" || !bytes.Equal(got, body) {
		t.Fatal("uncompressed body not sent as is")
	}
}

func TestEndpoints(t *testing.T) {
	srv := newBackend(t, nil)
	cfg := config.Exporter{Endpoint: srv.URL + "/base/", TracesEndpoint: srv.URL + "/custom/traces-here", Compression: "gzip"}
	h := newExporter(t, cfg, Options{}, false)
	for sig, want := range map[string]string{"traces": "/custom/traces-here", "metrics": "/base/v1/metrics", "logs": "/base/v1/logs"} {
		if want != strings.TrimPrefix(cfg.SignalEndpoint(sig), srv.URL) {
			t.Fatalf("config.SignalEndpoint(%s) = %s", sig, cfg.SignalEndpoint(sig))
		}
		if res := h.exp.Export(budget(t, time.Second), sig, Proto(nil)); !res.OK {
			t.Fatalf("%s: %+v", sig, res)
		}
		if req, _ := srv.lastRequest(); req.URL.Path != want {
			t.Errorf("%s went to %s, want %s", sig, req.URL.Path, want)
		}
	}
	if res := h.exp.Export(budget(t, time.Second), "profiles", Proto(nil)); res.Err == nil {
		t.Error("unknown signal accepted")
	}
}

func TestRetryableStatusesThenSuccess(t *testing.T) {
	for _, code := range []int{408, 429, 502, 503, 504} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv := newBackend(t, func(n int64, w http.ResponseWriter) {
				if n <= 2 {
					w.WriteHeader(code)
				}
			})
			h := newExporter(t, config.Exporter{Endpoint: srv.URL}, Options{}, true)
			res := h.exp.Export(budget(t, 5*time.Second), "logs", Proto([]byte{}))
			if !res.OK || res.Attempts != 3 || srv.hits.Load() != 3 {
				t.Fatalf("result = %+v, hits %d", res, srv.hits.Load())
			}
			waits := h.sleeps.got()
			if len(waits) != 2 {
				t.Fatalf("waits = %v", waits)
			}
			// Full jitter: uniform below base·2^(n-1).
			for i, w := range waits {
				if ceiling := backoffBase << i; w < 0 || w >= ceiling {
					t.Errorf("wait %d = %s, want in [0, %s)", i+1, w, ceiling)
				}
			}
			if s := h.exp.Stats(); s.Retries != 2 || s.Exports != 1 || s.Failures != 0 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

func TestNoRetryOnFinalStatus(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 413, 500} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv := newBackend(t, func(_ int64, w http.ResponseWriter) {
				http.Error(w, "nope: bad\nthing", code)
			})
			h := newExporter(t, config.Exporter{Endpoint: srv.URL}, Options{}, true)
			res := h.exp.Export(budget(t, 5*time.Second), "metrics", Proto(nil))
			var se *StatusError
			if res.OK || !errors.As(res.Err, &se) || se.Status != code || res.Status != code {
				t.Fatalf("result = %+v", res)
			}
			if se.Message != "nope: bad thing" {
				t.Errorf("message = %q", se.Message)
			}
			if srv.hits.Load() != 1 || len(h.sleeps.got()) != 0 {
				t.Errorf("retried: hits %d", srv.hits.Load())
			}
		})
	}
}

func TestStatusErrorFromRPCStatus(t *testing.T) {
	var st []byte
	st = protowire.AppendTag(st, 1, protowire.VarintType)
	st = protowire.AppendVarint(st, 3)
	st = protowire.AppendTag(st, 2, protowire.BytesType)
	st = protowire.AppendString(st, "invalid span")
	srv := newBackend(t, func(_ int64, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(400)
		w.Write(st)
	})
	h := newExporter(t, config.Exporter{Endpoint: srv.URL}, Options{}, true)
	res := h.exp.Export(budget(t, time.Second), "traces", Proto(nil))
	if res.Err == nil || res.Err.Error() != "export: HTTP 400: invalid span" {
		t.Fatalf("err = %v", res.Err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name, header string
		budget       time.Duration
		wantWait     time.Duration // 0: no retry
	}{
		{"seconds fit", "2", 5 * time.Second, 2 * time.Second},
		{"date fits", now.Add(3 * time.Second).Format(http.TimeFormat), 5 * time.Second, 3 * time.Second},
		{"past date retries at once", now.Add(-time.Minute).Format(http.TimeFormat), 5 * time.Second, -1},
		{"seconds too long", "10", time.Second, 0},
		{"date too far", now.Add(time.Hour).Format(http.TimeFormat), 5 * time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newBackend(t, func(n int64, w http.ResponseWriter) {
				if n == 1 {
					w.Header().Set("Retry-After", tc.header)
					w.WriteHeader(http.StatusTooManyRequests)
				}
			})
			h := newExporter(t, config.Exporter{Endpoint: srv.URL}, Options{Now: func() time.Time { return now }}, true)
			res := h.exp.Export(budget(t, tc.budget), "traces", Proto(nil))
			waits := h.sleeps.got()
			if tc.wantWait == 0 {
				if res.OK || srv.hits.Load() != 1 || len(waits) != 0 || !strings.Contains(res.Err.Error(), "Retry-After") {
					t.Fatalf("result = %+v, hits %d, waits %v", res, srv.hits.Load(), waits)
				}
				return
			}
			if tc.wantWait < 0 {
				tc.wantWait = 0
			}
			if !res.OK || srv.hits.Load() != 2 || len(waits) != 1 || waits[0] != tc.wantWait {
				t.Fatalf("result = %+v, hits %d, waits %v", res, srv.hits.Load(), waits)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{"0": 0, " 7 ": 7 * time.Second,
		"99999999999999999999": (1 << 31) * time.Second, now.Add(time.Minute).Format(http.TimeFormat): time.Minute} {
		if got, ok := parseRetryAfter(in, now); !ok || got != want {
			t.Errorf("%q → %s %v, want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5", "soon"} {
		if _, ok := parseRetryAfter(in, now); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestTarpitCostsTheBudgetOnce(t *testing.T) {
	url := tarpit(t)
	h := newExporter(t, config.Exporter{Endpoint: url, Timeout: 5 * time.Second}, Options{}, false)
	start := time.Now()
	res := h.exp.Export(budget(t, 300*time.Millisecond), "traces", Proto(traces(1, 1, 1)))
	took := time.Since(start)
	if res.OK || res.Err == nil || res.Attempts != 1 {
		t.Fatalf("result = %+v", res)
	}
	if took >= time.Second || took < 250*time.Millisecond {
		t.Fatalf("export took %s with a 300 ms budget", took)
	}
	// A backend that does not answer in time opens the breaker at once:
	// the next flush must not pay again.
	if !h.exp.BreakerOpen("traces") {
		t.Fatal("breaker still closed after a timeout")
	}
	start = time.Now()
	res = h.exp.Export(budget(t, 300*time.Millisecond), "metrics", Proto(nil))
	if !res.Skipped || !errors.Is(res.Err, ErrBreakerOpen) || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("second export = %+v after %s", res, time.Since(start))
	}
}

// With a timeout shorter than the budget the export retries; the retry,
// given only what was left, times out "short". The first attempt already
// proved the backend slow, so the breaker must open all the same.
func TestSlowFirstAttemptOpensTheBreakerDespiteAShortRetry(t *testing.T) {
	url := tarpit(t)
	h := newExporter(t, config.Exporter{Endpoint: url, Timeout: 200 * time.Millisecond}, Options{}, false)
	res := h.exp.Export(budget(t, 300*time.Millisecond), "traces", Proto(traces(1, 1, 1)))
	if res.OK || res.Attempts < 2 {
		t.Fatalf("result = %+v: want a timed-out attempt and a retry", res)
	}
	if !h.exp.BreakerOpen("traces") {
		t.Fatal("breaker still closed after a slow attempt")
	}
}

func TestShortTimeoutIsOnlyAFailure(t *testing.T) {
	url := tarpit(t)
	h := newExporter(t, config.Exporter{Endpoint: url}, Options{}, false)
	// What is left of a budget spent elsewhere proves little.
	if res := h.exp.Export(budget(t, 50*time.Millisecond), "traces", Proto(nil)); res.OK {
		t.Fatalf("result = %+v", res)
	}
	if h.exp.BreakerOpen("traces") {
		t.Fatal("a 40 ms attempt timing out opened the breaker")
	}
}

func TestConnectionResetsAreRetried(t *testing.T) {
	url, accepts := resetter(t)
	h := newExporter(t, config.Exporter{Endpoint: url}, Options{MaxAttempts: 3}, true)
	res := h.exp.Export(budget(t, 2*time.Second), "traces", Proto(traces(1, 1, 1)))
	if res.OK || res.Attempts != 3 || res.Err == nil {
		t.Fatalf("result = %+v", res)
	}
	if len(h.sleeps.got()) != 2 || h.exp.Stats().Retries != 2 {
		t.Errorf("waits %v", h.sleeps.got())
	}
	if accepts.Load() < 3 {
		t.Errorf("%d connections for 3 attempts", accepts.Load())
	}
	if h.exp.BreakerOpen("traces") {
		t.Error("one failed export opened the breaker")
	}
}

// recordingTransport notes when each attempt reaches the transport.
type recordingTransport struct {
	next   http.RoundTripper
	mu     sync.Mutex
	starts []time.Time
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.starts = append(r.starts, time.Now())
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func TestAttemptsNeverStartPastTheDeadline(t *testing.T) {
	srv := newBackend(t, func(_ int64, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	const margin = 20 * time.Millisecond
	h := newExporter(t, config.Exporter{Endpoint: srv.URL}, Options{MaxAttempts: 1000, Margin: margin}, false)
	rec := &recordingTransport{next: h.exp.client.Transport}
	h.exp.client.Transport = rec
	ctx := budget(t, 150*time.Millisecond)
	deadline, _ := ctx.Deadline()
	res := h.exp.Export(ctx, "traces", Proto(nil))
	returned := time.Now()
	if res.OK || res.Attempts < 2 {
		t.Fatalf("result = %+v", res)
	}
	// Export gives the budget back with the margin to spare; the slack
	// only absorbs a loaded machine's timer latency.
	if late := returned.Sub(deadline); late > 100*time.Millisecond {
		t.Errorf("returned %s after the deadline", late)
	}
	rec.mu.Lock()
	if len(rec.starts) != res.Attempts || int64(res.Attempts) != srv.hits.Load() {
		t.Errorf("%d starts, %d hits for %d attempts", len(rec.starts), srv.hits.Load(), res.Attempts)
	}
	for i, s := range rec.starts {
		if !s.Before(deadline) {
			t.Errorf("attempt %d started %s after the deadline", i+1, s.Sub(deadline))
		}
	}
	rec.mu.Unlock()
	// With the budget gone no attempt starts at all.
	<-ctx.Done()
	res = h.exp.Export(ctx, "traces", Proto(nil))
	if !errors.Is(res.Err, ErrNoBudget) || res.Attempts != 0 || len(rec.starts) != int(srv.hits.Load()) {
		t.Errorf("export past the deadline = %+v", res)
	}
}

func partialSuccess(rejected int64, msg string) []byte {
	var ps []byte
	ps = protowire.AppendTag(ps, 1, protowire.VarintType)
	ps = protowire.AppendVarint(ps, uint64(rejected))
	ps = protowire.AppendTag(ps, 2, protowire.BytesType)
	ps = protowire.AppendString(ps, msg)
	var resp []byte
	resp = protowire.AppendTag(resp, 1, protowire.BytesType)
	return protowire.AppendBytes(resp, ps)
}

func TestPartialSuccess(t *testing.T) {
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		rejected          int64
		msg               string
	}{
		{"protobuf", "application/x-protobuf", partialSuccess(7, "spans too old"), 7, "spans too old"},
		{"json string count", "application/json", []byte(`{"partialSuccess":{"rejectedSpans":"4","errorMessage":"x"}}`), 4, "x"},
		{"json number count", "application/json; charset=utf-8", []byte(`{"partialSuccess":{"rejectedLogRecords":2}}`), 2, ""},
		{"empty", "application/x-protobuf", nil, 0, ""},
		{"garbage", "application/x-protobuf", []byte{0xff, 0xff}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newBackend(t, func(_ int64, w http.ResponseWriter) {
				w.Header().Set("Content-Type", tc.contentType)
				w.Write(tc.body)
			})
			h := newExporter(t, config.Exporter{Endpoint: srv.URL}, Options{}, true)
			res := h.exp.Export(budget(t, time.Second), "traces", Proto(nil))
			if !res.OK || res.Rejected != tc.rejected || res.RejectedMessage != tc.msg {
				t.Fatalf("result = %+v", res)
			}
			logged := strings.Count(h.logs.String(), "rejected part of an export")
			if want := map[bool]int{true: 1, false: 0}[tc.rejected > 0 || tc.msg != ""]; logged != want {
				t.Errorf("logged %d times, want %d:\n%s", logged, want, h.logs.String())
			}
			if h.exp.Stats().Rejected != tc.rejected {
				t.Errorf("stats = %+v", h.exp.Stats())
			}
		})
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the expected handshake failure
	srv.StartTLS()
	t.Cleanup(srv.Close)

	h := newExporter(t, config.Exporter{Endpoint: srv.URL}, Options{}, true)
	res := h.exp.Export(budget(t, 2*time.Second), "traces", Proto(nil))
	if res.OK || res.Err == nil || !strings.Contains(res.Err.Error(), "certificate") {
		t.Fatalf("unverifiable certificate accepted: %+v", res)
	}
	if res.Attempts != 1 {
		t.Errorf("a certificate failure was retried %d times", res.Attempts-1)
	}

	h = newExporter(t, config.Exporter{Endpoint: srv.URL, InsecureSkipVerify: true}, Options{}, true)
	if res = h.exp.Export(budget(t, 2*time.Second), "traces", Proto(traces(1, 1, 1))); !res.OK {
		t.Fatalf("with InsecureSkipVerify: %+v", res)
	}
	// HTTP/2 is negotiated for https: check via a second request's
	// connection state through the transport.
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := h.exp.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", resp.Proto)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	other := newBackend(t, nil)
	srv := newBackend(t, func(_ int64, w http.ResponseWriter) {
		w.Header().Set("Location", other.URL+"/v1/traces")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	h := newExporter(t, config.Exporter{Endpoint: srv.URL, Headers: map[string]string{"authorization": "Bearer tok"}}, Options{}, true)
	res := h.exp.Export(budget(t, time.Second), "traces", Proto(nil))
	if res.OK || res.Status != http.StatusTemporaryRedirect || other.hits.Load() != 0 {
		t.Fatalf("result = %+v, redirect target hits %d", res, other.hits.Load())
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	const secret = "TOPSECRET"
	srv := newBackend(t, func(_ int64, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	url := strings.Replace(srv.URL, "http://", "http://user:"+secret+"@", 1) + "/v1/traces?api_key=" + secret
	h := newExporter(t, config.Exporter{TracesEndpoint: url, Headers: map[string]string{"x-token": secret}},
		Options{MaxAttempts: 2}, true)
	var errs []string
	for range 5 {
		res := h.exp.Export(budget(t, time.Second), "traces", Proto(nil))
		if res.Err != nil {
			errs = append(errs, res.Err.Error())
		}
	}
	dead := tarpit(t) + "/?key=" + secret
	h2 := newExporter(t, config.Exporter{TracesEndpoint: dead, Headers: map[string]string{"x-token": secret}}, Options{Logger: h.exp.log}, false)
	if res := h2.exp.Export(budget(t, 100*time.Millisecond), "traces", Proto(nil)); res.Err != nil {
		errs = append(errs, res.Err.Error())
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "breaker open") || !strings.Contains(logs, "OTLP export failed") {
		t.Fatalf("expected failure and breaker logs:\n%s", logs)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("secret in logs:\n%s", logs)
	}
	if s := strings.Join(errs, "\n"); strings.Contains(s, secret) {
		t.Errorf("secret in errors:\n%s", s)
	}
	if _, err := New(config.Exporter{TracesEndpoint: "ftp://u:" + secret + "@x"}, Options{}); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("bad endpoint error = %v", err)
	}
}

func TestUnsupportedProtocol(t *testing.T) {
	for _, p := range []string{"grpc", "http/json", "http/protobuf", ""} {
		if _, err := New(config.Exporter{Endpoint: "http://127.0.0.1:4317", Protocol: p}, Options{}); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"thrift"} {
		_, err := New(config.Exporter{Endpoint: "http://127.0.0.1:4318", Protocol: p}, Options{})
		if !errors.Is(err, ErrUnsupportedProtocol) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v", p, err)
		}
		// Without an endpoint everything goes to stdout: the protocol
		// does not matter.
		if _, err := New(config.Exporter{Protocol: p}, Options{}); err != nil {
			t.Errorf("%s without endpoint: %v", p, err)
		}
	}
}

func TestConcurrentExports(t *testing.T) {
	// Every 7th call fails, 20 failures in all: with more attempts than
	// that, no export can run out of them, whatever the interleaving.
	srv := newBackend(t, func(n int64, w http.ResponseWriter) {
		if n%7 == 0 && n <= 140 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	h := newExporter(t, config.Exporter{Endpoint: srv.URL, Compression: "gzip"}, Options{MaxAttempts: 21, BreakerThreshold: 1000}, false)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				body := traces(1+(w+i)%3, 1+i%5, 10+w)
				sig := signals[(w+i)%3]
				if res := h.exp.Export(budget(t, 5*time.Second), sig, Proto(body)); !res.OK {
					t.Errorf("%s: %+v", sig, res)
				}
			}
		})
	}
	wg.Wait()
	s := h.exp.Stats()
	if s.Exports != workers*each || s.Failures != 0 {
		t.Errorf("stats = %+v", s)
	}
	if srv.hits.Load() != s.Exports+s.Retries {
		t.Errorf("hits %d, exports+retries %d", srv.hits.Load(), s.Exports+s.Retries)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, b := range srv.bodies {
		// A pooled buffer reused too early would corrupt a body.
		if c, err := wire.Validate(wire.Traces, b); err != nil || c.Items == 0 {
			t.Fatalf("a corrupt body arrived: %v", err)
		}
	}
}

// http/json posts each batch as OTLP/JSON: the body transcodes back to the
// exact protobuf queued, with hex ids, for every signal, gzipped or not; a
// JSON partial-success answer is read.
func TestExportHTTPJSON(t *testing.T) {
	bodies := map[string][]byte{"traces": traces(2, 3, 12), "metrics": metricsBody(), "logs": logsBody()}
	sigs := map[string]otlpjson.Signal{"traces": otlpjson.Traces, "metrics": otlpjson.Metrics, "logs": otlpjson.Logs}
	for _, compression := range []string{"gzip", "none"} {
		srv := newBackend(t, func(n int64, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"partialSuccess":{"rejectedSpans":"2","errorMessage":"too old"}}`)
		})
		h := newExporter(t, config.Exporter{Endpoint: srv.URL, Protocol: "http/json", Compression: compression}, Options{}, false)
		for sig, body := range bodies {
			res := h.exp.Export(budget(t, 2*time.Second), sig, Proto(body))
			if !res.OK {
				t.Fatalf("%s %s: %+v", compression, sig, res)
			}
			req, got := srv.lastRequest()
			if ct := req.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content-type %q", ct)
			}
			if enc := req.Header.Get("Content-Encoding"); (enc == "gzip") != (compression == "gzip") {
				t.Errorf("%s: content-encoding %q", compression, enc)
			}
			back, err := otlpjson.AppendProtobuf(nil, sigs[sig], got)
			if err != nil {
				t.Fatalf("%s: the body is not OTLP/JSON: %v\n%s", sig, err, got)
			}
			if !bytes.Equal(back, body) {
				t.Errorf("%s: the JSON body does not transcode back to the batch", sig)
			}
			if sig == "traces" {
				if !bytes.Contains(got, []byte(`"traceId":"`)) || bytes.Contains(got, []byte(`"traceId":"AQ`)) {
					t.Errorf("trace ids not hex: %.200s", got)
				}
				if res.Rejected != 2 || res.RejectedMessage != "too old" {
					t.Errorf("partial success %d %q", res.Rejected, res.RejectedMessage)
				}
			}
		}
	}
}

// A body that is not valid protobuf cannot be transcoded: the export fails
// at once, permanently, and sends nothing.
func TestExportHTTPJSONUntranscodable(t *testing.T) {
	srv := newBackend(t, nil)
	h := newExporter(t, config.Exporter{Endpoint: srv.URL, Protocol: "http/json"}, Options{}, false)
	res := h.exp.Export(budget(t, time.Second), "traces", Proto([]byte{0x0a, 0xff}))
	if res.OK || !res.Permanent || res.Attempts != 0 || srv.hits.Load() != 0 {
		t.Fatalf("result %+v, %d requests", res, srv.hits.Load())
	}
	if h.exp.BreakerOpen("traces") {
		t.Fatal("our own encoding failure must not count against the backend")
	}
}
