// Package extension assembles lambdaotel-extension from its parts:
// configuration (extension/config), the loopback OTLP receivers
// (extension/receiver for OTLP/HTTP, extension/grpcrecv for OTLP/gRPC, both
// validating with extension/wire), the shared queue
// (extension/queue), the flusher and exporter (extension/flush,
// extension/export) and the conversation with Lambda (extension/lifecycle).
// cmd/lambdaotel-extension only calls Run.
package extension

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/config"
	"github.com/lambdaotel/lambdaotel/extension/export"
	"github.com/lambdaotel/lambdaotel/extension/flush"
	"github.com/lambdaotel/lambdaotel/extension/grpcrecv"
	"github.com/lambdaotel/lambdaotel/extension/lifecycle"
	"github.com/lambdaotel/lambdaotel/extension/platform"
	"github.com/lambdaotel/lambdaotel/extension/queue"
	"github.com/lambdaotel/lambdaotel/extension/receiver"
	"github.com/lambdaotel/lambdaotel/extension/resource"
	"github.com/lambdaotel/lambdaotel/extension/selfmetrics"
	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// memoryHeadroom is the heap allowed beyond the queue budget before the
// soft memory limit makes the collector work harder: requests being read,
// batches being compressed, and the runtime's own structures.
const memoryHeadroom = 16 << 20

// Options are the process's surroundings; tests replace them.
type Options struct {
	Getenv   func(string) string
	Environ  func() []string
	ReadFile func(string) ([]byte, error)
	Stdout   io.Writer
	Logger   *slog.Logger
	// Name overrides the registration name (default: the executable's).
	Name string
}

