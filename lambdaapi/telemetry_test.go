package lambdaapi_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// ms builds a UTC instant at millisecond precision, the precision the platform
// writes, so expected values read like the JSON they come from.
func ms(year int, month time.Month, day, hour, min, sec, milli int) time.Time {
	return time.Date(year, month, day, hour, min, sec, milli*int(time.Millisecond), time.UTC)
}

func ptr[T any](v T) *T { return &v }

func TestTelemetryEventMarshalJSON(t *testing.T) {
	berlin := time.FixedZone("CEST", 2*60*60)
	tests := []struct {
		name string
		ev   lambdaapi.TelemetryEvent
		want string
	}{
		{
			name: "utc",
			ev:   lambdaapi.TelemetryEvent{Time: ms(2024, 7, 1, 8, 54, 54, 125), Type: lambdaapi.EventStart, Record: json.RawMessage(`{"requestId":"r1"}`)},
			want: `{"time":"2024-07-01T08:54:54.125Z","type":"platform.start","record":{"requestId":"r1"}}`,
		},
		{
			name: "other zone is written as UTC",
			ev:   lambdaapi.TelemetryEvent{Time: time.Date(2024, 7, 1, 10, 54, 54, 125e6, berlin), Type: "function", Record: json.RawMessage(`"hello"`)},
			want: `{"time":"2024-07-01T08:54:54.125Z","type":"function","record":"hello"}`,
		},
		{
			name: "sub-millisecond digits are dropped, always three written",
			ev:   lambdaapi.TelemetryEvent{Time: time.Date(2024, 7, 1, 8, 54, 54, 999_999_999, time.UTC), Type: "function", Record: json.RawMessage(`"x"`)},
			want: `{"time":"2024-07-01T08:54:54.999Z","type":"function","record":"x"}`,
		},
		{
			name: "whole second keeps .000",
			ev:   lambdaapi.TelemetryEvent{Time: ms(2024, 1, 2, 3, 4, 5, 0), Type: "function", Record: json.RawMessage(`"x"`)},
			want: `{"time":"2024-01-02T03:04:05.000Z","type":"function","record":"x"}`,
		},
		{
			name: "nil record becomes null",
			ev:   lambdaapi.TelemetryEvent{Time: ms(2024, 1, 2, 3, 4, 5, 6), Type: "platform.future"},
			want: `{"time":"2024-01-02T03:04:05.006Z","type":"platform.future","record":null}`,
		},
		{
			name: "record whitespace is compacted",
			ev:   lambdaapi.TelemetryEvent{Time: ms(2024, 1, 2, 3, 4, 5, 6), Type: "function", Record: json.RawMessage("{ \"a\" : 1 }")},
			want: `{"time":"2024-01-02T03:04:05.006Z","type":"function","record":{"a":1}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal = %s\nwant      %s", got, tt.want)
			}
		})
	}
}

func TestTelemetryEventMarshalInvalidRecord(t *testing.T) {
	// A hand-built event with a broken record must not produce broken JSON.
	_, err := json.Marshal(lambdaapi.TelemetryEvent{Type: "function", Record: json.RawMessage(`{"a":`)})
	if err == nil {
		t.Fatal("Marshal of an invalid record succeeded")
	}
}

func TestTelemetryEventRoundTrip(t *testing.T) {
	evs := []lambdaapi.TelemetryEvent{
		{Time: ms(2024, 7, 1, 8, 54, 54, 125), Type: lambdaapi.EventRuntimeDone, Record: json.RawMessage(`{"requestId":"r","status":"success"}`)},
		{Time: ms(1999, 12, 31, 23, 59, 59, 999), Type: lambdaapi.EventFunction, Record: json.RawMessage(`"a line\twith \"quotes\" and ünïcode"`)},
		{Time: ms(2025, 1, 29, 0, 0, 0, 1), Type: lambdaapi.EventExtensionLog, Record: json.RawMessage(`{"level":"INFO","message":"m"}`)},
		{Time: ms(2025, 1, 29, 0, 0, 0, 1), Type: "platform.somethingNew", Record: json.RawMessage(`[1,2,3]`)},
	}
	b, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lambdaapi.DecodeEvents(b)
	if err != nil {
		t.Fatalf("DecodeEvents(%s) = %v", b, err)
	}
	if len(got) != len(evs) {
		t.Fatalf("got %d events, want %d", len(got), len(evs))
	}
	for i := range evs {
		if !got[i].Time.Equal(evs[i].Time) {
			t.Errorf("event %d Time = %v, want %v", i, got[i].Time, evs[i].Time)
		}
		if got[i].Type != evs[i].Type {
			t.Errorf("event %d Type = %q, want %q", i, got[i].Type, evs[i].Type)
		}
		if !bytes.Equal(got[i].Record, evs[i].Record) {
			t.Errorf("event %d Record = %s, want %s", i, got[i].Record, evs[i].Record)
		}
	}
	// Marshalling what was decoded reproduces the delivery byte for byte.
	again, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Errorf("re-marshalled batch differs:\n%s\n%s", again, b)
	}
}

func TestTelemetryEventUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantTime time.Time
		wantType string
		wantRec  string // exact Record bytes; "" means nil
	}{
		{
			name:     "platform format",
			in:       `{"time":"2024-07-01T08:54:54.125Z","type":"function","record":"x"}`,
			wantTime: ms(2024, 7, 1, 8, 54, 54, 125), wantType: "function", wantRec: `"x"`,
		},
		{
			name:     "offset and nanoseconds",
			in:       `{"time":"2024-07-01T10:54:54.123456789+02:00","type":"function","record":"x"}`,
			wantTime: time.Date(2024, 7, 1, 8, 54, 54, 123456789, time.UTC), wantType: "function", wantRec: `"x"`,
		},
		{
			name:     "no fraction",
			in:       `{"time":"2024-07-01T08:54:54Z","type":"function","record":"x"}`,
			wantTime: ms(2024, 7, 1, 8, 54, 54, 0), wantType: "function", wantRec: `"x"`,
		},
		{name: "missing time", in: `{"type":"function","record":"x"}`, wantType: "function", wantRec: `"x"`},
		{name: "null time", in: `{"time":null,"type":"function","record":"x"}`, wantType: "function", wantRec: `"x"`},
		{name: "empty time", in: `{"time":"","type":"function","record":"x"}`, wantType: "function", wantRec: `"x"`},
		{name: "garbage time", in: `{"time":"yesterday","type":"function","record":"x"}`, wantType: "function", wantRec: `"x"`},
		{name: "date only", in: `{"time":"2024-07-01","type":"function","record":"x"}`, wantType: "function", wantRec: `"x"`},
		{name: "out of range time", in: `{"time":"2024-13-45T99:99:99Z","type":"function","record":"x"}`, wantType: "function", wantRec: `"x"`},
		{name: "numeric time", in: `{"time":1719824094125,"type":"function","record":"x"}`, wantType: "function", wantRec: `"x"`},
		{name: "object time", in: `{"time":{"s":1},"type":"function","record":"x"}`, wantType: "function", wantRec: `"x"`},
		{name: "missing record", in: `{"time":"2024-07-01T08:54:54.125Z","type":"platform.start"}`, wantTime: ms(2024, 7, 1, 8, 54, 54, 125), wantType: "platform.start"},
		{name: "null record", in: `{"type":"function","record":null}`, wantType: "function", wantRec: `null`},
		{name: "unknown fields ignored", in: `{"type":"function","record":"x","sequence":7,"extra":{"a":[1]}}`, wantType: "function", wantRec: `"x"`},
		{name: "record kept verbatim", in: `{"type":"function","record":{ "a" : 1 }}`, wantType: "function", wantRec: `{ "a" : 1 }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Decode into a used event: nothing of the old value may survive.
			ev := lambdaapi.TelemetryEvent{Time: ms(2000, 1, 1, 0, 0, 0, 0), Type: "old", Record: json.RawMessage(`"old"`)}
			if err := json.Unmarshal([]byte(tt.in), &ev); err != nil {
				t.Fatalf("Unmarshal(%s) = %v", tt.in, err)
			}
			if !ev.Time.Equal(tt.wantTime) {
				t.Errorf("Time = %v, want %v", ev.Time, tt.wantTime)
			}
			if tt.wantTime.IsZero() && !ev.Time.IsZero() {
				t.Errorf("Time = %v, want zero", ev.Time)
			}
			if ev.Type != tt.wantType {
				t.Errorf("Type = %q, want %q", ev.Type, tt.wantType)
			}
			if tt.wantRec == "" {
				if ev.Record != nil {
					t.Errorf("Record = %s, want nil", ev.Record)
				}
			} else if string(ev.Record) != tt.wantRec {
				t.Errorf("Record = %s, want %s", ev.Record, tt.wantRec)
			}
		})
	}
}

func TestTelemetryEventUnmarshalJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "missing type", in: `{"time":"2024-07-01T08:54:54.125Z","record":{}}`, want: "telemetry event: missing type"},
		{name: "empty type", in: `{"type":"","record":{}}`, want: "telemetry event: missing type"},
		{name: "null type", in: `{"type":null,"record":{}}`, want: "telemetry event: missing type"},
		{name: "empty object", in: `{}`, want: "telemetry event: missing type"},
		{name: "null", in: `null`, want: "telemetry event: missing type"},
		{name: "numeric type", in: `{"type":5}`, want: "telemetry event: "},
		{name: "array", in: `[]`, want: "telemetry event: "},
		{name: "string", in: `"platform.start"`, want: "telemetry event: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev lambdaapi.TelemetryEvent
			err := ev.UnmarshalJSON([]byte(tt.in))
			if err == nil {
				t.Fatalf("UnmarshalJSON(%s) succeeded: %+v", tt.in, ev)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeEventsSample(t *testing.T) {
	evs, err := lambdaapi.DecodeEvents([]byte(sampleBatch))
	if err != nil {
		t.Fatalf("DecodeEvents = %v", err)
	}
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2", len(evs))
	}
	if evs[0].Type != lambdaapi.EventRuntimeDone || !evs[0].Time.Equal(ms(2024, 7, 1, 8, 54, 54, 125)) {
		t.Errorf("event 0 = %s at %v", evs[0].Type, evs[0].Time)
	}
	if evs[1].Type != lambdaapi.EventReport || !evs[1].Time.Equal(ms(2024, 7, 1, 8, 54, 54, 127)) {
		t.Errorf("event 1 = %s at %v", evs[1].Type, evs[1].Time)
	}

	rec, err := evs[0].Decode()
	if err != nil {
		t.Fatalf("Decode runtimeDone = %v", err)
	}
	wantRD := &lambdaapi.RuntimeDone{
		RequestID: "b2de8fdb-…",
		Status:    lambdaapi.StatusSuccess,
		Metrics:   &lambdaapi.RuntimeDoneMetrics{DurationMs: 17.12, ProducedBytes: 50},
		Spans: []lambdaapi.Span{
			{Name: "responseLatency", Start: ms(2024, 7, 1, 8, 54, 54, 108), DurationMs: 1.613},
			{Name: "responseDuration", Start: ms(2024, 7, 1, 8, 54, 54, 109), DurationMs: 0.064},
			{Name: "runtimeOverhead", Start: ms(2024, 7, 1, 8, 54, 54, 110), DurationMs: 15.246},
		},
	}
	assertRecord(t, rec, wantRD)

	rec, err = evs[1].Decode()
	if err != nil {
		t.Fatalf("Decode report = %v", err)
	}
	wantRep := &lambdaapi.Report{
		RequestID: "b2de8fdb-…",
		Status:    lambdaapi.StatusSuccess,
		Metrics: lambdaapi.ReportMetrics{
			DurationMs: 17.493, BilledDurationMs: 18, InitDurationMs: ptr(235.086),
			MaxMemoryUsedMB: 75, MemorySizeMB: 128,
		},
	}
	assertRecord(t, rec, wantRep)
}

func TestDecodeEventsLMISample(t *testing.T) {
	body := "[" + strings.Join(sampleLMILines, ",") + "]"
	evs, err := lambdaapi.DecodeEvents([]byte(body))
	if err != nil {
		t.Fatalf("DecodeEvents = %v", err)
	}
	if len(evs) != len(sampleLMILines) {
		t.Fatalf("got %d events, want %d", len(evs), len(sampleLMILines))
	}
	wantTypes := []string{
		lambdaapi.EventInitStart, lambdaapi.EventExtension, lambdaapi.EventTelemetrySubscription,
		lambdaapi.EventInitRuntimeDone, lambdaapi.EventInitReport, lambdaapi.EventStart,
		lambdaapi.EventReport, lambdaapi.EventReport, lambdaapi.EventFunction,
	}
	for i, ev := range evs {
		if ev.Type != wantTypes[i] {
			t.Errorf("event %d Type = %q, want %q", i, ev.Type, wantTypes[i])
		}
		if !ev.Time.IsZero() {
			t.Errorf("event %d has no time in the sample but decoded %v", i, ev.Time)
		}
		if _, err := ev.Decode(); err != nil {
			t.Errorf("event %d (%s) Decode = %v", i, ev.Type, err)
		}
	}
}

func TestDecodeEventsShapes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantN   int
		wantErr bool
	}{
		{name: "empty array", in: `[]`, wantN: 0},
		{name: "whitespace around", in: " \n[ ]\n ", wantN: 0},
		{name: "null", in: `null`, wantN: 0},
		{name: "one", in: `[{"type":"function","record":"x"}]`, wantN: 1},
		{name: "empty body", in: ``, wantErr: true},
		{name: "object not array", in: `{"type":"function","record":"x"}`, wantErr: true},
		{name: "truncated", in: `[{"type":"function","record":"x"}`, wantErr: true},
		{name: "element without type", in: `[{"type":"function","record":"x"},{"record":"y"}]`, wantErr: true},
		{name: "null element", in: `[null]`, wantErr: true},
		{name: "number element", in: `[1]`, wantErr: true},
		{name: "trailing garbage", in: `[] x`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := lambdaapi.DecodeEvents([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("DecodeEvents(%q) = %d events, want an error", tt.in, len(evs))
				}
				if !strings.HasPrefix(err.Error(), "decode telemetry batch: ") {
					t.Errorf("error %q lacks the batch prefix", err)
				}
				if evs != nil {
					t.Errorf("events returned with an error: %v", evs)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeEvents(%q) = %v", tt.in, err)
			}
			if len(evs) != tt.wantN {
				t.Errorf("got %d events, want %d", len(evs), tt.wantN)
			}
		})
	}
}

