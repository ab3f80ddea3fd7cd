package lambdasim

// API-fidelity tests of the Telemetry API (lambda-platform.md A4) and of the
// platform records lambdasim produces, with subscribers the test runs on
// loopback and subscribes as http://sandbox.localdomain:<port>/telemetry.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// initSubscribed runs init with an attached runtime and the attached external
// extension x, registered for no events and subscribed with sub. x's first
// next stays pending until the end of the test.
func initSubscribed(h *apiHarness, sub lambdaapi.SubscribeRequest) (*lambdaapi.RuntimeClient, <-chan apiNext) {
	h.t.Helper()
	errc := h.start()
	x := h.register("x")
	h.subscribe(x, sub)
	h.extNext(x)
	rc := h.rc()
	return rc, h.finishInit(rc, errc)
}

// serveOne runs one invocation as the attached runtime, answering with the
// payload, and returns its result and the runtime's following next.
func serveOne(h *apiHarness, rc *lambdaapi.RuntimeClient, next <-chan apiNext, payload string) (*Result, <-chan apiNext) {
	h.t.Helper()
	p := h.invoke(Request{Payload: []byte(payload)})
	inv := h.recvInvocation(next)
	if inv.RequestID != p.RequestID() {
		h.t.Fatalf("runtime got %s, want %s", inv.RequestID, p.RequestID())
	}
	if err := rc.Respond(h.ctx, inv.RequestID, bytes.NewReader(inv.Payload)); err != nil {
		h.t.Fatal(err)
	}
	next = h.runtimeNext(rc)
	return h.wait(p), next
}

// hasRecord reports whether evs holds an event of type typ for requestID.
func hasRecord(typ, requestID string) func([]lambdaapi.TelemetryEvent) bool {
	return func(evs []lambdaapi.TelemetryEvent) bool { return apiIndex(evs, typ, requestID) >= 0 }
}

// sameEvents compares delivered events with captured ones: same types and
// records, times at the platform's millisecond precision.
func sameEvents(t *testing.T, got, want []lambdaapi.TelemetryEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("delivered %v,\nwant %v", apiTypes(got), apiTypes(want))
	}
	for i := range got {
		if got[i].Type != want[i].Type || string(got[i].Record) != string(want[i].Record) ||
			!got[i].Time.Equal(want[i].Time.UTC().Truncate(time.Millisecond)) {
			t.Errorf("event %d delivered as %s %v %s, captured as %s %v %s", i,
				got[i].Type, got[i].Time, got[i].Record, want[i].Type, want[i].Time, want[i].Record)
		}
	}
}

