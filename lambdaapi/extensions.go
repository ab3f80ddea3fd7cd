package lambdaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ExtensionsAPIVersion is the path prefix of the Extensions API.
const ExtensionsAPIVersion = "2020-01-01"

// Extensions API headers.
const (
	HeaderExtensionName          = "Lambda-Extension-Name"
	HeaderExtensionIdentifier    = "Lambda-Extension-Identifier"
	HeaderExtensionAcceptFeature = "Lambda-Extension-Accept-Feature"
	HeaderExtensionErrorType     = "Lambda-Extension-Function-Error-Type"
	HeaderExtensionEventID       = "Lambda-Extension-Event-Identifier"

	// FeatureAccountID asks register to answer with the account id.
	FeatureAccountID = "accountId"
)

// EventType is an Extensions API lifecycle event.
type EventType string

// The lifecycle events an extension may register for.
const (
	Invoke   EventType = "INVOKE"
	Shutdown EventType = "SHUTDOWN"
)

// ShutdownReason says why the environment is shutting down.
type ShutdownReason string

// Shutdown reasons, in the lowercase spelling the platform sends.
const (
	ShutdownSpindown ShutdownReason = "spindown"
	ShutdownTimeout  ShutdownReason = "timeout"
	ShutdownFailure  ShutdownReason = "failure"
)

// ParseShutdownReason reads a shutdown reason case-insensitively. Lambda's
// documentation spells them in capitals and its runtime in lowercase; emulators
// have sent other values, which mean a normal spin-down.
func ParseShutdownReason(s string) ShutdownReason {
	switch strings.ToLower(s) {
	case "timeout":
		return ShutdownTimeout
	case "failure":
		return ShutdownFailure
	default:
		return ShutdownSpindown
	}
}

// UnmarshalJSON parses the reason leniently, as ParseShutdownReason does.
func (r *ShutdownReason) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("shutdown reason: %w", err)
	}
	*r = ParseShutdownReason(s)
	return nil
}

// Tracing is the trace context carried by INVOKE events and telemetry records.
type Tracing struct {
	SpanID string `json:"spanId,omitempty"`
	Type   string `json:"type"`
	Value  string `json:"value"`
}

// TracingTypeXRay is the only Tracing.Type Lambda uses.
const TracingTypeXRay = "X-Amzn-Trace-Id"

// Event is an INVOKE or SHUTDOWN event from /extension/event/next.
type Event struct {
	EventType EventType `json:"eventType"`
	// DeadlineMs is the Unix time in milliseconds by which the extension must
	// have called next (INVOKE) or exited (SHUTDOWN).
	DeadlineMs int64 `json:"deadlineMs"`

	// INVOKE only.
	RequestID          string   `json:"requestId,omitempty"`
	InvokedFunctionARN string   `json:"invokedFunctionArn,omitempty"`
	Tracing            *Tracing `json:"tracing,omitempty"`

	// SHUTDOWN only.
	ShutdownReason ShutdownReason `json:"shutdownReason,omitempty"`
}

// RegisterRequest is the body of POST /extension/register. A null or absent
// events list registers for no events.
type RegisterRequest struct {
	Events []EventType `json:"events"`
}

// RegisterResponse is the body answered by a successful register.
type RegisterResponse struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
	AccountID       string `json:"accountId,omitempty"`
}

// StatusResponse is the {"status":"OK"} body of accepted POSTs.
type StatusResponse struct {
	Status string `json:"status"`
}

// ExtensionClient is a client for the Extensions and Telemetry APIs, bound to
// one extension once Register has succeeded.
type ExtensionClient struct {
	addr string
	hc   *http.Client
	id   string
}

// NewExtensionClient returns a client for the APIs at addr, the bare host:port
// of AWS_LAMBDA_RUNTIME_API. A nil hc means a client without a timeout: next
// may legitimately block for as long as the environment is frozen.
func NewExtensionClient(addr string, hc *http.Client) *ExtensionClient {
	if hc == nil {
		hc = &http.Client{}
	}
	return &ExtensionClient{addr: addr, hc: hc}
}

// ID is the identifier the platform gave at registration.
func (c *ExtensionClient) ID() string { return c.id }

// Register registers the extension under name (for an external extension: its
// executable's file name) for events, asking for the account id.
func (c *ExtensionClient) Register(ctx context.Context, name string, events ...EventType) (*RegisterResponse, error) {
	b, err := json.Marshal(RegisterRequest{Events: events})
	if err != nil {
		return nil, fmt.Errorf("register extension: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/extension/register"), bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("register extension: %w", err)
	}
	req.Header.Set(HeaderExtensionName, name)
	req.Header.Set(HeaderExtensionAcceptFeature, FeatureAccountID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("register extension: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("register extension: %w", readAPIError(resp))
	}
	var rr RegisterResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&rr); err != nil {
		return nil, fmt.Errorf("register extension: decode answer: %w", err)
	}
	c.id = resp.Header.Get(HeaderExtensionIdentifier)
	if c.id == "" {
		return nil, fmt.Errorf("register extension: answer has no %s header", HeaderExtensionIdentifier)
	}
	return &rr, nil
}

// Next blocks until the next lifecycle event.
func (c *ExtensionClient) Next(ctx context.Context) (*Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/extension/event/next"), nil)
	if err != nil {
		return nil, fmt.Errorf("extension next: %w", err)
	}
	req.Header.Set(HeaderExtensionIdentifier, c.id)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("extension next: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("extension next: %w", readAPIError(resp))
	}
	var ev Event
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&ev); err != nil {
		return nil, fmt.Errorf("extension next: decode event: %w", err)
	}
	return &ev, nil
}

// InitError reports a failed initialisation; errType must look like
// "Extension.<Reason>". The extension should exit afterwards.
func (c *ExtensionClient) InitError(ctx context.Context, errType, msg string) error {
	return c.reportError(ctx, "/extension/init/error", errType, msg, "extension init error")
}

// ExitError reports an error before the extension exits.
func (c *ExtensionClient) ExitError(ctx context.Context, errType, msg string) error {
	return c.reportError(ctx, "/extension/exit/error", errType, msg, "extension exit error")
}

func (c *ExtensionClient) reportError(ctx context.Context, path, errType, msg, what string) error {
	b, err := json.Marshal(ErrorResponse{ErrorMessage: msg, ErrorType: errType})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	h := http.Header{HeaderExtensionIdentifier: {c.id}, HeaderExtensionErrorType: {errType}}
	return call(ctx, c.hc, http.MethodPost, c.url(path), bytes.NewReader(b), h, http.StatusAccepted, what)
}

// Subscribe subscribes the extension to the Telemetry API. It must be called
// before the extension's first Next.
func (c *ExtensionClient) Subscribe(ctx context.Context, s SubscribeRequest) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("telemetry subscribe: %w", err)
	}
	h := http.Header{HeaderExtensionIdentifier: {c.id}, "Content-Type": {"application/json"}}
	return call(ctx, c.hc, http.MethodPut, "http://"+c.addr+"/"+TelemetryAPIVersion+"/telemetry", bytes.NewReader(b), h, http.StatusOK, "telemetry subscribe")
}

func (c *ExtensionClient) url(path string) string {
	return "http://" + c.addr + "/" + ExtensionsAPIVersion + path
}
