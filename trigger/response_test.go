package trigger

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

type customResp struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
}

type customRespOmit struct {
	Code int16 `json:"statusCode,omitempty"`
}

type customRespUint struct {
	Code uint `json:"statusCode"`
}

type customRespString struct {
	StatusCode string `json:"statusCode"`
}

type customRespUntagged struct {
	StatusCode int
}

type customRespIgnored struct {
	StatusCode int `json:"-"`
}

type embeddedStatus struct {
	StatusCode int `json:"statusCode"`
}

type customRespEmbedded struct {
	embeddedStatus
	Body string `json:"body"`
}

type customRespEmbeddedPtr struct {
	*embeddedStatus
}

func TestResponseStatus(t *testing.T) {
	var nilV1 *events.APIGatewayProxyResponse
	var nilV2 *events.APIGatewayV2HTTPResponse
	var nilALB *events.ALBTargetGroupResponse
	var nilURL *events.LambdaFunctionURLResponse
	var nilStream *events.APIGatewayProxyStreamingResponse
	var nilURLStream *events.LambdaFunctionURLStreamingResponse
	var nilCustom *customResp
	tests := []struct {
		name string
		resp any
		code int
		ok   bool
	}{
		{"nil", nil, 0, false},
		{"v1", events.APIGatewayProxyResponse{StatusCode: 201}, 201, true},
		{"v1 ptr", &events.APIGatewayProxyResponse{StatusCode: 404}, 404, true},
		{"v1 nil ptr", nilV1, 0, false},
		{"v1 zero", events.APIGatewayProxyResponse{}, 0, false},
		{"v2", events.APIGatewayV2HTTPResponse{StatusCode: 500}, 500, true},
		{"v2 ptr", &events.APIGatewayV2HTTPResponse{StatusCode: 302}, 302, true},
		{"v2 nil ptr", nilV2, 0, false},
		{"alb", events.ALBTargetGroupResponse{StatusCode: 503, StatusDescription: "503 Service Unavailable"}, 503, true},
		{"alb ptr", &events.ALBTargetGroupResponse{StatusCode: 200}, 200, true},
		{"alb nil ptr", nilALB, 0, false},
		{"url", events.LambdaFunctionURLResponse{StatusCode: 204}, 204, true},
		{"url ptr", &events.LambdaFunctionURLResponse{StatusCode: 418}, 418, true},
		{"url nil ptr", nilURL, 0, false},
		{"streaming", &events.APIGatewayProxyStreamingResponse{StatusCode: 206}, 206, true},
		{"streaming nil", nilStream, 0, false},
		{"url streaming", &events.LambdaFunctionURLStreamingResponse{StatusCode: 502}, 502, true},
		{"url streaming nil", nilURLStream, 0, false},
		{"out of range low", events.APIGatewayProxyResponse{StatusCode: 99}, 0, false},
		{"out of range high", events.APIGatewayProxyResponse{StatusCode: 600}, 0, false},
		{"negative", events.APIGatewayProxyResponse{StatusCode: -200}, 0, false},

		{"map float", map[string]any{"statusCode": 200.0}, 200, true},
		{"map int", map[string]any{"statusCode": 500}, 500, true},
		{"map int64", map[string]any{"statusCode": int64(404)}, 404, true},
		{"map uint16", map[string]any{"statusCode": uint16(301)}, 301, true},
		{"map json.Number", map[string]any{"statusCode": json.Number("429")}, 429, true},
		{"map json.Number float", map[string]any{"statusCode": json.Number("429.0")}, 0, false},
		{"map fraction", map[string]any{"statusCode": 200.5}, 0, false},
		{"map huge", map[string]any{"statusCode": 1e300}, 0, false},
		{"map string", map[string]any{"statusCode": "200"}, 0, false},
		{"map missing", map[string]any{"body": "x"}, 0, false},
		{"map nil", map[string]any(nil), 0, false},

		{"raw", json.RawMessage(`{"statusCode":201,"body":"{\"a\":1}"}`), 201, true},
		{"bytes", []byte(` { "body": "", "statusCode" : 503 } `), 503, true},
		{"raw float", json.RawMessage(`{"statusCode":200.0}`), 0, false},
		{"raw exponent", json.RawMessage(`{"statusCode":2e2}`), 0, false},
		{"raw negative", json.RawMessage(`{"statusCode":-200}`), 0, false},
		{"raw string", json.RawMessage(`{"statusCode":"200"}`), 0, false},
		{"raw null", json.RawMessage(`{"statusCode":null}`), 0, false},
		{"raw huge", json.RawMessage(`{"statusCode":200000000000000000000000}`), 0, false},
		{"raw array", json.RawMessage(`[{"statusCode":200}]`), 0, false},
		{"raw string body", json.RawMessage(`"hello"`), 0, false},
		{"raw garbage", json.RawMessage(`{"statusCode":`), 0, false},
		{"raw empty", json.RawMessage(nil), 0, false},
		{"raw nested only", json.RawMessage(`{"body":{"statusCode":200}}`), 0, false},

		{"custom struct", customResp{StatusCode: 200}, 200, true},
		{"custom ptr", &customResp{StatusCode: 500}, 500, true},
		{"custom nil ptr", nilCustom, 0, false},
		{"custom omitempty int16", customRespOmit{Code: 404}, 404, true},
		{"custom uint", customRespUint{Code: 201}, 201, true},
		{"custom string field", customRespString{StatusCode: "200"}, 0, false},
		{"custom untagged", customRespUntagged{StatusCode: 200}, 0, false},
		{"custom ignored", customRespIgnored{StatusCode: 200}, 0, false},
		{"custom embedded", customRespEmbedded{embeddedStatus{StatusCode: 302}, ""}, 302, true},
		{"custom embedded ptr", customRespEmbeddedPtr{&embeddedStatus{StatusCode: 307}}, 307, true},
		{"custom embedded nil ptr", customRespEmbeddedPtr{}, 0, false},
		{"string", "ok", 0, false},
		{"int", 200, 0, false},
		{"slice", []int{200}, 0, false},
		{"map other", map[string]int{"statusCode": 200}, 0, false},
	}
	for _, tt := range tests {
		code, ok := ResponseStatus(tt.resp)
		if code != tt.code || ok != tt.ok {
			t.Errorf("%s: (%d, %v), want (%d, %v)", tt.name, code, ok, tt.code, tt.ok)
		}
	}
}

// TestResponseStatusConcurrent exercises the per-type cache under -race.
func TestResponseStatusConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				if code, ok := ResponseStatus(customResp{StatusCode: 200 + i}); !ok || code != 200+i {
					t.Errorf("(%d, %v)", code, ok)
					return
				}
			}
		})
	}
	wg.Wait()
}

func fixtureResponse() any {
	return &events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "{}"}
}
