package lambdasim

// API-fidelity tests of the Extensions API (lambda-platform.md A3): the test
// is an attached external extension named x (configured with an empty Path)
// and, where needed, internal extensions (names not configured) and the
// attached runtime.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// attachedX is the configuration of an attached external extension x.
var attachedX = []Process{{Name: "x"}}

func registerRaw(h *apiHarness, name, body string, hdr map[string]string) apiReply {
	h.t.Helper()
	all := map[string]string{}
	if name != "" {
		all[lambdaapi.HeaderExtensionName] = name
	}
	for k, v := range hdr {
		all[k] = v
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return h.call(http.MethodPost, apiExtension+"/register", all, b)
}

func TestExtensionRegister(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{FunctionName: "fn", FunctionVersion: "7", Handler: "index.handler", AccountID: "210987654321",
		NoFreeze: true, Extensions: attachedX})
	errc := h.start()

	r := registerRaw(h, "x", `{"events":["INVOKE","SHUTDOWN"]}`, nil)
	xid := r.header.Get(lambdaapi.HeaderExtensionIdentifier)
	if r.code != http.StatusOK || !uuidRE.MatchString(xid) {
		t.Fatalf("register x: %v, identifier %q", r, xid)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("register body %s: %v", r.body, err)
	}
	want := map[string]any{"functionName": "fn", "functionVersion": "7", "handler": "index.handler"}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("register body %v, want %v (no accountId without the accountId feature)", body, want)
	}

	// An internal extension asking for the accountId feature gets it.
	r = registerRaw(h, "helper", `{"events":["INVOKE"]}`, map[string]string{lambdaapi.HeaderExtensionAcceptFeature: "someFeature, accountId"})
	hid := r.header.Get(lambdaapi.HeaderExtensionIdentifier)
	var rr lambdaapi.RegisterResponse
	if r.code != http.StatusOK || json.Unmarshal(r.body, &rr) != nil || rr.AccountID != "210987654321" || rr.FunctionName != "fn" {
		t.Errorf("register helper with accountId feature: %v", r)
	}
	if !uuidRE.MatchString(hid) || hid == xid {
		t.Errorf("helper identifier %q (x has %q): want a new UUID", hid, xid)
	}
	if got := h.s.Extensions(); !reflect.DeepEqual(got, []string{"helper", "x"}) {
		t.Errorf("Extensions() = %v", got)
	}
	recs := map[string]lambdaapi.ExtensionRecord{}
	for _, ev := range apiOfType(h.s.Telemetry(), lambdaapi.EventExtension) {
		rec := apiDecode[lambdaapi.ExtensionRecord](t, ev)
		recs[rec.Name] = rec
	}
	if r := recs["x"]; r.State != "Registered" || !reflect.DeepEqual(r.Events, []string{"INVOKE", "SHUTDOWN"}) {
		t.Errorf("platform.extension of x: %+v", r)
	}
	if r := recs["helper"]; r.State != "Registered" || !reflect.DeepEqual(r.Events, []string{"INVOKE"}) {
		t.Errorf("platform.extension of helper: %+v", r)
	}

	// Init ends when both extensions and the runtime called next.
	h.rawExtNext(xid)
	h.rawExtNext(hid)
	h.finishInit(h.rc(), errc)
}

func TestExtensionRegisterEventsOptional(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	h.start()
	bodies := []string{`{"events":null}`, `{}`, ``, `{"events":[]}`, " \n"}
	for i, body := range bodies {
		name := fmt.Sprintf("ext-%d", i)
		r := registerRaw(h, name, body, map[string]string{"Content-Type": "application/json"})
		if r.code != http.StatusOK || r.header.Get(lambdaapi.HeaderExtensionIdentifier) == "" {
			t.Errorf("register with body %q: %v", body, r)
		}
	}
	if got := len(h.s.Extensions()); got != len(bodies) {
		t.Errorf("%d extensions registered, want %d", got, len(bodies))
	}
	for _, ev := range apiOfType(h.s.Telemetry(), lambdaapi.EventExtension) {
		if !strings.Contains(string(ev.Record), `"events":[]`) {
			t.Errorf("platform.extension %s: want an empty events list", ev.Record)
		}
	}
}

