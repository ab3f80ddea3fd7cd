package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
	"github.com/lambdaotel/lambdaotel/lambdasim"
)

func TestTracker(t *testing.T) {
	tr := NewTracker()
	// A signal before its INVOKE still counts.
	tr.Complete("a", SourceSignal)
	tr.Begin("a")
	if src := tr.Wait(context.Background(), "a"); src != SourceSignal {
		t.Fatalf("source %v", src)
	}
	// First source wins; "" means the current invocation.
	tr.Begin("b")
	tr.Complete("", SourceRuntimeDone)
	tr.Complete("b", SourceSignal)
	if src := tr.Wait(context.Background(), "b"); src != SourceRuntimeDone {
		t.Fatalf("source %v, want the first", src)
	}
	// A wait that runs out degrades; a timely signal for the current
	// invocation restores.
	tr.Begin("c")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if src := tr.Wait(ctx, "c"); src != SourceNone || !tr.Degraded() {
		t.Fatalf("source %v degraded %v", src, tr.Degraded())
	}
	tr.Begin("d")
	tr.Complete("d", SourceRuntimeDone)
	if !tr.Degraded() {
		t.Fatal("runtimeDone is not a timely signal from the function")
	}
	tr.Complete("", SourceSignal) // "d" again: ignored, already complete
	tr.Begin("e")
	tr.Complete("e", SourceSignal)
	if tr.Degraded() {
		t.Fatal("a signal for the current invocation must restore holding")
	}
	// Only the last 16 are remembered.
	for i := 0; i < rememberCompleted; i++ {
		tr.Complete(string(rune('A'+i)), SourceSignal)
	}
	tr.mu.Lock()
	idx := tr.indexLocked("a")
	tr.mu.Unlock()
	if idx >= 0 {
		t.Fatal("the oldest completion must be forgotten")
	}
}

// flushLog records flushes and the deadlines they were given.
type flushLog struct {
	mu        sync.Mutex
	at        []time.Time
	reasons   []string
	deadlines []time.Time
	block     bool
	notify    chan string   // if set, each flush's reason is sent here
	gate      chan struct{} // if set, each flush then waits for it to close
}

func (f *flushLog) Flush(ctx context.Context, reason string) error {
	d, _ := ctx.Deadline()
	f.mu.Lock()
	f.at = append(f.at, time.Now())
	f.reasons = append(f.reasons, reason)
	f.deadlines = append(f.deadlines, d)
	block, notify, gate := f.block, f.notify, f.gate
	f.mu.Unlock()
	if notify != nil {
		notify <- reason
	}
	if gate != nil {
		<-gate
	}
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (f *flushLog) snapshot() ([]time.Time, []string, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.at...), append([]string(nil), f.reasons...), append([]time.Time(nil), f.deadlines...)
}

type env struct {
	sim      *lambdasim.Sim
	tracker  *Tracker
	flush    *flushLog
	ext      *Extension
	runErr   chan error
	runDone  chan time.Time
	rt       *lambdaapi.RuntimeClient
	onAnswer atomic.Pointer[func(id string)]
}

// start runs lambdasim with an attached runtime and this package's loop as
// the attached external extension "lambdaotel-extension".
func start(t *testing.T, timeout time.Duration, opts Options) *env {
	t.Helper()
	return startSim(t, lambdasim.Config{Timeout: timeout, NoFreeze: true}, opts)
}

// startSim is start with more of lambdasim's configuration.
func startSim(t *testing.T, cfg lambdasim.Config, opts Options) *env {
	t.Helper()
	cfg.Extensions = []lambdasim.Process{{Name: "lambdaotel-extension"}}
	s, err := lambdasim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	started := make(chan error, 1)
	go func() { started <- s.Start(ctx) }()
	if err := s.WaitFor(ctx, func(evs []lambdaapi.TelemetryEvent) bool { return len(evs) > 0 }); err != nil {
		t.Fatal(err)
	}
	e := &env{sim: s, tracker: NewTracker(), flush: &flushLog{}, runErr: make(chan error, 1), runDone: make(chan time.Time, 1),
		rt: lambdaapi.NewRuntimeClient(s.Addr(), nil)}
	opts.Name = "lambdaotel-extension"
	e.ext = New(s.Addr(), e.tracker, e.flush, opts)
	if _, err := e.ext.Register(ctx); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := e.ext.Run(context.Background())
		e.runDone <- time.Now()
		e.runErr <- err
	}()
	go e.serveRuntime(ctx)
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	return e
}

