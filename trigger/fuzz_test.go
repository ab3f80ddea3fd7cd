package trigger

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzExtractJSON checks that extraction never panics on any input, is
// deterministic, and that the raw path agrees with the typed path whenever
// the input decodes cleanly into the type the raw path recognised.
func FuzzExtractJSON(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && !isDir(name) {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "null", "{}", "[]", `{"headers":{"a":"b","c":1}}`,
		`{"version":"2.0","routeKey":"GET /a/{b}","rawQueryString":"sig=1","requestContext":{"http":{"method":"get","protocol":"HTTP/2.0"}}}`,
		`{"httpMethod":"GET","requestContext":{"elb":{}},"multiValueHeaders":{"Host":["h:1","h:2"]},"headers":{"HOST":"x"}}`,
		`{"httpMethod":"X","resource":"/r","requestContext":{"identity":{"sourceIp":"::1"}},"multiValueQueryStringParameters":{"a":["1",""]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info := Extract(nil, data)
		if again := Extract(json.RawMessage(data), nil); !reflect.DeepEqual(info, again) {
			t.Fatalf("not deterministic:\n%+v\n%+v", info, again)
		}
		checkInfo(t, info)
		ResponseStatus(json.RawMessage(data))

		var p probe
		if !decodeLoose(data, &p) {
			return
		}
		var typed any
		switch classify(&p) {
		case shapeAPIGatewayV1:
			typed = new(events.APIGatewayProxyRequest)
		case shapeAPIGatewayV2:
			typed = new(events.APIGatewayV2HTTPRequest)
		case shapeFunctionURL:
			typed = new(events.LambdaFunctionURLRequest)
		case shapeALB:
			typed = new(events.ALBTargetGroupRequest)
		default:
			return
		}
		if json.Unmarshal(data, typed) != nil {
			return
		}
		if got := Extract(typed, nil); !reflect.DeepEqual(got, info) {
			t.Fatalf("typed and raw paths disagree:\ntyped %+v\n  raw %+v", got, info)
		}
		if got := Extract(deref(typed), nil); !reflect.DeepEqual(got, info) {
			t.Fatalf("typed value and raw paths disagree:\ntyped %+v\n  raw %+v", got, info)
		}
	})
}

func isDir(name string) bool {
	st, err := os.Stat(name)
	return err == nil && st.IsDir()
}

// checkInfo asserts the invariants every Info from the built-ins holds.
func checkInfo(t *testing.T, info Info) {
	t.Helper()
	if info.Trigger != TriggerHTTP && info.Trigger != TriggerOther {
		t.Fatalf("trigger %q", info.Trigger)
	}
	if info.HTTP != (info.Trigger == TriggerHTTP) {
		t.Fatalf("HTTP %v with trigger %q", info.HTTP, info.Trigger)
	}
	if info.HTTP && info.SpanName == "" {
		t.Fatal("HTTP span without a name")
	}
	if cap(info.Attributes) != len(info.Attributes) || len(info.Attributes) > maxHTTPAttrs {
		t.Fatalf("attributes len %d cap %d", len(info.Attributes), cap(info.Attributes))
	}
	seen := make(map[string]bool, len(info.Attributes))
	for _, kv := range info.Attributes {
		if seen[string(kv.Key)] {
			t.Fatalf("duplicate %s", kv.Key)
		}
		seen[string(kv.Key)] = true
	}
	for k := range info.Carrier {
		if hasUpper(k) {
			t.Fatalf("carrier key %q", k)
		}
	}
}