func TestTelemetrySubscribeValidation(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	errc := h.start()
	x := h.register("x")
	put := func(body string) apiReply {
		return h.call(http.MethodPut, apiTelemetry, map[string]string{lambdaapi.HeaderExtensionIdentifier: x.ID(), "Content-Type": "application/json"}, []byte(body))
	}
	const dest = `"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/t"}`
	for _, c := range []struct{ what, body string }{
		{"not JSON", `{"schemaVersion":`},
		{"empty body", ``},
		{"no schemaVersion", `{"types":["platform"],` + dest + `}`},
		{"unknown schemaVersion", `{"schemaVersion":"2020-08-15","types":["platform"],` + dest + `}`},
		{"no types", `{"schemaVersion":"2022-12-13",` + dest + `}`},
		{"empty types", `{"schemaVersion":"2022-12-13","types":[],` + dest + `}`},
		{"unknown type", `{"schemaVersion":"2022-12-13","types":["platform","logs"],` + dest + `}`},
		{"maxItems too small", `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":999},` + dest + `}`},
		{"maxItems too large", `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":10001},` + dest + `}`},
		{"maxBytes too small", `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxBytes":262143},` + dest + `}`},
		{"maxBytes too large", `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxBytes":1048577},` + dest + `}`},
		{"timeoutMs too small", `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"timeoutMs":24},` + dest + `}`},
		{"timeoutMs too large", `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"timeoutMs":30001},` + dest + `}`},
		{"no destination", `{"schemaVersion":"2022-12-13","types":["platform"]}`},
		{"unknown protocol", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"UDP","port":4243}}`},
		{"HTTP without URI", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP"}}`},
		{"HTTPS URI", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"https://sandbox.localdomain:4243/t"}}`},
		{"host not sandbox.localdomain", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://127.0.0.1:4243/t"}}`},
		{"URI without port", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain/t"}}`},
		{"URI port out of range", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:65536/t"}}`},
		{"TCP without port", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"TCP"}}`},
		{"TCP port out of range", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"TCP","port":65536}}`},
	} {
		expectError(t, c.what, put(c.body), http.StatusBadRequest, lambdaapi.ErrTypeValidation)
	}
	valid := []byte(`{"schemaVersion":"2022-12-13","types":["platform"],` + dest + `}`)
	expectError(t, "subscribe without identifier", h.call(http.MethodPut, apiTelemetry, nil, valid),
		http.StatusForbidden, lambdaapi.ErrTypeMissingExtensionIdentifier)
	expectError(t, "subscribe with an unknown identifier", h.call(http.MethodPut, apiTelemetry,
		map[string]string{lambdaapi.HeaderExtensionIdentifier: "3da1f2dc-3222-475e-9205-e2e6c6318895"}, valid),
		http.StatusForbidden, lambdaapi.ErrTypeUnknownExtensionIdentifier)
	if n := apiCount(h.s.Telemetry(), lambdaapi.EventTelemetrySubscription); n != 0 {
		t.Fatalf("%d subscriptions made by rejected requests", n)
	}

	// The limits themselves are accepted.
	col := newAPICollector()
	uri := h.serveHTTP(col)
	ok := func(r apiReply) bool {
		b := string(bytes.TrimSpace(r.body))
		return r.code == http.StatusOK && (b == `"OK"` || b == "OK")
	}
	if r := put(`{"schemaVersion":"2022-07-01","types":["platform","function","extension"],"buffering":{"maxItems":1000,"maxBytes":1048576,"timeoutMs":25},"destination":{"protocol":"HTTP","URI":"` + uri + `"}}`); !ok(r) {
		t.Errorf("subscription at the limits: %v, want 200 OK", r)
	}
	if r := put(`{"schemaVersion":"2025-01-29","types":["function"],"buffering":{"maxItems":10000,"maxBytes":262144,"timeoutMs":30000},"destination":{"protocol":"HTTP","URI":"` + uri + `"}}`); !ok(r) {
		t.Errorf("subscription at the other limits: %v, want 200 OK", r)
	}
	subs := apiOfType(h.s.Telemetry(), lambdaapi.EventTelemetrySubscription)
	if len(subs) != 2 {
		t.Fatalf("%d platform.telemetrySubscription events, want 2", len(subs))
	}
	if r := apiDecode[lambdaapi.TelemetrySubscription](t, subs[0]); r.Name != "x" || r.State != "Subscribed" || !reflect.DeepEqual(r.Types, []string{"platform", "function", "extension"}) {
		t.Errorf("first telemetrySubscription %+v", r)
	}
	if r := apiDecode[lambdaapi.TelemetrySubscription](t, subs[1]); r.Name != "x" || !reflect.DeepEqual(r.Types, []string{"function"}) {
		t.Errorf("second telemetrySubscription %+v", r)
	}

	// Subscriptions close at the extension's first next.
	h.extNext(x)
	h.finishInit(h.rc(), errc)
	expectError(t, "subscribe after the extension's first next", put(`{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"`+uri+`"}}`),
		http.StatusForbidden, lambdaapi.ErrTypeTelemetrySubscriptionClosed)
}

