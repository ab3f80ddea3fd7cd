package platformtel

import (
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// ScopeName is the instrumentation scope of everything the processor makes.
const ScopeName = "github.com/lambdaotel/lambdaotel/extension/platformtel"

// Defaults of the Options limits.
const (
	DefaultMaxInvocations  = 256
	DefaultMaxPendingBytes = 4 << 20
)

// Options configure a Processor. The zero value works: cumulative metrics,
// logs on at every severity, default limits, the wall clock, random IDs.
type Options struct {
	// Resource is the resource of everything the processor makes: the
	// extension's resource plus the Lambda resource.
	Resource []otlpbuild.KeyValue
	// ResourceSchemaURL is the semantic-conventions schema of Resource.
	ResourceSchemaURL string
	// ScopeVersion is written with ScopeName (the extension's version).
	ScopeVersion string

	// FunctionName names invocation spans, as the FaaS conventions ask
	// (AWS_LAMBDA_FUNCTION_NAME). Empty: the name in platform.initStart
	// when the schema carries one, else "invoke".
	FunctionName string
	// InitType is AWS_LAMBDA_INITIALIZATION_TYPE. It says, until
	// platform.initStart says otherwise, whether the first invocation is a
	// cold start (not with provisioned-concurrency) and whether invocations
	// run concurrently (lambda-managed-instances).
	InitType string
	// ExtensionName is the extension's own name. extension records that
	// contain it are the extension's own output and are skipped, so that
	// the extension never ingests what it writes itself. For this to catch
	// its log lines, the extension should mention its name in each (for
	// example with a logger attribute).
	ExtensionName string

	// Temporality of the metrics: otlpbuild.Cumulative (the default, start
	// time = when the processor was made) or otlpbuild.Delta (start time =
	// the previous Collect).
	Temporality otlpbuild.Temporality

	// DisableLogs turns function and extension records into nothing but
	// otlp-stdout forwarding.
	DisableLogs bool
	// MinSeverity drops log records below it. Records with no recognisable
	// severity count as INFO here.
	MinSeverity otlpbuild.Severity

	// MaxInvocations bounds the invocations tracked at once (and the ones
	// remembered after they end, for duplicates and late reports). The
	// oldest is evicted past it. Default DefaultMaxInvocations.
	MaxInvocations int
	// MaxPendingBytes bounds what waits for Collect: encoded spans, log
	// records and forwarded otlp-stdout payloads. Past it new items are
	// dropped and counted. Default DefaultMaxPendingBytes.
	MaxPendingBytes int

	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Seed, when not zero, seeds the trace and span ID generator, for
	// reproducible output in tests. Zero seeds it from crypto/rand.
	Seed uint64
	// Logger receives one warning per kind of anomaly; nil discards.
	Logger *slog.Logger
}

// Stats counts what the processor saw and did. Every anomaly has a counter.
type Stats struct {
	Events uint64 // events handled

	Spans             uint64 // spans made
	LogRecords        uint64 // log records made
	StdoutRecords     uint64 // otlp-stdout records forwarded
	OwnLogsSkipped    uint64 // the extension's own output, not ingested
	LogsBelowSeverity uint64 // log records under MinSeverity

	UnknownTypes     uint64 // events of a type this package does not know
	Undecodable      uint64 // records that do not decode (not an object, bad JSON, wrong field types)
	MissingRequestID uint64 // start, runtimeDone or report records without a requestId
	Duplicates       uint64 // records seen before, ignored

	// OutOfOrder counts records that arrived after a later record of the
	// same invocation or init had already been acted on.
	OutOfOrder              uint64
	RuntimeDoneWithoutStart uint64
	ReportWithoutStart      uint64
	// RuntimeDoneMissing counts invocations that started and ended (by
	// report, eviction or shutdown) without a runtimeDone, where one was
	// expected (not on Lambda Managed Instances).
	RuntimeDoneMissing uint64
	// ReportMissing counts invocations forgotten (evicted or shut down)
	// before their report arrived.
	ReportMissing uint64
	Evictions     uint64 // invocations evicted because MaxInvocations were tracked
	// LateRecords counts records for invocations already evicted; a late
	// report still feeds the metrics.
	LateRecords uint64
	// LateParents counts SetParent calls after the invocation's trace had
	// been decided (its spans or logs already made).
	LateParents uint64

	CorruptStdoutRecords uint64 // otlp-stdout records that failed to decode, kept as log lines
	DroppedSpans         uint64 // over MaxPendingBytes
	DroppedLogRecords    uint64 // over MaxPendingBytes
	DroppedStdoutRecords uint64 // over MaxPendingBytes

	// PlatformDroppedRecords and PlatformDroppedBytes sum what Lambda said
	// it dropped (platform.logsDropped).
	PlatformDroppedRecords uint64
	PlatformDroppedBytes   uint64
}

// Processor turns Telemetry API events into OTLP spans, metrics and logs.
// Handle, SetParent, Shutdown, Collect, PendingReports and Stats may be
// called from any goroutine.
type Processor struct {
	mu    sync.Mutex
	opts  Options
	now   func() time.Time
	log   *slog.Logger
	rng   *mrand.ChaCha8
	res   otlpbuild.Resource
	scope otlpbuild.Scope

	start       time.Time // for cumulative start times
	lastCollect time.Time // for delta start times
	fnName      string
	managed     bool // Lambda Managed Instances: concurrent invocations, no runtimeDone
	coldPending bool // the next new invocation is a cold start

	invs   map[string]*invocation
	seq    uint64
	latest *invocation // most recently started, for attributing logs
	done   doneRing

	init, restore phase

	metrics instruments

	// Waiting for Collect.
	spans   []byte               // encoded ScopeSpans.spans fields
	logs    []pendingLog         // resolved to trace IDs at Collect
	attrs   []otlpbuild.KeyValue // the logs' attributes
	forward [3][]byte            // otlp-stdout payloads, by wire.Signal
	pending int                  // bytes of the above, against MaxPendingBytes
	scratch []byte               // Collect's encoding space
	spanKV  []otlpbuild.KeyValue // reused attribute space for spans

	// deferred are invocations whose span waits for Collect: the trace is
	// decided as late as possible, so that the function's span (SetParent,
	// from the completion signal, which in async mode may come after
	// runtimeDone) is its parent.
	deferred []*invocation

	pl     otlpbuild.LogRecord // reused log record
	warned map[string]bool     // anomaly kinds already logged
	warns  []warning           // logged after the lock is released
	stats  Stats
}

type warning struct {
	msg  string
	args []any
}

// New returns a processor.
func New(opts Options) *Processor {
	if opts.MaxInvocations <= 0 {
		opts.MaxInvocations = DefaultMaxInvocations
	}
	if opts.MaxPendingBytes <= 0 {
		opts.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if opts.Temporality != otlpbuild.Delta {
		opts.Temporality = otlpbuild.Cumulative
	}
	p := &Processor{
		opts:   opts,
		now:    opts.Now,
		log:    opts.Logger,
		res:    otlpbuild.Resource{Attributes: slices.Clone(opts.Resource), SchemaURL: opts.ResourceSchemaURL},
		scope:  otlpbuild.Scope{Name: ScopeName, Version: opts.ScopeVersion},
		fnName: opts.FunctionName,
		invs:   make(map[string]*invocation),
		warned: make(map[string]bool),
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	// IDs only need to be unique, not secret: a ChaCha8 stream seeded once
	// from crypto/rand is as unique and costs no system call per ID.
	var seed [32]byte
	if opts.Seed != 0 {
		binary.LittleEndian.PutUint64(seed[:], opts.Seed)
	} else {
		_, _ = rand.Read(seed[:]) // never fails on supported platforms
	}
	p.rng = mrand.NewChaCha8(seed)
	p.start = p.now()
	p.lastCollect = p.start
	p.setInitType(opts.InitType)
	p.done.init(opts.MaxInvocations)
	p.metrics.init()
	return p
}

// setInitType applies an initialization type: whether the next invocation
// is a cold start, and whether invocations are concurrent.
func (p *Processor) setInitType(typ string) {
	switch typ {
	case lambdaapi.InitProvisionedConcurrency:
		p.coldPending = false
	case lambdaapi.InitManagedInstances:
		// Instances are initialised ahead of traffic, like provisioned
		// concurrency, and serve invocations concurrently.
		p.coldPending = false
		p.managed = true
	default: // on-demand, snap-start, or not known
		p.coldPending = true
	}
}

// Handle processes one event. Anything malformed is counted and otherwise
// ignored; Handle never fails.
func (p *Processor) Handle(ev lambdaapi.TelemetryEvent) {
	if ev.Type == lambdaapi.EventFunction || ev.Type == lambdaapi.EventExtensionLog {
		p.handleLog(ev)
		return
	}
	// Decoding needs no state: it runs before the lock is taken.
	rec, err := ev.Decode()
	p.mu.Lock()
	defer p.unlock()
	p.stats.Events++
	if err != nil {
		p.stats.Undecodable++
		p.warnOnce("undecodable", "telemetry record does not decode; ignored", "type", ev.Type, "err", err)
		return
	}
	t := ev.Time
	if t.IsZero() {
		// LMI records carry no time; when the record arrives is the best
		// estimate left.
		t = p.now()
	}
	switch r := rec.(type) {
	case *lambdaapi.InitStart:
		p.onInitStart(t, r)
	case *lambdaapi.InitRuntimeDone:
		p.onPhaseRuntimeDone(&p.init, "init", t, r.Status, r.ErrorType, r.Spans)
	case *lambdaapi.InitReport:
		p.onInitReport(t, r)
	case *lambdaapi.RestoreStart:
		p.onRestoreStart(t)
	case *lambdaapi.RestoreRuntimeDone:
		p.onPhaseRuntimeDone(&p.restore, "restore", t, r.Status, r.ErrorType, r.Spans)
	case *lambdaapi.RestoreReport:
		p.onRestoreReport(t, r)
	case *lambdaapi.Start:
		p.onStart(t, r)
	case *lambdaapi.RuntimeDone:
		p.onRuntimeDone(t, r)
	case *lambdaapi.Report:
		p.onReport(t, r)
	case *lambdaapi.LogsDropped:
		p.stats.PlatformDroppedRecords += uint64(max(r.DroppedRecords, 0))
		p.stats.PlatformDroppedBytes += uint64(max(r.DroppedBytes, 0))
		p.warnOnce("logsDropped", "Lambda dropped telemetry records: the extension reads them too slowly",
			"records", r.DroppedRecords, "bytes", r.DroppedBytes, "reason", r.Reason)
	case *lambdaapi.ExtensionRecord, *lambdaapi.TelemetrySubscription:
		// Lifecycle notices with nothing to measure.
	default:
		p.stats.UnknownTypes++
		p.warnOnce("unknown:"+ev.Type, "unknown telemetry event type; ignored", "type", ev.Type)
	}
}

// SetParent makes the spans of invocation requestID children of the given
// span: the function's own invocation span, as reported by the library, so
// that platform spans join the function's trace. It counts only when called
// before the invocation's trace is decided, that is before its
// runtimeDone (or report) has been handled and before Collect has written
// its log records.
func (p *Processor) SetParent(requestID string, traceID [16]byte, spanID [8]byte) {
	if requestID == "" || traceID == ([16]byte{}) || spanID == ([8]byte{}) {
		return
	}
	p.mu.Lock()
	defer p.unlock()
	inv := p.lookup(requestID)
	if inv == nil || inv.decided {
		p.stats.LateParents++
		return
	}
	inv.fnTrace, inv.fnSpan, inv.hasFn = traceID, spanID, true
}

// Shutdown closes what is still open when the environment shuts down, for
// the given reason ("spindown", "timeout", "failure"), at now. Call it when
// no more records are expected — after the SHUTDOWN wait for the last
// report — and then Collect. An invocation still running when the reason is
// timeout or failure ends there as failed: its invocation span and an error
// span are made with the duration so far. A failed invocation whose report
// never came gets its error span without the report's figures.
func (p *Processor) Shutdown(reason string, now time.Time) {
	p.mu.Lock()
	defer p.unlock()
	invs := make([]*invocation, 0, len(p.invs))
	for _, inv := range p.invs {
		invs = append(invs, inv)
	}
	slices.SortFunc(invs, func(a, b *invocation) int { return cmpUint64(a.seq, b.seq) })
	for _, inv := range invs {
		p.closeInvocation(inv, reason, now)
	}
	p.flushPhase(&p.init)
	p.flushPhase(&p.restore)
}

// PendingReports is the number of invocations that started but whose
// platform.report has not arrived: what a SHUTDOWN may briefly wait for.
func (p *Processor) PendingReports() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, inv := range p.invs {
		if inv.seen&(seenStart|seenRuntimeDone) != 0 && inv.seen&seenReport == 0 {
			n++
		}
	}
	return n
}

// Stats returns the counters so far.
func (p *Processor) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Collect appends what has been made since the previous Collect, as the
// protobuf encodings of an ExportTraceServiceRequest, an
// ExportMetricsServiceRequest and an ExportLogsServiceRequest, to the
// three slices, and returns them. A signal with nothing to send gets no
// bytes. Forwarded otlp-stdout payloads follow the processor's own data in
// their signal's request (concatenated requests merge).
//
// Metrics are written only when something was recorded since the previous
// Collect; cumulative ones then carry every series (counters from zero,
// histograms once they have data), delta ones only what changed.
func (p *Processor) Collect(traces, metrics, logs []byte) ([]byte, []byte, []byte) {
	p.mu.Lock()
	defer p.unlock()
	now := p.now()
	for _, inv := range p.deferred {
		p.emitDeferred(inv)
	}
	clear(p.deferred)
	p.deferred = p.deferred[:0]
	traces = otlpbuild.WrapTraces(traces, &p.res, &p.scope, p.spans)
	traces = append(traces, p.forward[wire.Traces]...)
	metrics = p.appendMetrics(metrics, now)
	metrics = append(metrics, p.forward[wire.Metrics]...)
	logs = p.appendLogs(logs)
	logs = append(logs, p.forward[wire.Logs]...)

	p.spans = shrink(p.spans)
	for i := range p.forward {
		p.forward[i] = shrink(p.forward[i])
	}
	clear(p.logs) // drop references to bodies
	p.logs = p.logs[:0]
	clear(p.attrs)
	p.attrs = p.attrs[:0]
	if cap(p.logs) > maxRetainedLogs {
		p.logs, p.attrs = nil, nil
	}
	p.pending = 0
	p.lastCollect = now
	return traces, metrics, logs
}

// Buffers are reused between Collects, up to a size: one burst should not
// pin its memory for the life of the environment.
const (
	maxRetainedBytes = 256 << 10
	maxRetainedLogs  = 4096
)

func shrink(b []byte) []byte {
	if cap(b) > maxRetainedBytes {
		return nil
	}
	return b[:0]
}

// reserve accounts n more pending bytes, or says there is no room.
func (p *Processor) reserve(n int) bool {
	if p.pending+n > p.opts.MaxPendingBytes {
		return false
	}
	p.pending += n
	return true
}

// warnOnce logs msg the first time kind happens. It is called with the lock
// held; the line is written by unlock, because a logger may block on I/O.
func (p *Processor) warnOnce(kind, msg string, args ...any) {
	// Unknown types are open-ended: past 64 kinds, new ones go unlogged
	// (they are still counted).
	if p.warned[kind] || len(p.warned) >= 64 {
		return
	}
	p.warned[kind] = true
	p.warns = append(p.warns, warning{msg, args})
}

// unlock releases the lock and then writes the warnings made under it.
func (p *Processor) unlock() {
	warns := p.warns
	p.warns = nil
	p.mu.Unlock()
	for _, w := range warns {
		p.log.Warn(w.msg, w.args...)
	}
}

func (p *Processor) newTraceID() (id [16]byte) {
	for id == ([16]byte{}) {
		_, _ = p.rng.Read(id[:])
	}
	return id
}

func (p *Processor) newSpanID() (id [8]byte) {
	for id == ([8]byte{}) {
		_, _ = p.rng.Read(id[:])
	}
	return id
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
