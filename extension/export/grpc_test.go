package export

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/config"
	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/grpcwire"
)

// metricsBody and logsBody are minimal valid requests of the other signals:
// one resource with one scope holding one item.
func metricsBody() []byte {
	// ResourceMetrics{scope_metrics: [ScopeMetrics{metrics: [Metric{name}]}]}
	metric := appendBytes(nil, 1, []byte("requests"))
	scope := appendBytes(nil, 2, metric)
	rm := appendBytes(nil, 2, scope)
	return appendBytes(nil, 1, rm)
}

func logsBody() []byte {
	// ResourceLogs{scope_logs: [ScopeLogs{log_records: [LogRecord{severity_text}]}]}
	rec := appendBytes(nil, 3, []byte("INFO"))
	scope := appendBytes(nil, 2, rec)
	rl := appendBytes(nil, 2, scope)
	return appendBytes(nil, 1, rl)
}

func appendBytes(b []byte, num int, v []byte) []byte {
	b = append(b, byte(num<<3|2))
	b = append(b, byte(len(v))) // short test fields only
	return append(b, v...)
}

func TestGRPCExportAllSignals(t *testing.T) {
	bodies := map[string][]byte{"traces": traces(3, 5, 40), "metrics": metricsBody(), "logs": logsBody()}
	for _, sig := range signals {
		if _, err := wire.Validate(wire.Signal(signalIndex(sig)), bodies[sig]); err != nil {
			t.Fatalf("test body for %s: %v", sig, err)
		}
	}
	for _, compression := range []string{"gzip", "none"} {
		t.Run(compression, func(t *testing.T) {
			srv := newGRPCBackend(t, false, nil)
			cfg := grpcConfig(srv.URL)
			cfg.Compression = compression
			cfg.Timeout = 800 * time.Millisecond
			cfg.Headers = map[string]string{"X-Api-Key": "s3cret-value", "content-type": "text/plain",
				"grpc-timeout": "99S", "te": "gzip", "connection": "close"}
			h := newExporter(t, cfg, Options{}, false)
			for i, sig := range signals {
				body := bodies[sig]
				res := h.exp.Export(budget(t, 2*time.Second), sig, Proto(body))
				if !res.OK || res.Err != nil || res.Attempts != 1 || res.Status != 200 || res.Permanent {
					t.Fatalf("%s: result = %+v", sig, res)
				}
				c := srv.call(i)
				if want := grpcwire.Path(sig); c.path != want {
					t.Errorf("%s went to %s, want %s", sig, c.path, want)
				}
				if c.err != "" || !bytes.Equal(c.body, body) {
					t.Fatalf("%s: body differs from what was sent (%s)", sig, c.err)
				}
				if c.proto != "HTTP/2.0" {
					t.Errorf("%s: %s, want HTTP/2.0", sig, c.proto)
				}
				wantFlag, wantEnc := byte(0), ""
				if compression == "gzip" {
					wantFlag, wantEnc = 1, "gzip"
				}
				if c.flag != wantFlag || c.length != c.wire || int64(c.wire+grpcwire.PrefixLen) != res.BytesSent {
					t.Errorf("%s: framing flag %d length %d, %d bytes follow, BytesSent %d", sig, c.flag, c.length, c.wire, res.BytesSent)
				}
				if compression == "gzip" && c.wire >= len(body) && len(body) > 100 {
					t.Errorf("%s: %d bytes compressed to %d", sig, len(body), c.wire)
				}
				for k, want := range map[string]string{"Content-Type": "application/grpc", "Te": "trailers",
					"Grpc-Encoding": wantEnc, "Grpc-Accept-Encoding": "gzip", "X-Api-Key": "s3cret-value",
					"User-Agent": "lambdaotel-extension", "Connection": "", "Accept-Encoding": ""} {
					if v := strings.Join(c.header.Values(k), ","); v != want {
						t.Errorf("%s: header %s = %q, want %q", sig, k, v, want)
					}
				}
				// The attempt's own deadline, not the configured header.
				d, ok := grpcwire.ParseTimeout(c.header.Get("Grpc-Timeout"))
				if !ok || d <= 0 || d > cfg.Timeout {
					t.Errorf("%s: grpc-timeout %q, want (0, %s]", sig, c.header.Get("Grpc-Timeout"), cfg.Timeout)
				}
			}
			if s := h.exp.Stats(); s.Exports != 3 || s.Failures != 0 {
				t.Errorf("stats = %+v", s)
			}
			if strings.Contains(h.logs.String(), "s3cret") {
				t.Error("a header value reached the logs")
			}
		})
	}
}