func TestExtensionRegisterRejected(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	h.start()
	for _, c := range []struct {
		what, name, body string
		code             int
		errType          string
	}{
		{"missing name", "", `{"events":["INVOKE"]}`, 403, lambdaapi.ErrTypeInvalidExtensionName},
		{"bad JSON", "helper", `{"events":["INVOKE"`, 400, lambdaapi.ErrTypeInvalidRequestFormat},
		{"events not a list", "helper", `{"events":"INVOKE"}`, 400, lambdaapi.ErrTypeInvalidRequestFormat},
		{"unknown event type", "helper", `{"events":["INVOKE","RESTORE"]}`, 403, lambdaapi.ErrTypeInvalidEventType},
		{"lowercase event type", "helper", `{"events":["invoke"]}`, 403, lambdaapi.ErrTypeInvalidEventType},
		{"internal extension registering SHUTDOWN", "helper", `{"events":["SHUTDOWN"]}`, 403, lambdaapi.ErrTypeInvalidEventType},
		{"internal extension registering INVOKE and SHUTDOWN", "helper", `{"events":["INVOKE","SHUTDOWN"]}`, 403, lambdaapi.ErrTypeInvalidEventType},
	} {
		expectError(t, c.what, registerRaw(h, c.name, c.body, nil), c.code, c.errType)
	}
	if got := h.s.Extensions(); len(got) != 0 {
		t.Fatalf("rejected registrations left %v registered", got)
	}
	// Nothing was taken by the rejected attempts.
	if r := registerRaw(h, "helper", `{"events":["INVOKE"]}`, nil); r.code != http.StatusOK {
		t.Errorf("internal extension registering INVOKE: %v", r)
	}
	if r := registerRaw(h, "quiet", "", nil); r.code != http.StatusOK {
		t.Errorf("internal extension registering nothing: %v", r)
	}
	if r := registerRaw(h, "helper", `{"events":["INVOKE"]}`, nil); r.code != http.StatusForbidden {
		t.Errorf("duplicate name: %v, want 403", r)
	}
	if r := registerRaw(h, "x", `{"events":["SHUTDOWN"]}`, nil); r.code != http.StatusOK {
		t.Errorf("external extension registering SHUTDOWN: %v", r)
	}
	if r := registerRaw(h, "x", `{"events":["SHUTDOWN"]}`, nil); r.code != http.StatusForbidden {
		t.Errorf("duplicate external name: %v, want 403", r)
	}
	if got := h.s.Extensions(); !reflect.DeepEqual(got, []string{"helper", "quiet", "x"}) {
		t.Errorf("Extensions() = %v", got)
	}
	if n := apiCount(h.s.Telemetry(), lambdaapi.EventExtension); n != 3 {
		t.Errorf("%d platform.extension events, want 3", n)
	}
}

func TestExtensionTooMany(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	h.start()
	for i := 0; i < 10; i++ {
		if r := registerRaw(h, fmt.Sprintf("ext-%02d", i), "", nil); r.code != http.StatusOK {
			t.Fatalf("register extension %d: %v", i+1, r)
		}
	}
	expectError(t, "11th extension", registerRaw(h, "ext-10", "", nil), http.StatusForbidden, lambdaapi.ErrTypeTooManyExtensions)
	if got := len(h.s.Extensions()); got != 10 {
		t.Errorf("%d extensions registered, want 10", got)
	}
}

func TestExtensionRegistrationClosed(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	errc := h.start()
	early := h.register("early")
	// The runtime's first next closes registration, while init still waits
	// for the extension's first next.
	next := h.runtimeNext(h.rc())
	h.waitTelemetry("initRuntimeDone", func(evs []lambdaapi.TelemetryEvent) bool {
		return apiCount(evs, lambdaapi.EventInitRuntimeDone) == 1
	})
	expectError(t, "register during init after the runtime's first next", registerRaw(h, "late", "", nil),
		http.StatusForbidden, lambdaapi.ErrTypeRegistrationClosed)
	apiNotReady(h, errc, "Start before the extension's first next")
	h.extNext(early)
	if err := apiRecv(h, errc, "Start"); err != nil {
		t.Fatal(err)
	}
	expectError(t, "register after init", registerRaw(h, "later", `{"events":["INVOKE"]}`, nil),
		http.StatusForbidden, lambdaapi.ErrTypeRegistrationClosed)
	if got := h.s.Extensions(); !reflect.DeepEqual(got, []string{"early"}) {
		t.Errorf("Extensions() = %v", got)
	}
	apiNotReady(h, next, "runtime next without an invocation")
}

