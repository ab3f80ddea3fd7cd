// Package config is lambdaotel-extension's configuration: every setting as a
// LAMBDA_OTEL_<SECTION>_<FIELD> environment variable, the same keys in a TOML
// file (/var/task/lambdaotel.toml, or the path in LAMBDA_OTEL_CONFIG), and the
// standard OTEL_* variables where OpenTelemetry defines one.
//
// Layers, later winning: defaults, the file, OTEL_* variables, LAMBDA_OTEL_*
// variables. A value that cannot be used is reported as a Problem naming its
// key, and the layer below keeps its say (ultimately the default), so a typo
// costs one log line, never the function. Unknown LAMBDA_OTEL_* variables and
// unknown file keys are reported too: a misspelt key is a silent bug
// otherwise.
//
// All keys are declared once, in the registry below, which the README's
// configuration table is checked against.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/queue"
	"github.com/lambdaotel/lambdaotel/internal/otlpenv"
)

// Config is the extension's resolved configuration.
type Config struct {
	Exporter     Exporter
	Receiver     Receiver
	Flush        Flush
	TelemetryAPI TelemetryAPI
	SelfMetrics  SelfMetrics
	Logs         Logs
	Metrics      Metrics
	// ServiceName is OTEL_SERVICE_NAME, for the extension's own telemetry.
	ServiceName string
	// File is the configuration file that was read, if any.
	File string
}

// Exporter says where and how telemetry leaves the function.
type Exporter struct {
	// Endpoint is the base URL; each signal goes to Endpoint + "/v1/<signal>".
	// With protocol grpc it names the server (scheme, host and port; https
	// means TLS, http plaintext HTTP/2) and each signal goes to its Export
	// method there. Empty (and no per-signal endpoint) means no backend:
	// exports are written to stdout as otlp_fallback lines instead.
	//
	// Load always leaves an http or https URL here: a scheme-less
	// host[:port], which the OTel specification allows for grpc, is
	// resolved to one (see Load).
	Endpoint string
	// TracesEndpoint, MetricsEndpoint and LogsEndpoint are used as they are
	// (with protocol grpc, like Endpoint).
	TracesEndpoint, MetricsEndpoint, LogsEndpoint string
	// Protocol is http/protobuf, http/json or grpc.
	Protocol string
	// Timeout bounds one export request.
	Timeout time.Duration
	// Compression is gzip or none.
	Compression string
	// Headers are sent with every export (values are secrets: never logged).
	Headers map[string]string
	// InsecureSkipVerify turns TLS certificate verification off. Only an
	// explicit setting does that.
	InsecureSkipVerify bool
}

// SignalEndpoint is where signal ("traces", "metrics" or "logs") is sent, or
// "" when no backend is configured for it.
func (e Exporter) SignalEndpoint(signal string) string {
	var specific string
	switch signal {
	case "traces":
		specific = e.TracesEndpoint
	case "metrics":
		specific = e.MetricsEndpoint
	case "logs":
		specific = e.LogsEndpoint
	}
	if specific != "" {
		return specific
	}
	if e.Endpoint == "" {
		return ""
	}
	if e.Protocol == "grpc" {
		return e.Endpoint
	}
	return strings.TrimSuffix(e.Endpoint, "/") + "/v1/" + signal
}

// Receiver configures the loopback OTLP receivers.
type Receiver struct {
	HTTPPort        int
	HTTPEnabled     bool
	GRPCPort        int
	GRPCEnabled     bool
	MaxRequestBytes int64
}

// Flush configures when and how much is exported.
type Flush struct {
	// Strategy is default, end, periodic or continuous.
	Strategy string
	// Interval is the period of the periodic and continuous strategies.
	Interval time.Duration
	// CompletionWait caps how long next is held for the invocation to
	// complete; CompletionWaitAuto derives it from the deadline, and
	// CompletionWaitOff never holds.
	CompletionWait     time.Duration
	CompletionWaitAuto bool
	CompletionWaitOff  bool
	// InvokeBudget bounds the flush after an invocation.
	InvokeBudget time.Duration
	// ShutdownMargin is kept before the SHUTDOWN deadline.
	ShutdownMargin  time.Duration
	MaxBatchBytes   int
	MaxBatchEntries int
	MaxQueueBytes   int64
	MaxQueueEntries int
}