func TestGRPCTLS(t *testing.T) {
	srv := newGRPCBackend(t, true, nil)
	h := newExporter(t, grpcConfig(srv.URL), Options{}, true)
	res := h.exp.Export(budget(t, 2*time.Second), "traces", Proto(traces(1, 1, 1)))
	if res.OK || res.Err == nil || !strings.Contains(res.Err.Error(), "certificate") || res.Attempts != 1 {
		t.Fatalf("self-signed certificate accepted or retried: %+v", res)
	}
	if srv.hits.Load() != 0 {
		t.Fatal("a request reached the server")
	}

	cfg := grpcConfig(srv.URL)
	cfg.InsecureSkipVerify = true
	h = newExporter(t, cfg, Options{}, true)
	body := traces(2, 2, 8)
	if res = h.exp.Export(budget(t, 2*time.Second), "traces", Proto(body)); !res.OK {
		t.Fatalf("with insecure_skip_verify: %+v", res)
	}
	if c := srv.lastCall(); c.proto != "HTTP/2.0" || !bytes.Equal(c.body, body) || c.path != grpcwire.PathTraces {
		t.Fatalf("call %s %s, body equal %v", c.proto, c.path, bytes.Equal(c.body, body))
	}
}

func TestGRPCRetryableCodes(t *testing.T) {
	for _, code := range []grpcwire.Code{grpcwire.Canceled, grpcwire.DeadlineExceeded, grpcwire.Aborted,
		grpcwire.OutOfRange, grpcwire.Unavailable, grpcwire.DataLoss} {
		t.Run(code.String(), func(t *testing.T) {
			srv := newGRPCBackend(t, false, func(n int64) grpcAnswer {
				if n <= 2 {
					return grpcAnswer{code: code, message: "try again"}
				}
				return grpcAnswer{}
			})
			h := newExporter(t, grpcConfig(srv.URL), Options{}, true)
			res := h.exp.Export(budget(t, 5*time.Second), "logs", Proto(logsBody()))
			if !res.OK || res.Attempts != 3 || srv.hits.Load() != 3 {
				t.Fatalf("result = %+v, hits %d", res, srv.hits.Load())
			}
			waits := h.sleeps.got()
			if len(waits) != 2 {
				t.Fatalf("waits = %v", waits)
			}
			for i, w := range waits {
				if ceiling := backoffBase << i; w < 0 || w >= ceiling {
					t.Errorf("wait %d = %s, want full jitter in [0, %s)", i+1, w, ceiling)
				}
			}
			for i := range 3 {
				if c := srv.call(i); !bytes.Equal(c.body, logsBody()) {
					t.Errorf("attempt %d sent a different body", i+1)
				}
			}
		})
	}
}

func TestGRPCRetriesExhausted(t *testing.T) {
	srv := newGRPCBackend(t, false, func(int64) grpcAnswer {
		return grpcAnswer{code: grpcwire.Unavailable, message: "down"}
	})
	h := newExporter(t, grpcConfig(srv.URL), Options{MaxAttempts: 3}, true)
	res := h.exp.Export(budget(t, 5*time.Second), "traces", Proto(nil))
	var ge *GRPCStatusError
	if res.OK || res.Attempts != 3 || res.Permanent || !errors.As(res.Err, &ge) || ge.Code != grpcwire.Unavailable ||
		ge.Message != "down" || ge.HTTPStatus != 200 {
		t.Fatalf("result = %+v", res)
	}
	if res.Err.Error() != "export: gRPC status UNAVAILABLE: down" {
		t.Errorf("err = %q", res.Err)
	}
}

