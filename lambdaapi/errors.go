package lambdaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// ErrorResponse is the JSON body the Lambda APIs answer with on failure, and
// the body a runtime or extension sends to report one of its own.
type ErrorResponse struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace,omitempty"`
}

// Error types the platform answers with. Their spelling is the platform's.
const (
	ErrTypeInvalidRequestID            = "InvalidRequestID"
	ErrTypeInvalidStateTransition      = "InvalidStateTransition"
	ErrTypeInvalidFunctionResponseMode = "InvalidFunctionResponseMode"
	ErrTypeRequestEntityTooLarge       = "RequestEntityTooLarge"
	ErrTypeInvalidRequestFormat        = "InvalidRequestFormat"
	ErrTypeInvalidInvocationID         = "InvalidInvocationID"

	ErrTypeMissingExtensionIdentifier = "Extension.MissingExtensionIdentifier"
	ErrTypeUnknownExtensionIdentifier = "Extension.UnknownExtensionIdentifier"
	ErrTypeInvalidExtensionName       = "Extension.InvalidExtensionName"
	ErrTypeRegistrationClosed         = "Extension.RegistrationClosed"
	ErrTypeInvalidEventType           = "Extension.InvalidEventType"
	ErrTypeTooManyExtensions          = "Extension.TooManyExtensions"
	ErrTypeMissingErrorType           = "Extension.MissingHeader"

	ErrTypeValidation                  = "ValidationError"
	ErrTypeTelemetrySubscriptionClosed = "Telemetry.SubscriptionClosed"

	// ErrTypeRuntimeExit is the invocation error of a runtime that exited
	// before it finished the invocation.
	ErrTypeRuntimeExit = "Runtime.ExitError"
	// ErrTypeSandboxTimeout is the invocation error of a timed-out invocation.
	ErrTypeSandboxTimeout = "Sandbox.Timedout"
	// ErrTypeResponseTooLarge is the invocation error of a buffered response
	// over MaxBufferedResponseBytes.
	ErrTypeResponseTooLarge = "Function.ResponseSizeTooLarge"
	// ErrTypeExtensionCrash is the invocation error of an external extension
	// that exited while the environment was live.
	ErrTypeExtensionCrash = "Extension.Crash"
	// ErrTypeUnhandled is the error type used when a runtime names none.
	ErrTypeUnhandled = "Unhandled"
)

// APIError is a non-success answer from one of the Lambda APIs.
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Type and Message come from the ErrorResponse body when there is one.
	Type    string
	Message string
}

func (e *APIError) Error() string {
	if e.Type == "" && e.Message == "" {
		return fmt.Sprintf("lambda api: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("lambda api: HTTP %d: %s: %s", e.StatusCode, e.Type, e.Message)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// readAPIError turns a non-success response into an *APIError. It reads at
// most maxErrorBody bytes of the body.
func readAPIError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{StatusCode: resp.StatusCode}
	var er ErrorResponse
	if json.Unmarshal(body, &er) == nil {
		e.Type, e.Message = er.ErrorType, er.ErrorMessage
	} else {
		e.Message = string(body)
	}
	return e
}

// WriteError writes an ErrorResponse with the given status. It is what the
// platform side (lambdasim) answers with.
func WriteError(w http.ResponseWriter, status int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(ErrorResponse{ErrorMessage: msg, ErrorType: errType})
	_, _ = w.Write(b)
}

// call sends one request that expects status want and an answer body the
// caller does not need; any other status becomes an *APIError. Errors are
// prefixed with what.
func call(ctx context.Context, hc *http.Client, method, url string, body io.Reader, h http.Header, want int, what string) error {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s: %w", what, readAPIError(resp))
	}
	// Draining lets the connection be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return nil
}