// Run is the extension's whole life: it returns after SHUTDOWN (nil) or on
// a failure that leaves it unable to work.
func Run(ctx context.Context, opts Options) error {
	started := time.Now()
	sandbox := platform.LookupSandbox() // overlaps the rest of the start
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(os.Args[0])
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	// Every line names the extension: its output comes back through the
	// Telemetry API as extension records, and the name is how the platform
	// telemetry recognises (and skips) its own lines.
	log = log.With("extension", opts.Name)
	api := opts.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		return errors.New("AWS_LAMBDA_RUNTIME_API is not set: not running in Lambda (try lambdasim)")
	}

	cfg, problems := config.Load(opts.Getenv, opts.ReadFile)
	problems = append(problems, config.UnknownEnv(opts.Environ())...)
	for _, p := range problems {
		log.Warn("configuration", "problem", p.Error())
	}

	q := queue.New(queue.Budget{MaxBytes: cfg.Flush.MaxQueueBytes, MaxEntries: cfg.Flush.MaxQueueEntries})
	if opts.Getenv("GOMEMLIMIT") == "" {
		// A soft heap limit just above what the queue may hold: under a
		// flood the collector runs before the heap doubles (GOGC's pace)
		// and memory goes back to the OS sooner, so the function keeps
		// the memory it was sized for. The user's GOMEMLIMIT wins.
		debug.SetMemoryLimit(int64(q.Budget().MaxBytes) + memoryHeadroom)
	}
	tracker := lifecycle.NewTracker()
	managed := opts.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE") == "lambda-managed-instances"

	// Only what the receivers need comes before the register call: Lambda
	// starts the function's runtime once every extension has registered, so
	// everything after it (the exporter, the Telemetry API) overlaps the
	// function's own init instead of adding to the cold start. The flusher
	// is set before Run, the first to use it.
	pt := newPlatformTelemetry()
	obs := &observed{q: q, rec: selfmetrics.New(started), now: time.Now, pt: pt,
		emit: cfg.SelfMetrics.On(cfg.Exporter), interval: cfg.SelfMetrics.Interval, last: started}
	ext := lifecycle.New(api, tracker, obs, lifecycle.Options{
		Name: opts.Name, ManagedInstances: managed,
		CompletionWait: cfg.Flush.CompletionWait, Auto: cfg.Flush.CompletionWaitAuto, Off: cfg.Flush.CompletionWaitOff,
		InvokeBudget: cfg.Flush.InvokeBudget, ShutdownMargin: cfg.Flush.ShutdownMargin, Logger: log,
		Strategy: cfg.Flush.Strategy, Interval: cfg.Flush.Interval, Pending: q.Len,
		BeforeShutdown: pt.beforeShutdown,
	})

	// A full batch waiting is exported at once, even mid-invocation; so is
	// half the queue, whatever the batch size, so that exporting starts
	// before the queue has to drop the oldest data to take the newest.
	kickEntries := min(cfg.Flush.MaxBatchEntries, max(1, q.Budget().MaxEntries/2))
	kickBytes := min(cfg.Flush.MaxBatchBytes, max(1, int(q.Budget().MaxBytes/2)))
	onReceived := func(sig wire.Signal, _ int) {
		if n, b := q.Pending(sig); n >= kickEntries || b >= kickBytes {
			ext.Kick()
		}
	}

	// Listeners first: once registered, the runtime may start and export.
	var srv *receiver.Server
	var listenErr error
	if cfg.Receiver.HTTPEnabled {
		rc := receiver.New(sink{q}, completer{tracker, pt}, receiver.Options{MaxRequestBytes: cfg.Receiver.MaxRequestBytes, Logger: log, OnReceived: onReceived})
		ln, err := receiver.Listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Receiver.HTTPPort)))
		if err == nil {
			srv, err = rc.Start(ln)
		}
		listenErr = err
		if err == nil {
			// Deferred, so that every return stops it. By then the final
			// flush has run: a client stalled mid-request must not keep
			// the process past its SHUTDOWN deadline.
			defer func() {
				sctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				_ = srv.Shutdown(sctx)
				cancel()
			}()
		}
	}
	// OTLP/gRPC is optional: unlike the HTTP receiver, which carries the
	// completion signal, a failure here is logged and the extension works on.
	var gsrv *grpcrecv.Server
	if cfg.Receiver.GRPCEnabled {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Receiver.GRPCPort))
		grc := grpcrecv.New(sink{q}, grpcrecv.Options{MaxRequestBytes: cfg.Receiver.MaxRequestBytes, Logger: log, OnReceived: onReceived})
		ln, err := grpcrecv.Listen(addr)
		if err == nil {
			gsrv, err = grc.Start(ln)
		}
		if err != nil {
			log.Warn("no OTLP/gRPC receiver", "addr", addr, "err", err)
		} else {
			// Deferred, so that every return stops it; bounded like the
			// HTTP receiver's shutdown below.
			defer func() {
				sctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				_ = gsrv.Shutdown(sctx)
				cancel()
			}()
		}
	}
	rr, err := ext.Register(ctx)
	if err != nil {
		return err
	}
	exp, err := export.New(cfg.Exporter, export.Options{Logger: log, Stdout: opts.Stdout})
	if err != nil {
		// Unusable configuration: say so where Lambda shows it (the init
		// failure), not only in a log line of a process that vanished.
		err = fmt.Errorf("exporter: %w", err)
		_ = ext.InitError(ctx, "Extension.ConfigError", err.Error())
		return err
	}
	if cfg.Exporter.Endpoint == "" && cfg.Exporter.TracesEndpoint == "" && cfg.Exporter.MetricsEndpoint == "" && cfg.Exporter.LogsEndpoint == "" {
		log.Info("no OTLP endpoint configured: telemetry is written to stdout as otlp_fallback lines")
	}
	obs.exp = exp
	obs.fl = flush.New(q, sender{exp}, exp, cfg.Flush.MaxBatchBytes, cfg.Flush.MaxBatchEntries, log,
		flush.WithFallbackCost(fallbackCost(opts.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))))
	res, badAttrs := resource.FromEnv(opts.Getenv, rr.AccountID)
	if badAttrs > 0 {
		log.Warn("configuration", "problem", fmt.Sprintf("OTEL_RESOURCE_ATTRIBUTES: %d entries are not key=value with a percent-encoded value", badAttrs))
	}
	obs.res = &res
	// The Telemetry API: platform records become spans, metrics and logs,
	// its listener started after registering (only the subscription needs
	// it, and waiting for sandbox.localdomain would delay the register),
	// and runtimeDone is the completion source for functions that do not
	// signal (any SDK, any language) — after the records before it were
	// handled, so that what they carry is queued when the hold ends.
	var tel *platform.Listener
	if cfg.TelemetryAPI.Enabled {
		l, err := platform.ListenOn(sandbox(), cfg.TelemetryAPI.ListenerPort, func(ev lambdaapi.TelemetryEvent) {
			pt.handle(ev)
			if id, status, ok := platform.RuntimeDone(ev); ok {
				src := lifecycle.SourceRuntimeDone
				if status == lambdaapi.StatusFailure || status == lambdaapi.StatusTimeout {
					src = lifecycle.SourceRuntimeFailed
				}
				tracker.Complete(id, src)
			}
		}, log)
		if err != nil {
			log.Warn("no Telemetry API listener: holds end on the completion signal or the deadline", "err", err)
		} else {
			tel = l
			defer func() {
				cctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				_ = tel.Close(cctx)
				cancel()
			}()
		}
	}
	if tel != nil {
		pt.start(cfg, res, opts.Getenv("AWS_LAMBDA_FUNCTION_NAME"), opts.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE"), opts.Name)
		schema := lambdaapi.Schema20221213
		if managed {
			schema = lambdaapi.Schema20250129
		}
		// function records carry otlp-stdout lines (forwarded as traces)
		// even with logs off; extension records are only ever logs.
		types := []lambdaapi.TelemetryType{lambdaapi.TypePlatform, lambdaapi.TypeFunction}
		if cfg.Logs.Enabled {
			types = append(types, lambdaapi.TypeExtension)
		}
		if err := tel.Subscribe(ctx, ext.Client(), schema, types, cfg.TelemetryAPI.BufferTimeout); err != nil {
			log.Warn("Telemetry API subscription failed: holds end on the completion signal or the deadline", "err", err)
		}
	}
	if listenErr != nil {
		msg := fmt.Sprintf("OTLP/HTTP receiver on port %d: %v", cfg.Receiver.HTTPPort, listenErr)
		_ = ext.InitError(ctx, "Extension.ReceiverUnavailable", msg)
		return errors.New(msg)
	}
	err = ext.Run(ctx)
	log.LogAttrs(context.Background(), slog.LevelInfo, "lambdaotel-extension stopped", selfmetrics.LogAttrs(obs.snapshot())...)
	if errors.Is(err, lifecycle.ErrShutdown) {
		return nil
	}
	return err
}

