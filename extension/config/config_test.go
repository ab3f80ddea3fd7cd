package config

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func noFile(string) ([]byte, error) { return nil, fs.ErrNotExist }

func file(content string) func(string) ([]byte, error) {
	return func(string) ([]byte, error) { return []byte(content), nil }
}

func TestDefaults(t *testing.T) {
	c, problems := Load(env(nil), noFile)
	if len(problems) != 0 {
		t.Fatalf("problems with no configuration: %v", problems)
	}
	if c.Exporter.Protocol != "http/protobuf" || c.Exporter.Compression != "gzip" || c.Exporter.Timeout != time.Second ||
		c.Receiver.HTTPPort != 4318 || c.Receiver.GRPCPort != 4317 || !c.Receiver.HTTPEnabled || !c.Receiver.GRPCEnabled ||
		c.Receiver.MaxRequestBytes != 8<<20 || c.Flush.Strategy != "default" || !c.Flush.CompletionWaitAuto ||
		c.Flush.InvokeBudget != 3*time.Second || c.Flush.MaxBatchBytes != 4<<20 || c.Flush.MaxBatchEntries != 1000 ||
		c.Flush.MaxQueueEntries != 4096 || !c.TelemetryAPI.Enabled || c.TelemetryAPI.BufferTimeout != 25*time.Millisecond ||
		c.SelfMetrics.Enabled != "auto" || c.SelfMetrics.Interval != time.Minute {
		t.Fatalf("defaults %+v", c)
	}
	if c.Exporter.SignalEndpoint("traces") != "" {
		t.Fatal("no endpoint by default: the stdout fallback")
	}
}

func TestDefaultQueueBytes(t *testing.T) {
	for mb, want := range map[int]int64{30: 4 << 20, 40: 4 << 20, 128: 128 << 20 / 10, 320: 32 << 20, 512: 32 << 20, 10240: 32 << 20} {
		if got := DefaultQueueBytes(mb); got != want {
			t.Errorf("%d MB: %d, want %d", mb, got, want)
		}
	}
	c, _ := Load(env(map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}), noFile)
	if c.Flush.MaxQueueBytes != 256<<20/10 {
		t.Fatalf("queue bytes %d for 256 MB", c.Flush.MaxQueueBytes)
	}
}

// samples is a valid, non-default value for every key, and how to read it
// back: the proof that each key takes effect.
var samples = map[string]struct {
	value string
	get   func(*Config) any
	want  any
}{
	"exporter.endpoint":             {"https://otlp.example.com:4318", func(c *Config) any { return c.Exporter.Endpoint }, "https://otlp.example.com:4318"},
	"exporter.traces_endpoint":      {"https://t.example.com/x", func(c *Config) any { return c.Exporter.TracesEndpoint }, "https://t.example.com/x"},
	"exporter.metrics_endpoint":     {"https://m.example.com/x", func(c *Config) any { return c.Exporter.MetricsEndpoint }, "https://m.example.com/x"},
	"exporter.logs_endpoint":        {"https://l.example.com/x", func(c *Config) any { return c.Exporter.LogsEndpoint }, "https://l.example.com/x"},
	"exporter.protocol":             {"grpc", func(c *Config) any { return c.Exporter.Protocol }, "grpc"},
	"exporter.timeout":              {"250", func(c *Config) any { return c.Exporter.Timeout }, 250 * time.Millisecond},
	"exporter.compression":          {"none", func(c *Config) any { return c.Exporter.Compression }, "none"},
	"exporter.headers":              {"x-api-key=s3cr%2Bt", func(c *Config) any { return c.Exporter.Headers["x-api-key"] }, "s3cr+t"},
	"exporter.insecure_skip_verify": {"true", func(c *Config) any { return c.Exporter.InsecureSkipVerify }, true},
	"receiver.http_port":            {"14318", func(c *Config) any { return c.Receiver.HTTPPort }, 14318},
	"receiver.http_enabled":         {"false", func(c *Config) any { return c.Receiver.HTTPEnabled }, false},
	"receiver.grpc_port":            {"14317", func(c *Config) any { return c.Receiver.GRPCPort }, 14317},
	"receiver.grpc_enabled":         {"false", func(c *Config) any { return c.Receiver.GRPCEnabled }, false},
	"receiver.max_request_bytes":    {"1048576", func(c *Config) any { return c.Receiver.MaxRequestBytes }, int64(1 << 20)},
	"flush.strategy":                {"periodic", func(c *Config) any { return c.Flush.Strategy }, "periodic"},
	"flush.interval":                {"5000", func(c *Config) any { return c.Flush.Interval }, 5 * time.Second},
	"flush.completion_wait":         {"750", func(c *Config) any { return c.Flush.CompletionWait }, 750 * time.Millisecond},
	"flush.invoke_budget":           {"800", func(c *Config) any { return c.Flush.InvokeBudget }, 800 * time.Millisecond},
	"flush.shutdown_margin":         {"200", func(c *Config) any { return c.Flush.ShutdownMargin }, 200 * time.Millisecond},
	"flush.max_batch_bytes":         {"65536", func(c *Config) any { return c.Flush.MaxBatchBytes }, 65536},
	"flush.max_batch_entries":       {"10", func(c *Config) any { return c.Flush.MaxBatchEntries }, 10},
	"flush.max_queue_bytes":         {"2097152", func(c *Config) any { return c.Flush.MaxQueueBytes }, int64(2 << 20)},
	"flush.max_queue_entries":       {"99", func(c *Config) any { return c.Flush.MaxQueueEntries }, 99},
	"telemetry_api.enabled":         {"false", func(c *Config) any { return c.TelemetryAPI.Enabled }, false},
	"telemetry_api.listener_port":   {"19999", func(c *Config) any { return c.TelemetryAPI.ListenerPort }, 19999},
	"telemetry_api.buffer_timeout":  {"100", func(c *Config) any { return c.TelemetryAPI.BufferTimeout }, 100 * time.Millisecond},
	"logs.enabled":                  {"false", func(c *Config) any { return c.Logs.Enabled }, false},
	"logs.min_severity":             {"WARN", func(c *Config) any { return c.Logs.MinSeverity }, "warn"},
	"metrics.temporality":           {"Delta", func(c *Config) any { return c.Metrics.Temporality }, "delta"},
	"self_metrics.enabled":          {"false", func(c *Config) any { return c.SelfMetrics.Enabled }, "false"},
	"self_metrics.interval":         {"5000", func(c *Config) any { return c.SelfMetrics.Interval }, 5 * time.Second},
}

