package lambdaotel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/lambdaotel/lambdaotel/internal/otlpenv"
	"github.com/lambdaotel/lambdaotel/internal/otlphttp"
	"github.com/lambdaotel/lambdaotel/otlpstdout"
	"github.com/lambdaotel/lambdaotel/trigger"
)

// Version is the library's version, recorded as the instrumentation scope's.
const Version = "0.1.0"

// ScopeName is the instrumentation scope of the spans Wrap makes.
const ScopeName = "github.com/lambdaotel/lambdaotel"

// Telemetry is the tracing set up by Init: a tracer provider with the Lambda
// resource, the span processor of the chosen mode, the propagator, and the
// internal extension when the mode needs one.
type Telemetry struct {
	cfg        *config
	mode       Mode
	provider   *sdktrace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	processor  *SpanProcessor
	ext        *internalExtension
	extractors []trigger.Extractor
	log        *slog.Logger
	disabled   bool
	stopTerm   func()
	// signaller tells lambdaotel-extension that an invocation's export is
	// done (set when exporting OTLP to it on loopback).
	signaller completionSignaller
}

// completionSignaller is implemented by the OTLP exporter.
type completionSignaller interface {
	SignalComplete(ctx context.Context, requestID string)
	CompletionURL() string
	Announce(ctx context.Context)
}

// Init sets up tracing for a Lambda function: call it once in main, before
// lambda.Start. In async and finalize modes it registers the internal
// extension, which Lambda only allows before the runtime's first request for
// work. Every option has an environment variable that wins over it.
func Init(ctx context.Context, opts ...Option) (*Telemetry, error) {
	c := newConfig(opts)
	t := &Telemetry{cfg: c, mode: c.mode, log: c.log, extractors: c.extractors}
	if envBool(c.getenv, EnvSDKDisabled) {
		t.disabled = true
		t.tracer = noop.NewTracerProvider().Tracer(ScopeName)
		t.propagator = propagation.NewCompositeTextMapPropagator()
		return t, nil
	}

	res, err := lambdaResource(ctx, c)
	if err != nil {
		// A partial resource is still useful; say what went wrong.
		c.log.Warn("resource detection incomplete", "err", err)
	}

	t.propagator = c.propagator
	if c.propNames != "" {
		p, err := parsePropagators(c.propNames)
		if err != nil {
			c.log.Warn("invalid "+EnvPropagators, "err", err)
		}
		t.propagator = p
	}
	if t.propagator == nil {
		t.propagator = defaultPropagator()
	}

	sampler := c.sampler
	if name := c.getenv(EnvTracesSampler); strings.TrimSpace(name) != "" {
		s, err := parseSampler(name, c.getenv(EnvSamplerArg))
		if err != nil {
			c.log.Warn("invalid "+EnvTracesSampler, "err", err)
		} else {
			sampler = s
		}
	}
	if sampler == nil {
		sampler = parentBased(sdktrace.AlwaysSample())
	}

	popts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sampler)}
	if c.idGenerator != nil {
		popts = append(popts, sdktrace.WithIDGenerator(c.idGenerator))
	}
	// Finalize mode with processors of the caller's: they do the exporting.
	if c.mode != ModeFinalize || len(c.processors) == 0 {
		exp, err := t.exporter()
		if err != nil {
			return nil, err
		}
		if cs, ok := exp.(completionSignaller); ok && cs.CompletionURL() != "" {
			t.signaller = cs
			// Init runs before the runtime's first next, so the extension
			// is already listening.
			cs.Announce(ctx)
		}
		t.processor = NewSpanProcessor(exp, c.queueSize, c.log)
		popts = append(popts, sdktrace.WithSpanProcessor(t.processor))
	}
	for _, p := range c.processors {
		popts = append(popts, sdktrace.WithSpanProcessor(p))
	}
	t.provider = sdktrace.NewTracerProvider(popts...)
	t.tracer = t.provider.Tracer(ScopeName, trace.WithInstrumentationVersion(Version), trace.WithSchemaURL(semconv.SchemaURL))
	if !c.noGlobal {
		otel.SetTracerProvider(t.provider)
		otel.SetTextMapPropagator(t.propagator)
	}

	if t.mode == ModeSync {
		return t, nil
	}
	if c.runtimeAPI == "" {
		if t.mode == ModeAsync {
			c.log.Warn("async mode needs Lambda (AWS_LAMBDA_RUNTIME_API is not set); exporting synchronously")
			t.mode = ModeSync
		}
		return t, nil
	}
	ext, err := registerInternalExtension(ctx, t)
	if err != nil {
		c.log.Warn("registering the internal extension failed; exporting synchronously", "err", err)
		t.mode = ModeSync
		return t, nil
	}
	t.ext = ext
	t.stopTerm = t.handleSIGTERM()
	return t, nil
}