func TestDecodeEventsDoesNotAliasInput(t *testing.T) {
	body := []byte(`[{"type":"function","record":"abc"}]`)
	evs, err := lambdaapi.DecodeEvents(body)
	if err != nil {
		t.Fatal(err)
	}
	// Callers reuse delivery buffers; a decoded record must not change with them.
	for i := range body {
		body[i] = 'x'
	}
	if string(evs[0].Record) != `"abc"` {
		t.Errorf("Record changed with the input buffer: %s", evs[0].Record)
	}
}

func TestDecodeEventLines(t *testing.T) {
	evs, err := lambdaapi.DecodeEventLines([]byte(sampleLMINDJSON))
	if err != nil {
		t.Fatalf("DecodeEventLines = %v", err)
	}
	if len(evs) != len(sampleLMILines) {
		t.Fatalf("got %d events, want %d", len(evs), len(sampleLMILines))
	}
	if evs[0].Type != lambdaapi.EventInitStart || evs[len(evs)-1].Type != lambdaapi.EventFunction {
		t.Errorf("first/last = %q/%q", evs[0].Type, evs[len(evs)-1].Type)
	}

	line := func(typ string) string { return `{"type":"` + typ + `","record":"x"}` }
	tests := []struct {
		name      string
		in        string
		wantTypes []string
		wantErr   string // names the bad line
	}{
		{name: "empty", in: ""},
		{name: "only blank lines", in: "\n\n \n\t\r\n"},
		{name: "no trailing newline", in: line("a") + "\n" + line("b"), wantTypes: []string{"a", "b"}},
		{name: "crlf", in: line("a") + "\r\n" + line("b") + "\r\n", wantTypes: []string{"a", "b"}},
		{name: "blank lines skipped", in: "\n" + line("a") + "\n\n   \n" + line("b") + "\n\n", wantTypes: []string{"a", "b"}},
		{name: "indented", in: "  " + line("a") + "  \n", wantTypes: []string{"a"}},
		{name: "bad first line", in: "{oops\n" + line("a"), wantErr: "decode telemetry line 1: "},
		{name: "bad third line", in: line("a") + "\n" + line("b") + "\nnot json\n" + line("c"), wantTypes: []string{"a", "b"}, wantErr: "decode telemetry line 3: "},
		{name: "blank lines count", in: line("a") + "\n\n\n" + `{"record":"no type"}` + "\n", wantTypes: []string{"a"}, wantErr: "decode telemetry line 4: "},
		{name: "array is not a line event", in: "[" + line("a") + "]", wantErr: "decode telemetry line 1: "},
		{name: "two events on one line", in: line("a") + line("b"), wantErr: "decode telemetry line 1: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := lambdaapi.DecodeEventLines([]byte(tt.in))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("DecodeEventLines = %v", err)
			}
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("DecodeEventLines succeeded, want %q", tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Errorf("error %q, want prefix %q", err, tt.wantErr)
				}
			}
			var got []string
			for _, ev := range evs {
				got = append(got, ev.Type)
			}
			if !reflect.DeepEqual(got, tt.wantTypes) {
				t.Errorf("types = %q, want %q", got, tt.wantTypes)
			}
		})
	}
}