func TestGRPCResourceExhausted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answer   grpcAnswer
		budget   time.Duration
		hits     int64
		wait     time.Duration // the one wait, when retried
		contains string
	}{
		{"without RetryInfo: final", grpcAnswer{code: grpcwire.ResourceExhausted, message: "quota"}, 5 * time.Second, 1, 0, "RESOURCE_EXHAUSTED: quota"},
		{"with RetryInfo: retried after its delay", grpcAnswer{code: grpcwire.ResourceExhausted, hasRetry: true,
			retryDelay: 1500 * time.Millisecond}, 5 * time.Second, 2, 1500 * time.Millisecond, ""},
		{"RetryInfo zero delay", grpcAnswer{code: grpcwire.ResourceExhausted, hasRetry: true}, 5 * time.Second, 2, 0, ""},
		{"RetryInfo past the budget: stop at once", grpcAnswer{code: grpcwire.ResourceExhausted, message: "slow down",
			hasRetry: true, retryDelay: 10 * time.Second}, time.Second, 1, 0, "RetryInfo retry_delay 10s exceeds the remaining budget"},
		{"RetryInfo on UNAVAILABLE", grpcAnswer{code: grpcwire.Unavailable, hasRetry: true, retryDelay: 250 * time.Millisecond,
			trailersOnly: true}, 5 * time.Second, 2, 250 * time.Millisecond, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newGRPCBackend(t, false, func(n int64) grpcAnswer {
				if n == 1 {
					return tc.answer
				}
				return grpcAnswer{}
			})
			h := newExporter(t, grpcConfig(srv.URL), Options{}, true)
			start := time.Now()
			res := h.exp.Export(budget(t, tc.budget), "metrics", Proto(metricsBody()))
			waits := h.sleeps.got()
			if srv.hits.Load() != tc.hits {
				t.Fatalf("hits %d, want %d: %+v", srv.hits.Load(), tc.hits, res)
			}
			if tc.hits == 2 {
				if !res.OK || len(waits) != 1 || waits[0] != tc.wait {
					t.Fatalf("result = %+v, waits %v, want one wait of %s", res, waits, tc.wait)
				}
				return
			}
			if res.OK || len(waits) != 0 || !strings.Contains(res.Err.Error(), tc.contains) {
				t.Fatalf("result = %+v, waits %v", res, waits)
			}
			// Without RetryInfo the server says the request will not fit:
			// drop it. A delay past the budget is for the next flush.
			if res.Permanent != !tc.answer.hasRetry {
				t.Errorf("Permanent = %v", res.Permanent)
			}
			if took := time.Since(start); took > 500*time.Millisecond {
				t.Errorf("took %s: the budget was burnt on a hopeless wait", took)
			}
		})
	}
}

func TestGRPCFinalCodes(t *testing.T) {
	for _, tc := range []struct {
		code      grpcwire.Code
		permanent bool
	}{
		{grpcwire.InvalidArgument, true}, {grpcwire.NotFound, true}, {grpcwire.AlreadyExists, true},
		{grpcwire.PermissionDenied, true}, {grpcwire.FailedPrecondition, true}, {grpcwire.Unimplemented, true},
		{grpcwire.Unauthenticated, true}, {grpcwire.Unknown, false}, {grpcwire.Internal, false}, {grpcwire.Code(42), false},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			const msg = "bad span: 100% wrong\nreally — ✗"
			srv := newGRPCBackend(t, false, func(int64) grpcAnswer { return grpcAnswer{code: tc.code, message: msg} })
			h := newExporter(t, grpcConfig(srv.URL), Options{}, true)
			for i := range 5 {
				res := h.exp.Export(budget(t, 5*time.Second), "traces", Proto(traces(1, 1, 1)))
				var ge *GRPCStatusError
				if res.OK || res.Attempts != 1 || res.Permanent != tc.permanent || !errors.As(res.Err, &ge) ||
					ge.Code != tc.code || ge.Message != "bad span: 100% wrong really — ✗" {
					t.Fatalf("export %d: result = %+v (%v)", i+1, res, res.Err)
				}
				// A permanent refusal proves the backend up: the
				// breaker never opens on it. Other final codes count.
				if open := h.exp.BreakerOpen("traces"); open != (!tc.permanent && i >= DefaultBreakerThreshold-1) {
					t.Fatalf("export %d: breaker open = %v", i+1, open)
				}
				if h.exp.BreakerOpen("traces") {
					break
				}
			}
			if len(h.sleeps.got()) != 0 {
				t.Errorf("a final code was retried: waits %v", h.sleeps.got())
			}
		})
	}
}

