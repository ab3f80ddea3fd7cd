package lambdaapi_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

func fullInvocation() *lambdaapi.Invocation {
	return &lambdaapi.Invocation{
		RequestID:          "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		Deadline:           time.UnixMilli(1542409706888),
		InvokedFunctionARN: "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime:live",
		TraceID:            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
		ClientContext:      `{"client":{"installation_id":"i"},"custom":{"k":"v"},"env":{}}`,
		CognitoIdentity:    `{"cognitoIdentityId":"us-east-1:1","cognitoIdentityPoolId":"us-east-1:p"}`,
		TenantID:           "tenant-42",
		InvocationID:       "6a2b0f1c-0000-4000-8000-000000000001",
		Payload:            []byte(`{"key":"value"}`),
	}
}

func TestInvocationHeadersRoundTrip(t *testing.T) {
	inv := fullInvocation()
	h := http.Header{}
	inv.SetHeaders(h)

	wantHeaders := map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       inv.RequestID,
		"Lambda-Runtime-Deadline-Ms":          "1542409706888",
		"Lambda-Runtime-Invoked-Function-Arn": inv.InvokedFunctionARN,
		"Lambda-Runtime-Trace-Id":             inv.TraceID,
		"Lambda-Runtime-Client-Context":       inv.ClientContext,
		"Lambda-Runtime-Cognito-Identity":     inv.CognitoIdentity,
		"Lambda-Runtime-Aws-Tenant-Id":        inv.TenantID,
		"Lambda-Runtime-Invocation-Id":        inv.InvocationID,
	}
	if len(h) != len(wantHeaders) {
		t.Errorf("SetHeaders wrote %d headers, want %d: %v", len(h), len(wantHeaders), h)
	}
	for k, v := range wantHeaders {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want [%q]", k, got, v)
		}
	}

	got, err := lambdaapi.ParseInvocation(h, inv.Payload)
	if err != nil {
		t.Fatalf("ParseInvocation = %v", err)
	}
	if !got.Deadline.Equal(inv.Deadline) {
		t.Errorf("Deadline = %v, want %v", got.Deadline, inv.Deadline)
	}
	got.Deadline, inv.Deadline = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, inv) {
		t.Errorf("ParseInvocation = %+v\nwant %+v", got, inv)
	}
}

func TestInvocationSetHeadersOverwrites(t *testing.T) {
	// A server reusing a header map per answer must not send stale values twice.
	h := http.Header{lambdaapi.HeaderRequestID: {"old-1", "old-2"}}
	(&lambdaapi.Invocation{RequestID: "new"}).SetHeaders(h)
	if got := h.Values(lambdaapi.HeaderRequestID); len(got) != 1 || got[0] != "new" {
		t.Errorf("request id header = %q, want [new]", got)
	}
}

func TestInvocationDeadlinePrecision(t *testing.T) {
	// The header carries milliseconds: finer precision is truncated, and a
	// deadline in another zone means the same instant.
	d := time.Date(2026, 1, 2, 5, 4, 5, 123_999_999, time.FixedZone("X", 2*3600))
	h := http.Header{}
	(&lambdaapi.Invocation{RequestID: "r", Deadline: d}).SetHeaders(h)
	if got, want := h.Get(lambdaapi.HeaderDeadlineMs), "1767323045123"; got != want {
		t.Errorf("deadline header = %s, want %s", got, want)
	}
	inv, err := lambdaapi.ParseInvocation(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := d.Truncate(time.Millisecond); !inv.Deadline.Equal(want) {
		t.Errorf("Deadline = %v, want %v", inv.Deadline, want)
	}
}

func TestInvocationEmptyValuesOmitted(t *testing.T) {
	h := http.Header{}
	(&lambdaapi.Invocation{RequestID: "r1", Payload: []byte("ignored")}).SetHeaders(h)
	if len(h) != 1 || h.Get(lambdaapi.HeaderRequestID) != "r1" {
		t.Errorf("SetHeaders wrote %v, want only the request id", h)
	}

	h = http.Header{}
	(&lambdaapi.Invocation{}).SetHeaders(h)
	if len(h) != 0 {
		t.Errorf("SetHeaders of an empty invocation wrote %v", h)
	}

	// Absent optional headers parse to empty values and a zero deadline.
	inv, err := lambdaapi.ParseInvocation(http.Header{lambdaapi.HeaderRequestID: {"r1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&lambdaapi.Invocation{RequestID: "r1"}); !reflect.DeepEqual(inv, want) {
		t.Errorf("ParseInvocation = %+v, want %+v", inv, want)
	}
}

func TestParseInvocationErrors(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want string
	}{
		{name: "no headers", h: http.Header{}, want: "missing Lambda-Runtime-Aws-Request-Id header"},
		{name: "empty request id", h: http.Header{lambdaapi.HeaderRequestID: {""}, lambdaapi.HeaderDeadlineMs: {"1"}}, want: "missing Lambda-Runtime-Aws-Request-Id header"},
		{name: "non-numeric deadline", h: http.Header{lambdaapi.HeaderRequestID: {"r"}, lambdaapi.HeaderDeadlineMs: {"soon"}}, want: `Lambda-Runtime-Deadline-Ms "soon"`},
		{name: "fractional deadline", h: http.Header{lambdaapi.HeaderRequestID: {"r"}, lambdaapi.HeaderDeadlineMs: {"1542409706888.5"}}, want: `Lambda-Runtime-Deadline-Ms "1542409706888.5"`},
		{name: "overflowing deadline", h: http.Header{lambdaapi.HeaderRequestID: {"r"}, lambdaapi.HeaderDeadlineMs: {"99999999999999999999"}}, want: "Lambda-Runtime-Deadline-Ms"},
		{name: "RFC 3339 deadline", h: http.Header{lambdaapi.HeaderRequestID: {"r"}, lambdaapi.HeaderDeadlineMs: {"2026-01-02T03:04:05Z"}}, want: "Lambda-Runtime-Deadline-Ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := lambdaapi.ParseInvocation(tt.h, []byte("{}"))
			if err == nil {
				t.Fatalf("ParseInvocation = %+v, want an error", inv)
			}
			if inv != nil {
				t.Errorf("ParseInvocation returned %+v with its error", inv)
			}
			if !strings.HasPrefix(err.Error(), "parse invocation: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseInvocationCanonicalisesLookups(t *testing.T) {
	// Headers read off the wire are canonical, but callers building a header
	// by hand with Set and lower-case names must get the same answer.
	h := http.Header{}
	h.Set("lambda-runtime-aws-request-id", "r1")
	h.Set("lambda-runtime-deadline-ms", "1000")
	inv, err := lambdaapi.ParseInvocation(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if inv.RequestID != "r1" || !inv.Deadline.Equal(time.UnixMilli(1000)) {
		t.Errorf("ParseInvocation = %+v", inv)
	}
}