func TestTelemetryHTTPDelivery(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	col := newAPICollector()
	uri := h.serveHTTP(col)
	if !strings.HasPrefix(uri, "http://sandbox.localdomain:") {
		t.Fatalf("destination %s", uri)
	}
	rc, next := initSubscribed(h, apiSub(httpDest(uri), lambdaapi.TypePlatform, lambdaapi.TypeFunction, lambdaapi.TypeExtension))
	var last *Result
	for i := 0; i < 3; i++ {
		last, next = serveOne(h, rc, next, fmt.Sprintf(`{"n":%d}`, i))
	}
	col.waitFor(h, "the last report", hasRecord(lambdaapi.EventReport, last.RequestID))

	for i, b := range col.snapshot() {
		if b.err != nil || b.path != "/telemetry" || b.ctype != "application/json" || !bytes.HasPrefix(bytes.TrimSpace(b.body), []byte("[")) {
			t.Errorf("delivery %d: path %q, content type %q, body %.100s, decode error %v; want a JSON array POSTed to /telemetry", i, b.path, b.ctype, b.body, b.err)
		}
		if len(b.events) == 0 {
			t.Errorf("delivery %d is empty", i)
		}
	}
	// Everything from the subscription on, in order, nothing twice.
	evs := h.s.Telemetry()
	from := apiIndex(evs, lambdaapi.EventTelemetrySubscription, "")
	to := apiIndex(evs, lambdaapi.EventReport, last.RequestID)
	sameEvents(t, col.events(), evs[from:to+1])
}

func TestTelemetryTypeFiltering(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{Runtime: &Process{Path: bins.rt}, Extensions: attachedX, NoFreeze: true})
	platform, logs := newAPICollector(), newAPICollector()
	errc := h.start()
	// An internal extension takes function logs only; it registers before x,
	// whose registration lets the runtime process start.
	l := h.register("logs")
	h.subscribe(l, apiSub(httpDest(h.serveHTTP(logs)), lambdaapi.TypeFunction))
	x := h.register("x")
	h.subscribe(x, apiSub(httpDest(h.serveHTTP(platform)), lambdaapi.TypePlatform))
	h.extNext(l)
	h.extNext(x)
	if err := apiRecv(h, errc, "Start"); err != nil {
		t.Fatal(err)
	}
	res, err := h.s.Invoke(h.ctx, Request{Payload: []byte(`{"action":"print","lines":3,"text":"hello"}`)})
	if err != nil || res.Status != lambdaapi.StatusSuccess {
		t.Fatalf("invoke: %+v, %v", res, err)
	}
	platform.waitFor(h, "the report", hasRecord(lambdaapi.EventReport, res.RequestID))
	logs.waitFor(h, "the last printed line", func(evs []lambdaapi.TelemetryEvent) bool {
		return len(evs) > 0 && strings.Contains(string(evs[len(evs)-1].Record), "line 2 hello")
	})
	for _, ev := range platform.events() {
		if lambdaapi.StreamOf(ev.Type) != lambdaapi.TypePlatform {
			t.Errorf("platform-only subscriber got %s %s", ev.Type, ev.Record)
		}
	}
	captured := apiOfType(h.s.Telemetry(), lambdaapi.EventFunction)
	if len(captured) < 4 { // rt: ready and three lines
		t.Fatalf("captured function records %v", captured)
	}
	// The function subscriber was there before the runtime started: it has
	// every function record and nothing else.
	sameEvents(t, logs.events(), captured)
}

func TestTelemetryBatching(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	col := newAPICollector()
	col.holdFirst()
	rc, next := initSubscribed(h, apiSub(httpDest(h.serveHTTP(col)), lambdaapi.TypePlatform))
	apiRecv(h, col.gated, "the first delivery")
	// While the first delivery is held, a whole invocation happens; its
	// events wait in the buffer and then go out together.
	res, _ := serveOne(h, rc, next, `{}`)
	col.release()
	col.waitFor(h, "the report", hasRecord(lambdaapi.EventReport, res.RequestID))
	batches := col.snapshot()
	var withReport *apiBatch
	for i := range batches {
		if apiIndex(batches[i].events, lambdaapi.EventReport, res.RequestID) >= 0 {
			withReport = &batches[i]
		}
	}
	for _, typ := range []string{lambdaapi.EventStart, lambdaapi.EventRuntimeDone, lambdaapi.EventReport} {
		if apiIndex(withReport.events, typ, res.RequestID) < 0 {
			t.Errorf("the batch with the report lacks %s: %v", typ, apiTypes(withReport.events))
		}
	}
	// No batch leaves before timeoutMs (25 ms) after its oldest event.
	for i, b := range batches {
		if len(b.events) == 0 {
			continue
		}
		if wait := b.at.Sub(b.events[0].Time); wait < 25*time.Millisecond {
			t.Errorf("batch %d arrived %v after its first event, want >= 25ms", i, wait)
		}
	}
}

