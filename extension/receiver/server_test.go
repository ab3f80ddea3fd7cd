package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/wire"
)

func TestListenRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "10.0.0.1:4318", "example.com:0", "127.0.0.1"} {
		ln, err := Listen(addr)
		if err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded, want refusal", addr)
			continue
		}
		if addr != "127.0.0.1" && !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Listen(%q) = %v, want ErrNotLoopback", addr, err)
		}
	}
}

func TestListenLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "127.0.0.2:0", "[::1]:0"} {
		ln, err := Listen(addr)
		if err != nil {
			if addr == "[::1]:0" || addr == "127.0.0.2:0" {
				t.Logf("Listen(%q): %v (no such loopback address here)", addr, err)
				continue
			}
			t.Fatalf("Listen(%q): %v", addr, err)
		}
		if a := ln.Addr().(*net.TCPAddr); !a.IP.IsLoopback() || a.Port == 0 {
			t.Errorf("Listen(%q) bound %v", addr, a)
		}
		ln.Close()
	}
}

// fakeListener claims a non-loopback address.
type fakeListener struct{ net.Listener }

func (fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4318} }

func TestStartRefusesNonLoopback(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := New(nopSink{}, nil, Options{}).Start(fakeListener{ln}); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("Start on a non-loopback listener: %v, want ErrNotLoopback", err)
	}
}

func startServer(t *testing.T, rc *Receiver) (*Server, string) {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := rc.Start(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, "http://" + s.Addr().String()
}

func post(t *testing.T, c *http.Client, url, ct, ce string, body io.Reader) *http.Response {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if ce != "" {
		r.Header.Set("Content-Encoding", ce)
	}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestServerRealListener(t *testing.T) {
	sink := &recSink{}
	c := &recCompleter{}
	_, base := startServer(t, New(sink, c, Options{MaxRequestBytes: 64 << 10}))
	client := &http.Client{Timeout: 5 * time.Second}

	body := mustMarshal(t, testTraces(10))
	resp := post(t, client, base+PathTraces, "application/x-protobuf", "", bytes.NewReader(body))
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(got) != 0 || resp.ContentLength != 0 || resp.Header.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("protobuf: %d CL=%d %q %q", resp.StatusCode, resp.ContentLength, resp.Header.Get("Content-Type"), got)
	}

	// Chunked upload (unknown length) of a gzip body, like a streaming client.
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(gz(t, body))
		pw.Close()
	}()
	resp = post(t, client, base+PathTraces, "application/x-protobuf", "gzip", pr)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("chunked gzip: %d", resp.StatusCode)
	}

	resp = post(t, client, base+PathLogs, "application/json", "", bytes.NewReader(otlpJSON(t, testLogs())))
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != "{}" {
		t.Fatalf("JSON: %d %q", resp.StatusCode, got)
	}

	// Oversized: refused from Content-Length alone.
	resp = post(t, client, base+PathMetrics, "", "", bytes.NewReader(make([]byte, 100<<10)))
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("oversized: %d", resp.StatusCode)
	}

	resp = post(t, client, base+PathComplete, "", "", nil)
	resp.Body.Close()
	resp, err := client.Get(base + PathHealth)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != `{"status":"ready"}` {
		t.Fatalf("health: %d %q", resp.StatusCode, got)
	}

	offers := sink.all()
	if len(offers) != 3 || !bytes.Equal(offers[0].body, body) || !bytes.Equal(offers[1].body, body) || offers[2].sig != wire.Logs {
		t.Fatalf("offers: %d", len(offers))
	}
	if len(c.ids) != 1 {
		t.Fatalf("completions %q", c.ids)
	}
}

// Shutdown lets a request in flight finish, so what was answered 200 is in
// the sink, and then Serve's goroutine is gone.
func TestServerGracefulShutdown(t *testing.T) {
	sink := &recSink{}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(sink, nil, Options{}).Start(ln)
	if err != nil {
		t.Fatal(err)
	}
	body := mustMarshal(t, testTraces(5))
	pr, pw := io.Pipe()
	respc := make(chan *http.Response, 1)
	go func() {
		r, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr().String()+PathTraces, pr)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Error(err)
			close(respc)
			return
		}
		resp.Body.Close()
		respc <- resp
	}()
	_, _ = pw.Write(body[:10]) // the handler is now reading the body
	time.Sleep(50 * time.Millisecond)

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	_, _ = pw.Write(body[10:])
	pw.Close()
	if resp := <-respc; resp == nil || resp.StatusCode != 200 {
		t.Fatalf("in-flight request: %v", resp)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Shutdown")
	}
	if s.Err() != nil {
		t.Fatalf("Err after clean shutdown: %v", s.Err())
	}
	if len(sink.all()) != 1 {
		t.Fatal("in-flight request not offered")
	}
	if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

func TestServerShutdownDeadline(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(nopSink{}, nil, Options{}).Start(ln)
	if err != nil {
		t.Fatal(err)
	}
	// A client that sends headers and then stalls on the body.
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a stalled request: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
}

// retainSink keeps every body and checks, from another goroutine, that none
// changes after Offer returned: the receiver must never reuse a buffer it
// handed over. Under -race a reuse is also a reported data race.
type retainSink struct {
	mu     sync.Mutex
	bodies [][]byte
	sums   []string
}

func (s *retainSink) Offer(_ wire.Signal, body []byte, _ int) error {
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	s.sums = append(s.sums, string(body)) // a private copy to compare with
	s.mu.Unlock()
	return nil
}

func (s *retainSink) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, b := range s.bodies {
		if string(b) != s.sums[i] {
			return fmt.Errorf("body %d changed after Offer returned", i)
		}
	}
	return nil
}

func TestSinkOwnsBody(t *testing.T) {
	sink := &retainSink{}
	_, base := startServer(t, New(sink, nil, Options{}))
	client := &http.Client{Timeout: 10 * time.Second}

	// Distinct bodies per request, through every read path: exact length,
	// chunked (pooled scratch), gzip (pooled scratch and gunzip), JSON.
	bodies := make([][]byte, 8)
	for i := range bodies {
		bodies[i] = mustMarshal(t, testTraces(1+i*7))
	}
	stop := make(chan struct{})
	checked := make(chan error, 1)
	go func() {
		for {
			if err := sink.check(); err != nil {
				checked <- err
				return
			}
			select {
			case <-stop:
				checked <- sink.check()
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				b := bodies[(g+i)%len(bodies)]
				var resp *http.Response
				switch i % 4 {
				case 0:
					resp = post(t, client, base+PathTraces, "", "", bytes.NewReader(b))
				case 1:
					resp = post(t, client, base+PathTraces, "", "", io.MultiReader(bytes.NewReader(b)))
				case 2:
					resp = post(t, client, base+PathTraces, "", "gzip", bytes.NewReader(gz(t, b)))
				case 3:
					m, _ := unmarshalSignal(wire.Traces, b)
					resp = post(t, client, base+PathTraces, "application/json", "", bytes.NewReader(otlpJSON(t, m)))
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		}(g)
	}
	wg.Wait()
	close(stop)
	if err := <-checked; err != nil {
		t.Fatal(err)
	}
	if n := len(sink.bodies); n != 200 {
		t.Fatalf("%d bodies, want 200", n)
	}
	// Every body is one of the originals (JSON ones re-encoded equivalently).
	for i, b := range sink.bodies {
		if _, err := wire.Validate(wire.Traces, b); err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
	}
}