func TestGRPCTrailersOnly(t *testing.T) {
	srv := newGRPCBackend(t, false, func(n int64) grpcAnswer {
		if n == 1 {
			return grpcAnswer{code: grpcwire.PermissionDenied, message: "no key", trailersOnly: true}
		}
		return grpcAnswer{trailersOnly: true} // OK with no message at all
	})
	h := newExporter(t, grpcConfig(srv.URL), Options{}, true)
	res := h.exp.Export(budget(t, time.Second), "traces", Proto(nil))
	var ge *GRPCStatusError
	if res.OK || !res.Permanent || !errors.As(res.Err, &ge) || ge.Code != grpcwire.PermissionDenied || ge.Message != "no key" {
		t.Fatalf("result = %+v", res)
	}
	if res = h.exp.Export(budget(t, time.Second), "traces", Proto(nil)); !res.OK || res.Rejected != 0 {
		t.Fatalf("trailers-only OK: %+v", res)
	}
}

func TestGRPCProxyAnswers(t *testing.T) {
	t.Run("503 with Retry-After is retried", func(t *testing.T) {
		srv := newGRPCBackend(t, false, func(n int64) grpcAnswer {
			if n == 1 {
				return grpcAnswer{httpStatus: 503, header: http.Header{"Retry-After": {"2"}}}
			}
			return grpcAnswer{}
		})
		h := newExporter(t, grpcConfig(srv.URL), Options{}, true)
		res := h.exp.Export(budget(t, 5*time.Second), "logs", Proto(logsBody()))
		if !res.OK || res.Attempts != 2 || len(h.sleeps.got()) != 1 || h.sleeps.got()[0] != 2*time.Second {
			t.Fatalf("result = %+v, waits %v", res, h.sleeps.got())
		}
	})
	for _, tc := range []struct {
		status    int
		code      grpcwire.Code
		attempts  int
		permanent bool
	}{
		{429, grpcwire.Unavailable, 3, false}, {502, grpcwire.Unavailable, 3, false}, {504, grpcwire.Unavailable, 3, false},
		{400, grpcwire.Internal, 1, false}, {401, grpcwire.Unauthenticated, 1, true}, {403, grpcwire.PermissionDenied, 1, true},
		{404, grpcwire.Unimplemented, 1, true}, {500, grpcwire.Unknown, 1, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := newGRPCBackend(t, false, func(int64) grpcAnswer { return grpcAnswer{httpStatus: tc.status} })
			h := newExporter(t, grpcConfig(srv.URL), Options{MaxAttempts: 3}, true)
			res := h.exp.Export(budget(t, 5*time.Second), "logs", Proto(nil))
			var ge *GRPCStatusError
			if res.OK || res.Attempts != tc.attempts || res.Permanent != tc.permanent || res.Status != tc.status ||
				!errors.As(res.Err, &ge) || ge.Code != tc.code || ge.HTTPStatus != tc.status {
				t.Fatalf("result = %+v", res)
			}
			want := fmt.Sprintf("export: HTTP %d (gRPC status %s): upstream connect error", tc.status, tc.code)
			if res.Err.Error() != want {
				t.Errorf("err = %q, want %q", res.Err, want)
			}
		})
	}
	t.Run("200 that is not gRPC", func(t *testing.T) {
		srv := newGRPCBackend(t, false, func(int64) grpcAnswer { return grpcAnswer{notGRPC: true} })
		h := newExporter(t, grpcConfig(srv.URL), Options{}, true)
		res := h.exp.Export(budget(t, time.Second), "traces", Proto(nil))
		var ge *GRPCStatusError
		if res.OK || res.Attempts != 1 || res.Permanent || !errors.As(res.Err, &ge) || ge.Code != grpcwire.Unknown ||
			!strings.Contains(ge.Message, "text/html") {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("HTTP/1 only server", func(t *testing.T) {
		// It answers the h2c preface in HTTP/1.1: no gRPC answer, a
		// transport error, retried as one.
		srv := newBackend(t, nil)
		h := newExporter(t, grpcConfig(srv.URL), Options{MaxAttempts: 2}, true)
		if res := h.exp.Export(budget(t, time.Second), "traces", Proto(nil)); res.OK || res.Attempts != 2 || res.Status != 0 {
			t.Fatalf("result = %+v", res)
		}
	})
}

func TestGRPCCutOffIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer grpcAnswer
	}{
		{"RST_STREAM", grpcAnswer{cutOff: true}},
		{"connection closed", grpcAnswer{dropConn: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newGRPCBackend(t, false, func(n int64) grpcAnswer {
				if n == 1 {
					return tc.answer
				}
				return grpcAnswer{}
			})
			h := newExporter(t, grpcConfig(srv.URL), Options{}, true)
			body := traces(2, 3, 10)
			res := h.exp.Export(budget(t, 5*time.Second), "traces", Proto(body))
			if !res.OK || res.Attempts != 2 || srv.hits.Load() != 2 {
				t.Fatalf("result = %+v, hits %d", res, srv.hits.Load())
			}
			if !bytes.Equal(srv.call(1).body, body) {
				t.Error("the retry sent a different body")
			}
		})
	}
	t.Run("connection reset", func(t *testing.T) {
		url, accepts := resetter(t)
		h := newExporter(t, grpcConfig(url), Options{MaxAttempts: 3}, true)
		res := h.exp.Export(budget(t, 2*time.Second), "traces", Proto(traces(1, 1, 1)))
		if res.OK || res.Attempts != 3 || res.Permanent || len(h.sleeps.got()) != 2 || accepts.Load() < 3 {
			t.Fatalf("result = %+v, waits %v, accepts %d", res, h.sleeps.got(), accepts.Load())
		}
	})
}