func TestTelemetryResubscribeReplaces(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	a, b := newAPICollector(), newAPICollector()
	errc := h.start()
	x := h.register("x")
	h.subscribe(x, apiSub(httpDest(h.serveHTTP(a)), lambdaapi.TypePlatform))
	h.subscribe(x, apiSub(httpDest(h.serveHTTP(b)), lambdaapi.TypePlatform))
	h.extNext(x)
	rc := h.rc()
	res, _ := serveOne(h, rc, h.finishInit(rc, errc), `{}`)
	b.waitFor(h, "the report", hasRecord(lambdaapi.EventReport, res.RequestID))
	for _, ev := range a.events() {
		if ev.Type != lambdaapi.EventTelemetrySubscription {
			t.Errorf("replaced subscription still got %s", ev.Type)
		}
	}
	evs := h.s.Telemetry()
	from := apiOfType(evs, lambdaapi.EventTelemetrySubscription)
	if len(from) != 2 {
		t.Fatalf("%d telemetrySubscription events, want 2", len(from))
	}
	i := apiIndex(evs, lambdaapi.EventTelemetrySubscription, "")
	sameEvents(t, b.events(), evs[i+1:apiIndex(evs, lambdaapi.EventReport, res.RequestID)+1])
}

func TestTelemetryTCPDestination(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	col := newAPICollector()
	port := h.serveTCP(col)
	rc, next := initSubscribed(h, apiSub(lambdaapi.Destination{Protocol: lambdaapi.ProtocolTCP, Port: port}, lambdaapi.TypePlatform))
	res, _ := serveOne(h, rc, next, `{}`)
	col.waitFor(h, "the report", hasRecord(lambdaapi.EventReport, res.RequestID))
	for i, b := range col.snapshot() {
		if b.err != nil || !bytes.HasPrefix(b.body, []byte("{")) {
			t.Errorf("line %d %q: want one JSON event (%v)", i, b.body, b.err)
		}
	}
	evs := h.s.Telemetry()
	sameEvents(t, col.events(), evs[apiIndex(evs, lambdaapi.EventTelemetrySubscription, ""):apiIndex(evs, lambdaapi.EventReport, res.RequestID)+1])
}

