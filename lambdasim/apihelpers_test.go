package lambdasim

// Shared helpers of the API-fidelity tests (runtimeapi_test.go,
// extensionsapi_test.go, telemetry_test.go). The test itself plays the
// attached runtime and attached extensions over HTTP; every helper that
// blocks is bounded by the harness context, and every goroutine a helper
// starts is ended and waited for when the test ends.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// apiHarness is one Sim driven over HTTP by the test.
type apiHarness struct {
	t   *testing.T
	s   *Sim
	ctx context.Context
	hc  *http.Client

	wg    sync.WaitGroup
	mu    sync.Mutex
	stops []func()
}

// newAPIHarness creates a Sim for cfg (closed at the end of the test by
// newSim) and starts serving its APIs. At the end of the test the harness
// cancels its context, runs the stop functions and waits for every goroutine
// it started, before the Sim is closed.
func newAPIHarness(t *testing.T, cfg Config) *apiHarness {
	t.Helper()
	s := newSim(t, cfg)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tr := &http.Transport{}
	h := &apiHarness{t: t, s: s, ctx: ctx, hc: &http.Client{Transport: tr}}
	t.Cleanup(func() {
		cancel()
		h.mu.Lock()
		stops := h.stops
		h.mu.Unlock()
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		h.wg.Wait()
		tr.CloseIdleConnections()
	})
	return h
}

// goRun runs f in a goroutine the harness waits for at the end of the test.
// f must return once h.ctx is done.
func (h *apiHarness) goRun(f func()) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		f()
	}()
}

// onStop registers f to run at the end of the test, after the harness context
// is cancelled and before its goroutines are waited for.
func (h *apiHarness) onStop(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stops = append(h.stops, f)
}

