package lambdasim

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkInvoke measures lambdasim's own cost per invocation: a trivial
// runtime process (testdata/rt echoing its event), no extensions, the whole
// invoke phase from Invoke to its result. It reports p50 and p99 so that
// effects of 0.1 ms stay measurable on top of it.
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
