package lambdaapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// batchSeeds are HTTP deliveries: the real-shaped samples of A4.3 plus the
// shapes lenient decoding has to survive (string records, odd times, unknown
// types, non-object platform records).
func batchSeeds() []string {
	return []string{
		sampleBatch,
		"[" + strings.Join(sampleLMILines, ",") + "]",
		`[]`,
		`null`,
		`[{"time":"2024-07-01T08:54:54.125Z","type":"platform.report","record":"{\"requestId\":\"r\",\"status\":\"success\",\"metrics\":{\"durationMs\":1}}"}]`,
		`[{"time":1719824094125,"type":"platform.start","record":{"requestId":"r"}}]`,
		`[{"time":"9999-12-31T23:59:59.999-23:59","type":"function","record":"late"}]`,
		`[{"time":"0000-01-01T00:00:00+01:00","type":"function","record":"early"}]`,
		`[{"type":"platform.report","record":42},{"type":"platform.start","record":[1]}]`,
		`[{"type":"function","record":{"level":"INFO","message":"<b>&amp;</b>"}},{"type":"extension","record":null}]`,
		`[{"type":"platform.somethingNew","record":{"a":[1,2,{"b":null}]}}]`,
		`[{"type":"platform.runtimeDone","record":{"requestId":"r","spans":[{"name":"x","start":5,"durationMs":"1"}]}}]`,
		`[{"type":"platform.initStart"}]`,
		`[{"record":{}}]`,
		`[{"type":"function","record":"\u00e9\ud83d\ude00 \u2028"}]`,
	}
}

func FuzzDecodeEvents(f *testing.F) {
	for _, s := range batchSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := lambdaapi.DecodeEvents(data)
		if err != nil {
			if evs != nil {
				t.Fatalf("DecodeEvents returned %d events with error %v", len(evs), err)
			}
			return
		}
		for i, ev := range evs {
			if ev.Type == "" {
				t.Fatalf("event %d decoded without a type", i)
			}
			_, decErr := ev.Decode()

			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("event %d: Marshal = %v", i, err)
			}
			var back lambdaapi.TelemetryEvent
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("event %d: re-marshalled %s does not decode: %v", i, b, err)
			}
			if back.Type != ev.Type {
				t.Fatalf("event %d: Type %q became %q", i, ev.Type, back.Type)
			}
			wantRec := ev.Record
			if wantRec == nil {
				wantRec = json.RawMessage("null")
			}
			var cw, cb bytes.Buffer
			if err := json.Compact(&cw, wantRec); err != nil {
				t.Fatalf("event %d: decoded record %q is not JSON: %v", i, wantRec, err)
			}
			if err := json.Compact(&cb, back.Record); err != nil {
				t.Fatalf("event %d: re-decoded record %q is not JSON: %v", i, back.Record, err)
			}
			if !jsonEqual(cw.Bytes(), cb.Bytes()) {
				t.Fatalf("event %d: record %s became %s", i, cw.Bytes(), cb.Bytes())
			}
			// Times the platform format can hold come back to the millisecond;
			// the rest (years outside 0000-9999) are dropped leniently.
			if y := ev.Time.UTC().Year(); y >= 0 && y <= 9999 {
				if want := ev.Time.UTC().Format(lambdaapi.TelemetryTimeFormat); back.Time.UTC().Format(lambdaapi.TelemetryTimeFormat) != want {
					t.Fatalf("event %d: time %s came back as %v", i, want, back.Time)
				}
				// A second round trip is a fixed point.
				b2, err := json.Marshal(back)
				if err != nil {
					t.Fatalf("event %d: Marshal of re-decoded event = %v", i, err)
				}
				if !bytes.Equal(b, b2) {
					t.Fatalf("event %d: round trip not stable:\n%s\n%s", i, b, b2)
				}
			} else if !back.Time.IsZero() {
				t.Fatalf("event %d: unrepresentable time %v came back as %v", i, ev.Time, back.Time)
			}
			// Decoding depends on the record's value, not its spacing.
			if _, backErr := back.Decode(); (decErr == nil) != (backErr == nil) {
				t.Fatalf("event %d: Decode = %v before and %v after a round trip", i, decErr, backErr)
			}
		}
	})
}