func TestTelemetryRetriesFailedDelivery(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	col := newAPICollector()
	col.status = func(n int) int {
		if n < 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	rc, next := initSubscribed(h, apiSub(httpDest(h.serveHTTP(col)), lambdaapi.TypePlatform))
	bs := col.waitBatches(h, 3)
	if !bytes.Equal(bs[0].body, bs[1].body) || !bytes.Equal(bs[1].body, bs[2].body) {
		t.Errorf("after HTTP 500 the batch was not sent again:\n%s\n%s\n%s", bs[0].body, bs[1].body, bs[2].body)
	}
	res, _ := serveOne(h, rc, next, `{}`)
	col.waitFor(h, "the report", hasRecord(lambdaapi.EventReport, res.RequestID))
	// Past the retried batch, everything arrived once, in order.
	evs := h.s.Telemetry()
	got := col.events()[2*len(bs[0].events):]
	sameEvents(t, got, evs[apiIndex(evs, lambdaapi.EventTelemetrySubscription, ""):apiIndex(evs, lambdaapi.EventReport, res.RequestID)+1])
}

func TestTelemetrySuppressPolicy(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	h.s.SetDeliveryPolicy(lambdaapi.EventRuntimeDone, Suppress())
	col := newAPICollector()
	rc, next := initSubscribed(h, apiSub(httpDest(h.serveHTTP(col)), lambdaapi.TypePlatform))
	res, _ := serveOne(h, rc, next, `{}`)
	// Delivery keeps order, so a runtimeDone would have come before the report.
	col.waitFor(h, "the report", hasRecord(lambdaapi.EventReport, res.RequestID))
	if n := apiCount(col.events(), lambdaapi.EventRuntimeDone); n != 0 {
		t.Errorf("suppressed runtimeDone delivered %d times", n)
	}
	if apiIndex(h.s.Telemetry(), lambdaapi.EventRuntimeDone, res.RequestID) < 0 {
		t.Errorf("suppressed runtimeDone missing from the captured telemetry")
	}
}

func TestTelemetryDelayPolicy(t *testing.T) {
	t.Parallel()
	const delay = 200 * time.Millisecond
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	h.s.SetDeliveryPolicy(lambdaapi.EventRuntimeDone, Delay(delay))
	col := newAPICollector()
	rc, next := initSubscribed(h, apiSub(httpDest(h.serveHTTP(col)), lambdaapi.TypePlatform))
	res, next := serveOne(h, rc, next, `{}`)
	col.waitFor(h, "the delayed runtimeDone", hasRecord(lambdaapi.EventRuntimeDone, res.RequestID))
	got := col.events()
	if rd, rep := apiIndex(got, lambdaapi.EventRuntimeDone, res.RequestID), apiIndex(got, lambdaapi.EventReport, res.RequestID); rep < 0 || rd < rep {
		t.Errorf("delayed runtimeDone at %d, report at %d: want the report first (%v)", rd, rep, apiTypes(got))
	}
	captured := h.s.Telemetry()[apiIndex(h.s.Telemetry(), lambdaapi.EventRuntimeDone, res.RequestID)]
	for _, b := range col.snapshot() {
		if apiIndex(b.events, lambdaapi.EventRuntimeDone, res.RequestID) >= 0 && b.at.Sub(captured.Time) < delay {
			t.Errorf("runtimeDone delivered %v after it was produced, want >= %v", b.at.Sub(captured.Time), delay)
		}
	}

	// Deliver restores the normal order.
	h.s.SetDeliveryPolicy(lambdaapi.EventRuntimeDone, Deliver())
	res2, _ := serveOne(h, rc, next, `{}`)
	col.waitFor(h, "the second report", hasRecord(lambdaapi.EventReport, res2.RequestID))
	got = col.events()
	if rd, rep := apiIndex(got, lambdaapi.EventRuntimeDone, res2.RequestID), apiIndex(got, lambdaapi.EventReport, res2.RequestID); rd < 0 || rd > rep {
		t.Errorf("runtimeDone at %d, report at %d after Deliver()", rd, rep)
	}
}

func TestTelemetrySlowSubscriberDropsLogs(t *testing.T) {
	t.Parallel()
	const lines = 3000
	h := newAPIHarness(t, Config{Runtime: &Process{Path: bins.rt}, Extensions: attachedX, NoFreeze: true})
	col := newAPICollector()
	col.holdFirst()
	errc := h.start()
	x := h.register("x")
	sub := apiSub(httpDest(h.serveHTTP(col)), lambdaapi.TypePlatform, lambdaapi.TypeFunction)
	sub.Buffering = &lambdaapi.Buffering{MaxItems: lambdaapi.MinBufferingMaxItems, MaxBytes: lambdaapi.MinBufferingMaxBytes, TimeoutMs: 25}
	h.subscribe(x, sub)
	h.extNext(x)
	if err := apiRecv(h, errc, "Start"); err != nil {
		t.Fatal(err)
	}
	apiRecv(h, col.gated, "the first delivery")
	// While the subscriber sits on its first batch, the function logs far
	// more than the buffer holds.
	res, err := h.s.Invoke(h.ctx, Request{Payload: []byte(fmt.Sprintf(`{"action":"print","lines":%d,"text":"%s"}`, lines, strings.Repeat("x", 40)))})
	if err != nil || res.Status != lambdaapi.StatusSuccess {
		t.Fatalf("invoke: %+v, %v", res, err)
	}
	col.release()
	col.waitFor(h, "platform.logsDropped", func(evs []lambdaapi.TelemetryEvent) bool {
		return apiCount(evs, lambdaapi.EventLogsDropped) > 0
	})
	col.waitFor(h, "the report", hasRecord(lambdaapi.EventReport, res.RequestID))
	got := col.events()
	var dropped int64
	for _, ev := range apiOfType(got, lambdaapi.EventLogsDropped) {
		d := apiDecode[lambdaapi.LogsDropped](t, ev)
		if d.DroppedRecords <= 0 || d.DroppedBytes <= 0 || d.Reason == "" {
			t.Errorf("logsDropped %+v", d)
		}
		dropped += d.DroppedRecords
	}
	delivered := int64(apiCount(got, lambdaapi.EventFunction))
	captured := int64(apiCount(h.s.Telemetry(), lambdaapi.EventFunction))
	if delivered+dropped < lines || delivered+dropped > captured {
		t.Errorf("%d function records delivered and %d dropped; %d printed, %d captured", delivered, dropped, lines, captured)
	}
	t.Logf("%d function records captured, %d delivered, %d dropped", captured, delivered, dropped)
	if captured < lines {
		t.Errorf("captured telemetry lost records: %d < %d", captured, lines)
	}
}

func TestTelemetryUnreachableSubscriberDoesNotStall(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true, Extensions: attachedX})
	// Nothing listens on port 1: every delivery is refused.
	rc, next := initSubscribed(h, apiSub(httpDest("http://sandbox.localdomain:1/telemetry"), lambdaapi.TypePlatform))
	start := time.Now()
	var res *Result
	for i := 0; i < 3; i++ {
		res, next = serveOne(h, rc, next, `{}`)
		if res.Status != lambdaapi.StatusSuccess || res.DurationMs > 1000 {
			t.Errorf("invocation %d: %s in %v ms", i, res.Status, res.DurationMs)
		}
	}
	if d := time.Since(start); d > deliveryAttemptTimeout {
		t.Errorf("three invocations took %v with an unreachable subscriber", d)
	}
}