// TelemetryAPI configures the Telemetry API subscription.
type TelemetryAPI struct {
	Enabled      bool
	ListenerPort int
	// BufferTimeout is the subscription's buffering.timeoutMs: small, so
	// that platform.runtimeDone arrives while the hold is still useful.
	BufferTimeout time.Duration
}

// Logs says which function and extension log lines from the Telemetry
// API become OTLP log records. otlp-stdout records are forwarded as traces
// either way.
type Logs struct {
	Enabled bool
	// MinSeverity is trace, debug, info, warn, error or fatal; lines
	// without a recognisable level count as info.
	MinSeverity string
}

// Metrics shapes the metrics the extension makes from platform telemetry.
type Metrics struct {
	// Temporality is cumulative, delta or lowmemory (delta for every
	// metric the extension makes: they are all counters and histograms).
	Temporality string
}

// SelfMetrics is the extension's telemetry about itself (received,
// exported, dropped, retried, fallback, flush durations) as OTLP metrics.
type SelfMetrics struct {
	// Enabled is "auto" (when a metrics endpoint is configured: without
	// one they would only add otlp_fallback lines to the logs), "true" or
	// "false". The counters are logged at SHUTDOWN either way.
	Enabled string
	// Interval is the least time between two reports; one more is sent
	// at SHUTDOWN.
	Interval time.Duration
}

// On reports whether self metrics are exported, given the configuration.
func (s SelfMetrics) On(e Exporter) bool {
	switch s.Enabled {
	case "true":
		return true
	case "false":
		return false
	}
	return e.SignalEndpoint("metrics") != ""
}

// Problem is a setting that could not be used.
type Problem struct {
	// Key is the environment variable or file key.
	Key string
	// Value is the offending value; empty for header settings, whose values
	// are secrets.
	Value string
	Why   string
}

func (p Problem) Error() string {
	if p.Value == "" {
		return p.Key + ": " + p.Why
	}
	return fmt.Sprintf("%s=%q: %s", p.Key, p.Value, p.Why)
}

// EnvConfigFile names the configuration file; DefaultConfigFile is read
// when it is unset and the file exists.
const (
	EnvConfigFile     = "LAMBDA_OTEL_CONFIG"
	DefaultConfigFile = "/var/task/lambdaotel.toml"
	envPrefix         = "LAMBDA_OTEL_"
)

// Key documents one setting.
type Key struct {
	// Path is the TOML key, e.g. "flush.strategy".
	Path string
	// Env is the LAMBDA_OTEL_* variable.
	Env string
	// OTel lists the standard variables that also set it.
	OTel []string
	// Default is the default, as text.
	Default string
	// Doc says what it does.
	Doc string

	set func(c *Config, v string) error
}

func ms(d *time.Duration, lo, hi int) func(*Config, string) error {
	return func(_ *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want milliseconds in [%d, %d]", lo, hi)
		}
		*d = time.Duration(n) * time.Millisecond
		return nil
	}
}

func integer(p *int, lo, hi int) func(*Config, string) error {
	return func(_ *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want an integer in [%d, %d]", lo, hi)
		}
		*p = n
		return nil
	}
}

func integer64(p *int64, lo, hi int64) func(*Config, string) error {
	return func(_ *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want an integer in [%d, %d]", lo, hi)
		}
		*p = n
		return nil
	}
}

func boolean(p *bool) func(*Config, string) error {
	return func(_ *Config, v string) error {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			*p = true
		case "false":
			*p = false
		default:
			return errors.New("want true or false")
		}
		return nil
	}
}