// jsonEqual compares two JSON texts by value, so HTML escaping added by
// json.Marshal (\u003c for <) does not count as a change.
func jsonEqual(a, b []byte) bool {
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&va) != nil || db.Decode(&vb) != nil {
		return bytes.Equal(a, b)
	}
	return fmt.Sprintf("%#v", va) == fmt.Sprintf("%#v", vb)
}

func FuzzDecodeEventLines(f *testing.F) {
	f.Add([]byte(sampleLMINDJSON))
	f.Add([]byte(strings.ReplaceAll(sampleLMINDJSON, "\n", "\r\n\n  \n")))
	f.Add([]byte(strings.ReplaceAll(sampleRuntimeDone, "\n", "") + "\n" + strings.ReplaceAll(sampleReport, "\n", "")))
	f.Add([]byte(sampleLMILines[0] + "\n{oops\n" + sampleLMILines[1]))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte(`{"type":"function","record":"no newline at end"}`))
	f.Add([]byte(`[{"type":"function","record":"array"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := lambdaapi.DecodeEventLines(data)
		for i, ev := range evs {
			if ev.Type == "" {
				t.Fatalf("event %d decoded without a type", i)
			}
			_, _ = ev.Decode()
		}
		lines := bytes.Split(data, []byte("\n"))
		if err != nil {
			var n int
			if _, scanErr := fmt.Sscanf(err.Error(), "decode telemetry line %d:", &n); scanErr != nil {
				t.Fatalf("error %q does not name a line", err)
			}
			if n < 1 || n > len(lines) {
				t.Fatalf("error names line %d of %d", n, len(lines))
			}
			bad := bytes.TrimSpace(lines[n-1])
			if len(bad) == 0 {
				t.Fatalf("error names blank line %d", n)
			}
			var ev lambdaapi.TelemetryEvent
			if json.Unmarshal(bad, &ev) == nil {
				t.Fatalf("line %d %q decodes on its own but was reported bad", n, bad)
			}
			lines = lines[:n-1]
		}
		// Every non-blank line before the error (or in all) became one event.
		want := 0
		for _, l := range lines {
			if len(bytes.TrimSpace(l)) > 0 {
				want++
			}
		}
		if len(evs) != want {
			t.Fatalf("got %d events from %d non-blank lines", len(evs), want)
		}
		if err != nil {
			return
		}
		// What TCP delivered line by line, HTTP delivers as one array.
		b, err := json.Marshal(evs)
		if err != nil {
			t.Fatalf("Marshal = %v", err)
		}
		again, err := lambdaapi.DecodeEvents(b)
		if err != nil {
			t.Fatalf("re-marshalled events do not decode as a batch: %v", err)
		}
		if len(again) != len(evs) {
			t.Fatalf("batch has %d events, want %d", len(again), len(evs))
		}
	})
}

func FuzzSubscribeValidate(f *testing.F) {
	seeds := []struct {
		body     string
		required string
	}{
		{`{"schemaVersion":"2022-12-13","types":["platform","function","extension"],"buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":25},"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080/anypath"}}`, ""},
		{`{"schemaVersion":"2025-01-29","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243"}}`, "2025-01-29"},
		{`{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243"}}`, "2025-01-29"},
		{`{"schemaVersion":"2022-07-01","types":["function"],"buffering":{},"destination":{"protocol":"TCP","port":65535}}`, ""},
		{`{"schemaVersion":"2022-07-01","types":["function"],"buffering":{"maxItems":999,"maxBytes":1048577,"timeoutMs":30001},"destination":{"protocol":"TCP","port":0}}`, ""},
		{`{"types":[],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain/"}}`, ""},
		{`{"schemaVersion":"2022-12-13","types":["logs"],"destination":{"protocol":"UDP"}}`, ""},
		{`{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":-1},"destination":{"protocol":"HTTP","URI":"https://sandbox.localdomain:1/"}}`, ""},
		{`{"schemaVersion":"2022-12-13","types":["platform"],"buffering":null,"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:99999999999999999999/"}}`, ""},
		{`{}`, ""},
		{`null`, "x"},
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.required)
	}
	f.Fuzz(func(t *testing.T, data []byte, required string) {
		var s lambdaapi.SubscribeRequest
		if json.Unmarshal(data, &s) != nil {
			return
		}
		got, err := s.Validate(required)
		if err != nil {
			var ve *lambdaapi.ValidationError
			if !errors.As(err, &ve) || ve.Msg == "" {
				t.Fatalf("Validate error %T %v is not a *ValidationError with a message", err, err)
			}
			return
		}
		b := got.Buffering
		if b == nil {
			t.Fatal("Validate succeeded with nil Buffering")
		}
		if b.MaxItems < lambdaapi.MinBufferingMaxItems || b.MaxItems > lambdaapi.MaxBufferingMaxItems ||
			b.MaxBytes < lambdaapi.MinBufferingMaxBytes || b.MaxBytes > lambdaapi.MaxBufferingMaxBytes ||
			b.TimeoutMs < lambdaapi.MinBufferingTimeoutMs || b.TimeoutMs > lambdaapi.MaxBufferingTimeoutMs {
			t.Fatalf("accepted Buffering %+v is outside the platform's limits", *b)
		}
		switch got.SchemaVersion {
		case lambdaapi.Schema20220701, lambdaapi.Schema20221213, lambdaapi.Schema20250129:
		default:
			t.Fatalf("accepted schemaVersion %q", got.SchemaVersion)
		}
		if required != "" && got.SchemaVersion != required {
			t.Fatalf("accepted schemaVersion %q where %q is required", got.SchemaVersion, required)
		}
		if len(got.Types) == 0 {
			t.Fatal("accepted empty types")
		}
		switch got.Destination.Protocol {
		case lambdaapi.ProtocolHTTP:
			if !strings.HasPrefix(strings.ToLower(got.Destination.URI), "http://") {
				t.Fatalf("accepted HTTP destination %q", got.Destination.URI)
			}
		case lambdaapi.ProtocolTCP:
			if got.Destination.Port < 1 || got.Destination.Port > 65535 {
				t.Fatalf("accepted TCP port %d", got.Destination.Port)
			}
		default:
			t.Fatalf("accepted protocol %q", got.Destination.Protocol)
		}
		// Validation is idempotent: an accepted request, defaults and all, is
		// accepted again unchanged.
		again, err := got.Validate(required)
		if err != nil {
			t.Fatalf("Validate of an accepted request = %v", err)
		}
		if *again.Buffering != *b {
			t.Fatalf("second Validate changed Buffering %+v to %+v", *b, *again.Buffering)
		}
		// And it survives the trip to the platform.
		wire, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("Marshal = %v", err)
		}
		var sent lambdaapi.SubscribeRequest
		if err := json.Unmarshal(wire, &sent); err != nil {
			t.Fatalf("Unmarshal(%s) = %v", wire, err)
		}
		if _, err := sent.Validate(required); err != nil {
			t.Fatalf("accepted request fails after a JSON round trip: %v", err)
		}
	})
}