func TestTelemetryInvocationSequence(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{FunctionName: "seq", MemoryMB: 256, NoFreeze: true})
	rc, next := h.initRuntime()
	r1, next := serveOne(h, rc, next, `{"a":1}`)
	r2, _ := serveOne(h, rc, next, `{"b":2}`)
	h.waitTelemetry("the second report", hasRecord(lambdaapi.EventReport, r2.RequestID))
	evs := h.s.Telemetry()
	want := []string{
		lambdaapi.EventInitStart, lambdaapi.EventInitRuntimeDone, lambdaapi.EventInitReport,
		lambdaapi.EventStart, lambdaapi.EventRuntimeDone, lambdaapi.EventReport,
		lambdaapi.EventStart, lambdaapi.EventRuntimeDone, lambdaapi.EventReport,
	}
	if got := apiTypes(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("telemetry %v,\nwant %v", got, want)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Time.Before(evs[i-1].Time) {
			t.Errorf("event %d (%s) at %v is before event %d at %v", i, evs[i].Type, evs[i].Time, i-1, evs[i-1].Time)
		}
	}
	is := apiDecode[lambdaapi.InitStart](t, evs[0])
	if is.InitializationType != lambdaapi.InitOnDemand || is.Phase != lambdaapi.PhaseInit || is.FunctionName != "seq" || is.FunctionVersion != "$LATEST" || is.InstanceMaxMemory != 256<<20 {
		t.Errorf("initStart %+v", is)
	}
	ird := apiDecode[lambdaapi.InitRuntimeDone](t, evs[1])
	if ird.InitializationType != lambdaapi.InitOnDemand || ird.Phase != lambdaapi.PhaseInit || ird.Status != lambdaapi.StatusSuccess {
		t.Errorf("initRuntimeDone %+v", ird)
	}
	irp := apiDecode[lambdaapi.InitReport](t, evs[2])
	if irp.Phase != lambdaapi.PhaseInit || irp.Status != lambdaapi.StatusSuccess || irp.Metrics.DurationMs <= 0 {
		t.Errorf("initReport %+v", irp)
	}
	for n, r := range []*Result{r1, r2} {
		base := 3 + 3*n
		st := apiDecode[lambdaapi.Start](t, evs[base])
		if st.RequestID != r.RequestID || st.Version != "$LATEST" || st.Tracing == nil || st.Tracing.Type != lambdaapi.TracingTypeXRay || !traceHeaderRE.MatchString(st.Tracing.Value) {
			t.Errorf("start %d: %+v", n, st)
		}
		rd := apiDecode[lambdaapi.RuntimeDone](t, evs[base+1])
		if rd.RequestID != r.RequestID || rd.Status != lambdaapi.StatusSuccess || rd.Metrics == nil || rd.Metrics.DurationMs <= 0 {
			t.Fatalf("runtimeDone %d: %+v", n, rd)
		}
		var names []string
		var sum float64
		for _, sp := range rd.Spans {
			names = append(names, sp.Name)
			sum += sp.DurationMs
			if sp.DurationMs < 0 || sp.Start.IsZero() {
				t.Errorf("runtimeDone %d span %+v", n, sp)
			}
		}
		if !reflect.DeepEqual(names, []string{"responseLatency", "responseDuration", "runtimeOverhead"}) {
			t.Errorf("runtimeDone %d spans %v", n, names)
		}
		if math.Abs(sum-rd.Metrics.DurationMs) > 0.01 {
			t.Errorf("runtimeDone %d: spans sum to %v ms, durationMs %v", n, sum, rd.Metrics.DurationMs)
		}
		rep := apiDecode[lambdaapi.Report](t, evs[base+2])
		m := rep.Metrics
		if rep.RequestID != r.RequestID || rep.Status != lambdaapi.StatusSuccess || m.DurationMs <= 0 || m.DurationMs < rd.Metrics.DurationMs {
			t.Errorf("report %d: %+v (runtimeDone %v ms)", n, rep, rd.Metrics.DurationMs)
		}
		if m.BilledDurationMs != math.Ceil(m.DurationMs) || m.MemorySizeMB != 256 {
			t.Errorf("report %d metrics %+v: want billedDurationMs = ceil(durationMs), memorySizeMB 256", n, m)
		}
		if r.DurationMs != m.DurationMs || float64(r.BilledDurationMs) != m.BilledDurationMs {
			t.Errorf("result %d %+v disagrees with report %+v", n, r, m)
		}
		if n == 0 {
			if m.InitDurationMs == nil || *m.InitDurationMs != irp.Metrics.DurationMs || r.InitDurationMs == nil || *r.InitDurationMs != *m.InitDurationMs {
				t.Errorf("first report initDurationMs %v (result %v), want the init duration %v", m.InitDurationMs, r.InitDurationMs, irp.Metrics.DurationMs)
			}
		} else if m.InitDurationMs != nil || r.InitDurationMs != nil {
			t.Errorf("report %d carries initDurationMs %v", n, *m.InitDurationMs)
		}
	}
}