func TestSelfMetricsOn(t *testing.T) {
	with := Exporter{Endpoint: "http://collector:4318"}
	for _, tc := range []struct {
		enabled string
		e       Exporter
		want    bool
	}{
		{"auto", with, true}, {"auto", Exporter{}, false}, {"auto", Exporter{TracesEndpoint: "http://x/v1/traces"}, false},
		{"auto", Exporter{MetricsEndpoint: "http://x/v1/metrics"}, true},
		{"true", Exporter{}, true}, {"false", with, false},
	} {
		if got := (SelfMetrics{Enabled: tc.enabled}).On(tc.e); got != tc.want {
			t.Errorf("%s with %+v: %v", tc.enabled, tc.e, got)
		}
	}
}

func TestEveryKeyTakesEffectFromEnvAndFile(t *testing.T) {
	for _, k := range Keys() {
		s, ok := samples[k.Path]
		if !ok {
			t.Errorf("%s has no sample: add one so its effect is tested", k.Path)
			continue
		}
		c, problems := Load(env(map[string]string{k.Env: s.value}), noFile)
		if len(problems) != 0 || s.get(c) != s.want {
			t.Errorf("env %s=%s: got %v (problems %v), want %v", k.Env, s.value, s.get(c), problems, s.want)
		}
		section, field, _ := strings.Cut(k.Path, ".")
		value := s.value
		if k.Path == "exporter.headers" {
			section, field, value = "exporter.headers", "x-api-key", `"s3cr+t"`
		} else if _, _, err := parseValue(value); err != nil || strings.ContainsAny(value, ":/") || value == "grpc" || value == "none" || value == "periodic" {
			value = `"` + value + `"`
		}
		c, problems = Load(env(nil), file("["+section+"]\n"+field+" = "+value+"\n"))
		if len(problems) != 0 || s.get(c) != s.want {
			t.Errorf("file %s = %s: got %v (problems %v), want %v", k.Path, value, s.get(c), problems, s.want)
		}
	}
	for p := range samples {
		found := false
		for _, k := range Keys() {
			found = found || k.Path == p
		}
		if !found {
			t.Errorf("sample for unknown key %s", p)
		}
	}
}

func TestPrecedence(t *testing.T) {
	f := file("[exporter]\nendpoint = \"https://file.example\"\ncompression = \"none\"\ntimeout = 111\n")
	c, problems := Load(env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":    "https://otel.example",
		"LAMBDA_OTEL_EXPORTER_ENDPOINT":  "https://ours.example",
		"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
	}), f)
	if len(problems) != 0 {
		t.Fatal(problems)
	}
	if c.Exporter.Endpoint != "https://ours.example" || c.Exporter.Compression != "gzip" || c.Exporter.Timeout != 111*time.Millisecond {
		t.Fatalf("%+v: want LAMBDA_OTEL_* over OTEL_* over the file over defaults", c.Exporter)
	}
}