// observed is the Flusher the lifecycle drives: the flusher, timed for
// the self metrics, which it also queues (before a flush, so they go with
// it) once per interval and at SHUTDOWN.
type observed struct {
	fl       *flush.Flusher
	q        *queue.Queue
	exp      *export.Exporter
	rec      *selfmetrics.Recorder
	res      *otlpbuild.Resource // set once registered, before any flush
	pt       *platformTelemetry
	now      func() time.Time
	emit     bool
	interval time.Duration

	mu   sync.Mutex
	last time.Time // last self-metrics report queued
}

func (o *observed) Flush(ctx context.Context, reason string) error {
	o.pt.collect(o.q)
	if o.emit && o.res != nil && o.due(reason) {
		body := o.rec.AppendRequest(nil, o.res, o.snapshot())
		if c, err := wire.Validate(wire.Metrics, body); err == nil {
			_ = o.q.Offer(queue.Metrics, body, c.Items) // a full queue drops it, counted
		}
	}
	start := o.now()
	err := o.fl.Flush(ctx, reason)
	o.rec.ObserveFlush(reason, o.now().Sub(start))
	return err
}

// due reports whether a self-metrics report is due, and if so notes it.
func (o *observed) due(reason string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if reason != "shutdown" && now.Sub(o.last) < o.interval {
		return false
	}
	o.last = now
	return true
}

func (o *observed) snapshot() selfmetrics.Snapshot {
	return selfmetrics.Snapshot{Time: o.now(), Queue: o.q.Stats(), Export: o.exp.Stats(), Flush: o.fl.Stats(), Platform: o.pt.stats()}
}

// fallbackCost guesses the time to write one MiB as fallback lines before
// the first write is measured: ~15 ms on a full vCPU (measured: gzip at
// BestSpeed and base64 of span data), doubled for safety, and Lambda gives
// a function one vCPU per 1,769 MB of memory, proportionally less below.
func fallbackCost(memoryMB string) time.Duration {
	const perVCPU, vcpuMB = 30 * time.Millisecond, 1769
	mb, err := strconv.Atoi(memoryMB)
	if err != nil || mb <= 0 || mb >= vcpuMB {
		return perVCPU
	}
	return perVCPU * vcpuMB / time.Duration(mb)
}

// sink adapts the queue to the receiver.
type sink struct{ q *queue.Queue }

func (s sink) Offer(sig wire.Signal, body []byte, items int) error {
	return queueError(s.q.Offer(sig, body, items))
}

// OfferGzip keeps a request in the gzip form it arrived in: a gzip export
// splices it rather than compressing it again (receiver.GzipSink).
func (s sink) OfferGzip(sig wire.Signal, gz []byte, segs []gzjoin.Segment, encoded, items int) error {
	return queueError(s.q.OfferGzip(sig, gz, segs, encoded, items))
}

// queueError translates the queue's refusals into the receiver's.
func queueError(err error) error {
	switch {
	case errors.Is(err, queue.ErrFull):
		return fmt.Errorf("%w: %w", receiver.ErrFull, err)
	case errors.Is(err, queue.ErrTooLarge):
		return fmt.Errorf("%w: %w", receiver.ErrTooLarge, err)
	}
	return err
}

// completer adapts the tracker and the platform telemetry to the receiver.
type completer struct {
	t  *lifecycle.Tracker
	pt *platformTelemetry
}

// ReportSpan passes the function's invocation span to the platform
// telemetry, whose spans for that invocation then join its trace.
func (c completer) ReportSpan(requestID string, traceID [16]byte, spanID [8]byte, _ bool) {
	c.pt.setParent(requestID, traceID, spanID)
}

func (c completer) Complete(requestID string) { c.t.Complete(requestID, lifecycle.SourceSignal) }

// Announce passes the function's announcement that it signals every
// invocation on to the tracker.
func (c completer) Announce() { c.t.Announce() }

// sender adapts the exporter to the flusher: a batch written to stdout
// because no endpoint is configured counts as delivered; a refusal that
// retrying cannot fix (export.Result.Permanent: a final 4xx, a gRPC
// INVALID_ARGUMENT and the like) is permanent.
type sender struct{ exp *export.Exporter }

func (s sender) Send(ctx context.Context, signal string, b *queue.Batch) error {
	res := s.exp.Export(ctx, signal, b)
	switch {
	case res.OK, res.Fallback:
		return nil
	case res.Err == nil:
		return errors.New("export failed")
	}
	if res.Permanent {
		return fmt.Errorf("%w: %w", flush.ErrPermanent, res.Err)
	}
	return res.Err
}
