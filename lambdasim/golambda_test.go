package lambdasim

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// Tests against aws-lambda-go's real runtime client (testdata/golambda uses
// lambda.Start), proving lambdasim speaks the Runtime and Extensions APIs
// the way the official Go runtime expects.

type golambdaResponse struct {
	Greeting  string `json:"greeting"`
	RequestID string `json:"requestId"`
	TraceID   string `json:"traceId"`
}

func TestGoLambdaSuccess(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{Runtime: &Process{Path: bins.golambda}})
	lcStart(t, ctx, s)
	for i := 0; i < 2; i++ {
		res := lcInvokeOK(t, ctx, s, `{"name":"world"}`)
		var resp golambdaResponse
		if err := json.Unmarshal(res.Payload, &resp); err != nil {
			t.Fatalf("payload %s: %v", res.Payload, err)
		}
		if resp.Greeting != "hello world" || resp.RequestID != res.RequestID {
			t.Fatalf("response %+v for request %s", resp, res.RequestID)
		}
		var sent string
		for _, st := range lcRecords[lambdaapi.Start](t, s, lambdaapi.EventStart) {
			if st.RequestID == res.RequestID && st.Tracing != nil {
				sent = st.Tracing.Value
			}
		}
		if sent == "" || resp.TraceID != sent {
			t.Fatalf("function saw trace %q, lambdasim sent %q", resp.TraceID, sent)
		}
		if rep := lcReport(t, s, res.RequestID); rep.Status != lambdaapi.StatusSuccess {
			t.Fatalf("report %+v", rep)
		}
	}
	// A custom trace header reaches the function as _X_AMZN_TRACE_ID.
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	res, err := s.Invoke(ctx, Request{Payload: []byte(`{"name":"traced"}`), TraceHeader: trace})
	if err != nil {
		t.Fatal(err)
	}
	var resp golambdaResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil || resp.TraceID != trace {
		t.Fatalf("payload %s (%v); want trace %s", res.Payload, err, trace)
	}
}

// A handler error is an invocation error with aws-lambda-go's type name; the
// environment stays up.
func TestGoLambdaHandlerError(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{Runtime: &Process{Path: bins.golambda}})
	lcStart(t, ctx, s)
	res := lcInvoke(t, ctx, s, `{"action":"error"}`)
	if res.Status != lambdaapi.StatusError || res.ErrorType != "errorString" {
		t.Fatalf("status %q errorType %q payload %s", res.Status, res.ErrorType, res.Payload)
	}
	if doc := lcErrorDoc(t, res.Payload); doc.ErrorMessage != "handler failed on purpose" || doc.ErrorType != "errorString" {
		t.Fatalf("payload %s", res.Payload)
	}
	if res.Reset != nil {
		t.Fatalf("a handler error reset the environment: %+v", res.Reset)
	}
	if rd := lcRuntimeDone(t, s, res.RequestID); rd.Status != lambdaapi.StatusError || rd.ErrorType != "errorString" {
		t.Fatalf("runtimeDone %+v", rd)
	}
	lcInvokeOK(t, ctx, s, `{"name":"again"}`)
	if got := lcInitPhases(t, s); !slices.Equal(got, []string{"init"}) {
		t.Fatalf("initStart phases %v; a handler error must not re-init", got)
	}
}

// aws-lambda-go reports a panic as an invocation error (type "string", the
// panic value's type) and then exits the process (log.Fatalf after
// "calling the handler function resulted in a panic"). lambdasim gives the
// caller the reported error, marks the invocation failed with
// Runtime.ExitError because the runtime died before its next call, resets,
// and the next invocation initialises afresh.
func TestGoLambdaPanic(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{Runtime: &Process{Path: bins.golambda}})
	lcStart(t, ctx, s)
	res := lcInvoke(t, ctx, s, `{"action":"panic"}`)
	t.Logf("panic: status %q errorType %q payload %s reset %+v", res.Status, res.ErrorType, res.Payload, res.Reset)
	if res.Status != lambdaapi.StatusFailure || res.ErrorType != lambdaapi.ErrTypeRuntimeExit {
		t.Fatalf("status %q errorType %q", res.Status, res.ErrorType)
	}
	// The caller gets aws-lambda-go's document as the runtime posted it,
	// stack frames as objects included.
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
		StackTrace   []struct {
			Path  string `json:"path"`
			Line  int    `json:"line"`
			Label string `json:"label"`
		} `json:"stackTrace"`
	}
	if err := json.Unmarshal(res.Payload, &doc); err != nil || doc.ErrorMessage != "handler panicked on purpose" || doc.ErrorType != "string" ||
		len(doc.StackTrace) == 0 || doc.StackTrace[0].Path == "" || doc.StackTrace[0].Line == 0 {
		t.Fatalf("payload %s (%v); want aws-lambda-go's panic report", res.Payload, err)
	}
	if res.Reset == nil || res.Reset.Reason != "failure" || res.Reset.Runtime == nil || res.Reset.Runtime.Killed || res.Reset.Runtime.ExitCode == 0 {
		t.Fatalf("reset %+v", res.Reset)
	}
	if rep := lcReport(t, s, res.RequestID); rep.Status != lambdaapi.StatusFailure || rep.ErrorType != lambdaapi.ErrTypeRuntimeExit {
		t.Fatalf("report %+v", rep)
	}
	next := lcInvokeOK(t, ctx, s, `{"name":"after"}`)
	if next.InitDurationMs == nil || !slices.Equal(lcInitPhases(t, s), []string{"init", "invoke"}) {
		t.Fatalf("no re-init after the panic: phases %v", lcInitPhases(t, s))
	}
}

