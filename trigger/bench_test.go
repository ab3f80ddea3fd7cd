package trigger

import (
	"encoding/json"
	"testing"
)

// benchFixtures are the HTTP fixtures, one per event type (and both v2
// route kinds), in the order the report lists them.
var benchFixtures = []fixture{fixtures[0], fixtures[2], fixtures[3], fixtures[4], fixtures[5], fixtures[6]}

// BenchmarkExtractTyped measures the path taken when the handler's event
// type is one of aws-lambda-go's: no JSON decoding, only reading the value.
func BenchmarkExtractTyped(b *testing.B) {
	for _, f := range benchFixtures {
		ev := f.typed()
		if err := json.Unmarshal(readFixture(b, f.file), ev); err != nil {
			b.Fatal(err)
		}
		b.Run(f.file, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Extract(ev, nil)
			}
		})
	}
}

// BenchmarkExtractRaw measures the path taken for a handler whose event
// type is not known (json.RawMessage, map, custom struct): probe decode plus
// full decode of the recognised type.
func BenchmarkExtractRaw(b *testing.B) {
	for _, name := range []string{"apigw-rest.json", "apigw-http-route.json", "apigw-http-default.json", "alb-single.json",
		"alb-multi.json", "function-url.json", "generic-headers.json", "sqs.json"} {
		raw := readFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				Extract(nil, raw)
			}
		})
	}
}

// BenchmarkResponseStatus measures the typed, raw-JSON and reflection paths.
func BenchmarkResponseStatus(b *testing.B) {
	for _, c := range []struct {
		name string
		resp any
	}{
		{"typed", fixtureResponse()},
		{"raw", json.RawMessage(`{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"ok\":true}"}`)},
		{"reflection", customResp{StatusCode: 200}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ResponseStatus(c.resp)
			}
		})
	}
}