func oneOf(p *string, allowed ...string) func(*Config, string) error {
	return func(_ *Config, v string) error {
		v = strings.ToLower(strings.TrimSpace(v))
		for _, a := range allowed {
			if v == a {
				*p = v
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
	}
}

func endpoint(p *string) func(*Config, string) error {
	return func(_ *Config, v string) error {
		v = strings.TrimSpace(v)
		if isHostPort(v) {
			// Only meaningful for grpc; Load resolves it once the
			// protocol is known.
			*p = v
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an http or https URL (or host:port with protocol grpc)")
		}
		*p = v
		return nil
	}
}

// isHostPort reports whether v is a scheme-less host or host:port (an IPv6
// address in brackets), the endpoint form gRPC clients take.
func isHostPort(v string) bool {
	if v == "" || strings.Contains(v, "/") {
		return false
	}
	host := v
	if h, port, err := net.SplitHostPort(v); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return false
		}
		host = h
		if strings.Contains(host, ":") {
			return net.ParseIP(host) != nil // [v6]:port
		}
	}
	if host == "" {
		return false
	}
	for _, c := range host {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// DefaultGRPCPort is the OTLP/gRPC port, assumed for a scheme-less grpc
// endpoint without one.
const DefaultGRPCPort = "4317"

// resolveEndpoints turns a scheme-less host[:port] endpoint (each one's
// history is what the layers set, in order) into a URL once the protocol is
// known. With protocol grpc, as the OTel specification says, such an
// endpoint means TLS unless OTEL_EXPORTER_OTLP_<SIGNAL>_INSECURE (or
// OTEL_EXPORTER_OTLP_INSECURE) is true; a missing port is 4317. With any
// other protocol it is a mistake reported against the key that set it, and
// the last URL a lower layer set (or none) is kept.
func resolveEndpoints(c *Config, history map[string][]setting, getenv func(string) string) []Problem {
	var problems []Problem
	insecure := func(name string) (bool, bool) {
		switch strings.ToLower(strings.TrimSpace(getenv(name))) {
		case "":
			return false, false
		case "true":
			return true, true
		case "false":
			return false, true
		}
		problems = append(problems, Problem{Key: name, Value: getenv(name), Why: "want true or false; keeping false (TLS)"})
		return false, true
	}
	e := &c.Exporter
	for _, f := range []struct {
		path, signal string
		p            *string
	}{{"exporter.endpoint", "", &e.Endpoint}, {"exporter.traces_endpoint", "TRACES", &e.TracesEndpoint},
		{"exporter.metrics_endpoint", "METRICS", &e.MetricsEndpoint}, {"exporter.logs_endpoint", "LOGS", &e.LogsEndpoint}} {
		if !isHostPort(*f.p) {
			continue
		}
		if e.Protocol == "grpc" {
			plain, set := false, false
			if f.signal != "" {
				plain, set = insecure("OTEL_EXPORTER_OTLP_" + f.signal + "_INSECURE")
			}
			if !set {
				plain, _ = insecure("OTEL_EXPORTER_OTLP_INSECURE")
			}
			hostPort := *f.p
			if _, _, err := net.SplitHostPort(hostPort); err != nil {
				hostPort = net.JoinHostPort(hostPort, DefaultGRPCPort)
			}
			scheme := "https://"
			if plain {
				scheme = "http://"
			}
			*f.p = scheme + hostPort
			continue
		}
		hist := history[f.path]
		last := hist[len(hist)-1]
		*f.p = ""
		for i := len(hist) - 2; i >= 0; i-- {
			if !isHostPort(hist[i].value) {
				*f.p = hist[i].value
				break
			}
		}
		problems = append(problems, Problem{Key: last.name, Value: last.value,
			Why: "an endpoint without http:// or https:// is only valid with protocol grpc; keeping the previous value"})
	}
	return problems
}

// setting is one value a layer set for a key, and the variable or file key
// it came from.
type setting struct{ name, value string }

// keys builds the registry bound to c.
func keys(c *Config) []Key {
	e, r, f, t, sm, lg, mt := &c.Exporter, &c.Receiver, &c.Flush, &c.TelemetryAPI, &c.SelfMetrics, &c.Logs, &c.Metrics
	return []Key{
		{Path: "exporter.endpoint", OTel: []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}, Default: "(none: stdout fallback)",
			Doc: "base URL of the OTLP backend; over HTTP each signal goes to <endpoint>/v1/<signal>; with grpc the server's URL or host[:port] (TLS unless OTEL_EXPORTER_OTLP_INSECURE=true; port 4317 by default)", set: endpoint(&e.Endpoint)},
		{Path: "exporter.traces_endpoint", OTel: []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}, Default: "(from endpoint)",
			Doc: "traces URL, used as is", set: endpoint(&e.TracesEndpoint)},
		{Path: "exporter.metrics_endpoint", OTel: []string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"}, Default: "(from endpoint)",
			Doc: "metrics URL, used as is", set: endpoint(&e.MetricsEndpoint)},
		{Path: "exporter.logs_endpoint", OTel: []string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"}, Default: "(from endpoint)",
			Doc: "logs URL, used as is", set: endpoint(&e.LogsEndpoint)},
		{Path: "exporter.protocol", OTel: []string{"OTEL_EXPORTER_OTLP_PROTOCOL"}, Default: "http/protobuf",
			Doc: "http/protobuf, http/json or grpc", set: oneOf(&e.Protocol, "http/protobuf", "http/json", "grpc")},
		{Path: "exporter.timeout", OTel: []string{"OTEL_EXPORTER_OTLP_TIMEOUT"}, Default: "1000",
			Doc: "milliseconds one export request may take", set: ms(&e.Timeout, 1, 60000)},
		{Path: "exporter.compression", OTel: []string{"OTEL_EXPORTER_OTLP_COMPRESSION"}, Default: "gzip",
			Doc: "gzip or none", set: oneOf(&e.Compression, "gzip", "none")},
		{Path: "exporter.headers", OTel: []string{"OTEL_EXPORTER_OTLP_HEADERS"}, Default: "(none)",
			Doc: "k=v,k2=v2 sent with every export (in TOML, a [exporter.headers] table); values are never logged", set: setHeaders},
		{Path: "exporter.insecure_skip_verify", Default: "false",
			Doc: "true turns TLS certificate verification off", set: boolean(&e.InsecureSkipVerify)},
		{Path: "receiver.http_port", Default: "4318", Doc: "OTLP/HTTP receiver port on 127.0.0.1", set: integer(&r.HTTPPort, 1, 65535)},
		{Path: "receiver.http_enabled", Default: "true", Doc: "serve OTLP/HTTP", set: boolean(&r.HTTPEnabled)},
		{Path: "receiver.grpc_port", Default: "4317", Doc: "OTLP/gRPC receiver port on 127.0.0.1", set: integer(&r.GRPCPort, 1, 65535)},
		{Path: "receiver.grpc_enabled", Default: "true", Doc: "serve OTLP/gRPC", set: boolean(&r.GRPCEnabled)},
		{Path: "receiver.max_request_bytes", Default: "8388608", Doc: "largest request body accepted (413 above)",
			set: integer64(&r.MaxRequestBytes, 1024, 256<<20)},
		{Path: "flush.strategy", Default: "default", Doc: "default, end, periodic or continuous",
			set: oneOf(&f.Strategy, "default", "end", "periodic", "continuous")},
		{Path: "flush.interval", Default: "20000", Doc: "milliseconds between periodic/continuous flushes", set: ms(&f.Interval, 10, 900000)},
		{Path: "flush.completion_wait", Default: "auto", Doc: "auto, off, or milliseconds to hold next for an invocation to complete", set: setCompletionWait},
		{Path: "flush.invoke_budget", Default: "3000", Doc: "milliseconds the flush after an invocation may take", set: ms(&f.InvokeBudget, 1, 900000)},
		{Path: "flush.shutdown_margin", Default: "100", Doc: "milliseconds kept before the SHUTDOWN deadline", set: ms(&f.ShutdownMargin, 0, 1000)},
		{Path: "flush.max_batch_bytes", Default: "4194304", Doc: "largest export request (protobuf, before compression)", set: integer(&f.MaxBatchBytes, 1024, 64<<20)},
		{Path: "flush.max_batch_entries", Default: "1000", Doc: "most received requests merged into one export", set: integer(&f.MaxBatchEntries, 1, 100000)},
		{Path: "flush.max_queue_bytes", Default: "10 % of the function's memory, 4–32 MiB", Doc: "memory the queued requests of all signals may take (a gzip request counts as received, compressed)",
			set: integer64(&f.MaxQueueBytes, 64<<10, 1<<30)},
		{Path: "flush.max_queue_entries", Default: "4096", Doc: "requests queued across all signals", set: integer(&f.MaxQueueEntries, 1, 1000000)},
		{Path: "telemetry_api.enabled", Default: "true", Doc: "subscribe to the Telemetry API", set: boolean(&t.Enabled)},
		{Path: "telemetry_api.listener_port", Default: "0", Doc: "port of the Telemetry API listener on 127.0.0.1; 0 picks a free one", set: integer(&t.ListenerPort, 0, 65535)},
		{Path: "telemetry_api.buffer_timeout", Default: "25", Doc: "the subscription's buffering timeoutMs (25–30000)", set: ms(&t.BufferTimeout, 25, 30000)},
		{Path: "logs.enabled", Default: "true", Doc: "turn function and extension log lines (Telemetry API) into OTLP log records",
			set: boolean(&lg.Enabled)},
		{Path: "logs.min_severity", Default: "trace", Doc: "least severity of the log records: trace, debug, info, warn, error or fatal (lines without a level count as info)",
			set: oneOf(&lg.MinSeverity, "trace", "debug", "info", "warn", "error", "fatal")},
		{Path: "metrics.temporality", OTel: []string{"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"}, Default: "cumulative",
			Doc: "temporality of the platform (FaaS) metrics: cumulative, delta or lowmemory (= delta here)",
			set: oneOf(&mt.Temporality, "cumulative", "delta", "lowmemory")},
		{Path: "self_metrics.enabled", Default: "auto", Doc: "export the extension's own counters as OTLP metrics: auto (when a metrics endpoint is set), true or false",
			set: oneOf(&sm.Enabled, "auto", "true", "false")},
		{Path: "self_metrics.interval", Default: "60000", Doc: "least milliseconds between two self-metrics reports (one more at SHUTDOWN)",
			set: ms(&sm.Interval, 1000, 3600000)},
	}
}

