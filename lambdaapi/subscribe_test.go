package lambdaapi_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// validSubscribe returns the subscription of A4.1, so that each case below
// breaks exactly one thing and any failure points at that thing.
func validSubscribe() lambdaapi.SubscribeRequest {
	return lambdaapi.SubscribeRequest{
		SchemaVersion: lambdaapi.Schema20221213,
		Types:         []lambdaapi.TelemetryType{lambdaapi.TypePlatform, lambdaapi.TypeFunction, lambdaapi.TypeExtension},
		Buffering:     &lambdaapi.Buffering{MaxItems: 1000, MaxBytes: 262144, TimeoutMs: 25},
		Destination:   lambdaapi.Destination{Protocol: lambdaapi.ProtocolHTTP, URI: "http://sandbox.localdomain:8080/anypath"},
	}
}

// mustValidationError fails the test unless err is a *ValidationError whose
// message names every one of wants; it returns the message for further checks.
func mustValidationError(t *testing.T, err error, wants ...string) string {
	t.Helper()
	if err == nil {
		t.Fatalf("Validate succeeded, want a *ValidationError naming %q", wants)
	}
	var ve *lambdaapi.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate error %T %v is not a *ValidationError", err, err)
	}
	if !strings.HasPrefix(err.Error(), "telemetry subscription: ") {
		t.Errorf("error %q lacks the telemetry subscription prefix", err)
	}
	for _, w := range wants {
		if !strings.Contains(ve.Msg, w) {
			t.Errorf("error %q does not contain %q", ve.Msg, w)
		}
	}
	return ve.Msg
}

func TestSubscribeValidateSchemaVersion(t *testing.T) {
	tests := []struct {
		name     string
		schema   string
		required string
		wantErr  string // empty: accepted
	}{
		{name: "2022-07-01", schema: lambdaapi.Schema20220701},
		{name: "2022-12-13", schema: lambdaapi.Schema20221213},
		{name: "2025-01-29", schema: lambdaapi.Schema20250129},
		{name: "missing", schema: "", wantErr: "schemaVersion is required"},
		{name: "unknown", schema: "2020-08-15", wantErr: `schemaVersion "2020-08-15" is not supported`},
		{name: "near miss", schema: "2022-12-14", wantErr: `schemaVersion "2022-12-14" is not supported`},
		{name: "LMI requires 2025-01-29, got it", schema: lambdaapi.Schema20250129, required: lambdaapi.Schema20250129},
		{name: "LMI requires 2025-01-29, got 2022-12-13", schema: lambdaapi.Schema20221213, required: lambdaapi.Schema20250129, wantErr: "schemaVersion must be 2025-01-29 here"},
		{name: "LMI requires 2025-01-29, got 2022-07-01", schema: lambdaapi.Schema20220701, required: lambdaapi.Schema20250129, wantErr: "schemaVersion must be 2025-01-29 here"},
		{name: "required but missing", schema: "", required: lambdaapi.Schema20250129, wantErr: "schemaVersion is required"},
		{name: "required but unknown", schema: "1999-01-01", required: lambdaapi.Schema20250129, wantErr: `schemaVersion "1999-01-01" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSubscribe()
			s.SchemaVersion = tt.schema
			got, err := s.Validate(tt.required)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate(%q) = %v, want success", tt.required, err)
				}
				if got.SchemaVersion != tt.schema {
					t.Errorf("SchemaVersion = %q, want %q", got.SchemaVersion, tt.schema)
				}
				return
			}
			msg := mustValidationError(t, err, tt.wantErr)
			if strings.Count(msg, "schemaVersion") != 1 {
				t.Errorf("error %q should name the schema problem exactly once", msg)
			}
		})
	}
}

func TestSubscribeValidateTypes(t *testing.T) {
	tests := []struct {
		name    string
		types   []lambdaapi.TelemetryType
		wantErr []string
	}{
		{name: "platform only", types: []lambdaapi.TelemetryType{lambdaapi.TypePlatform}},
		{name: "function only", types: []lambdaapi.TelemetryType{lambdaapi.TypeFunction}},
		{name: "extension only", types: []lambdaapi.TelemetryType{lambdaapi.TypeExtension}},
		{name: "all three", types: []lambdaapi.TelemetryType{"platform", "function", "extension"}},
		{name: "nil", types: nil, wantErr: []string{"types should not be empty"}},
		{name: "empty", types: []lambdaapi.TelemetryType{}, wantErr: []string{"types should not be empty"}},
		{name: "unknown", types: []lambdaapi.TelemetryType{"platform", "logs"}, wantErr: []string{`type "logs" is not one of platform, function, extension`}},
		{name: "wrong case", types: []lambdaapi.TelemetryType{"Platform"}, wantErr: []string{`type "Platform"`}},
		{name: "empty string", types: []lambdaapi.TelemetryType{""}, wantErr: []string{`type ""`}},
		{name: "two unknown", types: []lambdaapi.TelemetryType{"a", "b"}, wantErr: []string{`type "a"`, `type "b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSubscribe()
			s.Types = tt.types
			_, err := s.Validate("")
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want success", err)
				}
				return
			}
			mustValidationError(t, err, tt.wantErr...)
		})
	}
}