func TestInvalidValuesNameTheKeyAndKeepTheLayerBelow(t *testing.T) {
	c, problems := Load(env(map[string]string{
		"LAMBDA_OTEL_FLUSH_STRATEGY":     "sometimes",
		"LAMBDA_OTEL_RECEIVER_HTTP_PORT": "70000",
		"LAMBDA_OTEL_EXPORTER_TIMEOUT":   "fast",
		"OTEL_EXPORTER_OTLP_ENDPOINT":    "not a url",
		"LAMBDA_OTEL_EXPORTER_HEADERS":   "api-key=top%ZZsecret",
	}), file("[flush]\nstrategy = \"end\"\n"))
	if c.Flush.Strategy != "end" || c.Receiver.HTTPPort != 4318 || c.Exporter.Timeout != time.Second || c.Exporter.Endpoint != "" {
		t.Fatalf("%+v", c)
	}
	got := map[string]bool{}
	for _, p := range problems {
		got[p.Key] = true
		if strings.Contains(p.Error(), "secret") {
			t.Errorf("a header value reached a log line: %s", p.Error())
		}
	}
	for _, k := range []string{"LAMBDA_OTEL_FLUSH_STRATEGY", "LAMBDA_OTEL_RECEIVER_HTTP_PORT", "LAMBDA_OTEL_EXPORTER_TIMEOUT", "OTEL_EXPORTER_OTLP_ENDPOINT", "LAMBDA_OTEL_EXPORTER_HEADERS"} {
		if !got[k] {
			t.Errorf("no problem named %s: %v", k, problems)
		}
	}
	if len(problems) != 5 {
		t.Errorf("%d problems, want one per bad setting: %v", len(problems), problems)
	}
}

func TestHeadersMerge(t *testing.T) {
	c, problems := Load(env(map[string]string{
		"OTEL_EXPORTER_OTLP_HEADERS":   "a=1,B=2",
		"LAMBDA_OTEL_EXPORTER_HEADERS": "b=3",
	}), file("[exporter.headers]\nFile-Key = \"f\"\n"))
	if len(problems) != 0 {
		t.Fatal(problems)
	}
	want := map[string]string{"file-key": "f", "a": "1", "b": "3"}
	if len(c.Exporter.Headers) != len(want) {
		t.Fatalf("%v", c.Exporter.Headers)
	}
	for k, v := range want {
		if c.Exporter.Headers[k] != v {
			t.Errorf("%s = %q, want %q", k, c.Exporter.Headers[k], v)
		}
	}
}

func TestCompletionWait(t *testing.T) {
	for v, check := range map[string]func(Flush) bool{
		"auto": func(f Flush) bool { return f.CompletionWaitAuto && !f.CompletionWaitOff },
		"OFF":  func(f Flush) bool { return f.CompletionWaitOff && !f.CompletionWaitAuto },
		"40": func(f Flush) bool {
			return f.CompletionWait == 40*time.Millisecond && !f.CompletionWaitAuto && !f.CompletionWaitOff
		},
	} {
		c, problems := Load(env(map[string]string{"LAMBDA_OTEL_FLUSH_COMPLETION_WAIT": v}), noFile)
		if len(problems) != 0 || !check(c.Flush) {
			t.Errorf("%s: %+v %v", v, c.Flush, problems)
		}
	}
}

func TestConfigFile(t *testing.T) {
	read := func(content string, err error) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if err != nil {
				return nil, err
			}
			return []byte(content), nil
		}
	}
	// Explicit path that is missing: said.
	_, problems := Load(env(map[string]string{EnvConfigFile: "/nope.toml"}), read("", fs.ErrNotExist))
	if len(problems) != 1 || problems[0].Key != EnvConfigFile {
		t.Fatalf("%v", problems)
	}
	// Unreadable default file: said.
	_, problems = Load(env(nil), read("", errors.New("permission denied")))
	if len(problems) != 1 {
		t.Fatalf("%v", problems)
	}
	// Syntax error: the whole file is ignored, with its line.
	c, problems := Load(env(nil), read("[flush]\nstrategy = \"end\"\ninterval = [1,2]\n", nil))
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "line 3") || c.Flush.Strategy != "default" {
		t.Fatalf("%v %+v", problems, c.Flush)
	}
	// Unknown key: named, with a suggestion; the rest applies.
	c, problems = Load(env(nil), read("[flush]\nstrategy = \"end\"\nstratgy = \"periodic\"\n", nil))
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "did you mean flush.strategy") || c.Flush.Strategy != "end" {
		t.Fatalf("%v %+v", problems, c.Flush)
	}
	if c.File != DefaultConfigFile {
		t.Fatalf("file %q", c.File)
	}
}

