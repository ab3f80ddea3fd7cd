package lambdaapi_test

import "strings"

// Real-shaped telemetry from lambda-platform.md A4.3. The tests and the fuzz
// seed corpus share them so that both exercise what the platform really sends.
// Where the reference elides a value ("{…}", "[…]") a realistic one is filled
// in; the "…" inside identifiers is kept, since any string is valid there.
const (
	// sampleRuntimeDone is the captured 2024 platform.runtimeDone of A4.3.
	sampleRuntimeDone = `{"type":"platform.runtimeDone","time":"2024-07-01T08:54:54.125Z","record":{
  "requestId":"b2de8fdb-…","status":"success","metrics":{"durationMs":17.12,"producedBytes":50},
  "spans":[{"durationMs":1.613,"name":"responseLatency","start":"2024-07-01T08:54:54.108Z"},
           {"durationMs":0.064,"name":"responseDuration","start":"2024-07-01T08:54:54.109Z"},
           {"durationMs":15.246,"name":"runtimeOverhead","start":"2024-07-01T08:54:54.110Z"}]}}`

	// sampleReport is the captured 2024 platform.report of A4.3.
	sampleReport = `{"type":"platform.report","time":"2024-07-01T08:54:54.127Z","record":{"requestId":"b2de8fdb-…","status":"success",
  "metrics":{"durationMs":17.493,"billedDurationMs":18,"initDurationMs":235.086,"maxMemoryUsedMB":75,"memorySizeMB":128}}}`

	// sampleBatch is the two records above as one HTTP delivery (A4.2).
	sampleBatch = "[" + sampleRuntimeDone + ",\n" + sampleReport + "]"
)

// sampleLMILines are the records observed from RIE in LMI mode (schema
// 2025-01-29, A4.3). They carry no "time", which decoding must tolerate.
var sampleLMILines = []string{
	`{"type":"platform.initStart","record":{"functionName":"myfn","functionVersion":"$LATEST","initializationType":"lambda-managed-instances","instanceId":"$LATEST","instanceMaxMemory":3154116608,"phase":"init","runtimeVersion":"","runtimeVersionArn":""}}`,
	`{"type":"platform.extension","record":{"events":["SHUTDOWN"],"name":"otel-test-ext","state":"Registered"}}`,
	`{"type":"platform.telemetrySubscription","record":{"name":"otel-test-ext","state":"Subscribed","types":["platform","function","extension"]}}`,
	`{"type":"platform.initRuntimeDone","record":{"initializationType":"lambda-managed-instances","phase":"init","status":"success"}}`,
	`{"type":"platform.initReport","record":{"initializationType":"lambda-managed-instances","metrics":{"durationMs":14.926},"phase":"init","status":"success"}}`,
	`{"type":"platform.start","record":{"functionArn":"arn:aws:lambda:eu-west-1:123456789012:function:myfn","requestId":"84fb…","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5759e988-…;Sampled=1"},"version":"$LATEST"}}`,
	`{"type":"platform.report","record":{"metrics":{"durationMs":1.168},"requestId":"84fb…","spans":[{"durationMs":0.87,"name":"responseLatency","start":"2025-03-04T14:33:05.220Z"},{"durationMs":0.016,"name":"responseDuration","start":"2025-03-04T14:33:05.221Z"}],"status":"success","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5759e988-…;Sampled=1"}}}`,
	`{"type":"platform.report","record":{"errorType":"Runtime.Unknown","metrics":{"durationMs":0.662},"requestId":"6df1…","spans":[{"durationMs":0.5,"name":"responseLatency","start":"2025-03-04T14:33:06.000Z"}],"status":"error"}}`,
	`{"type":"function","record":"[rawfn] 14:33:05.221 response -> 202 {\"status\":\"OK\"}"}`,
}

// sampleLMINDJSON is sampleLMILines as one TCP delivery (A4.2).
var sampleLMINDJSON = strings.Join(sampleLMILines, "\n") + "\n"

// Extensions API event bodies of A3.2.
const (
	sampleInvokeEvent = `{
  "eventType": "INVOKE",
  "deadlineMs": 1795444293147,
  "requestId": "3da1f2dc-3222-475e-9205-e2e6c6318895",
  "invokedFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:ExtensionTest",
  "tracing": { "type": "X-Amzn-Trace-Id",
               "value": "Root=1-5f35ae12-0c0fec141ab77a00bc047aa2;Parent=2be948a625588e32;Sampled=1" }
}`
	sampleShutdownEvent = `{ "eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": 1795444371526 }`
)