func TestSubscribeValidateBuffering(t *testing.T) {
	type field struct {
		name   string
		lo, hi int
		def    int
		set    func(*lambdaapi.Buffering, int)
		get    func(lambdaapi.Buffering) int
	}
	fields := []field{
		{
			name: "maxItems", lo: 1000, hi: 10000, def: 10000,
			set: func(b *lambdaapi.Buffering, v int) { b.MaxItems = v },
			get: func(b lambdaapi.Buffering) int { return b.MaxItems },
		},
		{
			name: "maxBytes", lo: 262144, hi: 1048576, def: 262144,
			set: func(b *lambdaapi.Buffering, v int) { b.MaxBytes = v },
			get: func(b lambdaapi.Buffering) int { return b.MaxBytes },
		},
		{
			name: "timeoutMs", lo: 25, hi: 30000, def: 1000,
			set: func(b *lambdaapi.Buffering, v int) { b.TimeoutMs = v },
			get: func(b lambdaapi.Buffering) int { return b.TimeoutMs },
		},
	}
	for _, f := range fields {
		cases := []struct {
			name    string
			v       int
			want    int  // the value Validate fills in
			wantErr bool // outside the platform's range
		}{
			{name: "min", v: f.lo, want: f.lo},
			{name: "max", v: f.hi, want: f.hi},
			{name: "min+1", v: f.lo + 1, want: f.lo + 1},
			{name: "below min", v: f.lo - 1, wantErr: true},
			{name: "above max", v: f.hi + 1, wantErr: true},
			{name: "negative", v: -1, wantErr: true},
			{name: "zero takes default", v: 0, want: f.def},
		}
		for _, c := range cases {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				s := validSubscribe()
				// Start from an all-zero Buffering so the other two fields show
				// their defaults are filled in independently of this one.
				b := &lambdaapi.Buffering{}
				f.set(b, c.v)
				s.Buffering = b
				got, err := s.Validate("")
				if c.wantErr {
					msg := mustValidationError(t, err, "buffering."+f.name)
					if !strings.Contains(msg, "outside") {
						t.Errorf("error %q does not say the value is out of range", msg)
					}
					return
				}
				if err != nil {
					t.Fatalf("Validate = %v, want success", err)
				}
				if got.Buffering == nil {
					t.Fatal("Validate returned nil Buffering")
				}
				if g := f.get(*got.Buffering); g != c.want {
					t.Errorf("%s = %d, want %d", f.name, g, c.want)
				}
				for _, o := range fields {
					if o.name == f.name {
						continue
					}
					if g := o.get(*got.Buffering); g != o.def {
						t.Errorf("untouched %s = %d, want default %d", o.name, g, o.def)
					}
				}
				if f.get(*b) != c.v {
					t.Errorf("Validate changed the caller's Buffering: %s = %d, want %d", f.name, f.get(*b), c.v)
				}
			})
		}
	}
}

func TestSubscribeValidateBufferingDefaults(t *testing.T) {
	want := lambdaapi.Buffering{MaxItems: 10000, MaxBytes: 262144, TimeoutMs: 1000}
	if got := (lambdaapi.Buffering{MaxItems: lambdaapi.DefaultBufferingMaxItems, MaxBytes: lambdaapi.DefaultBufferingMaxBytes, TimeoutMs: lambdaapi.DefaultBufferingTimeoutMs}); got != want {
		t.Fatalf("default constants = %+v, want the A4.1 defaults %+v", got, want)
	}
	for _, tt := range []struct {
		name string
		b    *lambdaapi.Buffering
	}{
		{name: "nil", b: nil},
		{name: "all zero", b: &lambdaapi.Buffering{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := validSubscribe()
			s.Buffering = tt.b
			got, err := s.Validate("")
			if err != nil {
				t.Fatalf("Validate = %v", err)
			}
			if got.Buffering == nil || *got.Buffering != want {
				t.Fatalf("Buffering = %+v, want %+v", got.Buffering, want)
			}
			if tt.b != nil && *tt.b != (lambdaapi.Buffering{}) {
				t.Errorf("Validate changed the caller's Buffering to %+v", *tt.b)
			}
		})
	}
}