// apiRecv receives from ch, failing the test if the harness context ends first.
func apiRecv[T any](h *apiHarness, ch <-chan T, what string) T {
	h.t.Helper()
	select {
	case v := <-ch:
		return v
	case <-h.ctx.Done():
		h.t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

// apiNotReady fails the test if ch has a value now.
func apiNotReady[T any](h *apiHarness, ch <-chan T, what string) {
	h.t.Helper()
	select {
	case v := <-ch:
		h.t.Fatalf("%s happened too early: %+v", what, v)
	default:
	}
}

// start runs Start in the background and returns once init has begun
// (platform.initStart was emitted), so that registrations and the runtime's
// first next land in the init phase. The channel receives Start's result.
func (h *apiHarness) start() <-chan error {
	h.t.Helper()
	n := apiCount(h.s.Telemetry(), lambdaapi.EventInitStart)
	errc := make(chan error, 1)
	h.goRun(func() { errc <- h.s.Start(h.ctx) })
	h.waitTelemetry("init to begin", func(evs []lambdaapi.TelemetryEvent) bool {
		return apiCount(evs, lambdaapi.EventInitStart) > n
	})
	return errc
}

// waitTelemetry waits until cond holds for the captured telemetry.
func (h *apiHarness) waitTelemetry(what string, cond func([]lambdaapi.TelemetryEvent) bool) {
	h.t.Helper()
	if err := h.s.WaitFor(h.ctx, cond); err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// waitRecord waits for a captured event of type typ whose record has the given
// requestId, and returns it.
func (h *apiHarness) waitRecord(typ, requestID string) lambdaapi.TelemetryEvent {
	h.t.Helper()
	var found lambdaapi.TelemetryEvent
	h.waitTelemetry(typ+" of "+requestID, func(evs []lambdaapi.TelemetryEvent) bool {
		i := apiIndex(evs, typ, requestID)
		if i >= 0 {
			found = evs[i]
		}
		return i >= 0
	})
	return found
}

// rc returns a Runtime API client using the harness's HTTP client.
func (h *apiHarness) rc() *lambdaapi.RuntimeClient {
	return lambdaapi.NewRuntimeClient(h.s.Addr(), h.hc)
}

// ec returns an Extensions API client using the harness's HTTP client.
func (h *apiHarness) ec() *lambdaapi.ExtensionClient {
	return lambdaapi.NewExtensionClient(h.s.Addr(), h.hc)
}

type apiNext struct {
	inv *lambdaapi.Invocation
	err error
}

// runtimeNext calls the runtime's next in the background.
func (h *apiHarness) runtimeNext(rc *lambdaapi.RuntimeClient) <-chan apiNext {
	ch := make(chan apiNext, 1)
	h.goRun(func() {
		inv, err := rc.Next(h.ctx)
		ch <- apiNext{inv, err}
	})
	return ch
}

// recvInvocation receives an invocation from a runtime next.
func (h *apiHarness) recvInvocation(ch <-chan apiNext) *lambdaapi.Invocation {
	h.t.Helper()
	r := apiRecv(h, ch, "runtime next")
	if r.err != nil {
		h.t.Fatalf("runtime next: %v", r.err)
	}
	return r.inv
}

// finishInit makes the runtime's first next and waits for Start to succeed.
// The returned channel receives the first invocation.
func (h *apiHarness) finishInit(rc *lambdaapi.RuntimeClient, startErr <-chan error) <-chan apiNext {
	h.t.Helper()
	next := h.runtimeNext(rc)
	if err := apiRecv(h, startErr, "Start"); err != nil {
		h.t.Fatalf("Start: %v", err)
	}
	return next
}

// initRuntime runs init with an attached runtime and no extensions.
func (h *apiHarness) initRuntime() (*lambdaapi.RuntimeClient, <-chan apiNext) {
	h.t.Helper()
	rc := h.rc()
	return rc, h.finishInit(rc, h.start())
}

// invoke hands an invocation to the environment.
func (h *apiHarness) invoke(req Request) *Pending {
	h.t.Helper()
	p, err := h.s.InvokeAsync(h.ctx, req)
	if err != nil {
		h.t.Fatalf("InvokeAsync: %v", err)
	}
	return p
}

// wait waits for an invocation's whole invoke phase.
func (h *apiHarness) wait(p *Pending) *Result {
	h.t.Helper()
	res, err := p.Wait(h.ctx)
	if err != nil {
		h.t.Fatalf("Wait %s: %v", p.RequestID(), err)
	}
	return res
}

// response waits for the caller's answer of an invocation.
func (h *apiHarness) response(p *Pending) (string, []byte) {
	h.t.Helper()
	status, payload, err := p.Response(h.ctx)
	if err != nil {
		h.t.Fatalf("Response %s: %v", p.RequestID(), err)
	}
	return status, payload
}

// apiReply is a raw answer of one of the Lambda APIs.
type apiReply struct {
	code   int
	header http.Header
	body   []byte
}

func (r apiReply) errorType() string {
	var er lambdaapi.ErrorResponse
	_ = json.Unmarshal(r.body, &er)
	return er.ErrorType
}

func (r apiReply) String() string {
	return fmt.Sprintf("HTTP %d %s", r.code, bytes.TrimSpace(r.body))
}

// call makes a raw request to the Lambda APIs; path starts with the API
// version, e.g. "/2018-06-01/runtime/invocation/next".
func (h *apiHarness) call(method, path string, hdr map[string]string, body []byte) apiReply {
	h.t.Helper()
	r, err := h.tryCall(method, path, hdr, body)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// tryCall is call returning its error; it is safe to use from any goroutine.
func (h *apiHarness) tryCall(method, path string, hdr map[string]string, body []byte) (apiReply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(h.ctx, method, "http://"+h.s.Addr()+path, rd)
	if err != nil {
		return apiReply{}, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return apiReply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiReply{}, err
	}
	return apiReply{code: resp.StatusCode, header: resp.Header, body: b}, nil
}

// expectError checks an error answer's status and errorType.
func expectError(t *testing.T, what string, r apiReply, code int, errType string) {
	t.Helper()
	if r.code != code || r.errorType() != errType {
		t.Errorf("%s: got %v, want HTTP %d %s", what, r, code, errType)
	}
}

// expectAccepted checks a 202 {"status":"OK"} answer.
func expectAccepted(t *testing.T, what string, r apiReply) {
	t.Helper()
	var st lambdaapi.StatusResponse
	if r.code != http.StatusAccepted || json.Unmarshal(r.body, &st) != nil || st.Status != "OK" {
		t.Errorf(`%s: got %v, want HTTP 202 {"status":"OK"}`, what, r)
	}
}

const (
	apiRuntime   = "/" + lambdaapi.RuntimeAPIVersion + "/runtime"
	apiExtension = "/" + lambdaapi.ExtensionsAPIVersion + "/extension"
	apiTelemetry = "/" + lambdaapi.TelemetryAPIVersion + "/telemetry"
)

// respondPath is the /response path of a request id.
func respondPath(id string) string { return apiRuntime + "/invocation/" + id + "/response" }

// errorPath is the /error path of a request id.
func errorPath(id string) string { return apiRuntime + "/invocation/" + id + "/error" }

// register registers an extension and fails the test if that fails.
func (h *apiHarness) register(name string, events ...lambdaapi.EventType) *lambdaapi.ExtensionClient {
	h.t.Helper()
	c := h.ec()
	if _, err := c.Register(h.ctx, name, events...); err != nil {
		h.t.Fatalf("register %s: %v", name, err)
	}
	return c
}

type apiEvent struct {
	ev  *lambdaapi.Event
	err error
}

// extNext calls an extension's next in the background.
func (h *apiHarness) extNext(c *lambdaapi.ExtensionClient) <-chan apiEvent {
	ch := make(chan apiEvent, 1)
	h.goRun(func() {
		ev, err := c.Next(h.ctx)
		ch <- apiEvent{ev, err}
	})
	return ch
}

// recvEvent receives an event from an extension next.
func (h *apiHarness) recvEvent(ch <-chan apiEvent) *lambdaapi.Event {
	h.t.Helper()
	r := apiRecv(h, ch, "extension next")
	if r.err != nil {
		h.t.Fatalf("extension next: %v", r.err)
	}
	return r.ev
}

// subscribe subscribes an extension to the Telemetry API, failing the test on
// error.
func (h *apiHarness) subscribe(c *lambdaapi.ExtensionClient, req lambdaapi.SubscribeRequest) {
	h.t.Helper()
	if err := c.Subscribe(h.ctx, req); err != nil {
		h.t.Fatalf("subscribe: %v", err)
	}
}

// apiSub is a subscription request for the given streams with timeoutMs 25.
func apiSub(dest lambdaapi.Destination, types ...lambdaapi.TelemetryType) lambdaapi.SubscribeRequest {
	return lambdaapi.SubscribeRequest{
		SchemaVersion: lambdaapi.Schema20221213,
		Types:         types,
		Buffering:     &lambdaapi.Buffering{TimeoutMs: lambdaapi.MinBufferingTimeoutMs},
		Destination:   dest,
	}
}

// apiCount counts the events of type typ.
func apiCount(evs []lambdaapi.TelemetryEvent, typ string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// apiOfType returns the events of type typ.
func apiOfType(evs []lambdaapi.TelemetryEvent, typ string) []lambdaapi.TelemetryEvent {
	var out []lambdaapi.TelemetryEvent
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// apiIndex is the index of the first event of type typ whose record's
// requestId is requestID (any record when requestID is empty), or -1.
func apiIndex(evs []lambdaapi.TelemetryEvent, typ, requestID string) int {
	for i, ev := range evs {
		if ev.Type != typ {
			continue
		}
		if requestID == "" {
			return i
		}
		var r struct {
			RequestID string `json:"requestId"`
		}
		if json.Unmarshal(ev.Record, &r) == nil && r.RequestID == requestID {
			return i
		}
	}
	return -1
}

// apiDecode decodes an event's record into a T.
func apiDecode[T any](t *testing.T, ev lambdaapi.TelemetryEvent) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(ev.Record, &v); err != nil {
		t.Fatalf("decode %s record %s: %v", ev.Type, ev.Record, err)
	}
	return v
}

// apiTypes lists the types of evs.
func apiTypes(evs []lambdaapi.TelemetryEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

// apiBatch is one delivery received by a collector.
type apiBatch struct {
	at     time.Time // when the delivery arrived
	path   string
	ctype  string
	body   []byte
	events []lambdaapi.TelemetryEvent
	err    error // decoding error
}

// apiCollector receives telemetry deliveries, over HTTP or TCP.
type apiCollector struct {
	// status, if set, answers the n-th HTTP request (from 0).
	status func(n int) int
	// gate, if set, holds the first HTTP request until it is closed.
	gate chan struct{}
	// gated is closed when the first request is being held.
	gated chan struct{}

	mu       sync.Mutex
	requests int
	batches  []apiBatch
	changed  chan struct{}
}

func newAPICollector() *apiCollector {
	return &apiCollector{changed: make(chan struct{})}
}

// holdFirst makes the collector hold its first HTTP request until release.
func (c *apiCollector) holdFirst() {
	c.gate = make(chan struct{})
	c.gated = make(chan struct{})
}

// release lets the held request finish.
func (c *apiCollector) release() { close(c.gate) }

func (c *apiCollector) add(b apiBatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches = append(c.batches, b)
	close(c.changed)
	c.changed = make(chan struct{})
}

// snapshot returns the batches received so far.
func (c *apiCollector) snapshot() []apiBatch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]apiBatch(nil), c.batches...)
}

// events returns every event received, in order.
func (c *apiCollector) events() []lambdaapi.TelemetryEvent {
	var out []lambdaapi.TelemetryEvent
	for _, b := range c.snapshot() {
		out = append(out, b.events...)
	}
	return out
}

// waitFor waits until cond holds for the events received so far.
func (c *apiCollector) waitFor(h *apiHarness, what string, cond func([]lambdaapi.TelemetryEvent) bool) {
	h.t.Helper()
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if cond(c.events()) {
			return
		}
		select {
		case <-ch:
		case <-h.ctx.Done():
			h.t.Fatalf("timed out waiting for the subscriber to receive %s; got %v", what, apiTypes(c.events()))
		}
	}
}

// waitBatches waits until at least n deliveries arrived.
func (c *apiCollector) waitBatches(h *apiHarness, n int) []apiBatch {
	h.t.Helper()
	for {
		c.mu.Lock()
		ch, got := c.changed, len(c.batches)
		c.mu.Unlock()
		if got >= n {
			return c.snapshot()
		}
		select {
		case <-ch:
		case <-h.ctx.Done():
			h.t.Fatalf("timed out waiting for %d deliveries; got %d", n, got)
		}
	}
}

// serveHTTP starts an HTTP listener on 127.0.0.1:0 for c and returns the
// subscription URI for it on sandbox.localdomain, with path /telemetry.
func (h *apiHarness) serveHTTP(c *apiCollector) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		c.mu.Lock()
		n := c.requests
		c.requests++
		c.mu.Unlock()
		if n == 0 && c.gate != nil {
			close(c.gated)
			select {
			case <-c.gate:
			case <-r.Context().Done():
			case <-h.ctx.Done():
			}
		}
		body, _ := io.ReadAll(r.Body)
		evs, err := lambdaapi.DecodeEvents(body)
		c.add(apiBatch{at: at, path: r.URL.Path, ctype: r.Header.Get("Content-Type"), body: body, events: evs, err: err})
		code := http.StatusOK
		if c.status != nil {
			code = c.status(n)
		}
		w.WriteHeader(code)
	}))
	h.onStop(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	return "http://" + lambdaapi.SandboxHost + ":" + strconv.Itoa(port) + "/telemetry"
}