func TestGRPCPartialSuccess(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprint("gzip=", gz), func(t *testing.T) {
			srv := newGRPCBackend(t, false, func(int64) grpcAnswer {
				return grpcAnswer{response: partialSuccess(7, "spans too old"), gzip: gz}
			})
			h := newExporter(t, grpcConfig(srv.URL), Options{}, true)
			res := h.exp.Export(budget(t, time.Second), "traces", Proto(traces(1, 1, 1)))
			if !res.OK || res.Rejected != 7 || res.RejectedMessage != "spans too old" {
				t.Fatalf("result = %+v", res)
			}
			if h.exp.Stats().Rejected != 7 || strings.Count(h.logs.String(), "rejected part of an export") != 1 {
				t.Errorf("stats %+v, logs:\n%s", h.exp.Stats(), h.logs.String())
			}
		})
	}
}

func TestGRPCBreakerOpensOnATarpitAndProbes(t *testing.T) {
	var mu sync.Mutex
	hang := true
	srv := newGRPCBackend(t, false, func(int64) grpcAnswer {
		mu.Lock()
		defer mu.Unlock()
		return grpcAnswer{hang: hang}
	})
	cfg := grpcConfig(srv.URL)
	cfg.Timeout = 5 * time.Second
	h := newExporter(t, cfg, Options{ProbeEvery: 3}, false)
	start := time.Now()
	res := h.exp.Export(budget(t, 300*time.Millisecond), "traces", Proto(traces(1, 1, 1)))
	if took := time.Since(start); res.OK || res.Attempts != 1 || took >= time.Second {
		t.Fatalf("result = %+v after %s", res, took)
	}
	if !h.exp.BreakerOpen("traces") {
		t.Fatal("breaker still closed after a backend that did not answer")
	}
	// Every signal on that backend is skipped without a request.
	for i, sig := range []string{"metrics", "logs"} {
		if res := h.exp.Export(budget(t, 300*time.Millisecond), sig, Proto(nil)); !res.Skipped || !errors.Is(res.Err, ErrBreakerOpen) {
			t.Fatalf("skip %d = %+v", i+1, res)
		}
	}
	if srv.hits.Load() != 1 {
		t.Fatalf("hits = %d while open", srv.hits.Load())
	}
	mu.Lock()
	hang = false
	mu.Unlock()
	// The third call is the probe; it succeeds and closes the breaker.
	if res := h.exp.Export(budget(t, time.Second), "traces", Proto(nil)); !res.OK || res.Attempts != 1 {
		t.Fatalf("probe = %+v", res)
	}
	if h.exp.BreakerOpen("traces") || srv.hits.Load() != 2 {
		t.Fatalf("probe did not close the breaker (hits %d)", srv.hits.Load())
	}
}

