// Package lifecycle is lambdaotel-extension's conversation with Lambda:
// register, then for each INVOKE hold next until the invocation is complete,
// flush within the budget, and only then call next, so that Lambda cannot
// freeze the environment with telemetry still queued; on SHUTDOWN flush what
// is left within the deadline, abandoning exports rather than being killed.
//
// An invocation is complete at the first of: POST /invocation/complete from
// the function's library, platform.runtimeDone from the Telemetry API, or a
// deadline fallback that leaves the flush budget before the invocation's
// deadline. After a hold that ended at its fallback, the extension stops
// holding (the function evidently does not signal and runtimeDone is late)
// until a timely completion is seen again: a degraded environment pays the
// hold once, not on every invocation.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// Flusher exports what is queued, within ctx's deadline.
type Flusher interface {
	Flush(ctx context.Context, reason string) error
}

// Options configure the loop.
type Options struct {
	// Name is the registration name; default the executable's file name,
	// which Lambda requires of external extensions.
	Name string
	// ManagedInstances registers for SHUTDOWN only, as Lambda Managed
	// Instances require, and never holds: the environment is never
	// frozen, so it flushes in the background (every Interval, and on
	// Kick) for its whole life instead.
	ManagedInstances bool
	// CompletionWait caps the hold; zero with Auto means derived from the
	// deadline; Off never holds.
	CompletionWait time.Duration
	Auto, Off      bool
	// InvokeBudget bounds the flush after an invocation and is kept free
	// before the deadline while holding.
	InvokeBudget time.Duration
	// ShutdownMargin is kept before the SHUTDOWN deadline.
	ShutdownMargin time.Duration
	// Strategy is when to flush:
	//   - "end": when each invocation completes, and only then;
	//   - "periodic": every Interval while an invocation runs, and at its
	//     end only once Interval has passed since the last flush: data may
	//     wait across a freeze, which the user chose for fewer exports;
	//   - "continuous": every Interval while an invocation runs, always at
	//     its end, and at its start when data is left over and Interval
	//     has passed since the last flush;
	//   - "default": continuous, except that the start-of-invocation
	//     catch-up adapts to how often the function is invoked: at once
	//     for an infrequent function, by Interval for a frequent one. Nothing is ever left behind a freeze that the budget
	//     could have exported: every strategy but periodic flushes at the
	//     end of every invocation.
	//
	// Data is left over at an invocation's start when it arrived after the
	// previous end-of-invocation flush (platform records for an invocation
	// arrive during the next one) or when that flush ran out of budget.
	// The catch-up runs beside the invocation, so it adds no latency, and
	// keeps the end-of-invocation flush, which the user is billed for,
	// short.
	Strategy string
	// Interval paces the timed flushes.
	Interval time.Duration
	// BeforeShutdown, if set, runs at SHUTDOWN before the final flush,
	// within the same deadline, with the shutdown reason ("spindown",
	// "timeout", "failure"): the platform telemetry waits there for the
	// last report and closes what is still open.
	BeforeShutdown func(ctx context.Context, reason string)
	// Pending reports how many requests are queued; nil means unknown, and
	// a catch-up flush is then never started.
	Pending func() int
	Logger  *slog.Logger
	// Now is time.Now outside tests.
	Now func() time.Time
}

// Extension runs the lifecycle.
type Extension struct {
	client  *lambdaapi.ExtensionClient
	tracker *Tracker
	flusher Flusher
	opts    Options
	log     *slog.Logger
	now     func() time.Time

	lastFlush  time.Time // last flush that succeeded; guarded by flushMu
	lastFailed bool      // whether the last flush failed; guarded by flushMu
	flushMu    sync.Mutex

	cadence cadence // INVOKE times; owned by Run's goroutine

	kick chan struct{} // Kick's coalesced trigger
}

// New returns an Extension speaking to the Extensions API at addr (the value
// of AWS_LAMBDA_RUNTIME_API).
func New(addr string, tracker *Tracker, flusher Flusher, opts Options) *Extension {
	if opts.Name == "" {
		opts.Name = filepath.Base(os.Args[0])
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.InvokeBudget <= 0 {
		opts.InvokeBudget = 3 * time.Second
	}
	if opts.Strategy == "" {
		opts.Strategy = "default"
	}
	if opts.Interval <= 0 {
		opts.Interval = 20 * time.Second
	}
	return &Extension{
		client: lambdaapi.NewExtensionClient(addr, nil), tracker: tracker, flusher: flusher,
		opts: opts, log: opts.Logger, now: opts.Now, kick: make(chan struct{}, 1),
	}
}

// Client is the Extensions API client, registered once Register returned.
// The Telemetry API subscription uses it.
func (e *Extension) Client() *lambdaapi.ExtensionClient { return e.client }

// Register registers the extension. Listeners must be up before: Lambda may
// start the runtime, and the function may export, right after.
func (e *Extension) Register(ctx context.Context) (*lambdaapi.RegisterResponse, error) {
	events := []lambdaapi.EventType{lambdaapi.Invoke, lambdaapi.Shutdown}
	if e.opts.ManagedInstances {
		events = events[1:]
	}
	rr, err := e.client.Register(ctx, e.opts.Name, events...)
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", e.opts.Name, err)
	}
	return rr, nil
}