// A handler that overruns the timeout is cut off by the platform, the
// environment is reset, and the next invocation succeeds after a re-init.
func TestGoLambdaTimeout(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{Runtime: &Process{Path: bins.golambda}, Timeout: 300 * time.Millisecond})
	lcStart(t, ctx, s)
	// "block" ignores the context deadline: with "sleep" the handler would
	// answer at its own deadline and race the platform's timeout.
	res := lcInvoke(t, ctx, s, `{"action":"block","ms":3000}`)
	if res.Status != lambdaapi.StatusTimeout || res.ErrorType != lambdaapi.ErrTypeSandboxTimeout {
		t.Fatalf("status %q errorType %q payload %s", res.Status, res.ErrorType, res.Payload)
	}
	if res.Reset == nil || res.Reset.Reason != "timeout" || res.Reset.Runtime == nil || !res.Reset.Runtime.Killed {
		t.Fatalf("reset %+v", res.Reset)
	}
	next := lcInvokeOK(t, ctx, s, `{"name":"after"}`)
	if next.InitDurationMs == nil || !slices.Equal(lcInitPhases(t, s), []string{"init", "invoke"}) {
		t.Fatalf("no re-init after the timeout: phases %v", lcInitPhases(t, s))
	}
}

// lambda.WithEnableSIGTERM registers the internal extension
// GoLangEnableSIGTERM (no events); Lambda then sends the runtime SIGTERM at
// shutdown, with the 500 ms budget of an internal-extension-only function.
func TestGoLambdaSigterm(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{Runtime: &Process{Path: bins.golambda}, Env: map[string]string{"GOLAMBDA_SIGTERM": "1"}})
	lcStart(t, ctx, s)
	if got := s.Extensions(); !slices.Equal(got, []string{"GoLangEnableSIGTERM"}) {
		t.Fatalf("Extensions() = %v", got)
	}
	var reg *lambdaapi.ExtensionRecord
	for _, r := range lcRecords[lambdaapi.ExtensionRecord](t, s, lambdaapi.EventExtension) {
		if r.Name == "GoLangEnableSIGTERM" {
			reg = &r
		}
	}
	if reg == nil || reg.State != "Registered" || len(reg.Events) != 0 {
		t.Fatalf("platform.extension %+v", reg)
	}
	lcInvokeOK(t, ctx, s, `{"name":"x"}`)
	sr := lcShutdown(t, ctx, s)
	if !sr.RuntimeSigterm {
		t.Fatalf("no SIGTERM: %+v", sr)
	}
	if !slices.Contains(lcFunctionLines(t, s), "golambda: SIGTERM received") {
		t.Fatalf("the function's SIGTERM handler did not run: %q", lcFunctionLines(t, s))
	}
	// The handler only prints; the process keeps running until the budget
	// ends.
	t.Logf("golambda shutdown took %vms, runtime %+v", sr.DurationMs, sr.Runtime)
	if sr.Runtime == nil || !sr.Runtime.Killed || sr.DurationMs < 500 || sr.DurationMs >= 1000 {
		t.Fatalf("runtime %+v after %vms; want killed at the 500ms budget", sr.Runtime, sr.DurationMs)
	}
}

// With Managed Instances aws-lambda-go runs AWS_LAMBDA_MAX_CONCURRENCY
// invoke loops; lambdasim hands them invocations concurrently.
func TestGoLambdaManagedInstancesConcurrency(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{Runtime: &Process{Path: bins.golambda}, MaxConcurrency: 2})
	lcStart(t, ctx, s)
	const block = 500 * time.Millisecond
	start := time.Now()
	p1, err := s.InvokeAsync(ctx, Request{Payload: []byte(`{"action":"block","ms":500,"name":"one"}`)})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.InvokeAsync(ctx, Request{Payload: []byte(`{"action":"block","ms":500,"name":"two"}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Pending{p1, p2} {
		res, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var resp golambdaResponse
		if res.Status != lambdaapi.StatusSuccess || json.Unmarshal(res.Payload, &resp) != nil || resp.RequestID != res.RequestID {
			t.Fatalf("result %+v payload %s", res, res.Payload)
		}
	}
	took := time.Since(start)
	t.Logf("two concurrent %v invocations took %v", block, took)
	if took >= 2*block-100*time.Millisecond {
		t.Fatalf("two %v invocations took %v: they ran one after the other", block, took)
	}
	if s.Frozen() {
		t.Fatal("Managed Instances environment frozen")
	}
}
