package lambdasim

// API-fidelity tests of the Runtime API (lambda-platform.md A1): the test is
// the attached runtime and drives /next, /response, /error and /init/error
// over HTTP.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

var (
	traceHeaderRE = regexp.MustCompile(`^Root=1-([0-9a-f]{8})-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$`)
	uuidRE        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// callerTrace is an X-Ray header as a caller would send it.
const callerTrace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:0"

func TestRuntimeNextHeaders(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	h := newAPIHarness(t, Config{FunctionName: "orders", Region: "eu-west-1", AccountID: "111122223333", Timeout: timeout, NoFreeze: true})
	errc := h.start()
	next := h.rawCall(http.MethodGet, apiRuntime+"/invocation/next", nil, nil)
	if err := apiRecv(h, errc, "Start"); err != nil {
		t.Fatalf("Start: %v", err)
	}

	const (
		payload  = `{"orderId":42}`
		clientCx = `{"client":{"installation_id":"inst-1","app_title":"shop"},"custom":{"k":"v"},"env":{"platform":"android"}}`
		cognito  = `{"cognitoIdentityId":"eu-west-1:1234","cognitoIdentityPoolId":"eu-west-1:pool"}`
		tenant   = "tenant-a"
	)
	before := time.Now()
	p := h.invoke(Request{Payload: []byte(payload), ClientContext: clientCx, CognitoIdentity: cognito, TenantID: tenant})
	after := time.Now()
	r := h.recvRaw(next, "runtime next")
	if r.code != http.StatusOK {
		t.Fatalf("next: %v", r)
	}
	hd := r.header
	if got := hd.Get(lambdaapi.HeaderRequestID); got != p.RequestID() || !uuidRE.MatchString(got) {
		t.Errorf("request id header %q, want %q (a UUID)", got, p.RequestID())
	}
	dl, err := strconv.ParseInt(hd.Get(lambdaapi.HeaderDeadlineMs), 10, 64)
	if err != nil {
		t.Errorf("deadline header %q: %v", hd.Get(lambdaapi.HeaderDeadlineMs), err)
	}
	if lo, hi := before.Add(timeout).UnixMilli(), after.Add(timeout).UnixMilli(); dl < lo || dl > hi {
		t.Errorf("deadline %d, want within [%d, %d] (invoke time + timeout, epoch ms)", dl, lo, hi)
	}
	if got, want := hd.Get(lambdaapi.HeaderInvokedFunctionARN), "arn:aws:lambda:eu-west-1:111122223333:function:orders"; got != want {
		t.Errorf("invoked ARN %q, want %q", got, want)
	}
	trace := hd.Get(lambdaapi.HeaderTraceID)
	if m := traceHeaderRE.FindStringSubmatch(trace); m == nil {
		t.Errorf("trace header %q does not look like Root=1-<8hex>-<24hex>;Parent=<16hex>;Sampled=1", trace)
	} else if epoch, _ := strconv.ParseInt(m[1], 16, 64); epoch < before.Unix() || epoch > after.Unix() {
		t.Errorf("trace root epoch %d, want the invoke time %d..%d", epoch, before.Unix(), after.Unix())
	}
	for k, want := range map[string]string{
		lambdaapi.HeaderClientContext:   clientCx,
		lambdaapi.HeaderCognitoIdentity: cognito,
		lambdaapi.HeaderTenantID:        tenant,
		"Content-Type":                  "application/json",
	} {
		if got := hd.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	invID := hd.Get(lambdaapi.HeaderInvocationID)
	if invID == "" || invID == p.RequestID() {
		t.Errorf("invocation id header %q: want a value of its own", invID)
	}
	if string(r.body) != payload {
		t.Errorf("next body %q, want the payload %q", r.body, payload)
	}

	// The runtime echoes the invocation id; the platform.start record carries
	// the same trace and tenant.
	expectAccepted(t, "response", h.call(http.MethodPost, respondPath(p.RequestID()),
		map[string]string{lambdaapi.HeaderInvocationID: invID}, []byte(`"done"`)))
	rc := h.rc()
	next2 := h.runtimeNext(rc)
	res := h.wait(p)
	if res.Status != lambdaapi.StatusSuccess || string(res.Payload) != `"done"` {
		t.Errorf("result %+v payload %s", res, res.Payload)
	}
	st := apiDecode[lambdaapi.Start](t, h.waitRecord(lambdaapi.EventStart, p.RequestID()))
	if st.Tracing == nil || st.Tracing.Value != trace || st.Tracing.Type != lambdaapi.TracingTypeXRay || st.TenantID != tenant || st.Version != "$LATEST" {
		t.Errorf("platform.start %+v (tracing %+v), want trace %q tenant %q version $LATEST", st, st.Tracing, trace, tenant)
	}

	// Without client context, cognito identity or tenant those headers are
	// left out; every invocation has new ids.
	p2 := h.invoke(Request{Payload: []byte(`{}`)})
	inv2 := h.recvInvocation(next2)
	if inv2.RequestID != p2.RequestID() || inv2.RequestID == p.RequestID() {
		t.Errorf("second request id %q (first %q, want %q)", inv2.RequestID, p.RequestID(), p2.RequestID())
	}
	if inv2.InvocationID == "" || inv2.InvocationID == invID {
		t.Errorf("second invocation id %q, first %q: want a new one", inv2.InvocationID, invID)
	}
	if inv2.ClientContext != "" || inv2.CognitoIdentity != "" || inv2.TenantID != "" {
		t.Errorf("absent context passed as %+v", inv2)
	}
	if inv2.TraceID == trace || !traceHeaderRE.MatchString(inv2.TraceID) {
		t.Errorf("second trace %q (first %q): want a new trace", inv2.TraceID, trace)
	}
	if err := rc.Respond(h.ctx, inv2.RequestID, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	h.runtimeNext(rc)
	h.wait(p2)
}

func TestRuntimeCallerTraceHeaderUsedAsIs(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()
	p := h.invoke(Request{Payload: []byte(`{}`), TraceHeader: callerTrace})
	inv := h.recvInvocation(next)
	if inv.TraceID != callerTrace {
		t.Errorf("trace header %q, want the caller's %q", inv.TraceID, callerTrace)
	}
	if err := rc.Respond(h.ctx, inv.RequestID, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	h.runtimeNext(rc)
	h.wait(p)
	for _, typ := range []string{lambdaapi.EventStart, lambdaapi.EventRuntimeDone, lambdaapi.EventReport} {
		var r struct{ Tracing *lambdaapi.Tracing }
		ev := h.waitRecord(typ, p.RequestID())
		if err := json.Unmarshal(ev.Record, &r); err != nil || r.Tracing == nil || r.Tracing.Value != callerTrace {
			t.Errorf("%s record %s: want tracing value %q", typ, ev.Record, callerTrace)
		}
	}
}

func TestRuntimeNextLongPollsUntilInvoked(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()
	for i := 0; i < 2; i++ {
		// Start has returned, so the platform has seen this next; a few more
		// round trips later it must still be waiting.
		for j := 0; j < 3; j++ {
			expectError(t, "probe", h.call(http.MethodPost, respondPath("no-such-request"), nil, []byte("{}")),
				http.StatusBadRequest, lambdaapi.ErrTypeInvalidRequestID)
		}
		apiNotReady(h, next, "runtime next without an invocation")
		p := h.invoke(Request{Payload: []byte(strconv.Itoa(i))})
		inv := h.recvInvocation(next)
		if inv.RequestID != p.RequestID() || string(inv.Payload) != strconv.Itoa(i) {
			t.Fatalf("next returned %+v, want request %s", inv, p.RequestID())
		}
		if err := rc.Respond(h.ctx, inv.RequestID, bytes.NewReader(inv.Payload)); err != nil {
			t.Fatal(err)
		}
		next = h.runtimeNext(rc)
		h.waitRecord(lambdaapi.EventRuntimeDone, p.RequestID())
		h.wait(p)
	}
}

// TestRuntimeNextBeforeStartWaitsForInit: an attached runtime may ask for
// work before the environment's init has begun (a test starting its runtime
// loop and Start side by side). Its next waits for that init and then gets
// the first invocation, instead of being answered by the environment that
// init replaces — which left init waiting for a next that never came.
func TestRuntimeNextBeforeStartWaitsForInit(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc := h.rc()
	next := h.runtimeNext(rc)
	if err := h.s.waitFor(h.ctx, func() bool { return h.s.earlyNexts == 1 }); err != nil {
		t.Fatalf("the next never waited for init: %v", err)
	}
	if err := apiRecv(h, h.start(), "Start"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	p := h.invoke(Request{Payload: []byte(`"first"`)})
	inv := h.recvInvocation(next)
	if inv.RequestID != p.RequestID() {
		t.Fatalf("next returned %+v, want request %s", inv, p.RequestID())
	}
	if err := rc.Respond(h.ctx, inv.RequestID, bytes.NewReader(inv.Payload)); err != nil {
		t.Fatal(err)
	}
	h.runtimeNext(rc)
	h.wait(p)
}

func TestRuntimeResponseAccepted(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()
	p := h.invoke(Request{Payload: []byte(`{"q":1}`)})
	inv := h.recvInvocation(next)
	r := h.call(http.MethodPost, respondPath(inv.RequestID), map[string]string{"Content-Type": "application/json"}, []byte(`{"answer":42}`))
	expectAccepted(t, "response", r)
	if string(bytes.TrimSpace(r.body)) != `{"status":"OK"}` {
		t.Errorf("response answer body %q, want {\"status\":\"OK\"}", r.body)
	}
	// The caller has the response before the runtime asks for more work.
	if status, payload := h.response(p); status != lambdaapi.StatusSuccess || string(payload) != `{"answer":42}` {
		t.Errorf("caller got %s %s", status, payload)
	}
	h.runtimeNext(rc)
	res := h.wait(p)
	if res.Status != lambdaapi.StatusSuccess || res.ErrorType != "" || string(res.Payload) != `{"answer":42}` || res.Streamed {
		t.Errorf("result %+v payload %s", res, res.Payload)
	}
	rd := apiDecode[lambdaapi.RuntimeDone](t, h.waitRecord(lambdaapi.EventRuntimeDone, p.RequestID()))
	if rd.Status != lambdaapi.StatusSuccess || rd.Metrics == nil || rd.Metrics.ProducedBytes != int64(len(`{"answer":42}`)) {
		t.Errorf("runtimeDone %+v metrics %+v", rd, rd.Metrics)
	}
}

// TestRuntimeRejectedRequestsChangeNothing sends every kind of bad request
// while an invocation is in progress, then completes it normally.
func TestRuntimeRejectedRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()

	// A first invocation supplies a finished request id and a stale
	// invocation id.
	p1 := h.invoke(Request{Payload: []byte(`1`)})
	inv1 := h.recvInvocation(next)
	if err := rc.Respond(h.ctx, inv1.RequestID, strings.NewReader("1")); err != nil {
		t.Fatal(err)
	}
	next = h.runtimeNext(rc)
	h.wait(p1)

	p := h.invoke(Request{Payload: []byte(`2`)})
	inv := h.recvInvocation(next)
	id := inv.RequestID
	stale := map[string]string{lambdaapi.HeaderInvocationID: inv1.InvocationID}
	for _, c := range []struct {
		name         string
		method, path string
		hdr          map[string]string
		code         int
		errType      string
	}{
		{"response to an unknown request id", http.MethodPost, respondPath("8476a536-e9f4-11e8-9739-2dfe598c3fcd"), nil, 400, lambdaapi.ErrTypeInvalidRequestID},
		{"error for an unknown request id", http.MethodPost, errorPath("8476a536-e9f4-11e8-9739-2dfe598c3fcd"), nil, 400, lambdaapi.ErrTypeInvalidRequestID},
		{"response to a finished request id", http.MethodPost, respondPath(inv1.RequestID), nil, 400, lambdaapi.ErrTypeInvalidRequestID},
		{"response with an invalid response mode", http.MethodPost, respondPath(id), map[string]string{lambdaapi.HeaderResponseMode: "buffered"}, 400, lambdaapi.ErrTypeInvalidFunctionResponseMode},
		{"response with a stale invocation id", http.MethodPost, respondPath(id), stale, 410, lambdaapi.ErrTypeInvalidInvocationID},
		{"error with a stale invocation id", http.MethodPost, errorPath(id), stale, 410, lambdaapi.ErrTypeInvalidInvocationID},
		{"next before the invocation is answered", http.MethodGet, apiRuntime + "/invocation/next", nil, 403, lambdaapi.ErrTypeInvalidStateTransition},
		{"init error after init", http.MethodPost, apiRuntime + "/init/error", map[string]string{lambdaapi.HeaderFunctionErrorType: "Runtime.Late"}, 403, lambdaapi.ErrTypeInvalidStateTransition},
	} {
		var body []byte
		if c.method == http.MethodPost {
			body = []byte(`{"late":true}`)
		}
		expectError(t, c.name, h.call(c.method, c.path, c.hdr, body), c.code, c.errType)
	}

	expectAccepted(t, "response", h.call(http.MethodPost, respondPath(id), map[string]string{lambdaapi.HeaderInvocationID: inv.InvocationID}, []byte(`"two"`)))
	h.runtimeNext(rc)
	res := h.wait(p)
	if res.Status != lambdaapi.StatusSuccess || string(res.Payload) != `"two"` {
		t.Errorf("result %+v payload %s", res, res.Payload)
	}
	evs := h.s.Telemetry()
	if n := apiCount(evs, lambdaapi.EventInitRuntimeDone); n != 1 {
		t.Errorf("%d initRuntimeDone events, want 1", n)
	}
	var done []lambdaapi.RuntimeDone
	for _, ev := range apiOfType(evs, lambdaapi.EventRuntimeDone) {
		if rd := apiDecode[lambdaapi.RuntimeDone](t, ev); rd.RequestID == id {
			done = append(done, rd)
		}
	}
	if len(done) != 1 || done[0].Status != lambdaapi.StatusSuccess {
		t.Errorf("runtimeDone records of %s: %+v, want one success", id, done)
	}
}

func TestRuntimeDuplicateResponseFirstWins(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()
	p := h.invoke(Request{Payload: []byte(`{}`)})
	inv := h.recvInvocation(next)
	expectAccepted(t, "first response", h.call(http.MethodPost, respondPath(inv.RequestID), nil, []byte(`"first"`)))
	expectError(t, "second response", h.call(http.MethodPost, respondPath(inv.RequestID), nil, []byte(`"second"`)),
		http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition)
	expectError(t, "error after response", h.call(http.MethodPost, errorPath(inv.RequestID),
		map[string]string{lambdaapi.HeaderFunctionErrorType: "Handler.Late"}, []byte(`{"errorMessage":"late","errorType":"Handler.Late"}`)),
		http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition)
	h.runtimeNext(rc)
	res := h.wait(p)
	if res.Status != lambdaapi.StatusSuccess || string(res.Payload) != `"first"` {
		t.Errorf("result %+v payload %s, want the first response", res, res.Payload)
	}
	if n := apiCount(h.s.Telemetry(), lambdaapi.EventRuntimeDone); n != 1 {
		t.Errorf("%d runtimeDone events, want 1", n)
	}
}

func TestRuntimeResponseAfterErrorRejected(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()
	p := h.invoke(Request{Payload: []byte(`{}`)})
	inv := h.recvInvocation(next)
	if err := rc.RespondError(h.ctx, inv.RequestID, lambdaapi.ErrorResponse{ErrorType: "Handler.Failed", ErrorMessage: "first"}); err != nil {
		t.Fatal(err)
	}
	expectError(t, "response after error", h.call(http.MethodPost, respondPath(inv.RequestID), nil, []byte(`"late"`)),
		http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition)
	expectError(t, "second error", h.call(http.MethodPost, errorPath(inv.RequestID), nil, []byte(`{}`)),
		http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition)
	h.runtimeNext(rc)
	res := h.wait(p)
	if res.Status != lambdaapi.StatusError || res.ErrorType != "Handler.Failed" {
		t.Errorf("result %+v payload %s", res, res.Payload)
	}
}

func TestRuntimeResponseSizeLimit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		size int
		ok   bool
	}{
		{"largest accepted (6 MiB + 100 B)", lambdaapi.MaxBufferedResponseBytes, true},
		{"one byte over", lambdaapi.MaxBufferedResponseBytes + 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newAPIHarness(t, Config{NoFreeze: true})
			rc, next := h.initRuntime()
			p := h.invoke(Request{Payload: []byte(`{}`)})
			inv := h.recvInvocation(next)
			body := bytes.Repeat([]byte("x"), c.size)
			r := h.call(http.MethodPost, respondPath(inv.RequestID), nil, body)
			if c.ok {
				expectAccepted(t, "response", r)
			} else {
				expectError(t, "response", r, http.StatusRequestEntityTooLarge, lambdaapi.ErrTypeRequestEntityTooLarge)
			}
			status, payload := h.response(p)
			h.runtimeNext(rc)
			res := h.wait(p)
			if c.ok {
				if status != lambdaapi.StatusSuccess || res.Status != lambdaapi.StatusSuccess || len(res.Payload) != c.size {
					t.Errorf("status %s/%s, payload %d bytes; want success with %d bytes", status, res.Status, len(res.Payload), c.size)
				}
				return
			}
			var er lambdaapi.ErrorResponse
			if err := json.Unmarshal(payload, &er); err != nil || er.ErrorType != lambdaapi.ErrTypeResponseTooLarge {
				t.Errorf("caller payload %.200s: want an error document of type %s", payload, lambdaapi.ErrTypeResponseTooLarge)
			}
			if status != lambdaapi.StatusError || res.Status != lambdaapi.StatusError || res.ErrorType != lambdaapi.ErrTypeResponseTooLarge {
				t.Errorf("status %s, result %s %s; want error %s", status, res.Status, res.ErrorType, lambdaapi.ErrTypeResponseTooLarge)
			}
			rd := apiDecode[lambdaapi.RuntimeDone](t, h.waitRecord(lambdaapi.EventRuntimeDone, p.RequestID()))
			rep := apiDecode[lambdaapi.Report](t, h.waitRecord(lambdaapi.EventReport, p.RequestID()))
			if rd.Status != lambdaapi.StatusError || rd.ErrorType != lambdaapi.ErrTypeResponseTooLarge || rep.Status != lambdaapi.StatusError {
				t.Errorf("runtimeDone %+v, report %+v", rd, rep)
			}
		})
	}
}

func TestRuntimeZeroByteResponse(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()
	p := h.invoke(Request{})
	inv := h.recvInvocation(next)
	if len(inv.Payload) != 0 {
		t.Errorf("empty event delivered as %q", inv.Payload)
	}
	expectAccepted(t, "empty response", h.call(http.MethodPost, respondPath(inv.RequestID), nil, nil))
	h.runtimeNext(rc)
	res := h.wait(p)
	if res.Status != lambdaapi.StatusSuccess || len(res.Payload) != 0 {
		t.Errorf("result %+v payload %q, want success with an empty payload", res, res.Payload)
	}
}

func TestRuntimeInvocationError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		errType string
		body    string
		want    lambdaapi.ErrorResponse
	}{
		{
			name:    "JSON body",
			errType: "Handler.Failed",
			body:    `{"errorMessage":"boom","errorType":"Handler.Failed","stackTrace":["main.go:10","main.go:20"]}`,
			want:    lambdaapi.ErrorResponse{ErrorMessage: "boom", ErrorType: "Handler.Failed", StackTrace: []string{"main.go:10", "main.go:20"}},
		},
		{
			name:    "non-JSON body",
			errType: "Runtime.Crashed",
			body:    "segmentation fault at 0x0",
			want:    lambdaapi.ErrorResponse{ErrorMessage: "segmentation fault at 0x0", ErrorType: "Runtime.Crashed"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newAPIHarness(t, Config{NoFreeze: true})
			rc, next := h.initRuntime()
			p := h.invoke(Request{Payload: []byte(`{}`)})
			inv := h.recvInvocation(next)
			expectAccepted(t, "error", h.call(http.MethodPost, errorPath(inv.RequestID),
				map[string]string{lambdaapi.HeaderFunctionErrorType: c.errType, lambdaapi.HeaderInvocationID: inv.InvocationID}, []byte(c.body)))
			status, payload := h.response(p)
			var got lambdaapi.ErrorResponse
			if status != lambdaapi.StatusError || json.Unmarshal(payload, &got) != nil ||
				got.ErrorMessage != c.want.ErrorMessage || got.ErrorType != c.want.ErrorType || strings.Join(got.StackTrace, "|") != strings.Join(c.want.StackTrace, "|") {
				t.Errorf("caller got %s %s, want error %+v", status, payload, c.want)
			}
			h.runtimeNext(rc)
			res := h.wait(p)
			if res.Status != lambdaapi.StatusError || res.ErrorType != c.errType {
				t.Errorf("result %s %s, want error %s", res.Status, res.ErrorType, c.errType)
			}
			rd := apiDecode[lambdaapi.RuntimeDone](t, h.waitRecord(lambdaapi.EventRuntimeDone, p.RequestID()))
			rep := apiDecode[lambdaapi.Report](t, h.waitRecord(lambdaapi.EventReport, p.RequestID()))
			if rd.Status != lambdaapi.StatusError || rd.ErrorType != c.errType || rep.Status != lambdaapi.StatusError || rep.ErrorType != c.errType {
				t.Errorf("runtimeDone %+v, report %+v: want status error, errorType %s", rd, rep, c.errType)
			}
		})
	}
}

