package lambdasim

import (
	"encoding/json"
	"testing"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// With AWS_LAMBDA_LOG_FORMAT=JSON, function records are JSON objects: a line
// that is one passes as it is, any other line is wrapped with the request
// id; in the default Text format records are strings.
func TestFunctionRecordsFollowLogFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		format string
		json   bool
	}{{"", false}, {"Text", false}, {"JSON", true}, {"json", true}} {
		t.Run("format="+tc.format, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			env := map[string]string{}
			if tc.format != "" {
				env["AWS_LAMBDA_LOG_FORMAT"] = tc.format
			}
			s := newSim(t, Config{Runtime: &Process{Path: bins.rt}, Env: env})
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			plain, err := s.Invoke(ctx, Request{Payload: []byte(`{"action":"say","text":"plain words"}`)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Invoke(ctx, Request{Payload: []byte(`{"action":"say","text":"{\"level\":\"WARN\",\"message\":\"structured\"}"}`)}); err != nil {
				t.Fatal(err)
			}
			recs := map[string]*lambdaapi.LogRecord{}
			for _, ev := range s.Telemetry() {
				if ev.Type != lambdaapi.EventFunction {
					continue
				}
				d, err := ev.Decode()
				if err != nil {
					t.Fatal(err)
				}
				lr := d.(*lambdaapi.LogRecord)
				key := lr.Text
				if lr.Object != nil {
					var o struct{ Message string }
					if err := json.Unmarshal(lr.Object, &o); err != nil {
						t.Fatal(err)
					}
					key = o.Message
				}
				recs[key] = lr
			}
			p, s2 := recs["plain words"], recs["structured"]
			if !tc.json {
				if p == nil || p.Object != nil || recs[`{"level":"WARN","message":"structured"}`] == nil {
					t.Fatalf("text format: records %v", recs)
				}
				return
			}
			if p == nil || p.Object == nil || s2 == nil || s2.Object == nil {
				t.Fatalf("JSON format: records %v", recs)
			}
			var wrapped struct {
				Timestamp, Level, RequestID, Message string
			}
			if err := json.Unmarshal(p.Object, &wrapped); err != nil {
				t.Fatal(err)
			}
			if wrapped.Level != "INFO" || wrapped.RequestID != plain.RequestID || wrapped.Timestamp == "" {
				t.Fatalf("wrapped line %+v, want level INFO and request id %s", wrapped, plain.RequestID)
			}
			if string(s2.Object) != `{"level":"WARN","message":"structured"}` {
				t.Fatalf("a JSON line must pass unchanged, got %s", s2.Object)
			}
		})
	}
}