func TestStreamOf(t *testing.T) {
	tests := map[string]lambdaapi.TelemetryType{
		lambdaapi.EventFunction:              lambdaapi.TypeFunction,
		lambdaapi.EventExtensionLog:          lambdaapi.TypeExtension,
		lambdaapi.EventInitStart:             lambdaapi.TypePlatform,
		lambdaapi.EventInitRuntimeDone:       lambdaapi.TypePlatform,
		lambdaapi.EventInitReport:            lambdaapi.TypePlatform,
		lambdaapi.EventStart:                 lambdaapi.TypePlatform,
		lambdaapi.EventRuntimeDone:           lambdaapi.TypePlatform,
		lambdaapi.EventReport:                lambdaapi.TypePlatform,
		lambdaapi.EventRestoreStart:          lambdaapi.TypePlatform,
		lambdaapi.EventRestoreRuntimeDone:    lambdaapi.TypePlatform,
		lambdaapi.EventRestoreReport:         lambdaapi.TypePlatform,
		lambdaapi.EventExtension:             lambdaapi.TypePlatform,
		lambdaapi.EventTelemetrySubscription: lambdaapi.TypePlatform,
		lambdaapi.EventLogsDropped:           lambdaapi.TypePlatform,
		"platform.somethingNew":              lambdaapi.TypePlatform,
	}
	for typ, want := range tests {
		if got := lambdaapi.StreamOf(typ); got != want {
			t.Errorf("StreamOf(%q) = %q, want %q", typ, got, want)
		}
	}
}

func TestSpanJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want lambdaapi.Span
	}{
		{
			name: "platform format",
			in:   `{"durationMs":1.613,"name":"responseLatency","start":"2024-07-01T08:54:54.108Z"}`,
			want: lambdaapi.Span{Name: "responseLatency", Start: ms(2024, 7, 1, 8, 54, 54, 108), DurationMs: 1.613},
		},
		{
			name: "offset",
			in:   `{"durationMs":2,"name":"n","start":"2024-07-01T10:54:54.108+02:00"}`,
			want: lambdaapi.Span{Name: "n", Start: ms(2024, 7, 1, 8, 54, 54, 108), DurationMs: 2},
		},
		{name: "missing start", in: `{"durationMs":2,"name":"n"}`, want: lambdaapi.Span{Name: "n", DurationMs: 2}},
		{name: "garbage start", in: `{"durationMs":2,"name":"n","start":"…"}`, want: lambdaapi.Span{Name: "n", DurationMs: 2}},
		{name: "numeric start", in: `{"durationMs":2,"name":"n","start":1719824094108}`, want: lambdaapi.Span{Name: "n", DurationMs: 2}},
		{name: "unknown fields", in: `{"durationMs":0,"name":"extensionOverhead","start":"2024-07-01T08:54:54.000Z","x":[1]}`, want: lambdaapi.Span{Name: "extensionOverhead", Start: ms(2024, 7, 1, 8, 54, 54, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := lambdaapi.Span{Name: "old", Start: ms(2000, 1, 1, 0, 0, 0, 0), DurationMs: 9}
			if err := json.Unmarshal([]byte(tt.in), &s); err != nil {
				t.Fatalf("Unmarshal = %v", err)
			}
			if s.Name != tt.want.Name || s.DurationMs != tt.want.DurationMs || !s.Start.Equal(tt.want.Start) {
				t.Errorf("span = %+v, want %+v", s, tt.want)
			}
		})
	}

	var s lambdaapi.Span
	if err := json.Unmarshal([]byte(`{"name":5}`), &s); err == nil {
		t.Error("a span with a numeric name decoded")
	}

	out, err := json.Marshal(lambdaapi.Span{Name: "responseLatency", Start: time.Date(2024, 7, 1, 10, 54, 54, 108_500_000, time.FixedZone("", 7200)), DurationMs: 1.5})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"responseLatency","start":"2024-07-01T08:54:54.108Z","durationMs":1.5}`; string(out) != want {
		t.Errorf("Marshal = %s, want %s", out, want)
	}
}

// assertRecord compares a decoded record with the expected typed pointer,
// comparing times by instant rather than by location pointer.
func assertRecord(t *testing.T, got, want any) {
	t.Helper()
	if reflect.TypeOf(got) != reflect.TypeOf(want) {
		t.Fatalf("Decode returned %T, want %T", got, want)
	}
	gj, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	wj, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gj, wj) {
		t.Errorf("Decode =\n%s\nwant\n%s", gj, wj)
	}
	if !reflect.DeepEqual(normalise(got), normalise(want)) {
		t.Errorf("Decode = %+v, want %+v", got, want)
	}
}

// normalise re-expresses every span start in UTC so DeepEqual sees instants.
func normalise(v any) any {
	fix := func(ss []lambdaapi.Span) []lambdaapi.Span {
		out := make([]lambdaapi.Span, len(ss))
		for i, s := range ss {
			s.Start = s.Start.UTC()
			out[i] = s
		}
		return out
	}
	switch r := v.(type) {
	case *lambdaapi.InitRuntimeDone:
		c := *r
		c.Spans = fix(c.Spans)
		return c
	case *lambdaapi.InitReport:
		c := *r
		c.Spans = fix(c.Spans)
		return c
	case *lambdaapi.RuntimeDone:
		c := *r
		c.Spans = fix(c.Spans)
		return c
	case *lambdaapi.Report:
		c := *r
		c.Spans = fix(c.Spans)
		return c
	case *lambdaapi.RestoreRuntimeDone:
		c := *r
		c.Spans = fix(c.Spans)
		return c
	case *lambdaapi.RestoreReport:
		c := *r
		c.Spans = fix(c.Spans)
		return c
	}
	return v
}
