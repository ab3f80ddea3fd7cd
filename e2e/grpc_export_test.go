package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/config"
	"github.com/lambdaotel/lambdaotel/extension/export"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// grpcGoCall is one Export call the grpc-go collector received.
type grpcGoCall struct {
	method      string
	req         proto.Message
	md          metadata.MD
	hasDeadline bool
	deadlineIn  time.Duration
}

// grpcGoCollector is a grpc-go server registering the three generated OTLP
// collector services: the real peer the extension's exporter must be wire
// compatible with. fail decides the error of call n (1-based, over all
// methods); nil or a nil error accepts it, answering partial for traces.
type grpcGoCollector struct {
	coltracepb.UnimplementedTraceServiceServer
	colmetricspb.UnimplementedMetricsServiceServer
	collogspb.UnimplementedLogsServiceServer

	mu       sync.Mutex
	n        int
	calls    []grpcGoCall
	payloads []*stats.InPayload
	fail     func(n int) error
	partial  *coltracepb.ExportTracePartialSuccess
}

func (c *grpcGoCollector) record(ctx context.Context, method string, req proto.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	md, _ := metadata.FromIncomingContext(ctx)
	dl, ok := ctx.Deadline()
	c.calls = append(c.calls, grpcGoCall{method: method, req: req, md: md, hasDeadline: ok, deadlineIn: time.Until(dl)})
	if c.fail != nil {
		return c.fail(c.n)
	}
	return nil
}

func (c *grpcGoCollector) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	if err := c.record(ctx, "traces", req); err != nil {
		return nil, err
	}
	return &coltracepb.ExportTraceServiceResponse{PartialSuccess: c.partial}, nil
}

type grpcGoMetrics struct{ *grpcGoCollector }

func (m grpcGoMetrics) Export(ctx context.Context, req *colmetricspb.ExportMetricsServiceRequest) (*colmetricspb.ExportMetricsServiceResponse, error) {
	if err := m.record(ctx, "metrics", req); err != nil {
		return nil, err
	}
	return &colmetricspb.ExportMetricsServiceResponse{}, nil
}

type grpcGoLogs struct{ *grpcGoCollector }

func (l grpcGoLogs) Export(ctx context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	if err := l.record(ctx, "logs", req); err != nil {
		return nil, err
	}
	return &collogspb.ExportLogsServiceResponse{}, nil
}

// TagRPC, HandleRPC, TagConn and HandleConn make the collector a
// stats.Handler, to see each request message's wire and decompressed size.
func (c *grpcGoCollector) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}
func (c *grpcGoCollector) HandleRPC(_ context.Context, s stats.RPCStats) {
	if p, ok := s.(*stats.InPayload); ok {
		c.mu.Lock()
		c.payloads = append(c.payloads, p)
		c.mu.Unlock()
	}
}
func (c *grpcGoCollector) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (c *grpcGoCollector) HandleConn(context.Context, stats.ConnStats) {}

func (c *grpcGoCollector) snapshot() ([]grpcGoCall, []*stats.InPayload) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]grpcGoCall(nil), c.calls...), append([]*stats.InPayload(nil), c.payloads...)
}

