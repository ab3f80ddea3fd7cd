package lambdaapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// shutdownReasonCases are the spellings seen from the docs, RAPID and the
// emulators (A3.2); everything unrecognised must mean a normal spin-down.
var shutdownReasonCases = []struct {
	in   string
	want lambdaapi.ShutdownReason
}{
	{"SPINDOWN", lambdaapi.ShutdownSpindown},
	{"spindown", lambdaapi.ShutdownSpindown},
	{"Spindown", lambdaapi.ShutdownSpindown},
	{"TIMEOUT", lambdaapi.ShutdownTimeout},
	{"timeout", lambdaapi.ShutdownTimeout},
	{"Timeout", lambdaapi.ShutdownTimeout},
	{"FAILURE", lambdaapi.ShutdownFailure},
	{"failure", lambdaapi.ShutdownFailure},
	{"Failure", lambdaapi.ShutdownFailure},
	{"SandboxTerminated", lambdaapi.ShutdownSpindown},
	{"", lambdaapi.ShutdownSpindown},
	{"time out", lambdaapi.ShutdownSpindown},
	{" timeout", lambdaapi.ShutdownSpindown},
	{"oom", lambdaapi.ShutdownSpindown},
}

func TestParseShutdownReason(t *testing.T) {
	for _, tt := range shutdownReasonCases {
		if got := lambdaapi.ParseShutdownReason(tt.in); got != tt.want {
			t.Errorf("ParseShutdownReason(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShutdownReasonUnmarshalJSON(t *testing.T) {
	for _, tt := range shutdownReasonCases {
		var r lambdaapi.ShutdownReason
		b, _ := json.Marshal(tt.in)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Errorf("Unmarshal(%s) = %v", b, err)
			continue
		}
		if r != tt.want {
			t.Errorf("Unmarshal(%s) = %q, want %q", b, r, tt.want)
		}
	}
	for _, bad := range []string{`5`, `{}`, `["timeout"]`, `true`} {
		var r lambdaapi.ShutdownReason
		err := json.Unmarshal([]byte(bad), &r)
		if err == nil {
			t.Errorf("Unmarshal(%s) = %q, want an error", bad, r)
			continue
		}
		if !strings.Contains(err.Error(), "shutdown reason") {
			t.Errorf("error %q does not say what failed", err)
		}
	}
}

func TestEventJSONInvoke(t *testing.T) {
	var ev lambdaapi.Event
	if err := json.Unmarshal([]byte(sampleInvokeEvent), &ev); err != nil {
		t.Fatal(err)
	}
	want := lambdaapi.Event{
		EventType:          lambdaapi.Invoke,
		DeadlineMs:         1795444293147,
		RequestID:          "3da1f2dc-3222-475e-9205-e2e6c6318895",
		InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:ExtensionTest",
		Tracing: &lambdaapi.Tracing{
			Type:  lambdaapi.TracingTypeXRay,
			Value: "Root=1-5f35ae12-0c0fec141ab77a00bc047aa2;Parent=2be948a625588e32;Sampled=1",
		},
	}
	if ev.Tracing == nil || *ev.Tracing != *want.Tracing {
		t.Errorf("Tracing = %+v, want %+v", ev.Tracing, want.Tracing)
	}
	ev.Tracing, want.Tracing = nil, nil
	if ev != want {
		t.Errorf("event = %+v, want %+v", ev, want)
	}
	if ev.ShutdownReason != "" {
		t.Errorf("INVOKE has ShutdownReason %q", ev.ShutdownReason)
	}
}

func TestEventJSONInvokeWithoutTracing(t *testing.T) {
	in := `{"eventType":"INVOKE","deadlineMs":1795444293147,"requestId":"r1","invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f:live"}`
	var ev lambdaapi.Event
	if err := json.Unmarshal([]byte(in), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Tracing != nil {
		t.Errorf("Tracing = %+v, want nil", ev.Tracing)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	// The platform omits tracing when there is no trace header (A3.2); so must
	// anything that writes events, such as lambdasim.
	if string(out) != in {
		t.Errorf("Marshal = %s\nwant      %s", out, in)
	}
}

func TestEventJSONShutdown(t *testing.T) {
	tests := []struct {
		in   string
		want lambdaapi.Event
	}{
		{
			in:   sampleShutdownEvent,
			want: lambdaapi.Event{EventType: lambdaapi.Shutdown, ShutdownReason: lambdaapi.ShutdownSpindown, DeadlineMs: 1795444371526},
		},
		{
			in:   `{"eventType":"SHUTDOWN","shutdownReason":"TIMEOUT","deadlineMs":2}`,
			want: lambdaapi.Event{EventType: lambdaapi.Shutdown, ShutdownReason: lambdaapi.ShutdownTimeout, DeadlineMs: 2},
		},
		{
			in:   `{"eventType":"SHUTDOWN","shutdownReason":"failure","deadlineMs":3,"unknown":1}`,
			want: lambdaapi.Event{EventType: lambdaapi.Shutdown, ShutdownReason: lambdaapi.ShutdownFailure, DeadlineMs: 3},
		},
		{
			in:   `{"eventType":"SHUTDOWN","shutdownReason":"SandboxTerminated","deadlineMs":4}`,
			want: lambdaapi.Event{EventType: lambdaapi.Shutdown, ShutdownReason: lambdaapi.ShutdownSpindown, DeadlineMs: 4},
		},
	}
	for _, tt := range tests {
		var ev lambdaapi.Event
		if err := json.Unmarshal([]byte(tt.in), &ev); err != nil {
			t.Errorf("Unmarshal(%s) = %v", tt.in, err)
			continue
		}
		if ev != tt.want {
			t.Errorf("Unmarshal(%s) = %+v, want %+v", tt.in, ev, tt.want)
		}
	}

	out, err := json.Marshal(tests[0].want)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"eventType":"SHUTDOWN","deadlineMs":1795444371526,"shutdownReason":"spindown"}`; string(out) != want {
		t.Errorf("Marshal = %s, want %s", out, want)
	}

	var ev lambdaapi.Event
	if err := json.Unmarshal([]byte(`{"eventType":"SHUTDOWN","shutdownReason":7}`), &ev); err == nil {
		t.Error("a numeric shutdownReason decoded")
	}
}

func TestRegisterBodies(t *testing.T) {
	out, err := json.Marshal(lambdaapi.RegisterRequest{Events: []lambdaapi.EventType{lambdaapi.Invoke, lambdaapi.Shutdown}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"events":["INVOKE","SHUTDOWN"]}`; string(out) != want {
		t.Errorf("Marshal = %s, want %s", out, want)
	}

	var rr lambdaapi.RegisterResponse
	in := `{"functionName":"myfn","functionVersion":"$LATEST","handler":"","accountId":"123456789012"}`
	if err := json.Unmarshal([]byte(in), &rr); err != nil {
		t.Fatal(err)
	}
	want := lambdaapi.RegisterResponse{FunctionName: "myfn", FunctionVersion: "$LATEST", AccountID: "123456789012"}
	if rr != want {
		t.Errorf("RegisterResponse = %+v, want %+v", rr, want)
	}
}

func TestHeaderNamesAreCanonical(t *testing.T) {
	// SetHeaders and RuntimeClient write these into http.Header maps directly,
	// which only works if the names are already in canonical form. (The X-Ray
	// cause header keeps the platform's "XRay" spelling and is not among them:
	// it must only be used through Header.Get and Header.Set.)
	for _, h := range []string{
		lambdaapi.HeaderRequestID, lambdaapi.HeaderDeadlineMs, lambdaapi.HeaderInvokedFunctionARN,
		lambdaapi.HeaderTraceID, lambdaapi.HeaderClientContext, lambdaapi.HeaderCognitoIdentity,
		lambdaapi.HeaderTenantID, lambdaapi.HeaderInvocationID, lambdaapi.HeaderFunctionErrorType,
	} {
		if c := http.CanonicalHeaderKey(h); c != h {
			t.Errorf("header %q is not canonical (%q)", h, c)
		}
	}
}
