package extension

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/config"
	"github.com/lambdaotel/lambdaotel/extension/platformtel"
	"github.com/lambdaotel/lambdaotel/extension/queue"
	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// reportWait caps how long SHUTDOWN waits for the platform.report of the
// last invocation (Lambda sends it once every extension has called next,
// which at SHUTDOWN is moments before): long enough for the Telemetry
// API's buffering, short beside the 2 s an extension has.
const reportWait = 300 * time.Millisecond

// platformTelemetry connects the Telemetry API listener to a
// platformtel.Processor and the Processor's output to the queue. The
// Processor needs the resource, known only once registered; records only
// flow once subscribed, after that.
type platformTelemetry struct {
	proc     atomic.Pointer[platformtel.Processor]
	reported chan struct{} // a record was handled; SHUTDOWN's wait listens
}

func newPlatformTelemetry() *platformTelemetry {
	return &platformTelemetry{reported: make(chan struct{}, 1)}
}

// start makes the Processor.
func (p *platformTelemetry) start(cfg *config.Config, res otlpbuild.Resource, functionName, initType, name string) {
	severity := map[string]otlpbuild.Severity{"trace": otlpbuild.SeverityTrace, "debug": otlpbuild.SeverityDebug,
		"info": otlpbuild.SeverityInfo, "warn": otlpbuild.SeverityWarn, "error": otlpbuild.SeverityError, "fatal": otlpbuild.SeverityFatal}
	temporality := otlpbuild.Cumulative
	if cfg.Metrics.Temporality != "cumulative" {
		temporality = otlpbuild.Delta
	}
	p.proc.Store(platformtel.New(platformtel.Options{
		Resource: res.Attributes, ResourceSchemaURL: res.SchemaURL,
		FunctionName: functionName, InitType: initType, ExtensionName: name,
		Temporality: temporality, DisableLogs: !cfg.Logs.Enabled, MinSeverity: severity[cfg.Logs.MinSeverity],
	}))
}

// handle takes one event from the listener.
func (p *platformTelemetry) handle(ev lambdaapi.TelemetryEvent) {
	proc := p.proc.Load()
	if proc == nil {
		return
	}
	proc.Handle(ev)
	select {
	case p.reported <- struct{}{}:
	default:
	}
}

// setParent passes the function's invocation span on.
func (p *platformTelemetry) setParent(requestID string, traceID [16]byte, spanID [8]byte) {
	if proc := p.proc.Load(); proc != nil && requestID != "" {
		proc.SetParent(requestID, traceID, spanID)
	}
}

// collect queues what the Processor made since the last call.
func (p *platformTelemetry) collect(q *queue.Queue) {
	proc := p.proc.Load()
	if proc == nil {
		return
	}
	traces, metrics, logs := proc.Collect(nil, nil, nil)
	for _, o := range [...]struct {
		sig  wire.Signal
		body []byte
	}{{wire.Traces, traces}, {wire.Metrics, metrics}, {wire.Logs, logs}} {
		if len(o.body) == 0 {
			continue
		}
		// Validated like what the function sends: forwarded otlp-stdout
		// payloads are the function's bytes.
		c, err := wire.Validate(o.sig, o.body)
		if err != nil {
			continue
		}
		_ = q.Offer(o.sig, o.body, c.Items) // a full queue drops it, counted
	}
}

// beforeShutdown waits, within ctx and reportWait, for the reports of the
// invocations still open, then closes them with the SHUTDOWN reason (a
// timeout or failure ends an open invocation as failed).
func (p *platformTelemetry) beforeShutdown(ctx context.Context, reason string) {
	proc := p.proc.Load()
	if proc == nil {
		return
	}
	timer := time.NewTimer(reportWait)
	defer timer.Stop()
	for proc.PendingReports() > 0 {
		select {
		case <-p.reported:
		case <-timer.C:
			proc.Shutdown(reason, time.Now())
			return
		case <-ctx.Done():
			proc.Shutdown(reason, time.Now())
			return
		}
	}
	proc.Shutdown(reason, time.Now())
}

// stats is the Processor's counters (zero before it started).
func (p *platformTelemetry) stats() platformtel.Stats {
	if proc := p.proc.Load(); proc != nil {
		return proc.Stats()
	}
	return platformtel.Stats{}
}