func TestUnknownEnv(t *testing.T) {
	problems := UnknownEnv([]string{"LAMBDA_OTEL_FLUSH_STRATEGY=end", "LAMBDA_OTEL_FLUSH_STRATGY=end", "LAMBDA_OTEL_CONFIG=/x", "PATH=/bin"})
	if len(problems) != 1 || problems[0].Key != "LAMBDA_OTEL_FLUSH_STRATGY" || !strings.Contains(problems[0].Why, "LAMBDA_OTEL_FLUSH_STRATEGY") {
		t.Fatalf("%v", problems)
	}
}

func TestSignalEndpoint(t *testing.T) {
	e := Exporter{Endpoint: "https://api.example.com/otlp/", Protocol: "http/protobuf", MetricsEndpoint: "https://m.example.com/ingest"}
	for sig, want := range map[string]string{"traces": "https://api.example.com/otlp/v1/traces", "metrics": "https://m.example.com/ingest", "logs": "https://api.example.com/otlp/v1/logs"} {
		if got := e.SignalEndpoint(sig); got != want {
			t.Errorf("%s: %s, want %s", sig, got, want)
		}
	}
	e = Exporter{Endpoint: "https://grpc.example.com:4317", Protocol: "grpc"}
	if got := e.SignalEndpoint("traces"); got != "https://grpc.example.com:4317" {
		t.Errorf("grpc: %s", got)
	}
}

// Every key must be documented in the README's configuration table.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		if !strings.Contains(string(b), "`"+k.Env+"`") {
			t.Errorf("README does not document %s", k.Env)
		}
	}
}

func TestGRPCHostPortEndpoints(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want Exporter // the endpoints only
	}{
		{"tls by default", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"},
			Exporter{Endpoint: "https://collector:4317"}},
		{"insecure", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "10.0.0.1:9000",
			"OTEL_EXPORTER_OTLP_INSECURE": "TRUE"}, Exporter{Endpoint: "http://10.0.0.1:9000"}},
		{"default port", map[string]string{"LAMBDA_OTEL_EXPORTER_PROTOCOL": "grpc", "LAMBDA_OTEL_EXPORTER_ENDPOINT": "collector"},
			Exporter{Endpoint: "https://collector:4317"}},
		{"ipv6", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "[::1]:4317",
			"OTEL_EXPORTER_OTLP_INSECURE": "true"}, Exporter{Endpoint: "http://[::1]:4317"}},
		{"per signal insecure wins", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "t:1", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "l:2",
			"OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "false"},
			Exporter{TracesEndpoint: "https://t:1", LogsEndpoint: "http://l:2"}},
		{"a scheme wins over insecure", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"},
			Exporter{Endpoint: "https://c:4317"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, problems := Load(env(tc.env), noFile)
			if len(problems) != 0 {
				t.Fatal(problems)
			}
			e := c.Exporter
			if e.Endpoint != tc.want.Endpoint || e.TracesEndpoint != tc.want.TracesEndpoint ||
				e.MetricsEndpoint != tc.want.MetricsEndpoint || e.LogsEndpoint != tc.want.LogsEndpoint {
				t.Fatalf("got %+v, want %+v", e, tc.want)
			}
		})
	}
}

func TestHostPortEndpointNeedsGRPC(t *testing.T) {
	// Without grpc a host:port is named as a problem and the layer below
	// keeps its say.
	c, problems := Load(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example",
		"LAMBDA_OTEL_EXPORTER_ENDPOINT": "collector:4318"}), noFile)
	if c.Exporter.Endpoint != "https://otel.example" || len(problems) != 1 || problems[0].Key != "LAMBDA_OTEL_EXPORTER_ENDPOINT" ||
		!strings.Contains(problems[0].Why, "grpc") {
		t.Fatalf("endpoint %q, problems %v", c.Exporter.Endpoint, problems)
	}
	c, problems = Load(env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318"}), noFile)
	if c.Exporter.TracesEndpoint != "" || len(problems) != 1 || problems[0].Key != "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" {
		t.Fatalf("endpoint %q, problems %v", c.Exporter.TracesEndpoint, problems)
	}
	// A bad insecure flag is named; TLS stays.
	c, problems = Load(env(map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "c:1",
		"OTEL_EXPORTER_OTLP_INSECURE": "yes"}), noFile)
	if c.Exporter.Endpoint != "https://c:1" || len(problems) != 1 || problems[0].Key != "OTEL_EXPORTER_OTLP_INSECURE" {
		t.Fatalf("endpoint %q, problems %v", c.Exporter.Endpoint, problems)
	}
	for _, bad := range []string{"not a url", "host:port", "host:0", "a/b:1", "::1:4317", ":4317", "ftp://x"} {
		c, problems := Load(env(map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": bad}), noFile)
		if c.Exporter.Endpoint != "" || len(problems) != 1 {
			t.Errorf("%q: endpoint %q, problems %v", bad, c.Exporter.Endpoint, problems)
		}
	}
}