// serveRuntime answers every invocation, then calls onAnswer if set.
func (e *env) serveRuntime(ctx context.Context) {
	for {
		inv, err := e.rt.Next(ctx)
		if err != nil {
			return
		}
		_ = e.rt.Respond(ctx, inv.RequestID, bytes.NewReader([]byte(`"ok"`)))
		if f := e.onAnswer.Load(); f != nil {
			(*f)(inv.RequestID)
		}
	}
}

func (e *env) setOnAnswer(f func(id string)) { e.onAnswer.Store(&f) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// runtimeDone waits until lambdasim recorded the runtime's next for id.
func (e *env) runtimeDone(t *testing.T, id string) {
	t.Helper()
	err := e.sim.WaitFor(testCtx(t), func(evs []lambdaapi.TelemetryEvent) bool {
		for _, ev := range evs {
			if ev.Type == lambdaapi.EventRuntimeDone && bytes.Contains(ev.Record, []byte(id)) {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHoldsUntilTheSignalThenFlushes(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second, Options{Auto: true, InvokeBudget: time.Second})
	for i := 0; i < 3; i++ {
		p, err := e.sim.InvokeAsync(testCtx(t), lambdasim.Request{Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		e.runtimeDone(t, p.RequestID())
		// The runtime is done; without a hold the extension would have
		// flushed and called next already.
		if at, _, _ := e.flush.snapshot(); len(at) != i {
			t.Fatalf("invocation %d: %d flushes before the completion signal", i, len(at))
		}
		signalled := time.Now()
		e.tracker.Complete(p.RequestID(), SourceSignal)
		res, err := p.Wait(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		at, reasons, _ := e.flush.snapshot()
		if len(at) != i+1 || reasons[i] != "invoke" || at[i].Before(signalled) || res.Timeline.End.Before(at[i]) {
			t.Fatalf("invocation %d: flushes %v %v, signalled %v, phase end %v", i, at, reasons, signalled, res.Timeline.End)
		}
	}
}

func TestFallbackThenNoHoldUntilATimelySignal(t *testing.T) {
	t.Parallel()
	e := start(t, 800*time.Millisecond, Options{Auto: true, InvokeBudget: 200 * time.Millisecond})
	invoke := func() *lambdasim.Result {
		res, err := e.sim.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{}`)})
		if err != nil || res.Status != "success" {
			t.Fatalf("%v %+v", err, res)
		}
		return res
	}
	// No signal: the hold runs to the deadline less the flush budget.
	if r := invoke(); r.DurationMs < 500 || r.DurationMs > 790 || !e.tracker.Degraded() {
		t.Fatalf("first invocation %.0f ms, degraded %v: want a hold to ~600 ms", r.DurationMs, e.tracker.Degraded())
	}
	// Degraded: no hold; the function's signal this time restores holding.
	e.setOnAnswer(func(id string) { e.tracker.Complete(id, SourceSignal) })
	if r := invoke(); r.DurationMs > 400 {
		t.Fatalf("second invocation held %.0f ms while degraded", r.DurationMs)
	}
	if e.tracker.Degraded() {
		t.Fatal("a timely signal must restore holding")
	}
	if r := invoke(); r.DurationMs > 400 {
		t.Fatalf("third invocation took %.0f ms despite its signal", r.DurationMs)
	}
	if at, _, _ := e.flush.snapshot(); len(at) != 3 {
		t.Fatalf("%d flushes for 3 invocations", len(at))
	}
}

func TestOffNeverHolds(t *testing.T) {
	t.Parallel()
	e := start(t, 5*time.Second, Options{Off: true, InvokeBudget: time.Second})
	res, err := e.sim.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{}`)})
	if err != nil || res.DurationMs > 1000 {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestShutdownFlushEndsBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	e := start(t, 5*time.Second, Options{Auto: true, InvokeBudget: time.Second, ShutdownMargin: 150 * time.Millisecond})
	e.flush.mu.Lock()
	e.flush.block = true // a backend that never answers
	e.flush.mu.Unlock()
	begin := time.Now()
	go func() { _, _ = e.sim.Shutdown(context.Background()) }()
	var returned time.Time
	select {
	case returned = <-e.runDone:
	case <-testCtx(t).Done():
		t.Fatal("the extension never returned from SHUTDOWN")
	}
	if err := <-e.runErr; !errors.Is(err, ErrShutdown) {
		t.Fatalf("Run: %v", err)
	}
	_, reasons, deadlines := e.flush.snapshot()
	if len(reasons) != 1 || reasons[0] != "shutdown" {
		t.Fatalf("flushes %v", reasons)
	}
	// lambdasim gives 2,000 ms; the flush must stop 150 ms before it.
	if d := deadlines[0].Sub(begin); d < 1500*time.Millisecond || d > 1900*time.Millisecond {
		t.Fatalf("flush deadline %v after SHUTDOWN, want ~1850 ms", d)
	}
	if returned.After(deadlines[0].Add(100 * time.Millisecond)) {
		t.Fatalf("returned %v after the flush deadline", returned.Sub(deadlines[0]))
	}
}

func (e *env) invokeAsync(t *testing.T) *lambdasim.Pending {
	t.Helper()
	p, err := e.sim.InvokeAsync(testCtx(t), lambdasim.Request{Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// continuous (and default) flush on a timer while an invocation runs, then
// at its end.
func TestTimedFlushesDuringALongInvocation(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second, Options{Auto: true, InvokeBudget: time.Second, Strategy: "continuous", Interval: 30 * time.Millisecond})
	e.flush.mu.Lock()
	e.flush.notify = make(chan string, 100)
	e.flush.mu.Unlock()
	p := e.invokeAsync(t)
	e.runtimeDone(t, p.RequestID())
	// Still held (no signal yet): the timer flushes meanwhile.
	for i := 0; i < 2; i++ {
		select {
		case r := <-e.flush.notify:
			if r != "interval" {
				t.Fatalf("flush %q during the hold", r)
			}
		case <-testCtx(t).Done():
			t.Fatal("no timed flush during a long invocation")
		}
	}
	e.tracker.Complete(p.RequestID(), SourceSignal)
	if _, err := p.Wait(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	_, reasons, _ := e.flush.snapshot()
	if reasons[len(reasons)-1] != "invoke" {
		t.Fatalf("flushes %v: the invocation's end must flush too", reasons)
	}
}

// end flushes only when an invocation completes.
func TestEndDoesNotFlushMidInvocation(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second, Options{Auto: true, InvokeBudget: time.Second, Strategy: "end", Interval: 10 * time.Millisecond})
	p := e.invokeAsync(t)
	e.runtimeDone(t, p.RequestID())
	time.Sleep(100 * time.Millisecond) // the interval being measured: ten timer periods
	if at, _, _ := e.flush.snapshot(); len(at) != 0 {
		t.Fatalf("%d flushes before the invocation completed", len(at))
	}
	e.tracker.Complete(p.RequestID(), SourceSignal)
	if _, err := p.Wait(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, reasons, _ := e.flush.snapshot(); len(reasons) != 1 || reasons[0] != "invoke" {
		t.Fatalf("flushes %v", reasons)
	}
}

// periodic skips the end-of-invocation flush when one ran within the
// interval: the data waits for the next flush.
func TestPeriodicSkipsARecentFlush(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second, Options{Auto: true, InvokeBudget: time.Second, Strategy: "periodic", Interval: time.Hour})
	e.setOnAnswer(func(id string) { e.tracker.Complete(id, SourceSignal) })
	for i := 0; i < 3; i++ {
		if _, err := e.sim.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, reasons, _ := e.flush.snapshot(); len(reasons) != 1 {
		t.Fatalf("flushes %v: only the first invocation's, the others are within the interval", reasons)
	}
}

// A function that announced it signals every invocation is waited for: its
// runtime being done (runtimeDone) does not end the hold, its signal does.
func TestAnnouncedFunctionIsWaitedForPastRuntimeDone(t *testing.T) {
	tr := NewTracker()
	tr.Announce()
	tr.Begin("a")
	tr.Complete("a", SourceRuntimeDone)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if src := tr.Wait(ctx, "a"); src != SourceNone {
		t.Fatalf("runtimeDone completed an announced function's invocation (%v)", src)
	}
	tr.Complete("a", SourceSignal)
	if src := tr.Wait(context.Background(), "a"); src != SourceSignal {
		t.Fatalf("source %v", src)
	}
}

func TestCadence(t *testing.T) {
	var c cadence
	t0 := time.Unix(1_000_000, 0)
	if c.frequent() {
		t.Fatal("no samples: infrequent")
	}
	c.add(t0)
	if c.frequent() {
		t.Fatal("one sample: infrequent")
	}
	c.add(t0.Add(frequentThreshold))
	if !c.frequent() {
		t.Fatal("two samples exactly the threshold apart: frequent")
	}
	c.add(t0.Add(2*frequentThreshold + time.Second))
	if c.frequent() {
		t.Fatal("average just over the threshold: infrequent")
	}
	// Only the last cadenceSize count: a burst of quick invocations after
	// a long quiet spell makes the function frequent again.
	last := t0.Add(time.Hour)
	for i := 0; i < cadenceSize; i++ {
		last = last.Add(time.Second)
		c.add(last)
	}
	if !c.frequent() || c.n != cadenceSize {
		t.Fatalf("frequent %v, n %d", c.frequent(), c.n)
	}
	// One slow interval among twenty quick ones is averaged, not decisive.
	c.add(last.Add(10 * time.Minute))
	if got := c.times[(c.next-1+cadenceSize)%cadenceSize]; !got.Equal(last.Add(10 * time.Minute)) {
		t.Fatalf("newest sample %v", got)
	}
	if !c.frequent() {
		t.Fatal("18 one-second intervals and one of ten minutes average 32.5 s: frequent")
	}
}

// pending is a queue length the test sets.
type pending struct{ n atomic.Int64 }

func (p *pending) get() int { return int(p.n.Load()) }

// With "default", leftovers found as an infrequent function's invocation
// starts are flushed at once, beside the invocation (reason "catch-up"),
// and the invocation's end flushes too.
func TestDefaultCatchesUpLeftoversOfAnInfrequentFunction(t *testing.T) {
	t.Parallel()
	var p pending
	p.n.Store(1)
	e := start(t, 10*time.Second, Options{Auto: true, InvokeBudget: time.Second, Strategy: "default", Interval: time.Hour, Pending: p.get})
	e.flush.mu.Lock()
	e.flush.notify = make(chan string, 10)
	e.flush.mu.Unlock()
	inv := e.invokeAsync(t)
	select {
	case r := <-e.flush.notify:
		if r != "catch-up" {
			t.Fatalf("first flush %q, want catch-up", r)
		}
	case <-testCtx(t).Done():
		t.Fatal("no catch-up flush while the invocation is held")
	}
	e.tracker.Complete(inv.RequestID(), SourceSignal)
	if _, err := inv.Wait(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, reasons, deadlines := e.flush.snapshot(); len(reasons) != 2 || reasons[1] != "invoke" {
		t.Fatalf("flushes %v", reasons)
	} else if !deadlines[0].Before(deadlines[1]) {
		t.Fatalf("the catch-up's deadline %v must end before the end flush's %v", deadlines[0], deadlines[1])
	}
}

// With "default", a frequent function's leftovers wait for the end flush
// while the interval has not passed: one export per invocation, not two.
// With "end" there is never a catch-up.
func TestCatchUpRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		strategy string
		want     []string // flushes of three quick invocations with data always pending
	}{
		{"default", []string{"catch-up", "invoke", "invoke", "invoke"}},
		{"continuous", []string{"catch-up", "invoke", "invoke", "invoke"}}, // never flushed: the interval has passed
		{"periodic", []string{"catch-up"}},                                 // the ends are within the interval of it
		{"end", []string{"invoke", "invoke", "invoke"}},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			t.Parallel()
			var p pending
			p.n.Store(1)
			e := start(t, 10*time.Second, Options{Auto: true, InvokeBudget: time.Second, Strategy: tc.strategy, Interval: time.Hour, Pending: p.get})
			e.setOnAnswer(func(id string) { e.tracker.Complete(id, SourceSignal) })
			for i := 0; i < 3; i++ {
				if _, err := e.sim.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{}`)}); err != nil {
					t.Fatal(err)
				}
			}
			if _, reasons, _ := e.flush.snapshot(); !slices.Equal(reasons, tc.want) {
				t.Fatalf("flushes %v, want %v", reasons, tc.want)
			}
		})
	}
}

// Nothing pending, nothing to catch up.
func TestNoCatchUpWithoutLeftovers(t *testing.T) {
	t.Parallel()
	var p pending
	e := start(t, 10*time.Second, Options{Auto: true, InvokeBudget: time.Second, Strategy: "default", Interval: time.Hour, Pending: p.get})
	e.setOnAnswer(func(id string) { e.tracker.Complete(id, SourceSignal) })
	if _, err := e.sim.Invoke(testCtx(t), lambdasim.Request{Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, reasons, _ := e.flush.snapshot(); !slices.Equal(reasons, []string{"invoke"}) {
		t.Fatalf("flushes %v", reasons)
	}
}

// The decision itself, on a fake clock: what distinguishes "default" from
// "continuous" is an infrequent function whose last flush was recent.
func TestCatchUpDue(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	for _, tc := range []struct {
		strategy  string
		gap       time.Duration // between the two INVOKEs
		sinceLast time.Duration // since the last successful flush
		pending   int
		want      bool
	}{
		{"default", 10 * time.Minute, time.Second, 1, true},     // infrequent: at once
		{"default", time.Second, time.Second, 1, false},         // frequent, interval not passed
		{"default", time.Second, 2 * time.Minute, 1, true},      // frequent, interval passed
		{"default", 10 * time.Minute, time.Second, 0, false},    // nothing left over
		{"continuous", 10 * time.Minute, time.Second, 1, false}, // by interval only
		{"continuous", time.Second, 2 * time.Minute, 1, true},
		{"periodic", time.Second, 2 * time.Minute, 1, true},
		{"end", 10 * time.Minute, time.Hour, 1, false},
	} {
		now := t0.Add(tc.gap)
		e := &Extension{now: func() time.Time { return now }, lastFlush: now.Add(-tc.sinceLast),
			opts: Options{Strategy: tc.strategy, Interval: time.Minute, Pending: func() int { return tc.pending }}}
		e.cadence.add(t0)
		e.cadence.add(now)
		if got := e.catchUpDue(); got != tc.want {
			t.Errorf("%s, INVOKEs %v apart, last flush %v ago, %d pending: catch-up %v, want %v",
				tc.strategy, tc.gap, tc.sinceLast, tc.pending, got, tc.want)
		}
	}
}

// After a failed flush the leftovers wait for the end flush: a catch-up
// would double the exports a failing backend costs.
func TestNoCatchUpAfterAFailedFlush(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	e := &Extension{now: func() time.Time { return now }, lastFailed: true,
		opts: Options{Strategy: "default", Interval: time.Minute, Pending: func() int { return 1 }}}
	e.cadence.add(now)
	if e.catchUpDue() {
		t.Fatal("catch-up after a failed flush")
	}
}

// A full batch (Kick) is flushed while the invocation runs, with every
// strategy, and kicks during a flush coalesce into one more.
func TestKickFlushesDuringTheInvocation(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second, Options{Auto: true, InvokeBudget: time.Second, Strategy: "end"})
	notify, gate := make(chan string, 10), make(chan struct{})
	e.flush.mu.Lock()
	e.flush.notify, e.flush.gate = notify, gate
	e.flush.mu.Unlock()
	p := e.invokeAsync(t)
	e.runtimeDone(t, p.RequestID())
	e.ext.Kick()
	if r := <-notify; r != "batch-full" {
		t.Fatalf("flush %q, want batch-full", r)
	}
	// That flush is held at the gate; these coalesce into one more.
	for range 5 {
		e.ext.Kick()
	}
	close(gate)
	if r := <-notify; r != "batch-full" {
		t.Fatalf("flush %q, want the coalesced batch-full", r)
	}
	e.tracker.Complete(p.RequestID(), SourceSignal)
	if _, err := p.Wait(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, reasons, _ := e.flush.snapshot(); !slices.Equal(reasons, []string{"batch-full", "batch-full", "invoke"}) {
		t.Fatalf("flushes %v", reasons)
	}
}

// On Lambda Managed Instances there is no INVOKE and no freeze: full
// batches and the interval are flushed in the background all along, and
// SHUTDOWN cancels a background flush in progress for the final one.
func TestManagedInstancesFlushInTheBackground(t *testing.T) {
	t.Parallel()
	var reason string
	var hookDeadline time.Time
	e := startSim(t, lambdasim.Config{Timeout: 10 * time.Second, MaxConcurrency: 2},
		Options{ManagedInstances: true, InvokeBudget: time.Hour, Strategy: "default", Interval: time.Hour, ShutdownMargin: 100 * time.Millisecond,
			BeforeShutdown: func(ctx context.Context, r string) { reason = r; hookDeadline, _ = ctx.Deadline() }})
	e.flush.mu.Lock()
	e.flush.notify = make(chan string, 10)
	e.flush.block = true // a backend that never answers
	e.flush.mu.Unlock()
	e.ext.Kick()
	if r := <-e.flush.notify; r != "batch-full" {
		t.Fatalf("flush %q, want batch-full", r)
	}
	began := time.Now()
	if _, err := e.sim.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if r := <-e.flush.notify; r != "shutdown" {
		t.Fatalf("flush %q, want shutdown", r)
	}
	// lambdasim gives extensions 2 s; the final flush got all of it but
	// the margin, and Run returned within it.
	if ended := <-e.runDone; ended.Sub(began) > 2*time.Second {
		t.Fatalf("Run returned %v after SHUTDOWN: the background flush kept it past the deadline", ended.Sub(began))
	}
	if err := <-e.runErr; !errors.Is(err, ErrShutdown) {
		t.Fatalf("Run: %v", err)
	}
	// BeforeShutdown ran first, with the reason and the final flush's deadline.
	if _, _, deadlines := e.flush.snapshot(); reason != "spindown" || !hookDeadline.Equal(deadlines[len(deadlines)-1]) {
		t.Fatalf("BeforeShutdown got %q, deadline %v (final flush's %v)", reason, hookDeadline, deadlines[len(deadlines)-1])
	}
}

// A crashed or timed-out runtime will never signal: its runtimeDone ends
// the hold even for a function that announced it signals.
func TestRuntimeFailedCompletesAnAnnouncedFunction(t *testing.T) {
	tr := NewTracker()
	tr.Announce()
	tr.Begin("a")
	tr.Complete("a", SourceRuntimeFailed)
	if src := tr.Wait(context.Background(), "a"); src != SourceRuntimeFailed {
		t.Fatalf("source %v", src)
	}
}
