package trigger

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// ResponseStatus returns the HTTP status code a handler's response asks for,
// for http.response.status_code and the span status. It knows, in this
// order:
//
//   - aws-lambda-go's HTTP responses, as values or pointers:
//     events.APIGatewayProxyResponse, events.APIGatewayV2HTTPResponse,
//     events.ALBTargetGroupResponse, events.LambdaFunctionURLResponse, and
//     the streaming *events.APIGatewayProxyStreamingResponse and
//     *events.LambdaFunctionURLStreamingResponse;
//   - a map[string]any whose "statusCode" is an integral number (what
//     decoding a JSON response into a map yields);
//   - a json.RawMessage or []byte holding a JSON object whose "statusCode" is
//     a JSON integer (what a handler that returns raw JSON yields);
//   - any other struct, or pointer to one, with an integer field tagged
//     `json:"statusCode"`: the field that encoding/json would write as the
//     response's statusCode. This last case uses reflection, once per type.
//
// ok is false when the response has no status code, or one outside
// 100–599: a zero StatusCode is a field left unset, not a status.
//
// API Gateway HTTP APIs (payload format 2.0) and Function URLs treat a
// response that is not an object with a statusCode as a 200 response whose
// body is the response itself. ResponseStatus still returns (0, false) for
// it, because only the caller knows which trigger the response goes to.
func ResponseStatus(resp any) (int, bool) {
	switch r := resp.(type) {
	case nil:
		return 0, false
	case events.APIGatewayProxyResponse:
		return validStatus(r.StatusCode)
	case *events.APIGatewayProxyResponse:
		if r != nil {
			return validStatus(r.StatusCode)
		}
		return 0, false
	case events.APIGatewayV2HTTPResponse:
		return validStatus(r.StatusCode)
	case *events.APIGatewayV2HTTPResponse:
		if r != nil {
			return validStatus(r.StatusCode)
		}
		return 0, false
	case events.ALBTargetGroupResponse:
		return validStatus(r.StatusCode)
	case *events.ALBTargetGroupResponse:
		if r != nil {
			return validStatus(r.StatusCode)
		}
		return 0, false
	case events.LambdaFunctionURLResponse:
		return validStatus(r.StatusCode)
	case *events.LambdaFunctionURLResponse:
		if r != nil {
			return validStatus(r.StatusCode)
		}
		return 0, false
	case *events.APIGatewayProxyStreamingResponse:
		if r != nil {
			return validStatus(r.StatusCode)
		}
		return 0, false
	case *events.LambdaFunctionURLStreamingResponse:
		if r != nil {
			return validStatus(r.StatusCode)
		}
		return 0, false
	case map[string]any:
		return statusFromValue(r["statusCode"])
	case json.RawMessage:
		return statusFromJSON(r)
	case []byte:
		return statusFromJSON(r)
	}
	return statusByReflection(resp)
}

// validStatus accepts the HTTP status codes RFC 9110 defines (100–599).
func validStatus(code int) (int, bool) {
	if code < 100 || code > 599 {
		return 0, false
	}
	return code, true
}

// statusFromValue reads a statusCode held in an interface, as decoded JSON
// (float64, json.Number) or as set by Go code (any integer type).
func statusFromValue(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		if n != math.Trunc(n) || n < 0 || n > 1000 {
			return 0, false
		}
		return validStatus(int(n))
	case float32:
		return statusFromValue(float64(n))
	case json.Number:
		return statusFromInteger(string(n))
	case int:
		return validStatus(n)
	case int8:
		return validStatus(int(n))
	case int16:
		return validStatus(int(n))
	case int32:
		return validStatus(int(n))
	case int64:
		if n < 0 || n > 1000 {
			return 0, false
		}
		return validStatus(int(n))
	case uint:
		if n > 1000 {
			return 0, false
		}
		return validStatus(int(n))
	case uint8:
		return validStatus(int(n))
	case uint16:
		return validStatus(int(n))
	case uint32:
		if n > 1000 {
			return 0, false
		}
		return validStatus(int(n))
	case uint64:
		if n > 1000 {
			return 0, false
		}
		return validStatus(int(n))
	}
	return 0, false
}

// statusProbe decodes only the statusCode of a JSON response, keeping its
// literal so that integers can be told from 200.5 or "200".
type statusProbe struct {
	StatusCode json.RawMessage `json:"statusCode"`
}

// statusFromJSON reads an integer statusCode from a JSON object.
func statusFromJSON(b []byte) (int, bool) {
	var p statusProbe
	if json.Unmarshal(b, &p) != nil {
		return 0, false
	}
	return statusFromInteger(string(p.StatusCode))
}

// statusFromInteger parses a JSON integer literal (no fraction, exponent or
// sign) as a status code.
func statusFromInteger(s string) (int, bool) {
	if len(s) == 0 || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return validStatus(n)
}

// statusFields caches, per struct type, the index of its statusCode field
// (nil when it has none), so that reflection over the type's fields runs
// once per type, not once per invocation.
var statusFields sync.Map // reflect.Type → []int

// statusByReflection is the last resort for user-defined response structs.
func statusByReflection(resp any) (int, bool) {
	v := reflect.ValueOf(resp)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return 0, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0, false
	}
	t := v.Type()
	idx, ok := statusFields.Load(t)
	if !ok {
		idx, _ = statusFields.LoadOrStore(t, statusFieldIndex(t))
	}
	index := idx.([]int)
	if index == nil {
		return 0, false
	}
	// FieldByIndexErr, not FieldByIndex: the path may go through a nil
	// embedded pointer.
	f, err := v.FieldByIndexErr(index)
	if err != nil {
		return 0, false
	}
	switch f.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := f.Int()
		if n < 0 || n > 1000 {
			return 0, false
		}
		return validStatus(int(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n := f.Uint()
		if n > 1000 {
			return 0, false
		}
		return validStatus(int(n))
	}
	return 0, false
}

// statusFieldIndex finds the exported integer field of t, possibly promoted
// from an embedded struct, that encoding/json writes as "statusCode".
func statusFieldIndex(t reflect.Type) []int {
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "statusCode" {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return f.Index
		}
	}
	return nil
}
