package export

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/config"
)

// BenchmarkExport64KiB exports a 64 KiB traces body to a local server that
// reads it and answers 200.
func BenchmarkExport64KiB(b *testing.B) {
	for _, compression := range []string{"gzip", "none"} {
		b.Run(compression, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
			}))
			defer srv.Close()
			e, err := New(config.Exporter{Endpoint: srv.URL, Compression: compression, Timeout: 5 * time.Second,
				Headers: map[string]string{"x-api-key": "k"}}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			// Span names of random letters: compressible like real
			// telemetry, not like a run of one byte.
			r := rand.New(rand.NewPCG(1, 1))
			body := traces(8, 32, 200)
			for i := range body {
				if body[i] == 'n' {
					body[i] = byte('a' + r.IntN(16))
				}
			}
			// Exactly 64 KiB: the local server does not parse the
			// body, so cutting it mid-field does not matter here.
			body = body[:min(len(body), 64<<10)]
			body = append(body, make([]byte, (64<<10)-len(body))...)
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				if res := e.Export(cctx, "traces", Proto(body)); !res.OK {
					b.Fatal(res.Err)
				}
				cancel()
			}
		})
	}
}
