package lambdaapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// seenRequest is what the fake platform saw of one call, copied out of the
// handler so the test goroutine can inspect it without racing.
type seenRequest struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// fakePlatform is a stand-in for the Runtime/Extensions/Telemetry API server.
// Each request is recorded and then answered by the test's respond function.
type fakePlatform struct {
	srv  *httptest.Server
	seen chan seenRequest
}

func newFakePlatform(t *testing.T, respond http.HandlerFunc) *fakePlatform {
	t.Helper()
	p := &fakePlatform{seen: make(chan seenRequest, 16)}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		p.seen <- seenRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		respond(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// addr is the bare host:port, as AWS_LAMBDA_RUNTIME_API carries it.
func (p *fakePlatform) addr() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// next returns the one request the call under test made.
func (p *fakePlatform) next(t *testing.T) seenRequest {
	t.Helper()
	select {
	case r := <-p.seen:
		return r
	default:
		t.Fatal("the fake platform saw no request")
		return seenRequest{}
	}
}

// accepted answers as the platform does to an accepted POST.
func accepted(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// answerError answers with the platform's JSON error body.
func answerError(status int, errType, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { lambdaapi.WriteError(w, status, errType, msg) }
}

// mustAPIError fails unless err wraps an *APIError with the given fields.
func mustAPIError(t *testing.T, err error, status int, errType, msg string) *lambdaapi.APIError {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want HTTP %d", status)
	}
	var ae *lambdaapi.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %T %v does not wrap an *APIError", err, err)
	}
	if ae.StatusCode != status || ae.Type != errType || ae.Message != msg {
		t.Errorf("APIError = {%d %q %q}, want {%d %q %q}", ae.StatusCode, ae.Type, ae.Message, status, errType, msg)
	}
	return ae
}

func wantJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestRuntimeClientNext(t *testing.T) {
	inv := fullInvocation()
	p := newFakePlatform(t, func(w http.ResponseWriter, _ *http.Request) {
		inv.SetHeaders(w.Header())
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(inv.Payload)
	})
	// A nil *http.Client must work: it is what runtimes pass in production.
	c := lambdaapi.NewRuntimeClient(p.addr(), nil)
	got, err := c.Next(context.Background())
	if err != nil {
		t.Fatalf("Next = %v", err)
	}
	r := p.next(t)
	if r.Method != http.MethodGet || r.Path != "/2018-06-01/runtime/invocation/next" {
		t.Errorf("request = %s %s, want GET /2018-06-01/runtime/invocation/next", r.Method, r.Path)
	}
	if !got.Deadline.Equal(inv.Deadline) {
		t.Errorf("Deadline = %v, want %v", got.Deadline, inv.Deadline)
	}
	want := *inv
	got.Deadline = want.Deadline
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("Next = %+v\nwant %+v", *got, want)
	}
}

func TestRuntimeClientNextErrors(t *testing.T) {
	tests := []struct {
		name    string
		respond http.HandlerFunc
		check   func(t *testing.T, err error)
	}{
		{
			name:    "invalid state",
			respond: answerError(http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition, "State transition from Ready to InvocationNext failed"),
			check: func(t *testing.T, err error) {
				mustAPIError(t, err, 403, "InvalidStateTransition", "State transition from Ready to InvocationNext failed")
				if want := "runtime next: lambda api: HTTP 403: InvalidStateTransition: State transition from Ready to InvocationNext failed"; err.Error() != want {
					t.Errorf("error = %q, want %q", err, want)
				}
			},
		},
		{
			name: "plain-text container error",
			respond: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = io.WriteString(w, "container error")
			},
			check: func(t *testing.T, err error) { mustAPIError(t, err, 500, "", "container error") },
		},
		{
			name:    "no request id",
			respond: func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "{}") },
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "missing Lambda-Runtime-Aws-Request-Id") {
					t.Errorf("error = %v, want a missing request id", err)
				}
				var ae *lambdaapi.APIError
				if errors.As(err, &ae) {
					t.Errorf("a malformed 200 answer is not an APIError: %v", err)
				}
			},
		},
		{
			name: "body cut short",
			respond: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set(lambdaapi.HeaderRequestID, "r1")
				w.Header().Set("Content-Length", "100")
				_, _ = io.WriteString(w, `{"a"`)
			},
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "runtime next: read body: ") {
					t.Errorf("error = %v, want a body read failure", err)
				}
			},
		},
		{
			name: "bad deadline",
			respond: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set(lambdaapi.HeaderRequestID, "r1")
				w.Header().Set(lambdaapi.HeaderDeadlineMs, "tomorrow")
			},
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), `Lambda-Runtime-Deadline-Ms "tomorrow"`) {
					t.Errorf("error = %v, want a bad deadline", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakePlatform(t, tt.respond)
			inv, err := lambdaapi.NewRuntimeClient(p.addr(), p.srv.Client()).Next(context.Background())
			if inv != nil {
				t.Errorf("Next returned %+v with its error", inv)
			}
			tt.check(t, err)
		})
	}
}

