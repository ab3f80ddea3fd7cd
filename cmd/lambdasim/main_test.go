package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdasim"
)

// TestMain lets the test binary play the demo's function and extension, as
// the lambdasim binary does when the demo runs it under their names.
func TestMain(m *testing.M) {
	if role, ok := demoRole(); ok {
		os.Exit(role())
	}
	os.Exit(m.Run())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDemo(t *testing.T) {
	report := filepath.Join(t.TempDir(), "report.json")
	var out, errOut syncBuffer
	code := run(testCtx(t), []string{"demo", "--report", report}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"[backend] received ", "spans at the backend (", "GET /items/{id}", "success", "exited 0", "load item",
		"http.response.status_code=404", "responseLatency", "extensionOverhead", "init ", "faas.invocations                       3", "faas.coldstarts                        1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	var r struct {
		Invocations []struct {
			RequestID         string          `json:"requestId"`
			Status            string          `json:"status"`
			Response          json.RawMessage `json:"response"`
			DurationMs        float64         `json:"durationMs"`
			ResponseLatencyMs float64         `json:"responseLatencyMs"`
		} `json:"invocations"`
		Shutdown struct {
			Reason         string `json:"reason"`
			RuntimeSigterm bool   `json:"runtimeSigterm"`
			Extensions     []struct {
				Name     string `json:"name"`
				ExitCode int    `json:"exitCode"`
				Killed   bool   `json:"killed"`
			} `json:"extensions"`
		} `json:"shutdown"`
		Telemetry []struct {
			Time   string          `json:"time"`
			Type   string          `json:"type"`
			Record json.RawMessage `json:"record"`
		} `json:"telemetry"`
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report is not the documented JSON: %v", err)
	}
	if len(r.Invocations) != 3 {
		t.Fatalf("report has %d invocations, want 3", len(r.Invocations))
	}
	for i, inv := range r.Invocations {
		if inv.Status != "success" || inv.RequestID == "" || !strings.Contains(string(inv.Response), "statusCode") || inv.ResponseLatencyMs <= 0 {
			t.Errorf("invocation %d: %+v", i, inv)
		}
	}
	if r.Shutdown.Reason != "spindown" || !r.Shutdown.RuntimeSigterm || len(r.Shutdown.Extensions) != 1 ||
		r.Shutdown.Extensions[0].Killed || r.Shutdown.Extensions[0].Name != demoExtension {
		t.Errorf("shutdown: %+v", r.Shutdown)
	}
	reports := 0
	for _, ev := range r.Telemetry {
		if ev.Type == "platform.report" {
			reports++
		}
	}
	if reports != 3 {
		t.Errorf("telemetry has %d platform.report events, want 3", reports)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "events.json")
	if err := os.WriteFile(bad, []byte("{\"a\":1}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "Usage"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"run"}, "--function is required"},
		{[]string{"serve"}, "--function is required"},
		{[]string{"run", "--function", "x", "--event", bad}, "line 2 is not JSON"},
		{[]string{"run", "--function", "x", "--event", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"run", "--function", "x", "--env", "novalue"}, "want K=V"},
		{[]string{"demo", "extra"}, "unexpected argument"},
	} {
		var out, errOut syncBuffer
		if code := run(testCtx(t), tc.args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(out.String()+errOut.String(), tc.want) {
			t.Errorf("%v: output lacks %q: %s%s", tc.args, tc.want, out.String(), errOut.String())
		}
	}
}

// demoBinaries links the test binary under the demo's role names.
func demoBinaries(t *testing.T) (fn, ext string) {
	t.Helper()
	exe, err := exePath()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fn, ext = filepath.Join(dir, demoFunction), filepath.Join(dir, demoExtension)
	for _, p := range []string{fn, ext} {
		if err := os.Symlink(exe, p); err != nil {
			t.Fatal(err)
		}
	}
	return fn, ext
}

func TestRunFailingInvocationExitsNonZero(t *testing.T) {
	fn, _ := demoBinaries(t)
	events := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(events, []byte("{\"rawPath\":\"/items/1\"}\n[1,2]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "r.json")
	var out, errOut syncBuffer
	code := run(testCtx(t), []string{"run", "--function", fn, "--event", events, "--invocations", "4", "--idle", "0s", "--report", report}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out.String(), errOut.String())
	}
	b, _ := os.ReadFile(report)
	var raw struct {
		Invocations []struct {
			Status string `json:"status"`
		} `json:"invocations"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, inv := range raw.Invocations {
		got = append(got, inv.Status)
	}
	if strings.Join(got, ",") != "success,error,success,error" {
		t.Fatalf("statuses %v: events must cycle", got)
	}
}

func TestServe(t *testing.T) {
	fn, ext := demoBinaries(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // serve binds it again; a race with another binder is harmless here
	ctx, cancel := context.WithCancel(testCtx(t))
	var out, errOut syncBuffer
	done := make(chan int, 1)
	args := []string{"serve", "--function", fn, "--extension", ext, "--addr", addr,
		"--env", "LAMBDA_OTEL_RECEIVER_HTTP_PORT=" + freePort(t), "--env", "LAMBDA_OTEL_RECEIVER_GRPC_PORT=" + freePort(t)}
	go func() { done <- run(ctx, args, &out, &errOut) }()
	url := "http://" + addr + lambdasim.InvokePath
	var resp *http.Response
	for i := 0; ; i++ {
		resp, err = http.Post(url, "application/json", strings.NewReader(`{"name":"curl"}`))
		if err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errOut.String())
		case <-time.After(20 * time.Millisecond): // waiting for the listener; the only signal is a successful connect
		}
	}
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(body.String(), `"statusCode":404`) || resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Fatalf("invoke: %d %s %v", resp.StatusCode, body.String(), resp.Header)
	}
	resp, err = http.Post(url, "application/json", strings.NewReader(`[1,2]`))
	if err != nil {
		t.Fatal(err)
	}
	body.Reset()
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(body.String(), "decode event") {
		t.Fatalf("failing invoke: %d %s %v", resp.StatusCode, body.String(), resp.Header)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "shutdown (spindown)") {
		t.Fatalf("no shutdown summary:\n%s", out.String())
	}
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