// startGRPCGoCollector serves c with grpc-go on a free loopback port: plaintext
// (h2c) without creds, TLS with them. It returns host:port.
func startGRPCGoCollector(t *testing.T, c *grpcGoCollector, creds credentials.TransportCredentials) string {
	t.Helper()
	opts := []grpc.ServerOption{grpc.StatsHandler(c)}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	srv := grpc.NewServer(opts...)
	coltracepb.RegisterTraceServiceServer(srv, c)
	colmetricspb.RegisterMetricsServiceServer(srv, grpcGoMetrics{c})
	collogspb.RegisterLogsServiceServer(srv, grpcGoLogs{c})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// newGRPCGoExporter is the extension's exporter with protocol grpc.
func newGRPCGoExporter(t *testing.T, endpoint, compression string, skipVerify bool) *export.Exporter {
	t.Helper()
	exp, err := export.New(config.Exporter{Endpoint: endpoint, Protocol: "grpc", Compression: compression,
		Timeout: 2 * time.Second, InsecureSkipVerify: skipVerify,
		Headers: map[string]string{"X-Tenant": "e2e-tenant", "Authorization": "Bearer e2e"}}, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Close)
	return exp
}

func marshalPB(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExporterToGRPCGo sends all three signals with the extension's
// exporter (no grpc-go in it) to grpc-go's generated collector services,
// with and without gzip, and checks that the messages arrive equal, with
// metadata and a deadline, compressed when asked.
func TestExporterToGRPCGo(t *testing.T) {
	for _, comp := range []string{"none", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			col := &grpcGoCollector{}
			addr := startGRPCGoCollector(t, col, nil)
			exp := newGRPCGoExporter(t, "http://"+addr, comp, false)
			sent := map[string]proto.Message{"traces": traceRequest("to-grpc-go"), "metrics": metricsRequest(), "logs": logsRequest()}
			for _, sig := range []string{"traces", "metrics", "logs"} {
				res := exp.Export(ctxT(t), sig, export.Proto(marshalPB(t, sent[sig])))
				if !res.OK || res.Attempts != 1 || res.Err != nil {
					t.Fatalf("%s: %+v", sig, res)
				}
			}
			calls, payloads := col.snapshot()
			if len(calls) != 3 || len(payloads) != 3 {
				t.Fatalf("%d calls, %d payloads, want 3", len(calls), len(payloads))
			}
			for i, c := range calls {
				if want := []string{"traces", "metrics", "logs"}[i]; c.method != want {
					t.Fatalf("call %d went to %s, want %s", i+1, c.method, want)
				}
				if !proto.Equal(c.req, sent[c.method]) {
					t.Errorf("%s: received %v, sent %v", c.method, c.req, sent[c.method])
				}
				if got := c.md.Get("x-tenant"); len(got) != 1 || got[0] != "e2e-tenant" {
					t.Errorf("%s: x-tenant metadata %v", c.method, got)
				}
				if got := c.md.Get("authorization"); len(got) != 1 || got[0] != "Bearer e2e" {
					t.Errorf("%s: authorization metadata %v", c.method, got)
				}
				if !c.hasDeadline || c.deadlineIn <= 0 || c.deadlineIn > 2*time.Second {
					t.Errorf("%s: server deadline %v in %s, want grpc-timeout within the 2 s timeout", c.method, c.hasDeadline, c.deadlineIn)
				}
				p := payloads[i]
				if compressed := p.CompressedLength > 0 && p.CompressedLength != p.Length; compressed != (comp == "gzip") {
					t.Errorf("%s: compressed %d → %d bytes, compression %s", c.method, p.Length, p.CompressedLength, comp)
				}
			}
		})
	}
}