// streamResponse posts a streamed response whose body is written in chunks
// through a pipe, with trailers when given, and returns the answer.
func streamResponse(h *apiHarness, inv *lambdaapi.Invocation, chunks []string, trailer http.Header) apiReply {
	h.t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, "http://"+h.s.Addr()+respondPath(inv.RequestID), pr)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set(lambdaapi.HeaderResponseMode, lambdaapi.ResponseModeStreaming)
	req.Header.Set(lambdaapi.HeaderInvocationID, inv.InvocationID)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Trailer = trailer // final values, set before sending
	ch := make(chan apiRaw, 1)
	h.goRun(func() {
		resp, err := h.hc.Do(req)
		if err != nil {
			ch <- apiRaw{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- apiRaw{apiReply{code: resp.StatusCode, header: resp.Header, body: b}, err}
	})
	for _, c := range chunks {
		if _, err := io.WriteString(pw, c); err != nil {
			h.t.Fatalf("write chunk: %v", err)
		}
	}
	pw.Close()
	return h.recvRaw(ch, "streamed response")
}

func TestRuntimeStreamingResponse(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()
	p := h.invoke(Request{Payload: []byte(`{}`)})
	inv := h.recvInvocation(next)
	chunks := []string{"data: one\n\n", "data: two\n\n", strings.Repeat("z", 100_000)}
	expectAccepted(t, "streamed response", streamResponse(h, inv, chunks, nil))
	h.runtimeNext(rc)
	res := h.wait(p)
	if res.Status != lambdaapi.StatusSuccess || !res.Streamed || string(res.Payload) != strings.Join(chunks, "") {
		t.Errorf("result status %s streamed %v payload %d bytes, want success, streamed, %d bytes", res.Status, res.Streamed, len(res.Payload), len(strings.Join(chunks, "")))
	}
}

func TestRuntimeStreamingErrorTrailers(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()
	p := h.invoke(Request{Payload: []byte(`{}`)})
	inv := h.recvInvocation(next)
	errDoc, _ := json.Marshal(lambdaapi.ErrorResponse{ErrorType: "Runtime.StreamError", ErrorMessage: "upstream closed", StackTrace: []string{"handler.go:7"}})
	trailer := http.Header{
		lambdaapi.HeaderFunctionErrorType: {"Runtime.StreamError"},
		lambdaapi.HeaderFunctionErrorBody: {base64.StdEncoding.EncodeToString(errDoc)},
	}
	r := streamResponse(h, inv, []string{"partial ", "output"}, trailer)
	if r.code != http.StatusAccepted {
		t.Errorf("streamed response with error trailers: %v", r)
	}
	status, payload := h.response(p)
	var got lambdaapi.ErrorResponse
	if status != lambdaapi.StatusError || json.Unmarshal(payload, &got) != nil || got.ErrorType != "Runtime.StreamError" || got.ErrorMessage != "upstream closed" {
		t.Errorf("caller got %s %s, want the trailer's error document", status, payload)
	}
	h.runtimeNext(rc)
	res := h.wait(p)
	if res.Status != lambdaapi.StatusError || res.ErrorType != "Runtime.StreamError" {
		t.Errorf("result %s %s, want error Runtime.StreamError", res.Status, res.ErrorType)
	}
	rd := apiDecode[lambdaapi.RuntimeDone](t, h.waitRecord(lambdaapi.EventRuntimeDone, p.RequestID()))
	if rd.Status != lambdaapi.StatusError || rd.ErrorType != "Runtime.StreamError" {
		t.Errorf("runtimeDone %+v", rd)
	}
}

func TestRuntimeInvalidResponseMode(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()
	p := h.invoke(Request{Payload: []byte(`{}`)})
	inv := h.recvInvocation(next)
	for _, mode := range []string{"buffered", "Streaming", "stream"} {
		expectError(t, "mode "+mode, h.call(http.MethodPost, respondPath(inv.RequestID), map[string]string{lambdaapi.HeaderResponseMode: mode}, []byte(`"x"`)),
			http.StatusBadRequest, lambdaapi.ErrTypeInvalidFunctionResponseMode)
	}
	// The invocation is still waiting for its response.
	expectAccepted(t, "response", h.call(http.MethodPost, respondPath(inv.RequestID), nil, []byte(`"ok"`)))
	h.runtimeNext(rc)
	if res := h.wait(p); res.Status != lambdaapi.StatusSuccess || string(res.Payload) != `"ok"` {
		t.Errorf("result %+v payload %s", res, res.Payload)
	}
}

func TestRuntimeInitError(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	errc := h.start()
	expectAccepted(t, "init error", h.call(http.MethodPost, apiRuntime+"/init/error",
		map[string]string{lambdaapi.HeaderFunctionErrorType: "Runtime.TestInit"},
		[]byte(`{"errorMessage":"cannot load handler","errorType":"Runtime.TestInit","stackTrace":[]}`)))
	err := apiRecv(h, errc, "Start")
	var ie *InitError
	if !errors.As(err, &ie) || ie.ErrorType != "Runtime.TestInit" || ie.Status != lambdaapi.StatusError {
		t.Fatalf("Start returned %v, want an *InitError of type Runtime.TestInit", err)
	}
	evs := h.s.Telemetry()
	ird := apiOfType(evs, lambdaapi.EventInitRuntimeDone)
	irp := apiOfType(evs, lambdaapi.EventInitReport)
	if len(ird) != 1 || len(irp) != 1 {
		t.Fatalf("telemetry %v: want one initRuntimeDone and one initReport", apiTypes(evs))
	}
	if r := apiDecode[lambdaapi.InitRuntimeDone](t, ird[0]); r.Status != lambdaapi.StatusError || r.ErrorType != "Runtime.TestInit" || r.Phase != lambdaapi.PhaseInit {
		t.Errorf("initRuntimeDone %+v", r)
	}
	if r := apiDecode[lambdaapi.InitReport](t, irp[0]); r.Status != lambdaapi.StatusError || r.ErrorType != "Runtime.TestInit" {
		t.Errorf("initReport %+v", r)
	}
	// Init is over: another init error is refused.
	expectError(t, "init error after the failed init", h.call(http.MethodPost, apiRuntime+"/init/error",
		map[string]string{lambdaapi.HeaderFunctionErrorType: "Runtime.TestInit"}, nil), http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition)

	// The next invocation re-runs init in the invoke phase.
	type started struct {
		p   *Pending
		err error
	}
	pc := make(chan started, 1)
	h.goRun(func() {
		p, err := h.s.InvokeAsync(h.ctx, Request{Payload: []byte(`"again"`)})
		pc <- started{p, err}
	})
	h.waitTelemetry("a second initStart", func(evs []lambdaapi.TelemetryEvent) bool {
		return apiCount(evs, lambdaapi.EventInitStart) == 2
	})
	if is := apiDecode[lambdaapi.InitStart](t, apiOfType(h.s.Telemetry(), lambdaapi.EventInitStart)[1]); is.Phase != lambdaapi.PhaseInvoke {
		t.Errorf("second initStart phase %q, want invoke", is.Phase)
	}
	rc := h.rc()
	next := h.runtimeNext(rc)
	st := apiRecv(h, pc, "InvokeAsync")
	if st.err != nil {
		t.Fatal(st.err)
	}
	inv := h.recvInvocation(next)
	if err := rc.Respond(h.ctx, inv.RequestID, bytes.NewReader(inv.Payload)); err != nil {
		t.Fatal(err)
	}
	h.runtimeNext(rc)
	res := h.wait(st.p)
	if res.Status != lambdaapi.StatusSuccess || string(res.Payload) != `"again"` || res.InitDurationMs == nil {
		t.Errorf("result %+v payload %s, want success with an init duration", res, res.Payload)
	}
}

// TestNextAnsweredWhenShutDown checks that long polls still waiting when the
// environment shuts down get an error (500: the caller should exit), not an
// empty 200 that reads as an event without content.
func TestNextAnsweredWhenShutDown(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	errc := h.start()
	x := h.register("x", lambdaapi.Invoke)
	xn := h.rawExtNext(x.ID())
	rn := h.rawCall(http.MethodGet, apiRuntime+"/invocation/next", nil, nil)
	if err := apiRecv(h, errc, "Start"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.Shutdown(h.ctx); err != nil {
		t.Fatal(err)
	}
	if r := h.recvRaw(rn, "runtime next"); r.code != http.StatusInternalServerError {
		t.Errorf("runtime next pending at shutdown: %v, want HTTP 500", r)
	}
	if r := h.recvRaw(xn, "extension next"); r.code != http.StatusInternalServerError {
		t.Errorf("extension next pending at shutdown: %v, want HTTP 500", r)
	}
}

// TestInvokeWithoutStartServesTheAPI checks that an Invoke on a Sim that was
// never started runs init with the Runtime API already served, so the
// runtime process finds it at AWS_LAMBDA_RUNTIME_API.
func TestInvokeWithoutStartServesTheAPI(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{Runtime: &Process{Path: bins.rt}, NoFreeze: true})
	res, err := s.Invoke(testCtx(t), Request{Payload: []byte(`{"action":"echo"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != lambdaapi.StatusSuccess || string(res.Payload) != `{"action":"echo"}` || res.InitDurationMs == nil {
		t.Errorf("result %+v payload %s, want success after an init", res, res.Payload)
	}
}
