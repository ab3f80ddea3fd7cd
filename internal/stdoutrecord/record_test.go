package stdoutrecord

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The fixtures are otlpstdout's: records in the styles of the Rust, Node and
// Python exporters and of this module's own.
var fixtureFiles = []string{"rust.jsonl", "node.jsonl", "python.jsonl", "golden.jsonl"}

func readLines(t testing.TB, name string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "otlpstdout", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFixtures(t *testing.T) {
	for _, name := range fixtureFiles {
		for i, line := range readLines(t, name) {
			t.Run(fmt.Sprintf("%s:%d", name, i+1), func(t *testing.T) {
				if !IsRecord(line) {
					t.Fatal("IsRecord = false")
				}
				r, err := Decode(line)
				if err != nil {
					t.Fatal(err)
				}
				if r.Method != "POST" || r.Endpoint != Endpoint || r.Version == "" {
					t.Errorf("decoded %+v", *r)
				}
				body, err := r.Body()
				if err != nil {
					t.Fatal(err)
				}
				if r.IsJSON() {
					if !json.Valid(body) || !bytes.Contains(body, []byte(`"resourceSpans"`)) {
						t.Fatalf("JSON body: %.200s", body)
					}
					return
				}
				var td tracepb.TracesData
				if err := proto.Unmarshal(body, &td); err != nil {
					t.Fatal(err)
				}
				if len(td.ResourceSpans) == 0 || len(td.ResourceSpans[0].ScopeSpans[0].Spans) == 0 {
					t.Fatalf("no spans in %v", &td)
				}
				again, err := Decode(r.AppendJSON(nil))
				if err != nil || !reflect.DeepEqual(again, r) {
					t.Fatalf("re-encoded record differs: %v\n got %+v\nwant %+v", err, again, r)
				}
			})
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := map[string]string{
		"not json":             `hello world`,
		"not an object":        `["__otel_otlp_stdout"]`,
		"null":                 `null`,
		"no marker":            `{"source":"x","payload":"","base64":true}`,
		"marker not a string":  `{"__otel_otlp_stdout":1,"payload":""}`,
		"marker empty":         `{"__otel_otlp_stdout":"","payload":""}`,
		"marker wrong case":    `{"__OTEL_OTLP_STDOUT":"1","payload":""}`,
		"payload null":         `{"__otel_otlp_stdout":"1","payload":null}`,
		"source not a string":  `{"__otel_otlp_stdout":"1","source":[],"payload":""}`,
		"nested marker":        `{"otlp_fallback":{"__otel_otlp_stdout":"x","payload":""}}`,
		"no payload":           `{"__otel_otlp_stdout":"1"}`,
		"payload number":       `{"__otel_otlp_stdout":"1","payload":5}`,
		"object but base64":    `{"__otel_otlp_stdout":"1","payload":{},"base64":true}`,
		"headers not strings":  `{"__otel_otlp_stdout":"1","headers":{"a":1},"payload":""}`,
		"base64 not a boolean": `{"__otel_otlp_stdout":"1","base64":"true","payload":""}`,
		"truncated":            `{"__otel_otlp_stdout":"1","payload":"abc`,
	}
	for name, line := range cases {
		if r, err := Decode([]byte(line)); err == nil {
			t.Errorf("%s: Decode accepted %q as %+v", name, line, r)
		}
	}
	if _, err := Decode([]byte(`{"a":1}`)); !errors.Is(err, ErrNotRecord) {
		t.Errorf("non-record error = %v, want ErrNotRecord", err)
	}
}

func TestBody(t *testing.T) {
	pb, _ := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{}}})
	for _, r := range []Record{
		{Payload: base64.StdEncoding.EncodeToString(pb), Base64: true},
		{Payload: strings.TrimRight(base64.StdEncoding.EncodeToString(pb), "="), Base64: true, ContentEncoding: "identity"},
		{Payload: base64.StdEncoding.EncodeToString(gz(t, pb)), Base64: true, ContentEncoding: " GZIP ", ContentType: "application/x-protobuf; charset=binary"},
	} {
		got, err := r.Body()
		if err != nil || !bytes.Equal(got, pb) {
			t.Errorf("%+v: %x, %v", r, got, err)
		}
	}
	for _, tc := range []struct {
		r    Record
		want string
	}{
		{Record{Payload: "!!!", Base64: true}, "base64"},
		{Record{Payload: "aGVsbG8=", Base64: true, ContentEncoding: "gzip"}, "gzip"},
		{Record{ContentEncoding: "br"}, "content-encoding"},
		{Record{ContentType: "text/plain"}, "content-type"},
	} {
		if _, err := tc.r.Body(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", tc.r, err, tc.want)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	bodyLimit = 1 << 20
	defer func() { bodyLimit = MaxBodySize }()
	bomb := base64.StdEncoding.EncodeToString(bytes.Repeat(gz(t, make([]byte, 256<<10)), 5))
	if _, err := (&Record{Payload: bomb, Base64: true, ContentEncoding: "gzip"}).Body(); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("bomb error = %v, want ErrBodyTooLarge", err)
	}
}

// FuzzDecode checks that Decode never panics, and that any record it accepts
// survives AppendJSON → Decode unchanged, with the same Body outcome.
func FuzzDecode(f *testing.F) {
	for _, name := range fixtureFiles {
		for _, line := range readLines(f, name) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"__otel_otlp_stdout":"x","payload":{"resourceSpans":[]},"base64":false,"content-type":"application/json"}`))
	f.Add([]byte(`{"__otel_otlp_stdout":"\u2028\ud800","source":"\u0000","payload":"","headers":{"a":"b"}}`))
	f.Add([]byte(`{"__otel_otlp_stdout":"x","payload":"H4sIAAAAAAAAAAMAAAAAAAAAAAA=","base64":true,"content-encoding":"gzip"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := Decode(line)
		if err != nil {
			return
		}
		if !IsRecord(line) {
			t.Fatalf("Decode accepted a line IsRecord rejects: %q", line)
		}
		enc := r.AppendJSON(nil)
		if !json.Valid(enc) {
			t.Fatalf("AppendJSON wrote invalid JSON: %q", enc)
		}
		r2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v\n%q", err, enc)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the record:\n got %+v\nwant %+v", *r2, *r)
		}
		b1, err1 := r.Body()
		b2, err2 := r2.Body()
		if (err1 == nil) != (err2 == nil) || !bytes.Equal(b1, b2) {
			t.Fatalf("Body differs after round trip: %v / %v", err1, err2)
		}
	})
}

