package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/extension/platformtel"
	"github.com/lambdaotel/lambdaotel/lambdasim"
)

// builds are the executables built so far in this run, by module dir and
// package, in binDir (removed by TestMain): several tests run the same
// extension and function, and linking them again costs seconds each.
var builds struct {
	sync.Mutex
	binDir string
	paths  map[string]string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.binDir != "" {
		_ = os.RemoveAll(builds.binDir)
	}
	os.Exit(code)
}

// build builds pkg of the module in dir, once per run, and returns the
// executable's path.
func build(t *testing.T, dir, pkg, name string) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	key := dir + "\x00" + pkg
	if p, ok := builds.paths[key]; ok {
		return p
	}
	if builds.binDir == "" {
		d, err := os.MkdirTemp("", "lambdaotel-e2e-")
		if err != nil {
			t.Fatal(err)
		}
		builds.binDir, builds.paths = d, map[string]string{}
	}
	out := filepath.Join(builds.binDir, strconv.Itoa(len(builds.paths)), name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	builds.paths[key] = out
	return out
}

// spanCounter is an OTLP/HTTP trace backend that counts spans.
type spanCounter struct {
	mu sync.Mutex
	n  int
}

func (c *spanCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body, _ = io.ReadAll(zr)
	}
	var td tracepb.TracesData
	if err := proto.Unmarshal(body, &td); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range td.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			if ss.Scope.GetName() == platformtel.ScopeName {
				continue // the extension's own, from platform telemetry
			}
			c.n += len(ss.Spans)
		}
	}
}

func (c *spanCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// A function instrumented with the OpenTelemetry SDK's own OTLP/HTTP
// exporter (otellambda style: batch processor, ForceFlush in the handler),
// not with lambdaotel: it never signals, so lambdaotel-extension holds each
// invocation until platform.runtimeDone, and every span is at the backend
// before the environment freezes.
func TestSDKFunctionThroughTheExtension(t *testing.T) {
	ext := build(t, "..", "./cmd/lambdaotel-extension", "lambdaotel-extension")
	fn := build(t, "../bench", "./cmd/sdkfn", "sdkfn")
	be := &spanCounter{}
	srv := httptest.NewServer(be)
	defer srv.Close()
	port := freePort(t)
	s, err := lambdasim.New(lambdasim.Config{
		Runtime:    &lambdasim.Process{Path: fn},
		Extensions: []lambdasim.Process{{Path: ext}},
		Timeout:    10 * time.Second,
		Env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":    "http://127.0.0.1:" + port,
			"LAMBDA_OTEL_RECEIVER_HTTP_PORT": port,
			"LAMBDA_OTEL_RECEIVER_GRPC_PORT": freePort(t),
			"LAMBDA_OTEL_EXPORTER_ENDPOINT":  srv.URL,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		res, err := s.Invoke(ctx, lambdasim.Request{Payload: []byte(`{"spans":2}`)})
		if err != nil || res.Status != "success" {
			t.Fatalf("invocation %d: %v %+v", i, err, res)
		}
		if got := be.count(); got != (i+1)*3 {
			t.Fatalf("invocation %d: %d spans at the backend when the environment froze, want %d", i, got, (i+1)*3)
		}
		if res.ExtensionOverheadMs > 1000 {
			t.Errorf("invocation %d: overhead %.0f ms: runtimeDone should end the hold", i, res.ExtensionOverheadMs)
		}
	}
	sr, err := s.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sr.Extensions[0].Killed {
		t.Fatal("the extension was killed at SHUTDOWN")
	}
}