// exporter builds the exporter OTEL_TRACES_EXPORTER (or the option) names.
func (t *Telemetry) exporter() (sdktrace.SpanExporter, error) {
	c := t.cfg
	name := strings.ToLower(strings.TrimSpace(c.getenv(EnvTracesExport)))
	if name == "" && c.exporter != nil {
		return c.exporter, nil
	}
	// The variable may list several; the first one known is used.
	chosen := ""
	for _, n := range strings.Split(name, ",") {
		switch n = strings.TrimSpace(n); n {
		case "otlpstdout", "otlp", "none":
			chosen = n
		}
		if chosen != "" {
			break
		}
	}
	if name != "" && chosen == "" {
		c.log.Warn("invalid "+EnvTracesExport+"; want otlpstdout, otlp or none", "value", name, "using", "otlpstdout")
	}
	if chosen == "" && c.exporter != nil {
		return c.exporter, nil
	}
	switch chosen {
	case "otlp":
		cfg, problems := otlpenv.ReadTraces(c.getenv)
		for _, p := range problems {
			c.log.Warn("invalid exporter setting; using its default", "err", p)
		}
		return otlphttp.New(cfg, c.log), nil
	case "none":
		return discardExporter{}, nil
	default:
		exp, err := otlpstdout.New(otlpstdout.WithLogger(c.log))
		if err != nil {
			return nil, fmt.Errorf("otlpstdout exporter: %w", err)
		}
		return exp, nil
	}
}

// discardExporter is OTEL_TRACES_EXPORTER=none.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// Tracer is the tracer for the function's own spans.
func (t *Telemetry) Tracer() trace.Tracer { return t.tracer }

// TracerProvider is the provider Init built (a no-op one when disabled).
func (t *Telemetry) TracerProvider() trace.TracerProvider {
	if t.provider == nil {
		return noop.NewTracerProvider()
	}
	return t.provider
}

// Propagator reads the caller's context from events.
func (t *Telemetry) Propagator() propagation.TextMapPropagator { return t.propagator }

// Mode is the processing mode in effect (async becomes sync outside Lambda).
func (t *Telemetry) Mode() Mode { return t.mode }

// ForceFlush exports every finished span now.
func (t *Telemetry) ForceFlush(ctx context.Context) error {
	if t.provider == nil {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// Shutdown flushes and stops tracing. Spans ended afterwards are dropped.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t.provider == nil {
		return nil
	}
	if t.stopTerm != nil {
		t.stopTerm()
	}
	if err := t.provider.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shut down tracing: %w", err)
	}
	return nil
}

// Stats returns the ring processor's counters (zero when the caller's own
// processors do the exporting).
func (t *Telemetry) Stats() Stats {
	if t.processor == nil {
		return Stats{}
	}
	return t.processor.Stats()
}

// signalComplete tells the extension, if there is one, that requestID's
// export step is over.
func (t *Telemetry) signalComplete(ctx context.Context, requestID string) {
	if t.signaller != nil && requestID != "" {
		t.signaller.SignalComplete(context.WithoutCancel(ctx), requestID)
	}
}