func FuzzParseShutdownReason(f *testing.F) {
	for _, c := range shutdownReasonCases {
		f.Add(c.in)
	}
	f.Add("TİMEOUT")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, s string) {
		r := lambdaapi.ParseShutdownReason(s)
		var want lambdaapi.ShutdownReason
		switch strings.ToLower(s) {
		case "timeout":
			want = lambdaapi.ShutdownTimeout
		case "failure":
			want = lambdaapi.ShutdownFailure
		default:
			want = lambdaapi.ShutdownSpindown
		}
		if r != want {
			t.Fatalf("ParseShutdownReason(%q) = %q, want %q", s, r, want)
		}
		if again := lambdaapi.ParseShutdownReason(string(r)); again != r {
			t.Fatalf("ParseShutdownReason is not idempotent: %q -> %q -> %q", s, r, again)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var u lambdaapi.ShutdownReason
		if err := json.Unmarshal(b, &u); err != nil {
			t.Fatalf("Unmarshal(%s) = %v", b, err)
		}
		// JSON replaces invalid UTF-8, which can only turn a match into spin-down.
		if u != lambdaapi.ParseShutdownReason(strings.ToValidUTF8(s, "\uFFFD")) {
			t.Fatalf("Unmarshal(%s) = %q, ParseShutdownReason = %q", b, u, r)
		}
	})
}
