package export

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/grpcwire"
)

// FuzzGRPCAnswer feeds arbitrary gRPC answers (outside input from a
// backend: body, grpc-status, grpc-message, grpc-status-details-bin,
// grpc-encoding) to the response reader: it must not panic, and what it
// reports must be consistent.
func FuzzGRPCAnswer(f *testing.F) {
	f.Add(200, []byte{0, 0, 0, 0, 0}, "0", "", "", "", true)
	f.Add(200, grpcwire.AppendPrefix(nil, false, 3), "14", "down%20now", "", "", false)
	f.Add(200, []byte(nil), "8", "full", grpcwire.EncodeBinaryHeader(
		grpcwire.AppendStatus(nil, grpcwire.ResourceExhausted, "full", grpcwire.RetryInfoDetail(time.Second))), "", false)
	f.Add(200, append(grpcwire.AppendPrefix(nil, true, 4), 1, 2, 3, 4), "0", "", "", "gzip", true)
	f.Add(503, []byte("upstream"), "", "", "", "", false)
	f.Fuzz(func(t *testing.T, code int, body []byte, st, msg, details, enc string, inTrailer bool) {
		if code < 100 || code > 999 {
			code = 200
		}
		resp := &http.Response{StatusCode: code, Header: http.Header{"Content-Type": {"application/grpc"}},
			Body: io.NopCloser(bytes.NewReader(body)), Trailer: http.Header{}}
		h := resp.Header
		if inTrailer {
			h = resp.Trailer
		}
		h.Set("Grpc-Status", st)
		h.Set("Grpc-Message", msg)
		h.Set("Grpc-Status-Details-Bin", details)
		resp.Header.Set("Grpc-Encoding", enc)
		a, err := grpcProtocol{}.read(resp, time.Now())
		if err != nil {
			t.Fatalf("a complete body read as cut off: %v", err)
		}
		if a.err == nil && (a.retryable || a.permanent) {
			t.Fatalf("success marked retryable %v or permanent %v", a.retryable, a.permanent)
		}
		if a.retryable && a.permanent {
			t.Fatal("both retryable and permanent")
		}
		if a.hasRetryAfter && a.retryAfter < 0 {
			t.Fatalf("negative retry delay %s", a.retryAfter)
		}
		if a.err != nil && (a.rejected != 0 || a.rejectedMessage != "") {
			t.Fatal("partial success read from a failure")
		}
	})
}