func setHeaders(c *Config, v string) error {
	h, bad := otlpenv.ParseHeaders(v)
	if len(bad) > 0 {
		return fmt.Errorf("%d entries are not key=value with a percent-encoded value", len(bad))
	}
	if c.Exporter.Headers == nil {
		c.Exporter.Headers = map[string]string{}
	}
	for k, val := range h {
		c.Exporter.Headers[k] = val
	}
	return nil
}

func setCompletionWait(c *Config, v string) error {
	f := &c.Flush
	switch s := strings.ToLower(strings.TrimSpace(v)); s {
	case "auto":
		f.CompletionWaitAuto, f.CompletionWaitOff, f.CompletionWait = true, false, 0
	case "off":
		f.CompletionWaitAuto, f.CompletionWaitOff, f.CompletionWait = false, true, 0
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 900000 {
			return errors.New("want auto, off or milliseconds in [1, 900000]")
		}
		f.CompletionWaitAuto, f.CompletionWaitOff, f.CompletionWait = false, false, time.Duration(n)*time.Millisecond
	}
	return nil
}

func envName(path string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// Keys lists every setting, for documentation.
func Keys() []Key {
	ks := keys(&Config{})
	for i := range ks {
		ks[i].Env = envName(ks[i].Path)
		ks[i].set = nil
	}
	return ks
}

// DefaultQueueBytes is 10 % of the function's memory, clamped to 4–32 MiB:
// the queue's own default, so the formula lives in one place.
func DefaultQueueBytes(memoryMB int) int64 { return queue.DefaultBudget(memoryMB).MaxBytes }

func defaults(memoryMB int) *Config {
	return &Config{
		Exporter: Exporter{Protocol: "http/protobuf", Timeout: time.Second, Compression: "gzip"},
		Receiver: Receiver{HTTPPort: 4318, HTTPEnabled: true, GRPCPort: 4317, GRPCEnabled: true, MaxRequestBytes: 8 << 20},
		Flush: Flush{Strategy: "default", Interval: 20 * time.Second, CompletionWaitAuto: true, InvokeBudget: 3 * time.Second,
			ShutdownMargin: 100 * time.Millisecond, MaxBatchBytes: 4 << 20, MaxBatchEntries: 1000,
			MaxQueueBytes: DefaultQueueBytes(memoryMB), MaxQueueEntries: queue.DefaultQueueEntries},
		TelemetryAPI: TelemetryAPI{Enabled: true, BufferTimeout: 25 * time.Millisecond},
		SelfMetrics:  SelfMetrics{Enabled: "auto", Interval: time.Minute},
		Logs:         Logs{Enabled: true, MinSeverity: "trace"},
		Metrics:      Metrics{Temporality: "cumulative"},
	}
}

// Load resolves the configuration. getenv and readFile are os.Getenv and
// os.ReadFile outside tests.
//
// An endpoint may also be a scheme-less host[:port], the form gRPC clients
// take: with protocol grpc it becomes https://host:port (default port
// 4317), or http://host:port when OTEL_EXPORTER_OTLP_INSECURE (or the
// signal's OTEL_EXPORTER_OTLP_<SIGNAL>_INSECURE) is true, as the OTel
// specification says; with any other protocol it is a Problem.
func Load(getenv func(string) string, readFile func(string) ([]byte, error)) (*Config, []Problem) {
	memoryMB, _ := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if memoryMB <= 0 {
		memoryMB = 128
	}
	c := defaults(memoryMB)
	c.ServiceName = strings.TrimSpace(getenv("OTEL_SERVICE_NAME"))
	reg := keys(c)
	byPath := make(map[string]*Key, len(reg))
	for i := range reg {
		reg[i].Env = envName(reg[i].Path)
		byPath[reg[i].Path] = &reg[i]
	}
	var problems []Problem
	// What set each endpoint, layer by layer: a host:port endpoint can only
	// be judged once the protocol is known, and a rejected one falls back
	// to the layer below.
	history := map[string][]setting{}
	apply := func(k *Key, name, v string) {
		err := k.set(c, v)
		if err == nil && strings.HasPrefix(k.Path, "exporter.") && strings.HasSuffix(k.Path, "endpoint") {
			history[k.Path] = append(history[k.Path], setting{name, strings.TrimSpace(v)})
		}
		if err != nil {
			shown := v
			if k.Path == "exporter.headers" {
				shown = ""
			}
			problems = append(problems, Problem{Key: name, Value: shown, Why: err.Error() + "; keeping the previous value"})
		}
	}

	// The file.
	path, explicit := strings.TrimSpace(getenv(EnvConfigFile)), true
	if path == "" {
		path, explicit = DefaultConfigFile, false
	}
	data, err := readFile(path)
	switch {
	case err == nil:
		c.File = path
		values, perr := parseTOML(data)
		if perr != nil {
			problems = append(problems, Problem{Key: path, Why: perr.Error() + "; the file is ignored"})
			break
		}
		for _, p := range sortedKeys(values) {
			v := values[p]
			if strings.HasPrefix(p, "exporter.headers.") {
				s, ok := v.(string)
				if !ok {
					problems = append(problems, Problem{Key: path + ": " + p, Why: "a header value must be a string"})
					continue
				}
				if c.Exporter.Headers == nil {
					c.Exporter.Headers = map[string]string{}
				}
				c.Exporter.Headers[strings.ToLower(strings.TrimPrefix(p, "exporter.headers."))] = s
				continue
			}
			k := byPath[p]
			if k == nil {
				problems = append(problems, Problem{Key: path + ": " + p, Why: "unknown key" + suggest(p, reg)})
				continue
			}
			apply(k, path+": "+p, fmt.Sprint(v))
		}
	case explicit || !errors.Is(err, fs.ErrNotExist):
		problems = append(problems, Problem{Key: EnvConfigFile, Value: path, Why: "cannot read the file: " + err.Error()})
	}

	// Standard variables, then ours.
	for i := range reg {
		for _, name := range reg[i].OTel {
			if v := getenv(name); strings.TrimSpace(v) != "" {
				apply(&reg[i], name, v)
			}
		}
	}
	for i := range reg {
		if v := getenv(reg[i].Env); strings.TrimSpace(v) != "" {
			apply(&reg[i], reg[i].Env, v)
		}
	}
	problems = append(problems, resolveEndpoints(c, history, getenv)...)
	return c, problems
}

// UnknownEnv reports LAMBDA_OTEL_* variables that name no setting. environ
// is os.Environ() outside tests.
func UnknownEnv(environ []string) []Problem {
	known := map[string]bool{EnvConfigFile: true}
	for _, k := range Keys() {
		known[k.Env] = true
	}
	var problems []Problem
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix) && !known[name] {
			problems = append(problems, Problem{Key: name, Why: "no such setting; it is ignored" + suggestEnv(name)})
		}
	}
	return problems
}

// LoadOS loads from the process environment and file system.
func LoadOS() (*Config, []Problem) {
	c, problems := Load(os.Getenv, os.ReadFile)
	return c, append(problems, UnknownEnv(os.Environ())...)
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest names the known key closest to p, for typos.
func suggest(p string, reg []Key) string {
	best, bestD := "", 4
	for _, k := range reg {
		if d := distance(p, k.Path); d < bestD {
			best, bestD = k.Path, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

func suggestEnv(name string) string {
	best, bestD := "", 4
	for _, k := range Keys() {
		if d := distance(name, k.Env); d < bestD {
			best, bestD = k.Env, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// distance is the Levenshtein distance, bounded by the inputs' small size.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