func TestRuntimeClientRespond(t *testing.T) {
	p := newFakePlatform(t, accepted)
	c := lambdaapi.NewRuntimeClient(p.addr(), p.srv.Client())
	payload := `{"statusCode":200,"body":"hello"}`
	if err := c.Respond(context.Background(), "8476a536-e9f4-11e8-9739-2dfe598c3fcd", strings.NewReader(payload)); err != nil {
		t.Fatalf("Respond = %v", err)
	}
	r := p.next(t)
	if r.Method != http.MethodPost || r.Path != "/2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response" {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
	if string(r.Body) != payload {
		t.Errorf("body = %q, want %q", r.Body, payload)
	}
	if v := r.Header.Get(lambdaapi.HeaderFunctionErrorType); v != "" {
		t.Errorf("a response carries error type %q", v)
	}
}

func TestRuntimeClientRespondRejected(t *testing.T) {
	tests := []struct {
		status  int
		errType string
		msg     string
	}{
		{400, lambdaapi.ErrTypeInvalidRequestID, "Invalid request ID"},
		{403, lambdaapi.ErrTypeInvalidStateTransition, "State transition is not allowed"},
		{413, lambdaapi.ErrTypeRequestEntityTooLarge, "Exceeded maximum allowed payload size (6291556 bytes)."},
		{410, lambdaapi.ErrTypeInvalidInvocationID, "stale invocation"},
		{500, "", ""},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			p := newFakePlatform(t, answerError(tt.status, tt.errType, tt.msg))
			err := lambdaapi.NewRuntimeClient(p.addr(), p.srv.Client()).Respond(context.Background(), "r1", strings.NewReader("x"))
			mustAPIError(t, err, tt.status, tt.errType, tt.msg)
			if !strings.HasPrefix(err.Error(), "runtime response: ") {
				t.Errorf("error %q does not say which call failed", err)
			}
		})
	}
}

