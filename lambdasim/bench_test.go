package lambdasim

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkInvoke measures an invocation through lambdasim: a trivial runtime
// process (testdata/rt echoing its event), no extensions, the whole invoke
// phase from Invoke to its result, with and without freeze. It reports p50
// and p99. Most of it is the machine's cost of two loopback HTTP round trips
// between processes; BenchmarkOverhead separates lambdasim's own share.
func BenchmarkInvoke(b *testing.B) {
	for _, tc := range []struct {
		name     string
		noFreeze bool
	}{{"nofreeze", true}, {"freeze", false}} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := New(Config{Runtime: &Process{Path: bins.rt}, NoFreeze: tc.noFreeze})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			if err := s.Start(ctx); err != nil {
				b.Fatal(err)
			}
			req := Request{Payload: []byte(`{}`)}
			for i := 0; i < 50; i++ { // warm the connections and the runtime
				if _, err := s.Invoke(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				res, err := s.Invoke(ctx, req)
				lat = append(lat, time.Since(t0))
				if err != nil || res.Status != "success" {
					b.Fatalf("invocation %d: %v %+v", i, err, res)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// bareRuntimeAPI starts the least Runtime API server that works (hand out
// the event, take the response, see the next call) with a testdata/rt
// process attached. invoke hands out one event and returns at the runtime's
// next call, where lambdasim's invoke phase ends too.
func bareRuntimeAPI(b *testing.B) (invoke func(), stop func()) {
	events := make(chan string)
	nextSeen := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case nextSeen <- struct{}{}:
		default:
		}
		select {
		case id := <-events:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
			_, _ = w.Write([]byte(`{}`))
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	cmd := exec.Command(bins.rt)
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	<-nextSeen
	n := 0
	invoke = func() {
		n++
		events <- strconv.Itoa(n)
		<-nextSeen
	}
	return invoke, func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		srv.Close()
	}
}

// BenchmarkOverhead alternates lambdasim invocations (no freeze, no
// extensions) with the same runtime's invocations against bareRuntimeAPI,
// so that both see the same machine at the same moment, and reports the p50
// of each and the difference: lambdasim's own overhead per invocation.
func BenchmarkOverhead(b *testing.B) {
	s, err := New(Config{Runtime: &Process{Path: bins.rt}, NoFreeze: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	bare, stop := bareRuntimeAPI(b)
	defer stop()
	req := Request{Payload: []byte(`{}`)}
	sim := func() {
		if res, err := s.Invoke(ctx, req); err != nil || res.Status != "success" {
			b.Fatalf("invoke: %v %+v", err, res)
		}
	}
	for i := 0; i < 50; i++ {
		sim()
		bare()
	}
	simLat := make([]time.Duration, 0, b.N)
	bareLat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		sim()
		t1 := time.Now()
		bare()
		simLat = append(simLat, t1.Sub(t0))
		bareLat = append(bareLat, time.Since(t1))
	}
	b.StopTimer()
	slices.Sort(simLat)
	slices.Sort(bareLat)
	p50s, p50b := simLat[len(simLat)/2], bareLat[len(bareLat)/2]
	p99s, p99b := simLat[len(simLat)*99/100], bareLat[len(bareLat)*99/100]
	b.ReportMetric(float64(p50s.Microseconds()), "sim-p50-µs")
	b.ReportMetric(float64(p50b.Microseconds()), "bare-p50-µs")
	b.ReportMetric(float64((p50s - p50b).Microseconds()), "overhead-p50-µs")
	b.ReportMetric(float64((p99s - p99b).Microseconds()), "overhead-p99-µs")
}
