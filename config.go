package lambdaotel

import (
	"log/slog"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/lambdaotel/lambdaotel/trigger"
)

// Mode says when the invocation's spans are exported.
type Mode string

// The processing modes.
const (
	// ModeSync exports before the handler's response reaches the Runtime
	// API. The default: simple, and with the extension on loopback cheap.
	ModeSync Mode = "sync"
	// ModeAsync exports after the response has been sent and before Lambda
	// can freeze the process, from the internal extension "otel-internal".
	ModeAsync Mode = "async"
	// ModeFinalize leaves export to the caller's own span processors; the
	// internal extension only makes sure SIGTERM arrives, and SIGTERM flushes.
	ModeFinalize Mode = "finalize"
)

// Environment variables read by Init. Environment beats options, options
// beat defaults; an invalid value logs one warning naming the variable.
const (
	EnvMode          = "LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE"
	EnvQueueSize     = "LAMBDA_SPAN_PROCESSOR_QUEUE_SIZE"
	EnvServiceName   = "OTEL_SERVICE_NAME"
	EnvPropagators   = "OTEL_PROPAGATORS"
	EnvTracesSampler = "OTEL_TRACES_SAMPLER"
	EnvSamplerArg    = "OTEL_TRACES_SAMPLER_ARG"
	EnvTracesExport  = "OTEL_TRACES_EXPORTER"
	EnvSDKDisabled   = "OTEL_SDK_DISABLED"
)

// InternalExtensionName is the name the internal extension registers under.
const InternalExtensionName = "otel-internal"

// Option configures Init.
type Option func(*config)

type config struct {
	mode        Mode
	queueSize   int
	serviceName string
	resource    *resource.Resource
	propagator  propagation.TextMapPropagator
	propNames   string
	sampler     sdktrace.Sampler
	exporter    sdktrace.SpanExporter
	processors  []sdktrace.SpanProcessor
	extractors  []trigger.Extractor
	idGenerator sdktrace.IDGenerator
	noGlobal    bool
	exitOnTerm  bool
	log         *slog.Logger
	getenv      func(string) string
	runtimeAPI  string
}

// WithMode sets the processing mode (LAMBDA_EXTENSION_SPAN_PROCESSOR_MODE).
func WithMode(m Mode) Option { return func(c *config) { c.mode = m } }

// WithQueueSize sets the ring's capacity (LAMBDA_SPAN_PROCESSOR_QUEUE_SIZE).
func WithQueueSize(n int) Option { return func(c *config) { c.queueSize = n } }

// WithServiceName sets service.name (OTEL_SERVICE_NAME).
func WithServiceName(name string) Option { return func(c *config) { c.serviceName = name } }

// WithResource merges r over the detected Lambda resource.
func WithResource(r *resource.Resource) Option { return func(c *config) { c.resource = r } }

// WithPropagator sets the propagator that reads the caller's context from
// the event (OTEL_PROPAGATORS wins when set).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.propagator = p }
}

// WithSampler sets the sampler (OTEL_TRACES_SAMPLER wins when set).
func WithSampler(s sdktrace.Sampler) Option { return func(c *config) { c.sampler = s } }

// WithExporter sets the exporter behind the ring processor, instead of the
// one OTEL_TRACES_EXPORTER names.
func WithExporter(e sdktrace.SpanExporter) Option { return func(c *config) { c.exporter = e } }

// WithSpanProcessor adds a span processor of the caller's. In finalize mode
// these do all the exporting; in the other modes they run beside the ring.
func WithSpanProcessor(p sdktrace.SpanProcessor) Option {
	return func(c *config) { c.processors = append(c.processors, p) }
}

// WithExtractor adds an extractor consulted before the built-in ones.
func WithExtractor(e trigger.Extractor) Option {
	return func(c *config) { c.extractors = append(c.extractors, e) }
}

// WithIDGenerator sets the trace and span id generator.
func WithIDGenerator(g sdktrace.IDGenerator) Option { return func(c *config) { c.idGenerator = g } }

// WithoutGlobal keeps Init from installing the tracer provider and
// propagator as the process-wide globals.
func WithoutGlobal() Option { return func(c *config) { c.noGlobal = true } }

// WithExitOnSIGTERM says whether the process exits (status 0) after SIGTERM
// has flushed telemetry in async and finalize modes. Default true: Lambda
// kills the runtime at the end of its shutdown share anyway, and exiting
// early hands the remaining budget to external extensions. Turn it off when
// other SIGTERM handlers (e.g. lambda.WithEnableSIGTERM's) must run too.
func WithExitOnSIGTERM(exit bool) Option { return func(c *config) { c.exitOnTerm = exit } }

// WithLogger sets where lambdaotel logs its own warnings.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// withEnv replaces the environment lookup; tests use it.
func withEnv(getenv func(string) string) Option { return func(c *config) { c.getenv = getenv } }

func newConfig(opts []Option) *config {
	c := &config{exitOnTerm: true, getenv: os.Getenv}
	for _, o := range opts {
		o(c)
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("source", "lambdaotel")
	}
	c.runtimeAPI = c.getenv("AWS_LAMBDA_RUNTIME_API")
	c.resolveMode()
	c.resolveQueueSize()
	if v := strings.TrimSpace(c.getenv(EnvServiceName)); v != "" {
		c.serviceName = v
	}
	c.propNames = strings.TrimSpace(c.getenv(EnvPropagators))
	return c
}

func (c *config) resolveMode() {
	if c.mode == "" {
		c.mode = ModeSync
	}
	switch c.mode {
	case ModeSync, ModeAsync, ModeFinalize:
	default:
		c.log.Warn("unknown processing mode option; using sync", "mode", c.mode)
		c.mode = ModeSync
	}
	v := strings.ToLower(strings.TrimSpace(c.getenv(EnvMode)))
	switch Mode(v) {
	case "":
	case ModeSync, ModeAsync, ModeFinalize:
		c.mode = Mode(v)
	default:
		c.log.Warn("invalid "+EnvMode+"; want sync, async or finalize", "value", v, "using", c.mode)
	}
}

func (c *config) resolveQueueSize() {
	if c.queueSize <= 0 {
		c.queueSize = DefaultQueueSize
	}
	v := strings.TrimSpace(c.getenv(EnvQueueSize))
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		c.log.Warn("invalid "+EnvQueueSize+"; want a positive integer", "value", v, "using", c.queueSize)
		return
	}
	c.queueSize = n
}

// envBool reads a boolean variable the way the OpenTelemetry specification
// says: only "true", case-insensitively, is true.
func envBool(getenv func(string) string, key string) bool {
	return strings.EqualFold(strings.TrimSpace(getenv(key)), "true")
}