func TestRuntimeClientErrorReports(t *testing.T) {
	type call func(c *lambdaapi.RuntimeClient, e lambdaapi.ErrorResponse) error
	respondError := func(c *lambdaapi.RuntimeClient, e lambdaapi.ErrorResponse) error {
		return c.RespondError(context.Background(), "r-42", e)
	}
	initError := func(c *lambdaapi.RuntimeClient, e lambdaapi.ErrorResponse) error {
		return c.InitError(context.Background(), e)
	}
	tests := []struct {
		name     string
		call     call
		path     string
		in       lambdaapi.ErrorResponse
		wantType string
		wantBody string
	}{
		{
			name: "invocation error", call: respondError, path: "/2018-06-01/runtime/invocation/r-42/error",
			in:       lambdaapi.ErrorResponse{ErrorMessage: "boom", ErrorType: "Runtime.HandlerError", StackTrace: []string{"a.go:1", "b.go:2"}},
			wantType: "Runtime.HandlerError",
			wantBody: `{"errorMessage":"boom","errorType":"Runtime.HandlerError","stackTrace":["a.go:1","b.go:2"]}`,
		},
		{
			name: "invocation error defaults to Unhandled", call: respondError, path: "/2018-06-01/runtime/invocation/r-42/error",
			in:       lambdaapi.ErrorResponse{ErrorMessage: "boom"},
			wantType: "Unhandled",
			wantBody: `{"errorMessage":"boom","errorType":"Unhandled"}`,
		},
		{
			name: "init error", call: initError, path: "/2018-06-01/runtime/init/error",
			in:       lambdaapi.ErrorResponse{ErrorMessage: "no handler", ErrorType: "Runtime.NoSuchHandler"},
			wantType: "Runtime.NoSuchHandler",
			wantBody: `{"errorMessage":"no handler","errorType":"Runtime.NoSuchHandler"}`,
		},
		{
			name: "init error defaults to Unhandled", call: initError, path: "/2018-06-01/runtime/init/error",
			in:       lambdaapi.ErrorResponse{},
			wantType: "Unhandled",
			wantBody: `{"errorMessage":"","errorType":"Unhandled"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakePlatform(t, accepted)
			if err := tt.call(lambdaapi.NewRuntimeClient(p.addr(), p.srv.Client()), tt.in); err != nil {
				t.Fatalf("call = %v", err)
			}
			r := p.next(t)
			if r.Method != http.MethodPost || r.Path != tt.path {
				t.Errorf("request = %s %s, want POST %s", r.Method, r.Path, tt.path)
			}
			if got := r.Header.Values(lambdaapi.HeaderFunctionErrorType); len(got) != 1 || got[0] != tt.wantType {
				t.Errorf("%s = %q, want [%q]", lambdaapi.HeaderFunctionErrorType, got, tt.wantType)
			}
			if string(r.Body) != tt.wantBody {
				t.Errorf("body = %s, want %s", r.Body, tt.wantBody)
			}
		})
	}

	// A refused report names the call and carries the platform's answer.
	for name, c := range map[string]call{"runtime invocation error: ": respondError, "runtime init error: ": initError} {
		p := newFakePlatform(t, answerError(403, lambdaapi.ErrTypeInvalidStateTransition, "no"))
		err := c(lambdaapi.NewRuntimeClient(p.addr(), p.srv.Client()), lambdaapi.ErrorResponse{})
		mustAPIError(t, err, 403, lambdaapi.ErrTypeInvalidStateTransition, "no")
		if !strings.HasPrefix(err.Error(), name) {
			t.Errorf("error %q, want prefix %q", err, name)
		}
	}
}

func TestAPIErrorBodies(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	tests := []struct {
		name     string
		status   int
		body     string
		wantType string
		wantMsg  string
		wantStr  string
	}{
		{name: "json", status: 400, body: `{"errorType":"ValidationError","errorMessage":"URI port is not provided; types should not be empty"}`, wantType: "ValidationError", wantMsg: "URI port is not provided; types should not be empty", wantStr: "lambda api: HTTP 400: ValidationError: URI port is not provided; types should not be empty"},
		{name: "json with stack and extras", status: 500, body: `{"errorMessage":"m","errorType":"T","stackTrace":["s"],"x":1}`, wantType: "T", wantMsg: "m", wantStr: "lambda api: HTTP 500: T: m"},
		{name: "plain text", status: 502, body: "Bad Gateway\n", wantMsg: "Bad Gateway\n", wantStr: "lambda api: HTTP 502: : Bad Gateway\n"},
		{name: "json string", status: 500, body: `"OK"`, wantMsg: `"OK"`, wantStr: `lambda api: HTTP 500: : "OK"`},
		{name: "empty body", status: 500, body: "", wantStr: "lambda api: HTTP 500"},
		{name: "empty object", status: 503, body: "{}", wantStr: "lambda api: HTTP 503"},
		{name: "long body is cut at 64 KiB", status: 500, body: big, wantMsg: big[:64<<10], wantStr: "lambda api: HTTP 500: : " + big[:64<<10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakePlatform(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			err := lambdaapi.NewRuntimeClient(p.addr(), p.srv.Client()).InitError(context.Background(), lambdaapi.ErrorResponse{})
			ae := mustAPIError(t, err, tt.status, tt.wantType, tt.wantMsg)
			if ae.Error() != tt.wantStr {
				t.Errorf("Error() = %.100q, want %.100q", ae.Error(), tt.wantStr)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	lambdaapi.WriteError(rec, http.StatusForbidden, lambdaapi.ErrTypeUnknownExtensionIdentifier, `Unknown extension "<x>"`)
	if rec.Code != http.StatusForbidden {
		t.Errorf("status = %d, want 403", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	wantJSON(t, rec.Body.Bytes(), `{"errorMessage":"Unknown extension \"<x>\"","errorType":"Extension.UnknownExtensionIdentifier"}`)

	var er lambdaapi.ErrorResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &er); err != nil {
		t.Fatal(err)
	}
	if er.StackTrace != nil {
		t.Errorf("StackTrace = %q, want it omitted", er.StackTrace)
	}
	if strings.Contains(rec.Body.String(), "stackTrace") {
		t.Errorf("body %s carries an empty stackTrace", rec.Body)
	}
}

func TestWriteErrorRoundTrip(t *testing.T) {
	// What lambdasim writes with WriteError is what the clients read back.
	msg := "line one\nline \"two\" <b>&</b> ü"
	p := newFakePlatform(t, answerError(http.StatusRequestEntityTooLarge, lambdaapi.ErrTypeRequestEntityTooLarge, msg))
	err := lambdaapi.NewRuntimeClient(p.addr(), p.srv.Client()).Respond(context.Background(), "r", strings.NewReader("x"))
	mustAPIError(t, err, 413, lambdaapi.ErrTypeRequestEntityTooLarge, msg)
}

func TestExtensionClientRegister(t *testing.T) {
	p := newFakePlatform(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(lambdaapi.HeaderExtensionIdentifier, "5b8a1d6c-1b2e-4c5b-9e3a-0e6d2f1a9c77")
		_, _ = io.WriteString(w, `{"functionName":"myfn","functionVersion":"$LATEST","handler":"bootstrap","accountId":"123456789012","unknown":1}`)
	})
	c := lambdaapi.NewExtensionClient(p.addr(), p.srv.Client())
	if c.ID() != "" {
		t.Errorf("ID before Register = %q", c.ID())
	}
	rr, err := c.Register(context.Background(), "lambdaotel-extension", lambdaapi.Invoke, lambdaapi.Shutdown)
	if err != nil {
		t.Fatalf("Register = %v", err)
	}
	if want := (lambdaapi.RegisterResponse{FunctionName: "myfn", FunctionVersion: "$LATEST", Handler: "bootstrap", AccountID: "123456789012"}); *rr != want {
		t.Errorf("Register = %+v, want %+v", *rr, want)
	}
	if c.ID() != "5b8a1d6c-1b2e-4c5b-9e3a-0e6d2f1a9c77" {
		t.Errorf("ID = %q", c.ID())
	}
	r := p.next(t)
	if r.Method != http.MethodPost || r.Path != "/2020-01-01/extension/register" {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
	for k, want := range map[string]string{
		"Lambda-Extension-Name":           "lambdaotel-extension",
		"Lambda-Extension-Accept-Feature": "accountId",
		"Content-Type":                    "application/json",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if v := r.Header.Get(lambdaapi.HeaderExtensionIdentifier); v != "" {
		t.Errorf("register sent an identifier %q before having one", v)
	}
	wantJSON(t, r.Body, `{"events":["INVOKE","SHUTDOWN"]}`)
}

func TestExtensionClientRegisterNoEvents(t *testing.T) {
	p := newFakePlatform(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(lambdaapi.HeaderExtensionIdentifier, "id-1")
		_, _ = io.WriteString(w, `{"functionName":"myfn","functionVersion":"$LATEST","handler":""}`)
	})
	c := lambdaapi.NewExtensionClient(p.addr(), p.srv.Client())
	rr, err := c.Register(context.Background(), "internal-ext")
	if err != nil {
		t.Fatalf("Register = %v", err)
	}
	if rr.AccountID != "" || rr.Handler != "" {
		t.Errorf("Register = %+v", *rr)
	}
	// A null events list registers for nothing (RegisterRequest's contract).
	wantJSON(t, p.next(t).Body, `{"events":null}`)
}

func TestExtensionClientRegisterErrors(t *testing.T) {
	tests := []struct {
		name    string
		respond http.HandlerFunc
		check   func(t *testing.T, err error)
	}{
		{
			name: "no identifier header",
			respond: func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{"functionName":"myfn","functionVersion":"$LATEST","handler":""}`)
			},
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "no Lambda-Extension-Identifier header") {
					t.Errorf("error = %v, want a missing identifier", err)
				}
			},
		},
		{
			name:    "too many extensions",
			respond: answerError(http.StatusForbidden, lambdaapi.ErrTypeTooManyExtensions, "Too many extensions"),
			check: func(t *testing.T, err error) {
				mustAPIError(t, err, 403, lambdaapi.ErrTypeTooManyExtensions, "Too many extensions")
				if !strings.HasPrefix(err.Error(), "register extension: ") {
					t.Errorf("error %q does not say which call failed", err)
				}
			},
		},
		{
			name:    "registration closed",
			respond: answerError(http.StatusForbidden, lambdaapi.ErrTypeRegistrationClosed, "closed"),
			check: func(t *testing.T, err error) {
				mustAPIError(t, err, 403, lambdaapi.ErrTypeRegistrationClosed, "closed")
			},
		},
		{
			name: "accepted is not registered",
			respond: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set(lambdaapi.HeaderExtensionIdentifier, "id")
				accepted(w, nil)
			},
			check: func(t *testing.T, err error) { mustAPIError(t, err, 202, "", "") },
		},
		{
			name: "undecodable answer",
			respond: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set(lambdaapi.HeaderExtensionIdentifier, "id")
				_, _ = io.WriteString(w, `not json`)
			},
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "register extension: decode answer: ") {
					t.Errorf("error = %v, want a decode failure", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakePlatform(t, tt.respond)
			c := lambdaapi.NewExtensionClient(p.addr(), p.srv.Client())
			rr, err := c.Register(context.Background(), "ext", lambdaapi.Shutdown)
			if rr != nil {
				t.Errorf("Register returned %+v with its error", rr)
			}
			tt.check(t, err)
			if c.ID() != "" {
				t.Errorf("ID = %q after a failed Register", c.ID())
			}
		})
	}
}