// serveTCP starts a TCP listener on 127.0.0.1:0 for c, recording each line as
// one batch, and returns its port.
func (h *apiHarness) serveTCP(c *apiCollector) int {
	h.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	h.onStop(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range conns {
			conn.Close()
		}
	})
	h.goRun(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			h.goRun(func() {
				sc := bufio.NewScanner(conn)
				sc.Buffer(make([]byte, 64<<10), 4<<20)
				for sc.Scan() {
					line := append([]byte(nil), sc.Bytes()...)
					var ev lambdaapi.TelemetryEvent
					err := json.Unmarshal(line, &ev)
					c.add(apiBatch{at: time.Now(), body: line, events: []lambdaapi.TelemetryEvent{ev}, err: err})
				}
			})
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// httpDest is an HTTP destination.
func httpDest(uri string) lambdaapi.Destination {
	return lambdaapi.Destination{Protocol: lambdaapi.ProtocolHTTP, URI: uri}
}

// apiRaw is a raw answer received in the background.
type apiRaw struct {
	r   apiReply
	err error
}

// rawCall makes a raw request in the background.
func (h *apiHarness) rawCall(method, path string, hdr map[string]string, body []byte) <-chan apiRaw {
	ch := make(chan apiRaw, 1)
	h.goRun(func() {
		r, err := h.tryCall(method, path, hdr, body)
		ch <- apiRaw{r, err}
	})
	return ch
}

// recvRaw receives a raw answer.
func (h *apiHarness) recvRaw(ch <-chan apiRaw, what string) apiReply {
	h.t.Helper()
	r := apiRecv(h, ch, what)
	if r.err != nil {
		h.t.Fatalf("%s: %v", what, r.err)
	}
	return r.r
}

// rawExtNext calls an extension's next by identifier in the background.
func (h *apiHarness) rawExtNext(id string) <-chan apiRaw {
	return h.rawCall(http.MethodGet, apiExtension+"/event/next", map[string]string{lambdaapi.HeaderExtensionIdentifier: id}, nil)
}
