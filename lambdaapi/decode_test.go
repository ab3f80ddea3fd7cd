package lambdaapi_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

const sampleTrace = `{"type":"X-Amzn-Trace-Id","value":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1","spanId":"53995c3f42cd8ad8"}`

var wantTrace = &lambdaapi.Tracing{
	SpanID: "53995c3f42cd8ad8",
	Type:   lambdaapi.TracingTypeXRay,
	Value:  "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
}

// eventOf builds the event a delivery would carry, so Decode is tested on the
// same bytes DecodeEvents hands over.
func eventOf(t *testing.T, typ, record string) lambdaapi.TelemetryEvent {
	t.Helper()
	var ev lambdaapi.TelemetryEvent
	in := `{"time":"2024-07-01T08:54:54.125Z","type":` + strconv.Quote(typ) + `,"record":` + record + `}`
	if err := json.Unmarshal([]byte(in), &ev); err != nil {
		t.Fatalf("building event %s: %v", in, err)
	}
	return ev
}

func TestDecodeEveryType(t *testing.T) {
	tests := []struct {
		name   string
		typ    string
		record string
		want   any
	}{
		{
			name: "initStart on-demand", typ: lambdaapi.EventInitStart,
			record: `{"initializationType":"on-demand","phase":"init","runtimeVersion":"python:3.12.v18","runtimeVersionArn":"arn:aws:lambda:us-east-1::runtime:edb5a058","functionName":"fn","functionVersion":"7","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:fn","instanceId":"i-1","instanceMaxMemory":134217728,"tracing":` + sampleTrace + `,"futureField":{"x":1}}`,
			want: &lambdaapi.InitStart{
				InitializationType: lambdaapi.InitOnDemand, Phase: lambdaapi.PhaseInit,
				RuntimeVersion: "python:3.12.v18", RuntimeVersionARN: "arn:aws:lambda:us-east-1::runtime:edb5a058",
				FunctionName: "fn", FunctionVersion: "7", FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:fn",
				InstanceID: "i-1", InstanceMaxMemory: 134217728, Tracing: wantTrace,
			},
		},
		{
			name: "initStart LMI sample", typ: lambdaapi.EventInitStart,
			record: `{"functionName":"myfn","functionVersion":"$LATEST","initializationType":"lambda-managed-instances","instanceId":"$LATEST","instanceMaxMemory":3154116608,"phase":"init","runtimeVersion":"","runtimeVersionArn":""}`,
			want: &lambdaapi.InitStart{
				InitializationType: lambdaapi.InitManagedInstances, Phase: lambdaapi.PhaseInit,
				FunctionName: "myfn", FunctionVersion: "$LATEST", InstanceID: "$LATEST", InstanceMaxMemory: 3154116608,
			},
		},
		{
			name: "initRuntimeDone LMI sample", typ: lambdaapi.EventInitRuntimeDone,
			record: `{"initializationType":"lambda-managed-instances","phase":"init","status":"success"}`,
			want:   &lambdaapi.InitRuntimeDone{InitializationType: lambdaapi.InitManagedInstances, Phase: lambdaapi.PhaseInit, Status: lambdaapi.StatusSuccess},
		},
		{
			name: "initRuntimeDone error with spans", typ: lambdaapi.EventInitRuntimeDone,
			record: `{"initializationType":"snap-start","phase":"invoke","status":"error","errorType":"Runtime.ExitError","spans":[{"name":"beforeCheckpoint","start":"2024-07-01T08:54:54.000Z","durationMs":12.5}],"tracing":` + sampleTrace + `,"extra":true}`,
			want: &lambdaapi.InitRuntimeDone{
				InitializationType: lambdaapi.InitSnapStart, Phase: lambdaapi.PhaseInvoke, Status: lambdaapi.StatusError,
				ErrorType: "Runtime.ExitError",
				Spans:     []lambdaapi.Span{{Name: "beforeCheckpoint", Start: ms(2024, 7, 1, 8, 54, 54, 0), DurationMs: 12.5}},
				Tracing:   wantTrace,
			},
		},
		{
			name: "initReport LMI sample", typ: lambdaapi.EventInitReport,
			record: `{"initializationType":"lambda-managed-instances","metrics":{"durationMs":14.926},"phase":"init","status":"success"}`,
			want: &lambdaapi.InitReport{
				InitializationType: lambdaapi.InitManagedInstances, Phase: lambdaapi.PhaseInit, Status: lambdaapi.StatusSuccess,
				Metrics: lambdaapi.DurationMetrics{DurationMs: 14.926},
			},
		},
		{
			name: "initReport provisioned failure", typ: lambdaapi.EventInitReport,
			record: `{"initializationType":"provisioned-concurrency","phase":"init","status":"failure","errorType":"Runtime.Unknown","metrics":{"durationMs":10000,"other":1},"spans":[{"name":"s","start":"2024-07-01T08:54:54.001Z","durationMs":1}],"tracing":` + sampleTrace + `}`,
			want: &lambdaapi.InitReport{
				InitializationType: lambdaapi.InitProvisionedConcurrency, Phase: lambdaapi.PhaseInit, Status: lambdaapi.StatusFailure,
				ErrorType: "Runtime.Unknown", Metrics: lambdaapi.DurationMetrics{DurationMs: 10000},
				Spans:   []lambdaapi.Span{{Name: "s", Start: ms(2024, 7, 1, 8, 54, 54, 1), DurationMs: 1}},
				Tracing: wantTrace,
			},
		},
		{
			name: "start LMI sample", typ: lambdaapi.EventStart,
			record: `{"functionArn":"arn:aws:lambda:eu-west-1:123456789012:function:myfn","requestId":"84fb…","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5759e988-…;Sampled=1"},"version":"$LATEST"}`,
			want: &lambdaapi.Start{
				RequestID: "84fb…", Version: "$LATEST", FunctionARN: "arn:aws:lambda:eu-west-1:123456789012:function:myfn",
				Tracing: &lambdaapi.Tracing{Type: lambdaapi.TracingTypeXRay, Value: "Root=1-5759e988-…;Sampled=1"},
			},
		},
		{
			name: "start with tenant", typ: lambdaapi.EventStart,
			record: `{"requestId":"r1","tenantId":"tenant-a","unknown":[1,2]}`,
			want:   &lambdaapi.Start{RequestID: "r1", TenantID: "tenant-a"},
		},
		{
			name: "runtimeDone timeout without metrics", typ: lambdaapi.EventRuntimeDone,
			record: `{"requestId":"r1","status":"timeout","errorType":"Sandbox.Timedout","tenantId":"t","tracing":` + sampleTrace + `}`,
			want: &lambdaapi.RuntimeDone{
				RequestID: "r1", Status: lambdaapi.StatusTimeout, ErrorType: "Sandbox.Timedout", TenantID: "t", Tracing: wantTrace,
			},
		},
		{
			name: "runtimeDone metrics without producedBytes", typ: lambdaapi.EventRuntimeDone,
			record: `{"requestId":"r1","status":"success","metrics":{"durationMs":3.5}}`,
			want:   &lambdaapi.RuntimeDone{RequestID: "r1", Status: lambdaapi.StatusSuccess, Metrics: &lambdaapi.RuntimeDoneMetrics{DurationMs: 3.5}},
		},
		{
			name: "report LMI sample", typ: lambdaapi.EventReport,
			record: `{"metrics":{"durationMs":1.168},"requestId":"84fb…","spans":[{"durationMs":0.87,"name":"responseLatency","start":"2025-03-04T14:33:05.220Z"},{"durationMs":0.016,"name":"responseDuration","start":"2025-03-04T14:33:05.221Z"}],"status":"success","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5759e988-…;Sampled=1"}}`,
			want: &lambdaapi.Report{
				RequestID: "84fb…", Status: lambdaapi.StatusSuccess,
				Metrics: lambdaapi.ReportMetrics{DurationMs: 1.168},
				Spans: []lambdaapi.Span{
					{Name: "responseLatency", Start: ms(2025, 3, 4, 14, 33, 5, 220), DurationMs: 0.87},
					{Name: "responseDuration", Start: ms(2025, 3, 4, 14, 33, 5, 221), DurationMs: 0.016},
				},
				Tracing: &lambdaapi.Tracing{Type: lambdaapi.TracingTypeXRay, Value: "Root=1-5759e988-…;Sampled=1"},
			},
		},
		{
			name: "report SnapStart restore", typ: lambdaapi.EventReport,
			record: `{"requestId":"r2","status":"error","errorType":"Runtime.Unknown","tenantId":"t2","metrics":{"durationMs":100.5,"billedDurationMs":101,"memorySizeMB":512,"maxMemoryUsedMB":90,"restoreDurationMs":300.25,"billedRestoreDurationMs":301},"spans":[{"name":"extensionOverhead","start":"2024-07-01T08:54:54.125Z","durationMs":2}]}`,
			want: &lambdaapi.Report{
				RequestID: "r2", Status: lambdaapi.StatusError, ErrorType: "Runtime.Unknown", TenantID: "t2",
				Metrics: lambdaapi.ReportMetrics{
					DurationMs: 100.5, BilledDurationMs: 101, MemorySizeMB: 512, MaxMemoryUsedMB: 90,
					RestoreDurationMs: ptr(300.25), BilledRestoreDurationMs: ptr(301.0),
				},
				Spans: []lambdaapi.Span{{Name: "extensionOverhead", Start: ms(2024, 7, 1, 8, 54, 54, 125), DurationMs: 2}},
			},
		},
		{
			name: "restoreStart", typ: lambdaapi.EventRestoreStart,
			record: `{"runtimeVersion":"java:21.v20","runtimeVersionArn":"arn:aws:lambda:us-east-1::runtime:abc","functionName":"fn","functionVersion":"3","instanceId":"i","instanceMaxMemory":1073741824,"functionArn":"ignored"}`,
			want: &lambdaapi.RestoreStart{
				RuntimeVersion: "java:21.v20", RuntimeVersionARN: "arn:aws:lambda:us-east-1::runtime:abc",
				FunctionName: "fn", FunctionVersion: "3", InstanceID: "i", InstanceMaxMemory: 1073741824,
			},
		},
		{
			name: "restoreRuntimeDone", typ: lambdaapi.EventRestoreRuntimeDone,
			record: `{"status":"failure","errorType":"Runtime.RestoreHookFailed","spans":[{"name":"afterRestore","start":"2024-07-01T08:54:54.002Z","durationMs":4}],"tracing":` + sampleTrace + `}`,
			want: &lambdaapi.RestoreRuntimeDone{
				Status: lambdaapi.StatusFailure, ErrorType: "Runtime.RestoreHookFailed",
				Spans:   []lambdaapi.Span{{Name: "afterRestore", Start: ms(2024, 7, 1, 8, 54, 54, 2), DurationMs: 4}},
				Tracing: wantTrace,
			},
		},
		{
			name: "restoreReport", typ: lambdaapi.EventRestoreReport,
			record: `{"status":"success","metrics":{"durationMs":250.1},"spans":[{"name":"restore","start":"2024-07-01T08:54:54.003Z","durationMs":250}]}`,
			want: &lambdaapi.RestoreReport{
				Status: lambdaapi.StatusSuccess, Metrics: lambdaapi.DurationMetrics{DurationMs: 250.1},
				Spans: []lambdaapi.Span{{Name: "restore", Start: ms(2024, 7, 1, 8, 54, 54, 3), DurationMs: 250}},
			},
		},
		{
			name: "extension LMI sample", typ: lambdaapi.EventExtension,
			record: `{"events":["SHUTDOWN"],"name":"otel-test-ext","state":"Registered"}`,
			want:   &lambdaapi.ExtensionRecord{Name: "otel-test-ext", State: "Registered", Events: []string{"SHUTDOWN"}},
		},
		{
			name: "extension failed", typ: lambdaapi.EventExtension,
			record: `{"events":["INVOKE","SHUTDOWN"],"name":"ext","state":"Ready","errorType":"Extension.Crash"}`,
			want:   &lambdaapi.ExtensionRecord{Name: "ext", State: "Ready", Events: []string{"INVOKE", "SHUTDOWN"}, ErrorType: "Extension.Crash"},
		},
		{
			name: "telemetrySubscription LMI sample", typ: lambdaapi.EventTelemetrySubscription,
			record: `{"name":"otel-test-ext","state":"Subscribed","types":["platform","function","extension"]}`,
			want:   &lambdaapi.TelemetrySubscription{Name: "otel-test-ext", State: "Subscribed", Types: []string{"platform", "function", "extension"}},
		},
		{
			name: "logsDropped", typ: lambdaapi.EventLogsDropped,
			record: `{"droppedBytes":12345,"droppedRecords":17,"reason":"Consumer seems to have fallen behind as it has not acknowledged receipt of logs."}`,
			want: &lambdaapi.LogsDropped{
				DroppedBytes: 12345, DroppedRecords: 17,
				Reason: "Consumer seems to have fallen behind as it has not acknowledged receipt of logs.",
			},
		},
		{
			name: "function text", typ: lambdaapi.EventFunction,
			record: `"2024-07-01T08:54:54.125Z\tb2de8fdb\tINFO\thello world\n"`,
			want:   &lambdaapi.LogRecord{Text: "2024-07-01T08:54:54.125Z\tb2de8fdb\tINFO\thello world\n"},
		},
		{
			name: "function JSON log", typ: lambdaapi.EventFunction,
			record: `{"timestamp":"2024-07-01T08:54:54.125Z","level":"INFO","requestId":"b2de8fdb","message":"hello"}`,
			want:   &lambdaapi.LogRecord{Object: json.RawMessage(`{"timestamp":"2024-07-01T08:54:54.125Z","level":"INFO","requestId":"b2de8fdb","message":"hello"}`)},
		},
		{
			name: "extension text", typ: lambdaapi.EventExtensionLog,
			record: `"[otel-ext] started"`,
			want:   &lambdaapi.LogRecord{Text: "[otel-ext] started"},
		},
		{
			name: "extension JSON log", typ: lambdaapi.EventExtensionLog,
			record: `{"level":"WARN","message":"slow"}`,
			want:   &lambdaapi.LogRecord{Object: json.RawMessage(`{"level":"WARN","message":"slow"}`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventOf(t, tt.typ, tt.record).Decode()
			if err != nil {
				t.Fatalf("Decode = %v", err)
			}
			assertRecord(t, got, tt.want)
		})
	}
}

func TestDecodeReportInitDuration(t *testing.T) {
	tests := []struct {
		name   string
		record string
		want   *float64
	}{
		{name: "cold start", record: `{"requestId":"r","status":"success","metrics":{"durationMs":1,"initDurationMs":235.086}}`, want: ptr(235.086)},
		{name: "zero is still present", record: `{"requestId":"r","status":"success","metrics":{"durationMs":1,"initDurationMs":0}}`, want: ptr(0.0)},
		{name: "warm start", record: `{"requestId":"r","status":"success","metrics":{"durationMs":1}}`, want: nil},
		{name: "null", record: `{"requestId":"r","status":"success","metrics":{"durationMs":1,"initDurationMs":null}}`, want: nil},
		{name: "no metrics", record: `{"requestId":"r","status":"success"}`, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventOf(t, lambdaapi.EventReport, tt.record).Decode()
			if err != nil {
				t.Fatalf("Decode = %v", err)
			}
			r := got.(*lambdaapi.Report)
			switch {
			case tt.want == nil && r.Metrics.InitDurationMs != nil:
				t.Errorf("InitDurationMs = %v, want nil", *r.Metrics.InitDurationMs)
			case tt.want != nil && r.Metrics.InitDurationMs == nil:
				t.Errorf("InitDurationMs = nil, want %v", *tt.want)
			case tt.want != nil && *r.Metrics.InitDurationMs != *tt.want:
				t.Errorf("InitDurationMs = %v, want %v", *r.Metrics.InitDurationMs, *tt.want)
			}
			if r.Metrics.RestoreDurationMs != nil || r.Metrics.BilledRestoreDurationMs != nil {
				t.Errorf("restore durations set without being sent: %+v", r.Metrics)
			}
			// Absent stays absent on the way out, so a forwarded record does
			// not suddenly claim a cold start.
			out, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if has := strings.Contains(string(out), "initDurationMs"); has != (tt.want != nil) {
				t.Errorf("re-marshalled %s: initDurationMs present = %v, want %v", out, has, tt.want != nil)
			}
		})
	}
}