// registeredClient returns a client registered with the fake platform p under
// identifier id, with the register request already drained from p.
func registeredClient(t *testing.T, p *fakePlatform, id string) *lambdaapi.ExtensionClient {
	t.Helper()
	c := lambdaapi.NewExtensionClient(p.addr(), p.srv.Client())
	if _, err := c.Register(context.Background(), "ext", lambdaapi.Invoke, lambdaapi.Shutdown); err != nil {
		t.Fatalf("Register = %v", err)
	}
	if c.ID() != id {
		t.Fatalf("ID = %q, want %q", c.ID(), id)
	}
	p.next(t)
	return c
}

// lifecycle answers register with id and every other path with the handler
// in routes, keyed by "METHOD path".
func lifecycle(id string, routes map[string]http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/2020-01-01/extension/register" {
			w.Header().Set(lambdaapi.HeaderExtensionIdentifier, id)
			_, _ = io.WriteString(w, `{"functionName":"f","functionVersion":"$LATEST","handler":"h"}`)
			return
		}
		if r.Header.Get(lambdaapi.HeaderExtensionIdentifier) != id {
			lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeUnknownExtensionIdentifier, "unknown identifier")
			return
		}
		if h, ok := routes[r.Method+" "+r.URL.Path]; ok {
			h(w, r)
			return
		}
		lambdaapi.WriteError(w, http.StatusNotFound, "NotFound", r.Method+" "+r.URL.Path)
	}
}