func TestAppendEscaped(t *testing.T) {
	cases := map[string]string{
		"plain":            "plain",
		`q"b\`:             `q\"b\\`,
		"nl\n cr\r tab\t":  `nl\n cr\r tab\t`,
		"\x00\x01\x1f\x7f": `\u0000\u0001\u001f` + "\x7f",
		"é😀":               "é😀",
		"\u2028\u2029":     `\u2028\u2029`,
		"bad\xffutf8\xc3":  `bad\ufffdutf8\ufffd`,
	}
	for in, want := range cases {
		got := string(AppendEscaped(nil, in))
		if got != want {
			t.Errorf("AppendEscaped(%q) = %q, want %q", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(`"`+got+`"`), &back); err != nil {
			t.Errorf("AppendEscaped(%q) is not a valid JSON string body: %v", in, err)
		}
	}
}

func TestDecodeLenient(t *testing.T) {
	line := []byte(`  {"payload":"","extra":{"nested":[1,2]},"base64":null,"level":null,"headers":null,` +
		`"__otel_otlp_stdout":"x"}` + "\r\n")
	r, err := Decode(line)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != "x" || r.Base64 || r.Headers != nil {
		t.Fatalf("decoded %+v", *r)
	}
	// An empty identity payload is an empty request.
	if body, err := r.Body(); err != nil || len(body) != 0 {
		t.Fatalf("Body() = %q, %v", body, err)
	}
}

func TestIsRecord(t *testing.T) {
	for line, want := range map[string]bool{
		`{"__otel_otlp_stdout":"1"}`:                  true,
		" \t{\"__otel_otlp_stdout\": \"1\"}":          true,
		`{"source":"x","__otel_otlp_stdout":"1"}`:     true,
		`2024-01-01 INFO {"__otel_otlp_stdout":"1"}`:  false,
		`{"message":"no marker"}`:                     false,
		`__otel_otlp_stdout`:                          false,
		``:                                            false,
		`START RequestId: 8f5a0a4e Version: $LATEST`:  false,
		`{"__otel_otlp_stdout_not":"1"}`:              false,
		`{"msg":"mentions \"__otel_otlp_stdout\" x"}`: false,
	} {
		if got := IsRecord([]byte(line)); got != want {
			t.Errorf("IsRecord(%q) = %v, want %v", line, got, want)
		}
	}
}