// InitError reports an unusable configuration; the extension should exit.
func (e *Extension) InitError(ctx context.Context, errType, msg string) error {
	return e.client.InitError(ctx, errType, msg)
}

// ErrShutdown is returned by Run after a SHUTDOWN was handled.
var ErrShutdown = errors.New("lifecycle: shut down")

// Run serves events until SHUTDOWN (returning ErrShutdown) or a failure of
// the Extensions API.
func (e *Extension) Run(ctx context.Context) error {
	stopBackground := func(bool) {}
	if e.opts.ManagedInstances {
		// Never frozen and never sent INVOKE: flush in the background for
		// the environment's whole life.
		stopBackground = e.background(ctx, time.Time{}, e.opts.InvokeBudget, false)
	}
	defer func() { stopBackground(true) }()
	for {
		ev, err := e.client.Next(ctx)
		if err != nil {
			return fmt.Errorf("lifecycle: %w", err)
		}
		switch ev.EventType {
		case lambdaapi.Invoke:
			e.invoke(ctx, ev)
		case lambdaapi.Shutdown:
			// The final flush takes everything, within the deadline.
			stopBackground(true)
			stopBackground = func(bool) {}
			e.shutdown(ev)
			return ErrShutdown
		}
	}
}

// invoke holds until the invocation is complete, then flushes.
func (e *Extension) invoke(ctx context.Context, ev *lambdaapi.Event) {
	e.tracker.Begin(ev.RequestID)
	now := e.now()
	e.cadence.add(now)
	deadline := time.UnixMilli(ev.DeadlineMs)
	remaining := deadline.Sub(now)
	budget := min(e.opts.InvokeBudget, remaining/2)
	if budget <= 0 {
		return // nothing can be done before the deadline; let Lambda proceed
	}
	src := SourceNone
	stopBackground := e.background(ctx, deadline.Add(-budget), budget, e.catchUpDue())
	switch {
	case e.opts.Off || e.opts.ManagedInstances:
	case e.tracker.Degraded():
		e.log.Debug("not holding: no timely completion since the last hold ran out", "requestId", ev.RequestID)
	default:
		holdUntil := deadline.Add(-budget)
		if e.opts.CompletionWait > 0 && !e.opts.Auto {
			holdUntil = minTime(holdUntil, e.now().Add(e.opts.CompletionWait))
		}
		hctx, cancel := context.WithDeadline(ctx, holdUntil)
		src = e.tracker.Wait(hctx, ev.RequestID)
		cancel()
		if src == SourceNone {
			e.log.Warn("no completion signal or runtimeDone before the hold ran out; flushing, and not holding again until a timely signal",
				"requestId", ev.RequestID)
		}
	}
	stopBackground(false)
	if e.opts.Strategy == "periodic" && e.sinceLastFlush() < e.opts.Interval {
		return // the next timed flush, invocation or SHUTDOWN takes it
	}
	fctx, cancel := context.WithTimeout(ctx, min(budget, time.Until(deadline)))
	defer cancel()
	if err := e.flush(fctx, "invoke"); err != nil {
		e.log.Warn("flush after the invocation failed", "requestId", ev.RequestID, "completion", src.String(), "err", err)
	}
}

// flush runs the flusher, one flush at a time, and notes when one worked.
func (e *Extension) flush(ctx context.Context, reason string) error {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	err := e.flusher.Flush(ctx, reason)
	e.lastFailed = err != nil
	if err == nil {
		e.lastFlush = e.now()
	}
	return err
}

func (e *Extension) sinceLastFlush() time.Duration {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	if e.lastFlush.IsZero() {
		return time.Duration(1<<63 - 1)
	}
	return e.now().Sub(e.lastFlush)
}