func TestSubscribeValidateFromJSON(t *testing.T) {
	// The body of A4.1, as an extension would send it.
	body := `{
  "schemaVersion": "2022-12-13",
  "types": ["platform", "function", "extension"],
  "buffering": { "maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25 },
  "destination": { "protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/anypath" }
}`
	var s lambdaapi.SubscribeRequest
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	got, err := s.Validate("")
	if err != nil {
		t.Fatalf("Validate = %v", err)
	}
	if want := (lambdaapi.Buffering{MaxItems: 1000, MaxBytes: 262144, TimeoutMs: 25}); *got.Buffering != want {
		t.Errorf("Buffering = %+v, want %+v", *got.Buffering, want)
	}
	if got.Destination.URI != "http://sandbox.localdomain:8080/anypath" {
		t.Errorf("URI = %q", got.Destination.URI)
	}

	// A Go-built request must put URI under the platform's capitalised key.
	out, err := json.Marshal(validSubscribe())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"URI":"http://sandbox.localdomain:8080/anypath"`) {
		t.Errorf("marshalled request %s lacks the \"URI\" key", out)
	}
}

func TestSubscribeValidateHTTPDestination(t *testing.T) {
	tests := []struct {
		name    string
		uri     string
		wantErr string // empty: accepted
	}{
		{name: "with path", uri: "http://sandbox.localdomain:8080/anypath"},
		{name: "without path", uri: "http://sandbox.localdomain:8080"},
		{name: "root path", uri: "http://sandbox.localdomain:8080/"},
		{name: "deep path and query", uri: "http://sandbox.localdomain:4243/a/b?c=d"},
		{name: "port 1", uri: "http://sandbox.localdomain:1/"},
		{name: "port 65535", uri: "http://sandbox.localdomain:65535/"},
		{name: "missing", uri: "", wantErr: "destination.URI is required for HTTP"},
		{name: "https", uri: "https://sandbox.localdomain:8080/", wantErr: "must use http"},
		{name: "no scheme", uri: "sandbox.localdomain:8080", wantErr: "must use http"},
		{name: "tcp scheme", uri: "tcp://sandbox.localdomain:8080", wantErr: "must use http"},
		{name: "localhost", uri: "http://localhost:8080/", wantErr: "host must be sandbox.localdomain"},
		{name: "loopback ip", uri: "http://127.0.0.1:8080/", wantErr: "host must be sandbox.localdomain"},
		{name: "sandbox subdomain", uri: "http://x.sandbox.localdomain:8080/", wantErr: "host must be sandbox.localdomain"},
		{name: "no host", uri: "http:///path", wantErr: "host must be sandbox.localdomain"},
		{name: "missing port", uri: "http://sandbox.localdomain/", wantErr: "URI port is not provided"},
		{name: "missing port, no path", uri: "http://sandbox.localdomain", wantErr: "URI port is not provided"},
		{name: "empty port", uri: "http://sandbox.localdomain:/", wantErr: "URI port is not provided"},
		{name: "port 0", uri: "http://sandbox.localdomain:0/", wantErr: `destination.URI port "0" is not valid`},
		{name: "port 65536", uri: "http://sandbox.localdomain:65536/", wantErr: `destination.URI port "65536" is not valid`},
		{name: "huge port", uri: "http://sandbox.localdomain:99999999999999999999/", wantErr: "is not valid"},
		{name: "non-numeric port", uri: "http://sandbox.localdomain:http/", wantErr: "is not a URI"},
		{name: "bad escape", uri: "http://sandbox.localdomain:8080/%zz", wantErr: "is not a URI"},
		{name: "control character", uri: "http://sandbox.localdomain:8080/\x7f", wantErr: "is not a URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSubscribe()
			s.Destination = lambdaapi.Destination{Protocol: lambdaapi.ProtocolHTTP, URI: tt.uri}
			got, err := s.Validate("")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate(%q) = %v, want success", tt.uri, err)
				}
				if got.Destination != s.Destination {
					t.Errorf("Destination = %+v, want it unchanged %+v", got.Destination, s.Destination)
				}
				return
			}
			msg := mustValidationError(t, err, tt.wantErr)
			// Exactly one destination problem: the checks stop at the first.
			if n := strings.Count(msg, ";"); n != 0 {
				t.Errorf("error %q names %d problems, want one", msg, n+1)
			}
		})
	}
}

func TestSubscribeValidateTCPDestination(t *testing.T) {
	tests := []struct {
		port    int
		wantErr bool
	}{
		{port: 0, wantErr: true},
		{port: -1, wantErr: true},
		{port: 1},
		{port: 4243},
		{port: 65535},
		{port: 65536, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.port), func(t *testing.T) {
			s := validSubscribe()
			// A URI is irrelevant for TCP; leave a bad one to prove it is ignored.
			s.Destination = lambdaapi.Destination{Protocol: lambdaapi.ProtocolTCP, Port: tt.port, URI: "https://elsewhere"}
			_, err := s.Validate("")
			if tt.wantErr {
				mustValidationError(t, err, "destination.port must be within [1, 65535] for TCP")
				return
			}
			if err != nil {
				t.Fatalf("port %d: Validate = %v, want success", tt.port, err)
			}
		})
	}
}

func TestSubscribeValidateProtocol(t *testing.T) {
	tests := []struct {
		protocol string
		wantErr  string
	}{
		{protocol: "", wantErr: "destination.protocol is required"},
		{protocol: "UDP", wantErr: `destination.protocol "UDP" is not HTTP or TCP`},
		{protocol: "http", wantErr: `destination.protocol "http" is not HTTP or TCP`},
		{protocol: "HTTPS", wantErr: `destination.protocol "HTTPS" is not HTTP or TCP`},
	}
	for _, tt := range tests {
		t.Run(tt.protocol, func(t *testing.T) {
			s := validSubscribe()
			s.Destination.Protocol = tt.protocol
			_, err := s.Validate("")
			mustValidationError(t, err, tt.wantErr)
		})
	}
}

func TestSubscribeValidateNamesEveryProblem(t *testing.T) {
	s := lambdaapi.SubscribeRequest{
		SchemaVersion: "2020-08-15",
		Types:         nil,
		Buffering:     &lambdaapi.Buffering{MaxItems: 5, MaxBytes: 2 << 20, TimeoutMs: 10},
		Destination:   lambdaapi.Destination{Protocol: lambdaapi.ProtocolHTTP, URI: "http://sandbox.localdomain/"},
	}
	got, err := s.Validate("")
	msg := mustValidationError(t, err,
		`schemaVersion "2020-08-15" is not supported`,
		"types should not be empty",
		"buffering.maxItems 5 is outside [1000, 10000]",
		"buffering.maxBytes 2097152 is outside [262144, 1048576]",
		"buffering.timeoutMs 10 is outside [25, 30000]",
		"URI port is not provided",
	)
	if n := strings.Count(msg, "; ") + 1; n != 6 {
		t.Errorf("error %q names %d problems, want 6", msg, n)
	}
	// The platform's own wording joins problems with "; " (A4.1).
	if !strings.Contains(msg, "types should not be empty; buffering.maxItems") {
		t.Errorf("error %q does not join problems with \"; \"", msg)
	}
	// A refused request comes back unchanged: no defaults filled in.
	if got.Buffering != s.Buffering {
		t.Errorf("refused request's Buffering was replaced")
	}

	// The platform's own example message (A4.1) is reproduced word for word.
	s2 := validSubscribe()
	s2.Types = nil
	s2.Destination.URI = "http://sandbox.localdomain/"
	_, err = s2.Validate("")
	var ve *lambdaapi.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	if want := "types should not be empty; URI port is not provided"; ve.Msg != want {
		t.Errorf("Msg = %q, want %q", ve.Msg, want)
	}
}

func TestSubscribeValidateWrappedError(t *testing.T) {
	s := validSubscribe()
	s.SchemaVersion = ""
	_, err := s.Validate("")
	wrapped := errors.Join(errors.New("context"), err)
	var ve *lambdaapi.ValidationError
	if !errors.As(wrapped, &ve) {
		t.Fatalf("errors.As through a wrapper failed for %v", wrapped)
	}
	if ve.Error() != "telemetry subscription: schemaVersion is required" {
		t.Errorf("Error() = %q", ve.Error())
	}
}