func TestExtensionClientNext(t *testing.T) {
	for _, tt := range []struct {
		name string
		body string
		want lambdaapi.Event
	}{
		{
			name: "invoke",
			body: sampleInvokeEvent,
			want: lambdaapi.Event{
				EventType: lambdaapi.Invoke, DeadlineMs: 1795444293147,
				RequestID:          "3da1f2dc-3222-475e-9205-e2e6c6318895",
				InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:ExtensionTest",
				Tracing: &lambdaapi.Tracing{
					Type:  lambdaapi.TracingTypeXRay,
					Value: "Root=1-5f35ae12-0c0fec141ab77a00bc047aa2;Parent=2be948a625588e32;Sampled=1",
				},
			},
		},
		{
			name: "shutdown",
			body: `{"eventType":"SHUTDOWN","shutdownReason":"SandboxTerminated","deadlineMs":1795444371526}`,
			want: lambdaapi.Event{EventType: lambdaapi.Shutdown, ShutdownReason: lambdaapi.ShutdownSpindown, DeadlineMs: 1795444371526},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakePlatform(t, lifecycle("id-7", map[string]http.HandlerFunc{
				"GET /2020-01-01/extension/event/next": func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set(lambdaapi.HeaderExtensionEventID, "ev-1")
					_, _ = io.WriteString(w, tt.body)
				},
			}))
			c := registeredClient(t, p, "id-7")
			ev, err := c.Next(context.Background())
			if err != nil {
				t.Fatalf("Next = %v", err)
			}
			r := p.next(t)
			if r.Method != http.MethodGet || r.Path != "/2020-01-01/extension/event/next" {
				t.Errorf("request = %s %s", r.Method, r.Path)
			}
			if got := r.Header.Get(lambdaapi.HeaderExtensionIdentifier); got != "id-7" {
				t.Errorf("identifier header = %q, want id-7", got)
			}
			if !reflect.DeepEqual(*ev, tt.want) {
				t.Errorf("Next = %+v, want %+v", *ev, tt.want)
			}
		})
	}
}