func TestGRPCAttemptsNeverStartPastTheDeadline(t *testing.T) {
	srv := newGRPCBackend(t, false, func(int64) grpcAnswer { return grpcAnswer{code: grpcwire.Unavailable} })
	const margin = 20 * time.Millisecond
	h := newExporter(t, grpcConfig(srv.URL), Options{MaxAttempts: 1000, Margin: margin}, false)
	rec := &recordingTransport{next: h.exp.client.Transport}
	h.exp.client.Transport = rec
	ctx := budget(t, 150*time.Millisecond)
	deadline, _ := ctx.Deadline()
	res := h.exp.Export(ctx, "traces", Proto(traces(1, 1, 1)))
	returned := time.Now()
	if res.OK || res.Attempts < 2 {
		t.Fatalf("result = %+v", res)
	}
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
	// Every attempt told the server its deadline, within the budget.
	for i := range res.Attempts {
		d, ok := grpcwire.ParseTimeout(srv.call(i).header.Get("Grpc-Timeout"))
		if !ok || d <= 0 || d > 150*time.Millisecond {
			t.Errorf("attempt %d: grpc-timeout %q", i+1, srv.call(i).header.Get("Grpc-Timeout"))
		}
	}
	<-ctx.Done()
	if res = h.exp.Export(ctx, "traces", Proto(nil)); !errors.Is(res.Err, ErrNoBudget) || res.Attempts != 0 {
		t.Errorf("export past the deadline = %+v", res)
	}
}

func TestGRPCEndpointPathIgnored(t *testing.T) {
	srv := newGRPCBackend(t, false, nil)
	cfg := config.Exporter{Protocol: "grpc", Endpoint: srv.URL + "/v1/traces?key=SECRET",
		LogsEndpoint: strings.Replace(srv.URL, "http://", "http://user:SECRET@", 1) + "/otlp"}
	h := newExporter(t, cfg, Options{}, true)
	for _, sig := range signals {
		if res := h.exp.Export(budget(t, time.Second), sig, Proto(nil)); !res.OK {
			t.Fatalf("%s: %+v", sig, res)
		}
		if c := srv.lastCall(); c.path != grpcwire.Path(sig) {
			t.Errorf("%s went to %s", sig, c.path)
		}
	}
	logs := h.logs.String()
	if strings.Count(logs, "grpc endpoint are ignored") != 1 || strings.Contains(logs, "SECRET") {
		t.Errorf("want one warning, without credentials:\n%s", logs)
	}
}

func TestGRPCConcurrentExports(t *testing.T) {
	// Every 5th call fails, 20 failures in all: with more attempts than
	// that, no export can run out of them, whatever the interleaving.
	srv := newGRPCBackend(t, false, func(n int64) grpcAnswer {
		if n%5 == 0 && n <= 100 {
			return grpcAnswer{code: grpcwire.Unavailable}
		}
		return grpcAnswer{}
	})
	h := newExporter(t, grpcConfig(srv.URL), Options{MaxAttempts: 21, BreakerThreshold: 1000}, false)
	const workers, each = 6, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if res := h.exp.Export(budget(t, 5*time.Second), "traces", Proto(traces(1+(w+i)%3, 1+i%5, 10+w))); !res.OK {
					t.Errorf("%+v", res)
				}
			}
		})
	}
	wg.Wait()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, c := range srv.calls {
		// A pooled buffer reused too early would corrupt a body.
		if n, err := wire.Validate(wire.Traces, c.body); err != nil || n.Items == 0 || c.length != c.wire {
			t.Fatalf("a corrupt call arrived: %v", err)
		}
	}
}