// TestExporterGRPCGoStatuses: UNAVAILABLE then OK is retried and delivered;
// RESOURCE_EXHAUSTED is retried only with grpc-go's RetryInfo detail, after
// its delay; INVALID_ARGUMENT is final and permanent; a partial success in
// grpc-go's (gzip-compressed) response is read.
func TestExporterGRPCGoStatuses(t *testing.T) {
	retryInfo := func(d time.Duration) error {
		st, err := status.New(codes.ResourceExhausted, "slow down").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	for _, tc := range []struct {
		name      string
		fail      func(n int) error
		ok        bool
		attempts  int
		code      codes.Code
		permanent bool
		minTook   time.Duration
	}{
		{"unavailable then ok", func(n int) error {
			if n == 1 {
				return status.Error(codes.Unavailable, "warming up")
			}
			return nil
		}, true, 2, codes.OK, false, 0},
		{"resource exhausted with RetryInfo", func(n int) error {
			if n == 1 {
				return retryInfo(300 * time.Millisecond)
			}
			return nil
		}, true, 2, codes.OK, false, 300 * time.Millisecond},
		{"resource exhausted without RetryInfo", func(int) error { return status.Error(codes.ResourceExhausted, "quota") },
			false, 1, codes.ResourceExhausted, true, 0},
		{"invalid argument", func(int) error { return status.Error(codes.InvalidArgument, "bad span: 100% wrong") },
			false, 1, codes.InvalidArgument, true, 0},
		{"internal", func(int) error { return status.Error(codes.Internal, "boom") }, false, 1, codes.Internal, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := &grpcGoCollector{fail: tc.fail}
			addr := startGRPCGoCollector(t, col, nil)
			exp := newGRPCGoExporter(t, "http://"+addr, "gzip", false)
			sent := traceRequest(tc.name)
			start := time.Now()
			res := exp.Export(ctxT(t), "traces", export.Proto(marshalPB(t, sent)))
			took := time.Since(start)
			if res.OK != tc.ok || res.Attempts != tc.attempts || res.Permanent != tc.permanent || took < tc.minTook {
				t.Fatalf("result = %+v after %s", res, took)
			}
			calls, _ := col.snapshot()
			if len(calls) != tc.attempts {
				t.Fatalf("%d calls for %d attempts", len(calls), tc.attempts)
			}
			if tc.ok {
				if !proto.Equal(calls[len(calls)-1].req, sent) {
					t.Error("the delivered request differs from the one sent")
				}
				return
			}
			var ge *export.GRPCStatusError
			if !errors.As(res.Err, &ge) || uint32(ge.Code) != uint32(tc.code) || ge.HTTPStatus != 200 {
				t.Fatalf("err = %v", res.Err)
			}
			want, _ := status.FromError(tc.fail(1))
			if ge.Message != want.Message() {
				t.Errorf("message %q, want %q", ge.Message, want.Message())
			}
		})
	}
	t.Run("partial success", func(t *testing.T) {
		col := &grpcGoCollector{partial: &coltracepb.ExportTracePartialSuccess{RejectedSpans: 2, ErrorMessage: "too old"}}
		addr := startGRPCGoCollector(t, col, nil)
		for _, comp := range []string{"gzip", "none"} {
			exp := newGRPCGoExporter(t, "http://"+addr, comp, false)
			res := exp.Export(ctxT(t), "traces", export.Proto(marshalPB(t, traceRequest("partial"))))
			if !res.OK || res.Rejected != 2 || res.RejectedMessage != "too old" {
				t.Fatalf("%s: result = %+v", comp, res)
			}
		}
	})
}

// TestExporterToGRPCGoTLS: grpc-go with TLS credentials and a self-signed
// certificate. The exporter refuses it by default and delivers with
// insecure_skip_verify.
func TestExporterToGRPCGoTLS(t *testing.T) {
	col := &grpcGoCollector{}
	addr := startGRPCGoCollector(t, col, credentials.NewServerTLSFromCert(selfSignedCert(t)))

	exp := newGRPCGoExporter(t, "https://"+addr, "gzip", false)
	res := exp.Export(ctxT(t), "logs", export.Proto(marshalPB(t, logsRequest())))
	if res.OK || res.Err == nil || !strings.Contains(res.Err.Error(), "certificate") || res.Attempts != 1 {
		t.Fatalf("self-signed certificate accepted: %+v", res)
	}

	exp = newGRPCGoExporter(t, "https://"+addr, "gzip", true)
	for _, sig := range []string{"traces", "metrics", "logs"} {
		sent := map[string]proto.Message{"traces": traceRequest("tls"), "metrics": metricsRequest(), "logs": logsRequest()}[sig]
		if res := exp.Export(ctxT(t), sig, export.Proto(marshalPB(t, sent))); !res.OK {
			t.Fatalf("%s over TLS: %+v", sig, res)
		}
		calls, _ := col.snapshot()
		if last := calls[len(calls)-1]; last.method != sig || !proto.Equal(last.req, sent) {
			t.Fatalf("%s: received %s %v", sig, last.method, last.req)
		}
	}
}

// selfSignedCert is a fresh self-signed certificate for 127.0.0.1.
func selfSignedCert(t *testing.T) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "e2e collector"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