func TestDecodeOptionalFieldsAbsent(t *testing.T) {
	// Every platform record decodes from an empty object to its zero value:
	// no field is treated as required.
	tests := map[string]any{
		lambdaapi.EventInitStart:             &lambdaapi.InitStart{},
		lambdaapi.EventInitRuntimeDone:       &lambdaapi.InitRuntimeDone{},
		lambdaapi.EventInitReport:            &lambdaapi.InitReport{},
		lambdaapi.EventStart:                 &lambdaapi.Start{},
		lambdaapi.EventRuntimeDone:           &lambdaapi.RuntimeDone{},
		lambdaapi.EventReport:                &lambdaapi.Report{},
		lambdaapi.EventRestoreStart:          &lambdaapi.RestoreStart{},
		lambdaapi.EventRestoreRuntimeDone:    &lambdaapi.RestoreRuntimeDone{},
		lambdaapi.EventRestoreReport:         &lambdaapi.RestoreReport{},
		lambdaapi.EventExtension:             &lambdaapi.ExtensionRecord{},
		lambdaapi.EventTelemetrySubscription: &lambdaapi.TelemetrySubscription{},
		lambdaapi.EventLogsDropped:           &lambdaapi.LogsDropped{},
	}
	for typ, want := range tests {
		t.Run(typ, func(t *testing.T) {
			for _, rec := range []string{`{}`, ` { "unknown" : [null] } `, `"{}"`} {
				got, err := eventOf(t, typ, rec).Decode()
				if err != nil {
					t.Fatalf("Decode(%s) = %v", rec, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Decode(%s) = %#v, want %#v", rec, got, want)
				}
			}
		})
	}
}

func TestDecodeStringHoldingObject(t *testing.T) {
	inner := `{"requestId":"r1","status":"success","metrics":{"durationMs":2.5,"initDurationMs":9}}`
	for _, rec := range []string{
		strconv.Quote(inner),
		strconv.Quote("  " + inner + "\n"),
	} {
		got, err := eventOf(t, lambdaapi.EventReport, rec).Decode()
		if err != nil {
			t.Fatalf("Decode(%s) = %v", rec, err)
		}
		assertRecord(t, got, &lambdaapi.Report{
			RequestID: "r1", Status: "success",
			Metrics: lambdaapi.ReportMetrics{DurationMs: 2.5, InitDurationMs: ptr(9.0)},
		})
	}

	// A hand-built event whose record has surrounding whitespace decodes too.
	ev := lambdaapi.TelemetryEvent{Type: lambdaapi.EventStart, Record: json.RawMessage("\n\t{\"requestId\":\"r2\"}  ")}
	got, err := ev.Decode()
	if err != nil {
		t.Fatalf("Decode = %v", err)
	}
	assertRecord(t, got, &lambdaapi.Start{RequestID: "r2"})
}

func TestDecodeNotObject(t *testing.T) {
	platformTypes := []string{
		lambdaapi.EventInitStart, lambdaapi.EventInitRuntimeDone, lambdaapi.EventInitReport,
		lambdaapi.EventStart, lambdaapi.EventRuntimeDone, lambdaapi.EventReport,
		lambdaapi.EventRestoreStart, lambdaapi.EventRestoreRuntimeDone, lambdaapi.EventRestoreReport,
		lambdaapi.EventExtension, lambdaapi.EventTelemetrySubscription, lambdaapi.EventLogsDropped,
	}
	records := []struct {
		name string
		raw  string // nil Record when empty
	}{
		{name: "number", raw: `42`},
		{name: "negative number", raw: `-1.5e3`},
		{name: "array", raw: `[{"requestId":"r"}]`},
		{name: "empty array", raw: `[]`},
		{name: "plain string", raw: `"START RequestId: r1 Version: $LATEST"`},
		{name: "empty string", raw: `""`},
		{name: "string holding array", raw: `"[1,2]"`},
		{name: "string holding number", raw: `"7"`},
		{name: "string holding string", raw: `"\"{}\""`},
		{name: "true", raw: `true`},
		{name: "null", raw: `null`},
		{name: "absent", raw: ``},
	}
	for _, typ := range platformTypes {
		for _, r := range records {
			t.Run(typ+"/"+r.name, func(t *testing.T) {
				ev := lambdaapi.TelemetryEvent{Type: typ}
				if r.raw != "" {
					ev.Record = json.RawMessage(r.raw)
				}
				got, err := ev.Decode()
				if err == nil {
					t.Fatalf("Decode(%s) = %#v, want an error", r.raw, got)
				}
				if !errors.Is(err, lambdaapi.ErrNotObject) {
					t.Errorf("error %v does not wrap ErrNotObject", err)
				}
				if !strings.Contains(err.Error(), typ) {
					t.Errorf("error %q does not name the event type %s", err, typ)
				}
				if got != nil {
					t.Errorf("Decode returned %#v with its error", got)
				}
			})
		}
	}
}

func TestDecodeBadObject(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		raw  string
	}{
		{name: "wrong field type", typ: lambdaapi.EventStart, raw: `{"requestId":5}`},
		{name: "wrong nested type", typ: lambdaapi.EventReport, raw: `{"metrics":{"durationMs":"fast"}}`},
		{name: "spans not a list", typ: lambdaapi.EventRuntimeDone, raw: `{"spans":{}}`},
		{name: "string holding broken object", typ: lambdaapi.EventStart, raw: `"{\"requestId\":"`},
		{name: "broken object", typ: lambdaapi.EventStart, raw: `{"requestId":`},
		{name: "broken string", typ: lambdaapi.EventStart, raw: `"{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambdaapi.TelemetryEvent{Type: tt.typ, Record: json.RawMessage(tt.raw)}.Decode()
			if err == nil {
				t.Fatalf("Decode(%s) = %#v, want an error", tt.raw, got)
			}
			if errors.Is(err, lambdaapi.ErrNotObject) {
				t.Errorf("error %v claims ErrNotObject for an object", err)
			}
			if !strings.HasPrefix(err.Error(), "decode "+tt.typ+": ") {
				t.Errorf("error %q does not name the event type", err)
			}
		})
	}
}

func TestDecodeLogRecord(t *testing.T) {
	tests := []struct {
		name    string
		raw     string // "" leaves Record nil
		want    lambdaapi.LogRecord
		wantErr bool
	}{
		{name: "text", raw: `"hello"`, want: lambdaapi.LogRecord{Text: "hello"}},
		{name: "escaped text", raw: `"tab\there \u00e9 \"q\""`, want: lambdaapi.LogRecord{Text: "tab\there é \"q\""}},
		{name: "empty text", raw: `""`, want: lambdaapi.LogRecord{}},
		{name: "text holding JSON stays text", raw: `"{\"a\":1}"`, want: lambdaapi.LogRecord{Text: `{"a":1}`}},
		{name: "object", raw: `{"message":"m","level":"INFO"}`, want: lambdaapi.LogRecord{Object: json.RawMessage(`{"message":"m","level":"INFO"}`)}},
		{name: "object trimmed", raw: "  {\"a\": 1}\n", want: lambdaapi.LogRecord{Object: json.RawMessage(`{"a": 1}`)}},
		{name: "empty object", raw: `{}`, want: lambdaapi.LogRecord{Object: json.RawMessage(`{}`)}},
		{name: "null", raw: `null`, want: lambdaapi.LogRecord{}},
		{name: "absent", raw: ``, want: lambdaapi.LogRecord{}},
		{name: "number", raw: `42`, want: lambdaapi.LogRecord{Text: "42"}},
		{name: "bool", raw: `true`, want: lambdaapi.LogRecord{Text: "true"}},
		{name: "array", raw: `[1,"a"]`, want: lambdaapi.LogRecord{Text: `[1,"a"]`}},
		{name: "broken string", raw: `"abc`, wantErr: true},
		{name: "broken object", raw: `{"a":`, wantErr: true},
		{name: "broken scalar", raw: `tru`, wantErr: true},
	}
	for _, typ := range []string{lambdaapi.EventFunction, lambdaapi.EventExtensionLog} {
		for _, tt := range tests {
			t.Run(typ+"/"+tt.name, func(t *testing.T) {
				ev := lambdaapi.TelemetryEvent{Type: typ}
				if tt.raw != "" {
					ev.Record = json.RawMessage(tt.raw)
				}
				got, err := ev.Decode()
				if tt.wantErr {
					if err == nil {
						t.Fatalf("Decode(%s) = %#v, want an error", tt.raw, got)
					}
					// A typed nil (*LogRecord)(nil) inside the interface would
					// make got != nil true for a failed decode.
					if got != nil {
						t.Errorf("Decode returned %#v with its error, want nil", got)
					}
					return
				}
				if err != nil {
					t.Fatalf("Decode(%s) = %v", tt.raw, err)
				}
				lr, ok := got.(*lambdaapi.LogRecord)
				if !ok {
					t.Fatalf("Decode returned %T, want *LogRecord", got)
				}
				if lr.Text != tt.want.Text || string(lr.Object) != string(tt.want.Object) || (lr.Object == nil) != (tt.want.Object == nil) {
					t.Errorf("Decode(%s) = {Text:%q Object:%s}, want {Text:%q Object:%s}", tt.raw, lr.Text, lr.Object, tt.want.Text, tt.want.Object)
				}
			})
		}
	}
}

func TestDecodeLogRecordObjectIsACopy(t *testing.T) {
	ev := lambdaapi.TelemetryEvent{Type: lambdaapi.EventFunction, Record: json.RawMessage(`{"a":1}`)}
	got, err := ev.Decode()
	if err != nil {
		t.Fatal(err)
	}
	// The event and its decoded record may be kept and changed independently.
	ev.Record[2] = 'b'
	if lr := got.(*lambdaapi.LogRecord); string(lr.Object) != `{"a":1}` {
		t.Errorf("Object changed with the event's record: %s", lr.Object)
	}
}

func TestDecodeUnknownType(t *testing.T) {
	for _, raw := range []string{`{"x":1}`, `"text"`, `42`, `[1]`, `null`, ``} {
		ev := lambdaapi.TelemetryEvent{Type: "platform.somethingNew"}
		if raw != "" {
			ev.Record = json.RawMessage(raw)
		}
		got, err := ev.Decode()
		if err != nil {
			t.Errorf("Decode(%s) = %v, want the raw record", raw, err)
			continue
		}
		rm, ok := got.(json.RawMessage)
		if !ok {
			t.Errorf("Decode(%s) returned %T, want json.RawMessage", raw, got)
			continue
		}
		if string(rm) != raw || (raw == "" && rm != nil) {
			t.Errorf("Decode(%s) = %q, want the record as-is", raw, rm)
		}
	}
	// Type matching is exact: a differently cased known type is unknown.
	got, err := lambdaapi.TelemetryEvent{Type: "Platform.Start", Record: json.RawMessage(`5`)}.Decode()
	if err != nil {
		t.Fatalf("Decode = %v", err)
	}
	if _, ok := got.(json.RawMessage); !ok {
		t.Errorf("Decode of Platform.Start returned %T, want json.RawMessage", got)
	}
}
