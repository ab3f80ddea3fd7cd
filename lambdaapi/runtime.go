package lambdaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// RuntimeAPIVersion is the path prefix of the Runtime API.
const RuntimeAPIVersion = "2018-06-01"

// Runtime API headers.
const (
	HeaderRequestID          = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs         = "Lambda-Runtime-Deadline-Ms"
	HeaderInvokedFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID            = "Lambda-Runtime-Trace-Id"
	HeaderClientContext      = "Lambda-Runtime-Client-Context"
	HeaderCognitoIdentity    = "Lambda-Runtime-Cognito-Identity"
	HeaderTenantID           = "Lambda-Runtime-Aws-Tenant-Id"
	HeaderInvocationID       = "Lambda-Runtime-Invocation-Id"

	HeaderFunctionErrorType = "Lambda-Runtime-Function-Error-Type"
	HeaderFunctionErrorBody = "Lambda-Runtime-Function-Error-Body"
	HeaderXRayErrorCause    = "Lambda-Runtime-Function-XRay-Error-Cause"
	HeaderResponseMode      = "Lambda-Runtime-Function-Response-Mode"

	// ResponseModeStreaming is the only value HeaderResponseMode accepts.
	ResponseModeStreaming = "streaming"

	// ContentTypeErrorCause carries the error body and the X-Ray cause together.
	ContentTypeErrorCause = "application/vnd.aws.lambda.error.cause+json"
)

// Response size limits of the Runtime API.
const (
	// MaxBufferedResponseBytes is the largest buffered response (6 MiB + 100 B).
	MaxBufferedResponseBytes = 6*1024*1024 + 100
	// MaxStreamedResponseBytes is the largest streamed response (200 MiB).
	MaxStreamedResponseBytes = 200 * 1024 * 1024
)

// Invocation is one event handed to the runtime by GET /runtime/invocation/next.
type Invocation struct {
	RequestID          string
	Deadline           time.Time
	InvokedFunctionARN string
	TraceID            string
	ClientContext      string
	CognitoIdentity    string
	TenantID           string
	InvocationID       string
	Payload            []byte
}

// SetHeaders writes inv's metadata as Runtime API headers. Empty values are
// left out, as the platform does.
func (inv *Invocation) SetHeaders(h http.Header) {
	set := func(k, v string) {
		if v != "" {
			h[k] = []string{v}
		}
	}
	set(HeaderRequestID, inv.RequestID)
	if !inv.Deadline.IsZero() {
		set(HeaderDeadlineMs, strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
	}
	set(HeaderInvokedFunctionARN, inv.InvokedFunctionARN)
	set(HeaderTraceID, inv.TraceID)
	set(HeaderClientContext, inv.ClientContext)
	set(HeaderCognitoIdentity, inv.CognitoIdentity)
	set(HeaderTenantID, inv.TenantID)
	set(HeaderInvocationID, inv.InvocationID)
}

// ParseInvocation reads an Invocation from a /next answer's headers and body.
func ParseInvocation(h http.Header, payload []byte) (*Invocation, error) {
	inv := &Invocation{
		RequestID:          h.Get(HeaderRequestID),
		InvokedFunctionARN: h.Get(HeaderInvokedFunctionARN),
		TraceID:            h.Get(HeaderTraceID),
		ClientContext:      h.Get(HeaderClientContext),
		CognitoIdentity:    h.Get(HeaderCognitoIdentity),
		TenantID:           h.Get(HeaderTenantID),
		InvocationID:       h.Get(HeaderInvocationID),
		Payload:            payload,
	}
	if inv.RequestID == "" {
		return nil, fmt.Errorf("parse invocation: missing %s header", HeaderRequestID)
	}
	if d := h.Get(HeaderDeadlineMs); d != "" {
		ms, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse invocation: %s %q: %w", HeaderDeadlineMs, d, err)
		}
		inv.Deadline = time.UnixMilli(ms)
	}
	return inv, nil
}

// RuntimeClient is a small client for the Runtime API, for runtimes that do
// not use aws-lambda-go and for tests.
type RuntimeClient struct {
	base string
	hc   *http.Client
}

// NewRuntimeClient returns a client for the Runtime API at addr, the bare
// host:port of AWS_LAMBDA_RUNTIME_API. A nil hc means a client without a
// timeout: /next may legitimately block while the environment is frozen.
func NewRuntimeClient(addr string, hc *http.Client) *RuntimeClient {
	if hc == nil {
		hc = &http.Client{}
	}
	return &RuntimeClient{base: "http://" + addr + "/" + RuntimeAPIVersion, hc: hc}
}

// Next waits for the next invocation.
func (c *RuntimeClient) Next(ctx context.Context) (*Invocation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/runtime/invocation/next", nil)
	if err != nil {
		return nil, fmt.Errorf("runtime next: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("runtime next: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("runtime next: %w", readAPIError(resp))
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("runtime next: read body: %w", err)
	}
	inv, err := ParseInvocation(resp.Header, body)
	if err != nil {
		return nil, fmt.Errorf("runtime next: %w", err)
	}
	return inv, nil
}

// Respond posts a buffered response for requestID.
func (c *RuntimeClient) Respond(ctx context.Context, requestID string, body io.Reader) error {
	return c.post(ctx, "/runtime/invocation/"+url.PathEscape(requestID)+"/response", body, nil, "runtime response")
}

// RespondError reports that the invocation requestID failed.
func (c *RuntimeClient) RespondError(ctx context.Context, requestID string, e ErrorResponse) error {
	return c.postError(ctx, "/runtime/invocation/"+url.PathEscape(requestID)+"/error", e, "runtime invocation error")
}

// InitError reports that the runtime failed to initialise. The runtime should
// exit afterwards.
func (c *RuntimeClient) InitError(ctx context.Context, e ErrorResponse) error {
	return c.postError(ctx, "/runtime/init/error", e, "runtime init error")
}

func (c *RuntimeClient) postError(ctx context.Context, path string, e ErrorResponse, what string) error {
	if e.ErrorType == "" {
		e.ErrorType = ErrTypeUnhandled
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return c.post(ctx, path, bytes.NewReader(b), http.Header{HeaderFunctionErrorType: {e.ErrorType}}, what)
}

func (c *RuntimeClient) post(ctx context.Context, path string, body io.Reader, h http.Header, what string) error {
	return call(ctx, c.hc, http.MethodPost, c.base+path, body, h, http.StatusAccepted, what)
}