func TestExtensionIdentifierRequired(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	errc := h.start()
	x := h.register("x", lambdaapi.Invoke)
	unknown := "3da1f2dc-3222-475e-9205-e2e6c6318895"
	errHdr := func(id string) map[string]string {
		m := map[string]string{lambdaapi.HeaderExtensionErrorType: "Extension.Test"}
		if id != "" {
			m[lambdaapi.HeaderExtensionIdentifier] = id
		}
		return m
	}
	idHdr := func(id string) map[string]string {
		if id == "" {
			return nil
		}
		return map[string]string{lambdaapi.HeaderExtensionIdentifier: id}
	}
	sub := []byte(`{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/t"}}`)
	for _, c := range []struct {
		what         string
		method, path string
		hdr          map[string]string
		body         []byte
		errType      string
	}{
		{"next without identifier", http.MethodGet, apiExtension + "/event/next", idHdr(""), nil, lambdaapi.ErrTypeMissingExtensionIdentifier},
		{"next with unknown identifier", http.MethodGet, apiExtension + "/event/next", idHdr(unknown), nil, lambdaapi.ErrTypeUnknownExtensionIdentifier},
		{"init/error without identifier", http.MethodPost, apiExtension + "/init/error", errHdr(""), nil, lambdaapi.ErrTypeMissingExtensionIdentifier},
		{"init/error with unknown identifier", http.MethodPost, apiExtension + "/init/error", errHdr(unknown), nil, lambdaapi.ErrTypeUnknownExtensionIdentifier},
		{"exit/error without identifier", http.MethodPost, apiExtension + "/exit/error", errHdr(""), nil, lambdaapi.ErrTypeMissingExtensionIdentifier},
		{"exit/error with unknown identifier", http.MethodPost, apiExtension + "/exit/error", errHdr(unknown), nil, lambdaapi.ErrTypeUnknownExtensionIdentifier},
		{"subscribe without identifier", http.MethodPut, apiTelemetry, idHdr(""), sub, lambdaapi.ErrTypeMissingExtensionIdentifier},
		{"subscribe with unknown identifier", http.MethodPut, apiTelemetry, idHdr(unknown), sub, lambdaapi.ErrTypeUnknownExtensionIdentifier},
	} {
		expectError(t, c.what, h.call(c.method, c.path, c.hdr, c.body), http.StatusForbidden, c.errType)
	}
	// None of that affected init.
	xn := h.extNext(x)
	rc := h.rc()
	next := h.finishInit(rc, errc)
	p := h.invoke(Request{Payload: []byte(`{}`)})
	if ev := h.recvEvent(xn); ev.EventType != lambdaapi.Invoke || ev.RequestID != p.RequestID() {
		t.Errorf("x got %+v", ev)
	}
	inv := h.recvInvocation(next)
	if err := rc.Respond(h.ctx, inv.RequestID, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	h.runtimeNext(rc)
	h.extNext(x)
	if res := h.wait(p); res.Status != lambdaapi.StatusSuccess {
		t.Errorf("result %+v", res)
	}
}

func TestExtensionInvokeEvent(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	h := newAPIHarness(t, Config{FunctionName: "billing", Region: "ap-southeast-2", AccountID: "444455556666", Timeout: timeout,
		NoFreeze: true, Extensions: attachedX})
	errc := h.start()
	x := h.register("x", lambdaapi.Invoke, lambdaapi.Shutdown)
	quiet := h.register("quiet") // internal, no events
	xn := h.rawExtNext(x.ID())
	qn := h.extNext(quiet)
	rc := h.rc()
	next := h.finishInit(rc, errc)

	before := time.Now()
	p := h.invoke(Request{Payload: []byte(`{"secret":"the extension never sees this"}`), TraceHeader: callerTrace})
	after := time.Now()
	r := h.recvRaw(xn, "x next")
	if r.code != http.StatusOK {
		t.Fatalf("x next: %v", r)
	}
	if r.header.Get(lambdaapi.HeaderExtensionEventID) == "" {
		t.Errorf("INVOKE without %s header", lambdaapi.HeaderExtensionEventID)
	}
	var ev struct {
		EventType          string
		DeadlineMs         int64
		RequestID          string
		InvokedFunctionArn string
		Tracing            map[string]string
		ShutdownReason     *string
	}
	if err := json.Unmarshal(r.body, &ev); err != nil {
		t.Fatalf("INVOKE %s: %v", r.body, err)
	}
	if ev.EventType != "INVOKE" || ev.RequestID != p.RequestID() || ev.InvokedFunctionArn != "arn:aws:lambda:ap-southeast-2:444455556666:function:billing" {
		t.Errorf("INVOKE %s", r.body)
	}
	if lo, hi := before.Add(timeout).UnixMilli(), after.Add(timeout).UnixMilli(); ev.DeadlineMs < lo || ev.DeadlineMs > hi {
		t.Errorf("INVOKE deadlineMs %d, want within [%d, %d]", ev.DeadlineMs, lo, hi)
	}
	if !reflect.DeepEqual(ev.Tracing, map[string]string{"type": "X-Amzn-Trace-Id", "value": callerTrace}) {
		t.Errorf("INVOKE tracing %v", ev.Tracing)
	}
	if ev.ShutdownReason != nil || strings.Contains(string(r.body), "secret") {
		t.Errorf("INVOKE carries more than it should: %s", r.body)
	}

	inv := h.recvInvocation(next)
	if inv.Deadline.UnixMilli() != ev.DeadlineMs {
		t.Errorf("runtime deadline %d, extension deadline %d: want the same", inv.Deadline.UnixMilli(), ev.DeadlineMs)
	}
	if err := rc.Respond(h.ctx, inv.RequestID, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	next = h.runtimeNext(rc)
	xn = h.rawExtNext(x.ID())
	h.wait(p)

	// A second invocation: x gets INVOKE again, quiet still nothing.
	p2 := h.invoke(Request{Payload: []byte(`{}`)})
	r = h.recvRaw(xn, "x next")
	var ev2 lambdaapi.Event
	if err := json.Unmarshal(r.body, &ev2); err != nil || ev2.EventType != lambdaapi.Invoke || ev2.RequestID != p2.RequestID() ||
		ev2.Tracing == nil || !traceHeaderRE.MatchString(ev2.Tracing.Value) {
		t.Errorf("second INVOKE %s", r.body)
	}
	inv = h.recvInvocation(next)
	if err := rc.Respond(h.ctx, inv.RequestID, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	h.runtimeNext(rc)
	h.rawExtNext(x.ID())
	h.wait(p2)
	apiNotReady(h, qn, "an event for an extension registered for none")
}

func TestExtensionInitErrorReinitsOnInvoke(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	errc := h.start()
	x := h.register("x", lambdaapi.Invoke)
	// Without the error type header the report is refused and changes nothing.
	expectError(t, "init/error without error type", h.call(http.MethodPost, apiExtension+"/init/error",
		map[string]string{lambdaapi.HeaderExtensionIdentifier: x.ID()}, []byte(`{"errorMessage":"no type"}`)),
		http.StatusBadRequest, lambdaapi.ErrTypeMissingErrorType)
	apiNotReady(h, errc, "Start after a refused init/error")
	r := h.call(http.MethodPost, apiExtension+"/init/error",
		map[string]string{lambdaapi.HeaderExtensionIdentifier: x.ID(), lambdaapi.HeaderExtensionErrorType: "Extension.TestFailure"},
		[]byte(`{"errorMessage":"cannot reach the backend","errorType":"Extension.TestFailure"}`))
	expectAccepted(t, "init/error", r)
	err := apiRecv(h, errc, "Start")
	var ie *InitError
	if !errors.As(err, &ie) || ie.ErrorType != "Extension.TestFailure" {
		t.Fatalf("Start returned %v, want an *InitError of type Extension.TestFailure", err)
	}
	evs := h.s.Telemetry()
	failed := false
	for _, ev := range apiOfType(evs, lambdaapi.EventExtension) {
		if rec := apiDecode[lambdaapi.ExtensionRecord](t, ev); rec.Name == "x" && rec.State == "Failed" && rec.ErrorType == "Extension.TestFailure" {
			failed = true
		}
	}
	if !failed {
		t.Errorf("no platform.extension Failed record for x in %v", apiTypes(evs))
	}
	if rep := apiOfType(evs, lambdaapi.EventInitReport); len(rep) != 1 {
		t.Errorf("%d initReport events, want 1", len(rep))
	} else if r := apiDecode[lambdaapi.InitReport](t, rep[0]); r.Status != lambdaapi.StatusError || r.ErrorType != "Extension.TestFailure" || r.Phase != lambdaapi.PhaseInit {
		t.Errorf("initReport %+v", r)
	}

	// The next invocation re-runs init, in the invoke phase.
	type started struct {
		p   *Pending
		err error
	}
	pc := make(chan started, 1)
	h.goRun(func() {
		p, err := h.s.InvokeAsync(h.ctx, Request{Payload: []byte(`{}`)})
		pc <- started{p, err}
	})
	h.waitTelemetry("the second initStart", func(evs []lambdaapi.TelemetryEvent) bool {
		return apiCount(evs, lambdaapi.EventInitStart) == 2
	})
	if is := apiDecode[lambdaapi.InitStart](t, apiOfType(h.s.Telemetry(), lambdaapi.EventInitStart)[1]); is.Phase != lambdaapi.PhaseInvoke {
		t.Errorf("second initStart phase %q, want invoke", is.Phase)
	}
	x2 := h.register("x", lambdaapi.Invoke)
	if x2.ID() == x.ID() {
		t.Errorf("re-registration kept the identifier %s", x.ID())
	}
	xn := h.extNext(x2)
	rc := h.rc()
	next := h.runtimeNext(rc)
	st := apiRecv(h, pc, "InvokeAsync")
	if st.err != nil {
		t.Fatal(st.err)
	}
	if ev := h.recvEvent(xn); ev.RequestID != st.p.RequestID() {
		t.Errorf("x got %+v", ev)
	}
	inv := h.recvInvocation(next)
	if err := rc.Respond(h.ctx, inv.RequestID, strings.NewReader(`"ok"`)); err != nil {
		t.Fatal(err)
	}
	h.runtimeNext(rc)
	h.extNext(x2)
	res := h.wait(st.p)
	if res.Status != lambdaapi.StatusSuccess || res.InitDurationMs == nil {
		t.Errorf("result %+v, want success with an init duration", res)
	}
	rep := apiOfType(h.s.Telemetry(), lambdaapi.EventInitReport)
	if r := apiDecode[lambdaapi.InitReport](t, rep[len(rep)-1]); r.Phase != lambdaapi.PhaseInvoke || r.Status != lambdaapi.StatusSuccess {
		t.Errorf("second initReport %+v", r)
	}
}

func TestExtensionReportWaitsForExtensionNext(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	errc := h.start()
	x := h.register("x", lambdaapi.Invoke)
	helper := h.register("helper", lambdaapi.Invoke) // internal
	xn, hn := h.extNext(x), h.extNext(helper)
	rc := h.rc()
	next := h.finishInit(rc, errc)

	p := h.invoke(Request{Payload: []byte(`{}`)})
	ev, hev := h.recvEvent(xn), h.recvEvent(hn)
	inv := h.recvInvocation(next)
	if ev.RequestID != inv.RequestID || hev.RequestID != inv.RequestID {
		t.Fatalf("INVOKE for %s and %s, runtime got %s", ev.RequestID, hev.RequestID, inv.RequestID)
	}
	if err := rc.Respond(h.ctx, inv.RequestID, strings.NewReader(`"r"`)); err != nil {
		t.Fatal(err)
	}
	// The caller is answered while the extension is still working.
	if status, payload := h.response(p); status != lambdaapi.StatusSuccess || string(payload) != `"r"` {
		t.Errorf("caller got %s %s", status, payload)
	}
	h.runtimeNext(rc)
	h.waitRecord(lambdaapi.EventRuntimeDone, p.RequestID())
	if i := apiIndex(h.s.Telemetry(), lambdaapi.EventReport, p.RequestID()); i >= 0 {
		t.Fatalf("platform.report emitted before the extensions called next")
	}
	// One of two extensions done is not enough. (The round trips after x's
	// next give it time to be handled; they cannot make a correct Sim fail.)
	h.extNext(x)
	for i := 0; i < 3; i++ {
		expectError(t, "probe", h.call(http.MethodGet, apiExtension+"/event/next", nil, nil),
			http.StatusForbidden, lambdaapi.ErrTypeMissingExtensionIdentifier)
	}
	if i := apiIndex(h.s.Telemetry(), lambdaapi.EventReport, p.RequestID()); i >= 0 {
		t.Fatalf("platform.report emitted before every INVOKE extension called next")
	}
	h.extNext(helper)
	res := h.wait(p)

	evs := h.s.Telemetry()
	is := apiIndex(evs, lambdaapi.EventStart, p.RequestID())
	ird := apiIndex(evs, lambdaapi.EventRuntimeDone, p.RequestID())
	irp := apiIndex(evs, lambdaapi.EventReport, p.RequestID())
	if !(is >= 0 && is < ird && ird < irp) {
		t.Fatalf("order of start, runtimeDone, report: %d, %d, %d in %v", is, ird, irp, apiTypes(evs))
	}
	rd := apiDecode[lambdaapi.RuntimeDone](t, evs[ird])
	rep := apiDecode[lambdaapi.Report](t, evs[irp])
	if res.ExtensionOverheadMs <= 0 {
		t.Errorf("ExtensionOverheadMs = %v, want > 0", res.ExtensionOverheadMs)
	}
	if rd.Metrics == nil || rep.Metrics.DurationMs < rd.Metrics.DurationMs {
		t.Errorf("report duration %v < runtimeDone duration %+v: the report must include the extension's time", rep.Metrics.DurationMs, rd.Metrics)
	}
	if !evs[irp].Time.After(evs[ird].Time) {
		t.Errorf("report time %v not after runtimeDone time %v", evs[irp].Time, evs[ird].Time)
	}
	found := false
	for _, sp := range rep.Spans {
		if sp.Name == "extensionOverhead" && sp.DurationMs > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("report spans %+v: want extensionOverhead", rep.Spans)
	}
}

func TestExtensionShutdownEvent(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	errc := h.start()
	x := h.register("x", lambdaapi.Shutdown)
	xn := h.rawExtNext(x.ID())
	rc := h.rc()
	next := h.finishInit(rc, errc)
	p := h.invoke(Request{Payload: []byte(`{}`)})
	inv := h.recvInvocation(next)
	if err := rc.Respond(h.ctx, inv.RequestID, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	h.runtimeNext(rc)
	h.wait(p)
	apiNotReady(h, xn, "an event for a SHUTDOWN-only extension before shutdown")

	type shut struct {
		res *ShutdownResult
		err error
	}
	sc := make(chan shut, 1)
	before := time.Now()
	h.goRun(func() {
		res, err := h.s.Shutdown(h.ctx)
		sc <- shut{res, err}
	})
	r := h.recvRaw(xn, "x next")
	after := time.Now()
	var ev struct {
		EventType      string
		ShutdownReason string
		DeadlineMs     int64
		RequestID      *string
	}
	if r.code != http.StatusOK || json.Unmarshal(r.body, &ev) != nil {
		t.Fatalf("x next: %v", r)
	}
	if ev.EventType != "SHUTDOWN" || ev.ShutdownReason != "spindown" || ev.RequestID != nil {
		t.Errorf("SHUTDOWN event %s", r.body)
	}
	if lo, hi := before.Add(2*time.Second).UnixMilli(), after.Add(2*time.Second).UnixMilli(); ev.DeadlineMs < lo || ev.DeadlineMs > hi {
		t.Errorf("SHUTDOWN deadlineMs %d, want within [%d, %d] (now + 2000 ms)", ev.DeadlineMs, lo, hi)
	}
	// Shutdown may keep the attached extension's whole budget: it has no
	// process whose exit would end it early.
	s := apiRecv(h, sc, "Shutdown")
	if s.err != nil || s.res.Reason != "spindown" {
		t.Errorf("Shutdown: %+v, %v", s.res, s.err)
	}
}

// An attached runtime that asks for its first next before an extension
// lambdasim launched has registered waits for it, as Lambda starts the
// runtime only then, instead of closing that extension's registration.
func TestAttachedRuntimeWaitsForLaunchedExtensions(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: []Process{
		{Path: extNamed(t, "slow-ext"), Args: []string{"EXT_REGISTER_DELAY_MS=200"}},
	}})
	errc := h.start()
	next := h.runtimeNext(h.rc())
	if err := apiRecv(h, errc, "init to finish"); err != nil {
		t.Fatalf("init: %v (the runtime's next closed registration before the extension registered)", err)
	}
	if got := h.s.Extensions(); len(got) != 1 || got[0] != "slow-ext" {
		t.Fatalf("registered %v", got)
	}
	apiNotReady(h, next, "the runtime's next (no invocation yet)")
}