func TestTelemetryManagedInstances(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{MaxConcurrency: 2, Extensions: attachedX})
	errc := h.start()
	expectError(t, "INVOKE on Managed Instances", registerRaw(h, "x", `{"events":["INVOKE","SHUTDOWN"]}`, nil),
		http.StatusForbidden, lambdaapi.ErrTypeInvalidEventType)
	x := h.register("x", lambdaapi.Shutdown)
	col := newAPICollector()
	uri := h.serveHTTP(col)
	for _, schema := range []string{lambdaapi.Schema20220701, lambdaapi.Schema20221213} {
		sub := apiSub(httpDest(uri), lambdaapi.TypePlatform)
		sub.SchemaVersion = schema
		var ae *lambdaapi.APIError
		if err := x.Subscribe(h.ctx, sub); !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest || ae.Type != lambdaapi.ErrTypeValidation {
			t.Errorf("schema %s on Managed Instances: %v, want 400 ValidationError", schema, err)
		}
	}
	sub := apiSub(httpDest(uri), lambdaapi.TypePlatform)
	sub.SchemaVersion = lambdaapi.Schema20250129
	h.subscribe(x, sub)
	h.extNext(x)
	rc := h.rc()
	first := h.finishInit(rc, errc)
	second := h.runtimeNext(rc)

	// Two invocations are handed out before either is answered.
	p1 := h.invoke(Request{Payload: []byte(`"one"`)})
	p2 := h.invoke(Request{Payload: []byte(`"two"`)})
	a, b := h.recvInvocation(first), h.recvInvocation(second)
	got := map[string]*lambdaapi.Invocation{a.RequestID: a, b.RequestID: b}
	if got[p1.RequestID()] == nil || got[p2.RequestID()] == nil {
		t.Fatalf("workers got %s and %s, want %s and %s", a.RequestID, b.RequestID, p1.RequestID(), p2.RequestID())
	}
	// Answered in reverse order.
	for _, p := range []*Pending{p2, p1} {
		inv := got[p.RequestID()]
		if err := rc.Respond(h.ctx, inv.RequestID, bytes.NewReader(inv.Payload)); err != nil {
			t.Fatal(err)
		}
		status, payload := h.response(p)
		if status != lambdaapi.StatusSuccess || string(payload) != string(inv.Payload) {
			t.Errorf("%s: caller got %s %s, want %s", p.RequestID(), status, payload, inv.Payload)
		}
	}
	for _, p := range []*Pending{p1, p2} {
		if res := h.wait(p); res.Status != lambdaapi.StatusSuccess {
			t.Errorf("result %+v", res)
		}
	}
	col.waitFor(h, "both reports", func(evs []lambdaapi.TelemetryEvent) bool {
		return apiIndex(evs, lambdaapi.EventReport, p1.RequestID()) >= 0 && apiIndex(evs, lambdaapi.EventReport, p2.RequestID()) >= 0
	})
	evs := h.s.Telemetry()
	if is := apiDecode[lambdaapi.InitStart](t, evs[0]); is.InitializationType != lambdaapi.InitManagedInstances {
		t.Errorf("initStart %+v", is)
	}
	if st := apiDecode[lambdaapi.Start](t, evs[apiIndex(evs, lambdaapi.EventStart, p1.RequestID())]); st.FunctionARN == "" {
		t.Errorf("Managed Instances platform.start without functionArn: %+v", st)
	}
}