// catchUpDue says whether to flush leftovers as an invocation starts. With
// "default", a frequent function's leftovers go with its invocation's end
// flush unless Interval has passed (one export instead of two); an
// infrequent one's are flushed at once, since the data is already old and
// the invocation's end may be far off. Never after a failed flush: those
// leftovers are the backend's to take at the end flush (or the breaker's
// to skip), and a second export per invocation would only double what a
// failing backend costs.
func (e *Extension) catchUpDue() bool {
	if e.opts.Pending == nil || e.opts.Pending() == 0 {
		return false
	}
	e.flushMu.Lock()
	failed := e.lastFailed
	e.flushMu.Unlock()
	if failed {
		return false
	}
	switch e.opts.Strategy {
	case "continuous", "periodic":
		return e.sinceLastFlush() >= e.opts.Interval
	case "default":
		return !e.cadence.frequent() || e.sinceLastFlush() >= e.opts.Interval
	}
	return false
}

// Kick says a full batch is waiting. While an invocation runs (or, on
// Lambda Managed Instances, at any time before SHUTDOWN) it is flushed at
// once, bounded like the timed flushes, so a busy invocation does not pile
// its telemetry up until it ends; triggers during a flush coalesce into one
// more. A kick while the environment is between invocations waits for the
// next one. Kick never blocks.
func (e *Extension) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// minBackground is the least time worth starting a background flush in.
const minBackground = 5 * time.Millisecond

// background flushes beside the running function: leftovers at once when
// catchUp says so, whenever Kick says a full batch waits, and every
// Interval (not with "end"). Each flush is bounded by budget and, unless
// zero, by limit, which keeps the end-of-invocation flush's budget free.
// The returned stop function ends it: it waits for a flush in progress, or
// with abort cancels it (its batch goes back to the queue).
func (e *Extension) background(ctx context.Context, limit time.Time, budget time.Duration, catchUp bool) (stop func(abort bool)) {
	ctx, cancel := context.WithCancel(ctx)
	quit, done := make(chan struct{}), make(chan struct{})
	flushNow := func(reason string) bool {
		end := e.now().Add(budget)
		if !limit.IsZero() {
			if limit.Sub(e.now()) < minBackground {
				return false // the end-of-invocation flush needs what is left
			}
			end = minTime(end, limit)
		}
		fctx, cancel := context.WithDeadline(ctx, end)
		defer cancel()
		if err := e.flush(fctx, reason); err != nil {
			e.log.Debug("background flush incomplete", "reason", reason, "err", err)
		}
		return true
	}
	go func() {
		defer close(done)
		if catchUp && !flushNow("catch-up") {
			return
		}
		var tick <-chan time.Time
		if e.opts.Strategy != "end" {
			t := time.NewTicker(e.opts.Interval)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-quit:
				return
			case <-e.kick:
				if !flushNow("batch-full") {
					return
				}
			case <-tick:
				if !flushNow("interval") {
					return
				}
			}
		}
	}()
	return func(abort bool) {
		if abort {
			cancel()
		}
		close(quit)
		<-done
		cancel()
	}
}

// shutdown flushes within the SHUTDOWN deadline less the margin.
func (e *Extension) shutdown(ev *lambdaapi.Event) {
	deadline := time.UnixMilli(ev.DeadlineMs).Add(-e.opts.ShutdownMargin)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if e.opts.BeforeShutdown != nil {
		e.opts.BeforeShutdown(ctx, string(ev.ShutdownReason))
	}
	if err := e.flush(ctx, "shutdown"); err != nil {
		e.log.Warn("final flush incomplete", "reason", ev.ShutdownReason, "err", err)
	}
}

// Frequency rule of the adaptive default strategy.
const (
	cadenceSize       = 20
	frequentThreshold = 120 * time.Second
)

// cadence remembers the last cadenceSize INVOKE times.
type cadence struct {
	times [cadenceSize]time.Time
	n     int // samples held, ≤ cadenceSize
	next  int // ring index of the next sample
}

func (c *cadence) add(t time.Time) {
	c.times[c.next] = t
	c.next = (c.next + 1) % cadenceSize
	c.n = min(c.n+1, cadenceSize)
}

// frequent reports whether the function is invoked often: at least two
// INVOKEs seen, on average at most frequentThreshold apart over the last
// cadenceSize (the rule and figures of the Rust extension's adaptive
// strategy).
func (c *cadence) frequent() bool {
	if c.n < 2 {
		return false
	}
	first := c.times[(c.next-c.n+cadenceSize)%cadenceSize]
	last := c.times[(c.next-1+cadenceSize)%cadenceSize]
	return last.Sub(first)/time.Duration(c.n-1) <= frequentThreshold
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