func TestExtensionClientNextErrors(t *testing.T) {
	// Without Register the client has no identifier: the platform refuses.
	p := newFakePlatform(t, lifecycle("id-1", nil))
	c := lambdaapi.NewExtensionClient(p.addr(), p.srv.Client())
	ev, err := c.Next(context.Background())
	if ev != nil {
		t.Errorf("Next returned %+v with its error", ev)
	}
	mustAPIError(t, err, 403, lambdaapi.ErrTypeUnknownExtensionIdentifier, "unknown identifier")
	if !strings.HasPrefix(err.Error(), "extension next: ") {
		t.Errorf("error %q does not say which call failed", err)
	}

	p = newFakePlatform(t, lifecycle("id-2", map[string]http.HandlerFunc{
		"GET /2020-01-01/extension/event/next": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"eventType":`)
		},
	}))
	c = registeredClient(t, p, "id-2")
	if _, err := c.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "extension next: decode event: ") {
		t.Errorf("Next on a truncated event = %v, want a decode error", err)
	}
}

func TestExtensionClientErrorReports(t *testing.T) {
	tests := []struct {
		name string
		call func(c *lambdaapi.ExtensionClient) error
		path string
		what string
	}{
		{
			name: "init error",
			call: func(c *lambdaapi.ExtensionClient) error {
				return c.InitError(context.Background(), "Extension.ConfigInvalid", "bad OTEL_EXPORTER_OTLP_ENDPOINT")
			},
			path: "/2020-01-01/extension/init/error",
			what: "extension init error: ",
		},
		{
			name: "exit error",
			call: func(c *lambdaapi.ExtensionClient) error {
				return c.ExitError(context.Background(), "Extension.ConfigInvalid", "bad OTEL_EXPORTER_OTLP_ENDPOINT")
			},
			path: "/2020-01-01/extension/exit/error",
			what: "extension exit error: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakePlatform(t, lifecycle("id-3", map[string]http.HandlerFunc{"POST " + tt.path: accepted}))
			c := registeredClient(t, p, "id-3")
			if err := tt.call(c); err != nil {
				t.Fatalf("call = %v", err)
			}
			r := p.next(t)
			if r.Method != http.MethodPost || r.Path != tt.path {
				t.Errorf("request = %s %s, want POST %s", r.Method, r.Path, tt.path)
			}
			if got := r.Header.Get(lambdaapi.HeaderExtensionIdentifier); got != "id-3" {
				t.Errorf("identifier = %q", got)
			}
			if got := r.Header.Values("Lambda-Extension-Function-Error-Type"); len(got) != 1 || got[0] != "Extension.ConfigInvalid" {
				t.Errorf("error type header = %q", got)
			}
			wantJSON(t, r.Body, `{"errorMessage":"bad OTEL_EXPORTER_OTLP_ENDPOINT","errorType":"Extension.ConfigInvalid"}`)

			// After a report the platform refuses everything (A3.1); a second
			// report must surface that refusal.
			p2 := newFakePlatform(t, lifecycle("id-4", map[string]http.HandlerFunc{
				"POST " + tt.path: answerError(http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition, "already reported"),
			}))
			err := tt.call(registeredClient(t, p2, "id-4"))
			mustAPIError(t, err, 403, lambdaapi.ErrTypeInvalidStateTransition, "already reported")
			if !strings.HasPrefix(err.Error(), tt.what) {
				t.Errorf("error %q, want prefix %q", err, tt.what)
			}
		})
	}
}

func TestExtensionClientSubscribe(t *testing.T) {
	sub := validSubscribe()
	p := newFakePlatform(t, lifecycle("id-5", map[string]http.HandlerFunc{
		"PUT /2022-07-01/telemetry": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `"OK"`)
		},
	}))
	c := registeredClient(t, p, "id-5")
	if err := c.Subscribe(context.Background(), sub); err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	r := p.next(t)
	if r.Method != http.MethodPut || r.Path != "/2022-07-01/telemetry" {
		t.Errorf("request = %s %s, want PUT /2022-07-01/telemetry", r.Method, r.Path)
	}
	if got := r.Header.Get(lambdaapi.HeaderExtensionIdentifier); got != "id-5" {
		t.Errorf("identifier = %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	wantJSON(t, r.Body, `{
  "schemaVersion": "2022-12-13",
  "types": ["platform", "function", "extension"],
  "buffering": { "maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25 },
  "destination": { "protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/anypath" }
}`)

	// The body the platform receives must pass the platform's validation.
	var got lambdaapi.SubscribeRequest
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if _, err := got.Validate(""); err != nil {
		t.Errorf("sent subscription fails validation: %v", err)
	}
}

func TestExtensionClientSubscribeRefused(t *testing.T) {
	tests := []struct {
		name    string
		respond http.HandlerFunc
		status  int
		errType string
		msg     string
	}{
		{
			name:    "validation",
			respond: answerError(http.StatusBadRequest, lambdaapi.ErrTypeValidation, "URI port is not provided; types should not be empty"),
			status:  400, errType: "ValidationError", msg: "URI port is not provided; types should not be empty",
		},
		{
			name:    "closed",
			respond: answerError(http.StatusForbidden, lambdaapi.ErrTypeTelemetrySubscriptionClosed, "subscription closed"),
			status:  403, errType: "Telemetry.SubscriptionClosed", msg: "subscription closed",
		},
		{
			// The RIE stub (A4.1) answers 202: telemetry is not available, and
			// the caller must be able to tell.
			name: "emulator stub",
			respond: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				_, _ = io.WriteString(w, `{"errorMessage":"Telemetry API is not supported","errorType":"Telemetry.NotSupported"}`)
			},
			status: 202, errType: "Telemetry.NotSupported", msg: "Telemetry API is not supported",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakePlatform(t, lifecycle("id-6", map[string]http.HandlerFunc{"PUT /2022-07-01/telemetry": tt.respond}))
			err := registeredClient(t, p, "id-6").Subscribe(context.Background(), validSubscribe())
			mustAPIError(t, err, tt.status, tt.errType, tt.msg)
			if !strings.HasPrefix(err.Error(), "telemetry subscribe: ") {
				t.Errorf("error %q does not say which call failed", err)
			}
		})
	}
}

func TestExtensionLifecycle(t *testing.T) {
	// Register, subscribe before the first next (A3.1), then take events
	// until SHUTDOWN, all against one platform that checks the identifier.
	events := make(chan string, 2)
	events <- `{"eventType":"INVOKE","deadlineMs":1795444293147,"requestId":"r1","invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f"}`
	events <- `{"eventType":"SHUTDOWN","shutdownReason":"timeout","deadlineMs":1795444295147}`
	p := newFakePlatform(t, lifecycle("life", map[string]http.HandlerFunc{
		"PUT /2022-07-01/telemetry": func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `"OK"`) },
		"GET /2020-01-01/extension/event/next": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, <-events)
		},
	}))
	ctx := context.Background()
	c := registeredClient(t, p, "life")
	if err := c.Subscribe(ctx, validSubscribe()); err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	ev, err := c.Next(ctx)
	if err != nil || ev.EventType != lambdaapi.Invoke || ev.RequestID != "r1" || ev.Tracing != nil {
		t.Fatalf("first Next = %+v, %v", ev, err)
	}
	ev, err = c.Next(ctx)
	if err != nil || ev.EventType != lambdaapi.Shutdown || ev.ShutdownReason != lambdaapi.ShutdownTimeout {
		t.Fatalf("second Next = %+v, %v", ev, err)
	}
	var paths []string
	for range 3 {
		paths = append(paths, p.next(t).Path)
	}
	want := []string{"/2022-07-01/telemetry", "/2020-01-01/extension/event/next", "/2020-01-01/extension/event/next"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
}

// blockingNext starts a platform whose runtime and extension next never
// answer on their own, the way a frozen environment behaves. entered is
// signalled once a next request is in the handler; the handler returns when
// the client goes away or the test ends.
func blockingNext(t *testing.T) (p *fakePlatform, entered <-chan struct{}) {
	t.Helper()
	in := make(chan struct{}, 1)
	release := make(chan struct{})
	block := func(_ http.ResponseWriter, r *http.Request) {
		in <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	p = newFakePlatform(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/2018-06-01/runtime/invocation/next", "/2020-01-01/extension/event/next":
			block(w, r)
		case "/2020-01-01/extension/register":
			w.Header().Set(lambdaapi.HeaderExtensionIdentifier, "blk")
			_, _ = io.WriteString(w, `{"functionName":"f","functionVersion":"$LATEST","handler":"h"}`)
		default:
			lambdaapi.WriteError(w, http.StatusNotFound, "NotFound", r.URL.Path)
		}
	})
	// Registered after newFakePlatform's cleanup, so it runs first and no
	// handler is left blocking srv.Close.
	t.Cleanup(func() { close(release) })
	return p, in
}

func TestNextCancellation(t *testing.T) {
	tests := []struct {
		name string
		next func(ctx context.Context, p *fakePlatform) error
	}{
		{
			name: "runtime",
			next: func(ctx context.Context, p *fakePlatform) error {
				_, err := lambdaapi.NewRuntimeClient(p.addr(), p.srv.Client()).Next(ctx)
				return err
			},
		},
		{
			name: "extension",
			next: func(ctx context.Context, p *fakePlatform) error {
				c := lambdaapi.NewExtensionClient(p.addr(), p.srv.Client())
				if _, err := c.Register(context.Background(), "ext"); err != nil {
					return err
				}
				_, err := c.Next(ctx)
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, entered := blockingNext(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- tt.next(ctx, p) }()
			select {
			case <-entered:
			case err := <-done:
				t.Fatalf("Next returned before the platform held it: %v", err)
			}
			cancel()
			err := <-done
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Next after cancel = %v, want context.Canceled", err)
			}
			var ae *lambdaapi.APIError
			if errors.As(err, &ae) {
				t.Errorf("a cancelled call is not an APIError: %v", err)
			}
		})
	}
}

func TestCallsWithCancelledContext(t *testing.T) {
	// Every call honours a context that is already done, without a request.
	p := newFakePlatform(t, accepted)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rc := lambdaapi.NewRuntimeClient(p.addr(), p.srv.Client())
	ec := lambdaapi.NewExtensionClient(p.addr(), p.srv.Client())
	calls := map[string]func() error{
		"runtime next":         func() error { _, err := rc.Next(ctx); return err },
		"runtime respond":      func() error { return rc.Respond(ctx, "r", strings.NewReader("x")) },
		"runtime error":        func() error { return rc.RespondError(ctx, "r", lambdaapi.ErrorResponse{}) },
		"runtime init error":   func() error { return rc.InitError(ctx, lambdaapi.ErrorResponse{}) },
		"extension register":   func() error { _, err := ec.Register(ctx, "ext"); return err },
		"extension next":       func() error { _, err := ec.Next(ctx); return err },
		"extension init error": func() error { return ec.InitError(ctx, "Extension.X", "m") },
		"extension exit error": func() error { return ec.ExitError(ctx, "Extension.X", "m") },
		"telemetry subscribe":  func() error { return ec.Subscribe(ctx, validSubscribe()) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s = %v, want context.Canceled", name, err)
		}
	}
	select {
	case r := <-p.seen:
		t.Errorf("a cancelled call reached the platform: %s %s", r.Method, r.Path)
	default:
	}
}

func TestCallsToUnreachablePlatform(t *testing.T) {
	// A platform that has gone away yields a transport error, not an APIError.
	p := newFakePlatform(t, accepted)
	addr := p.addr()
	p.srv.Close()
	ctx := context.Background()
	rc := lambdaapi.NewRuntimeClient(addr, nil)
	ec := lambdaapi.NewExtensionClient(addr, nil)
	calls := map[string]func() error{
		"runtime next: ":         func() error { _, err := rc.Next(ctx); return err },
		"runtime response: ":     func() error { return rc.Respond(ctx, "r", strings.NewReader("x")) },
		"register extension: ":   func() error { _, err := ec.Register(ctx, "ext"); return err },
		"extension next: ":       func() error { _, err := ec.Next(ctx); return err },
		"extension exit error: ": func() error { return ec.ExitError(ctx, "Extension.X", "m") },
		"telemetry subscribe: ":  func() error { return ec.Subscribe(ctx, validSubscribe()) },
	}
	for prefix, call := range calls {
		err := call()
		if err == nil {
			t.Errorf("%s call to a closed server succeeded", prefix)
			continue
		}
		if !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("error %q, want prefix %q", err, prefix)
		}
		var ae *lambdaapi.APIError
		if errors.As(err, &ae) {
			t.Errorf("%s transport failure reported as APIError: %v", prefix, err)
		}
	}
}

func TestCallsWithBadAddress(t *testing.T) {
	// AWS_LAMBDA_RUNTIME_API is a bare host:port; garbage there must fail
	// cleanly when building the request.
	ctx := context.Background()
	rc := lambdaapi.NewRuntimeClient("bad host:%zz", nil)
	ec := lambdaapi.NewExtensionClient("bad host:%zz", nil)
	for name, call := range map[string]func() error{
		"runtime next":        func() error { _, err := rc.Next(ctx); return err },
		"runtime init error":  func() error { return rc.InitError(ctx, lambdaapi.ErrorResponse{}) },
		"extension register":  func() error { _, err := ec.Register(ctx, "ext"); return err },
		"extension next":      func() error { _, err := ec.Next(ctx); return err },
		"extension error":     func() error { return ec.InitError(ctx, "Extension.X", "m") },
		"telemetry subscribe": func() error { return ec.Subscribe(ctx, validSubscribe()) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s with a bad address succeeded", name)
		}
	}
}
