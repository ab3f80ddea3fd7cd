package otlpstdout

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/lambdaotel/lambdaotel/internal/otlpenv"
)

// Environment variables read by New (prior art §C2). Each one overrides the
// matching option; an invalid value is reported once and ignored.
const (
	// EnvCompressionLevel is the gzip level, an integer 0–9.
	EnvCompressionLevel = "OTLP_STDOUT_SPAN_EXPORTER_COMPRESSION_LEVEL"
	// EnvLogLevel adds a "level" field: debug, info, warn, warning or error.
	EnvLogLevel = "OTLP_STDOUT_SPAN_EXPORTER_LOG_LEVEL"
	// EnvOutputType selects the sink: "pipe" for the named pipe, "stdout".
	EnvOutputType = "OTLP_STDOUT_SPAN_EXPORTER_OUTPUT_TYPE"
	// EnvHeaders holds headers for every record as k=v,k2=v2 (values
	// percent-encoded).
	EnvHeaders = "OTEL_EXPORTER_OTLP_HEADERS"
	// EnvTracesHeaders is like EnvHeaders and wins on duplicate keys.
	EnvTracesHeaders = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
	// EnvServiceName names the record's source; it is read at every export.
	EnvServiceName = "OTEL_SERVICE_NAME"
	// EnvFunctionName names the source when EnvServiceName is unset; with
	// both unset the source is DefaultSource.
	EnvFunctionName = "AWS_LAMBDA_FUNCTION_NAME"
)

// Defaults used when neither the environment nor an option says otherwise.
const (
	// DefaultCompressionLevel is the gzip level used when neither the
	// environment nor an option sets one.
	DefaultCompressionLevel = 6
	// DefaultPipePath is where the named-pipe output writes, shared by
	// every otlp-stdout exporter and the extensions that read it.
	DefaultPipePath = "/tmp/otlp-stdout-span-exporter.pipe"
	// DefaultSource is the record's source when no name is configured.
	DefaultSource = "unknown-service"
)

type config struct {
	writer   io.Writer
	level    int
	logLevel string // canonical: "", DEBUG, INFO, WARN, ERROR
	pipe     bool
	pipePath string
	headers  map[string]string
	logger   *slog.Logger
}

// Option configures an Exporter. Options are applied in order, then the
// environment overrides them.
type Option func(*config) error

// WithWriter sets where stdout output goes (default os.Stdout). It has no
// effect when the named pipe is selected.
func WithWriter(w io.Writer) Option {
	return func(c *config) error {
		if w == nil {
			return fmt.Errorf("otlpstdout: WithWriter: nil writer")
		}
		c.writer = w
		return nil
	}
}

// WithCompressionLevel sets the gzip level, 0 (none) to 9 (best).
func WithCompressionLevel(level int) Option {
	return func(c *config) error {
		if level < 0 || level > 9 {
			return fmt.Errorf("otlpstdout: WithCompressionLevel: %d is not in 0–9", level)
		}
		c.level = level
		return nil
	}
}

// WithHeaders adds headers to every record, for the forwarder to send with
// the payload. Keys are lower-cased; content-type and content-encoding are
// ignored because the record fixes them. Headers from the environment win.
func WithHeaders(h map[string]string) Option {
	return func(c *config) error {
		for k, v := range h {
			k = strings.ToLower(strings.TrimSpace(k))
			if k == "" || k == "content-type" || k == "content-encoding" {
				continue
			}
			if c.headers == nil {
				c.headers = map[string]string{}
			}
			c.headers[k] = v
		}
		return nil
	}
}

// WithLevel adds a "level" field to every record (debug, info, warn,
// warning or error, any case), so log pipelines can filter records. An empty
// level removes the field.
func WithLevel(level string) Option {
	return func(c *config) error {
		canon, ok := canonicalLevel(level)
		if !ok && level != "" {
			return fmt.Errorf("otlpstdout: WithLevel: unknown level %q", level)
		}
		c.logLevel = canon
		return nil
	}
}

// WithPipe selects the named pipe (true) or stdout (false) as the sink.
func WithPipe(pipe bool) Option {
	return func(c *config) error {
		c.pipe = pipe
		return nil
	}
}

// WithPipePath changes the named pipe's path (default DefaultPipePath). It
// does not by itself select the pipe; see WithPipe.
func WithPipePath(path string) Option {
	return func(c *config) error {
		if path == "" {
			return fmt.Errorf("otlpstdout: WithPipePath: empty path")
		}
		c.pipePath = path
		return nil
	}
}

// WithLogger sets where the exporter reports configuration problems and
// write failures (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.logger = l
		}
		return nil
	}
}

func canonicalLevel(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return "DEBUG", true
	case "info":
		return "INFO", true
	case "warn", "warning":
		return "WARN", true
	case "error":
		return "ERROR", true
	}
	return "", false
}

// applyEnv overrides c with the environment. An empty variable counts as
// unset, as elsewhere in OpenTelemetry. Each invalid variable is logged
// once, by name; header values are never logged because they carry tokens.
func (c *config) applyEnv() {
	if v := os.Getenv(EnvCompressionLevel); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > 9 {
			c.logger.Warn("otlpstdout: ignoring invalid environment variable, want an integer 0-9",
				"variable", EnvCompressionLevel, "value", v, "using", c.level)
		} else {
			c.level = n
		}
	}
	if v := os.Getenv(EnvLogLevel); v != "" {
		if canon, ok := canonicalLevel(v); ok {
			c.logLevel = canon
		} else {
			c.logger.Warn("otlpstdout: ignoring invalid environment variable, want debug, info, warn or error",
				"variable", EnvLogLevel, "value", v)
		}
	}
	if v := os.Getenv(EnvOutputType); v != "" {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "pipe":
			c.pipe = true
		case "stdout":
			c.pipe = false
		default:
			// Every otlp-stdout exporter treats anything but "pipe" as
			// stdout; keep that, but say so.
			c.logger.Warn("otlpstdout: unknown output type, using stdout",
				"variable", EnvOutputType, "value", v)
			c.pipe = false
		}
	}
	for _, name := range []string{EnvHeaders, EnvTracesHeaders} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		h, bad := parseHeaders(v)
		if bad > 0 {
			c.logger.Warn("otlpstdout: ignoring malformed entries in environment variable",
				"variable", name, "malformed", bad)
		}
		for k, val := range h {
			if c.headers == nil {
				c.headers = map[string]string{}
			}
			c.headers[k] = val
		}
	}
}

// parseHeaders parses an OTEL_EXPORTER_OTLP_*HEADERS value the way every
// exporter here does (otlpenv.ParseHeaders), minus content-type and
// content-encoding, which the record fixes. It returns the headers and the
// number of malformed entries, which are skipped.
func parseHeaders(s string) (map[string]string, int) {
	h, problems := otlpenv.ParseHeaders(s)
	if h == nil {
		h = map[string]string{}
	}
	delete(h, "content-type")
	delete(h, "content-encoding")
	return h, len(problems)
}