func TestTelemetryWaitFor(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, Config{NoFreeze: true})
	rc, next := h.initRuntime()
	// Already true: returns at once.
	h.waitTelemetry("initReport", func(evs []lambdaapi.TelemetryEvent) bool {
		return apiCount(evs, lambdaapi.EventInitReport) == 1
	})
	// A condition that will hold later: returns when it does.
	done := make(chan error, 1)
	calls := make(chan int, 1000)
	h.goRun(func() {
		done <- h.s.WaitFor(h.ctx, func(evs []lambdaapi.TelemetryEvent) bool {
			select {
			case calls <- len(evs):
			default:
			}
			return apiCount(evs, lambdaapi.EventReport) == 1
		})
	})
	apiRecv(h, calls, "the first evaluation")
	apiNotReady(h, done, "WaitFor before its condition holds")
	res, _ := serveOne(h, rc, next, `{}`)
	if err := apiRecv(h, done, "WaitFor"); err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	if apiIndex(h.s.Telemetry(), lambdaapi.EventReport, res.RequestID) < 0 {
		t.Errorf("WaitFor returned without the report")
	}
	// A condition that never holds ends with its context.
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	if err := h.s.WaitFor(ctx, func([]lambdaapi.TelemetryEvent) bool { return false }); err == nil {
		t.Errorf("WaitFor with a cancelled context returned nil")
	}
}
