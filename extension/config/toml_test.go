package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseTOML(t *testing.T) {
	got, err := parseTOML([]byte(`# lambdaotel-extension
top = 1

[exporter]
endpoint = "https://api.example.com" # trailing comment
timeout = 1_500
insecure_skip_verify = false
"quoted key" = 'C:\path'

[exporter.headers]
x-api-key = "a\"b\\c\u00e9"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"top": int64(1), "exporter.endpoint": "https://api.example.com", "exporter.timeout": int64(1500),
		"exporter.insecure_skip_verify": false, "exporter.quoted key": `C:\path`, "exporter.headers.x-api-key": "a\"b\\cé",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestParseTOMLErrors(t *testing.T) {
	for in, want := range map[string]string{
		"key":                        "line 1: want key = value",
		"a = [1]":                    "unsupported value",
		"a = 1.5":                    "unsupported value",
		"a = \"open":                 "unterminated string",
		"a = \"\\q\"":                "invalid escape",
		"[t\nb = 1":                  "line 1: malformed table header",
		"[[t]]":                      "malformed table header",
		"a = 1\na = 2":               "line 2: a is set twice",
		"a = 1 2":                    "unexpected text",
		"a = \"\"\"x\"\"\"":          "multi-line",
		". = 1":                      "invalid key",
		"a. = 1":                     "key ends with a dot",
		"a = 1__0":                   "malformed number",
		"a = \"\\u12\"":              "short unicode escape",
		"a = \"x\ty\"\nb = \"\x01\"": "control character",
		"\xff = 1":                   "not UTF-8",
	} {
		_, err := parseTOML([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// FuzzParseTOML checks that no file makes the parser panic, and that every
// accepted value has one of the three supported types.
func FuzzParseTOML(f *testing.F) {
	for _, s := range []string{"a = 1", "[x]\ny = \"z\"", "[a.\"b c\"]\nd = true # c", "e = 'lit'", "f = \"\\u00e9\"", "g = -1_000"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseTOML(data)
		if err != nil {
			return
		}
		for k, v := range m {
			switch v.(type) {
			case string, int64, bool:
			default:
				t.Fatalf("%s has type %T", k, v)
			}
		}
	})
}

// FuzzLoad checks that no environment value makes loading panic.
func FuzzLoad(f *testing.F) {
	f.Add("LAMBDA_OTEL_FLUSH_STRATEGY", "end", "[flush]\ninterval = 10")
	f.Add("OTEL_EXPORTER_OTLP_HEADERS", "a=%zz,b", "x = 1")
	f.Fuzz(func(t *testing.T, key, value, fileContent string) {
		_, _ = Load(env(map[string]string{key: value}), file(fileContent))
	})
}
