package lambdasim

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// Request is one invocation's input.
type Request struct {
	// Payload is the event, normally JSON.
	Payload []byte
	// TraceHeader is the X-Ray header the caller sent; empty means lambdasim
	// starts a new sampled trace.
	TraceHeader string
	// ClientContext and CognitoIdentity are passed through as JSON.
	ClientContext   string
	CognitoIdentity string
	// TenantID is passed through for tenant-isolated functions.
	TenantID string
}

// Result is what happened to one invocation.
type Result struct {
	RequestID string `json:"requestId"`
	// Status is success, error (the function reported an error), timeout or
	// failure (the runtime or an extension crashed, or init failed).
	Status    string `json:"status"`
	ErrorType string `json:"errorType,omitempty"`
	// Payload is the response as the caller receives it: the function's
	// response, or the error document.
	Payload []byte `json:"-"`
	// Streamed is true when the runtime streamed the response.
	Streamed bool `json:"streamed,omitempty"`

	DurationMs          float64  `json:"durationMs"`
	ResponseLatencyMs   float64  `json:"responseLatencyMs"`
	ExtensionOverheadMs float64  `json:"extensionOverheadMs"`
	BilledDurationMs    int64    `json:"billedDurationMs"`
	MaxMemoryUsedMB     int      `json:"maxMemoryUsedMB"`
	InitDurationMs      *float64 `json:"initDurationMs,omitempty"`
	// Timeline has the moments the durations are measured between.
	Timeline Timeline `json:"timeline"`
	// Reset is set when the invocation ended in a reset of the environment.
	Reset *ShutdownResult `json:"reset,omitempty"`
}

// Timeline is when each step of an invocation happened, on lambdasim's
// clock (the machine's wall clock, with the monotonic reading kept in
// process). Steps that did not happen are zero.
type Timeline struct {
	// Handed is when the runtime received the event.
	Handed time.Time `json:"handed,omitzero"`
	// ResponseStart and ResponseEnd bound the runtime's POST of its answer
	// (response or error), as lambdasim read it: a response "reaches the
	// Runtime API" at ResponseEnd.
	ResponseStart time.Time `json:"responseStart,omitzero"`
	ResponseEnd   time.Time `json:"responseEnd,omitzero"`
	// RuntimeDone is when the runtime called next again.
	RuntimeDone time.Time `json:"runtimeDone,omitzero"`
	// End is when the invoke phase ended: the last of the runtime's and the
	// extensions' next calls, or the timeout or failure.
	End time.Time `json:"end"`
}

// MarshalJSON writes the result with Payload as "response": the JSON value
// itself when it is JSON, else a JSON string.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	var resp json.RawMessage
	switch {
	case len(r.Payload) == 0:
		resp = json.RawMessage("null")
	case json.Valid(r.Payload):
		resp = r.Payload
	default:
		resp, _ = json.Marshal(string(r.Payload))
	}
	return json.Marshal(struct {
		plain
		Response json.RawMessage `json:"response"`
	}{plain(r), resp})
}

// invocation is one invocation in progress.
type invocation struct {
	id           string
	invocationID string
	req          Request
	trace        string
	arn          string
	deadline     time.Time
	gen          int

	created    time.Time
	handed     time.Time // given to the runtime
	respStart  time.Time
	respEnd    time.Time
	runtimeEnd time.Time // runtime called next
	extEnd     time.Time // last extension called next

	responding  bool
	responded   bool
	runtimeDone bool
	pendingExts map[*extension]bool
	finished    bool
	counted     bool // included in Sim.inflight

	status    string
	errorType string
	// peakKiB is the environment's peak RSS read just after the runtime had
	// its answer, off the critical path; zero until then.
	peakKiB  int64
	payload  []byte
	streamed bool
	produced int64

	respondedCh chan struct{} // closed when the caller's answer is known
	finishedCh  chan struct{} // closed when the report is made
	doneCh      chan struct{} // closed when any reset or freeze is over
	result      *Result
}

// Pending is an invocation that has been handed to the environment.
type Pending struct {
	s   *Sim
	inv *invocation
}

// RequestID is the invocation's request id.
func (p *Pending) RequestID() string { return p.inv.id }

// Response waits until the runtime has answered (or the invocation ended
// otherwise) and returns what the caller receives. Like Lambda, it does not
// wait for extensions.
func (p *Pending) Response(ctx context.Context) (status string, payload []byte, err error) {
	select {
	case <-p.inv.respondedCh:
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.inv.status, p.inv.payload, nil
}

// Wait waits for the whole invoke phase, extensions included, and any reset
// it caused.
func (p *Pending) Wait(ctx context.Context) (*Result, error) {
	select {
	case <-p.inv.doneCh:
		return p.inv.result, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Invoke runs one invocation and waits for its whole invoke phase.
func (s *Sim) Invoke(ctx context.Context, req Request) (*Result, error) {
	// The caller waits anyway, so it runs the invocation's tail itself: one
	// goroutine hand-off less per invocation than InvokeAsync.
	p, tail, err := s.begin(ctx, req)
	if err != nil {
		return nil, err
	}
	tail()
	return p.Wait(ctx)
}

// InvokeAsync hands an invocation to the environment and returns at once.
// In classic mode invocations run one at a time: a second InvokeAsync waits
// for the first to finish. The invocation itself is bounded by the function
// timeout, not by ctx, which bounds only the wait to start.
func (s *Sim) InvokeAsync(ctx context.Context, req Request) (*Pending, error) {
	p, tail, err := s.begin(ctx, req)
	if err != nil {
		return nil, err
	}
	go tail()
	return p, nil
}

// begin hands an invocation to the environment. tail must then run exactly
// once: it waits for the invocation to end (or time out), resets or freezes
// the environment, and releases what begin acquired.
func (s *Sim) begin(ctx context.Context, req Request) (*Pending, func(), error) {
	if err := s.acquire(ctx); err != nil {
		return nil, nil, err
	}
	lmi := s.cfg.MaxConcurrency > 0
	held := true
	defer func() {
		if held {
			s.release()
		}
	}()

	s.mu.Lock()
	state, broken := s.state, s.broken
	s.mu.Unlock()
	if state == stateShutdown {
		return nil, nil, ErrClosed
	}
	// Serve the APIs before any init: the processes it starts are given
	// their address.
	if err := s.Listen(); err != nil {
		return nil, nil, err
	}
	var initRes *initOutcome
	if broken != "" {
		s.resetEnv(lambdaapi.ParseShutdownReason(broken))
		state = stateDown
	}
	if state == stateDown {
		if err := s.initEnv(ctx, lambdaapi.PhaseInvoke); err != nil {
			initRes = &initOutcome{err: err}
		}
	}

	s.thaw()
	now := time.Now()
	inv := &invocation{
		id:           newUUID(),
		invocationID: newUUID(),
		req:          req,
		trace:        req.TraceHeader,
		arn:          fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.cfg.Region, s.cfg.AccountID, s.cfg.FunctionName),
		deadline:     now.Add(s.cfg.Timeout),
		created:      now,
		pendingExts:  map[*extension]bool{},
		respondedCh:  make(chan struct{}),
		finishedCh:   make(chan struct{}),
		doneCh:       make(chan struct{}),
	}
	if inv.trace == "" {
		inv.trace = newTraceHeader(now)
	}
	p := &Pending{s: s, inv: inv}

	if initRes != nil {
		// Lambda answers an invocation whose init failed with that failure.
		ie, _ := initRes.err.(*InitError)
		s.mu.Lock()
		inv.gen = s.gen
		s.active[inv.id] = inv
		errType, msg := "Runtime.Unknown", initRes.err.Error()
		if ie != nil {
			errType, msg = ie.ErrorType, ie.Message
		}
		s.hub.emit(now, lambdaapi.EventStart, s.startRecord(inv))
		s.finishLocked(inv, lambdaapi.StatusFailure, errType, msg)
		s.mu.Unlock()
		held = false
		return p, func() {
			defer s.release()
			s.complete(inv)
		}, nil
	}

	s.mu.Lock()
	inv.gen = s.gen
	s.active[inv.id] = inv
	s.hub.emit(now, lambdaapi.EventStart, s.startRecord(inv))
	if !lmi {
		for _, e := range s.exts {
			if e.invoke && !e.errored {
				inv.pendingExts[e] = true
				e.queue = append(e.queue, pendingEvent{inv: inv, ev: lambdaapi.Event{
					EventType:          lambdaapi.Invoke,
					DeadlineMs:         inv.deadline.UnixMilli(),
					RequestID:          inv.id,
					InvokedFunctionARN: inv.arn,
					Tracing:            &lambdaapi.Tracing{Type: lambdaapi.TracingTypeXRay, Value: inv.trace},
				}})
			}
		}
	}
	s.queue = append(s.queue, inv)
	s.inflight++
	inv.counted = true
	s.broadcastLocked()
	s.mu.Unlock()

	if lmi {
		// Managed Instances run invocations concurrently: only the start is
		// serialised.
		s.release()
	}
	held = false
	return p, func() {
		if !lmi {
			defer s.release()
		}
		timer := time.NewTimer(time.Until(inv.deadline))
		select {
		case <-inv.finishedCh:
		case <-timer.C:
			s.timeout(inv)
		}
		timer.Stop()
		s.complete(inv)
	}, nil
}

type initOutcome struct{ err error }

func (s *Sim) startRecord(inv *invocation) lambdaapi.Start {
	rec := lambdaapi.Start{RequestID: inv.id, Version: s.cfg.FunctionVersion, TenantID: inv.req.TenantID,
		Tracing: &lambdaapi.Tracing{Type: lambdaapi.TracingTypeXRay, Value: inv.trace}}
	if s.cfg.MaxConcurrency > 0 {
		rec.FunctionARN = inv.arn
	}
	return rec
}

// timeout ends inv as timed out, if it has not ended yet.
func (s *Sim) timeout(inv *invocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inv.finished {
		return
	}
	msg := fmt.Sprintf("%s %s Task timed out after %.2f seconds",
		time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, s.cfg.Timeout.Seconds())
	s.finishLocked(inv, lambdaapi.StatusTimeout, lambdaapi.ErrTypeSandboxTimeout, msg)
	if s.broken == "" {
		s.broken = string(lambdaapi.ShutdownTimeout)
	}
}

// finishLocked ends inv abnormally: it answers the caller if the runtime has
// not, and emits the runtimeDone and report the platform would.
func (s *Sim) finishLocked(inv *invocation, status, errType, msg string) {
	if inv.finished {
		return
	}
	now := time.Now()
	if !inv.responded {
		inv.responded = true
		inv.status, inv.errorType = status, errType
		inv.payload, _ = json.Marshal(lambdaapi.ErrorResponse{ErrorMessage: msg, ErrorType: errType})
		inv.respEnd = now
		close(inv.respondedCh)
	} else if inv.status == lambdaapi.StatusSuccess || inv.status == lambdaapi.StatusError {
		// The caller already has its answer; the invocation still failed.
		inv.status, inv.errorType = status, errType
	}
	if !inv.runtimeDone && s.cfg.MaxConcurrency == 0 && !inv.handed.IsZero() {
		inv.runtimeDone = true
		inv.runtimeEnd = now
		s.hub.emit(now, lambdaapi.EventRuntimeDone, s.runtimeDoneRecord(inv))
	}
	if s.rt.current == inv {
		s.rt.current = nil
	}
	for e := range inv.pendingExts {
		if e.current == inv {
			e.current = nil
		}
	}
	inv.pendingExts = map[*extension]bool{}
	inv.extEnd = now
	s.reportLocked(inv, now)
}

// maybeCompleteLocked emits the report and ends inv once the runtime and every
// extension have called next.
func (s *Sim) maybeCompleteLocked(inv *invocation) {
	if inv.finished || !inv.responded {
		return
	}
	if s.cfg.MaxConcurrency == 0 && (!inv.runtimeDone || len(inv.pendingExts) > 0) {
		return
	}
	end := inv.runtimeEnd
	if inv.extEnd.After(end) {
		end = inv.extEnd
	}
	if s.cfg.MaxConcurrency > 0 {
		end = inv.respEnd
	}
	s.reportLocked(inv, end)
}

// reportLocked emits platform.report and marks inv finished. With freeze on,
// delivery pauses in the same step: Lambda freezes right after the report is
// made, so subscribers receive it after the next thaw.
func (s *Sim) reportLocked(inv *invocation, end time.Time) {
	inv.finished = true
	close(inv.finishedCh)
	start := inv.handed
	if start.IsZero() {
		start = inv.created
	}
	dur := durMs(end.Sub(start))
	res := &Result{
		RequestID:        inv.id,
		Status:           inv.status,
		ErrorType:        inv.errorType,
		Payload:          inv.payload,
		Streamed:         inv.streamed,
		DurationMs:       dur,
		BilledDurationMs: int64(math.Ceil(dur)),
		MaxMemoryUsedMB:  s.maxMemoryUsedMBLocked(inv),
	}
	if !inv.respEnd.IsZero() {
		res.ResponseLatencyMs = durMs(inv.respEnd.Sub(start))
	}
	if !inv.extEnd.IsZero() && !inv.respEnd.IsZero() && inv.extEnd.After(inv.respEnd) && len(s.invokeExtsLocked()) > 0 {
		res.ExtensionOverheadMs = durMs(inv.extEnd.Sub(inv.respEnd))
	}
	if res.BilledDurationMs < 1 {
		res.BilledDurationMs = 1
	}
	// The first report after an init carries its duration, once.
	res.InitDurationMs, s.initDurationMs = s.initDurationMs, nil
	res.Timeline = Timeline{Handed: inv.handed, ResponseStart: inv.respStart, ResponseEnd: inv.respEnd, RuntimeDone: inv.runtimeEnd, End: end}
	inv.result = res
	rec := lambdaapi.Report{
		RequestID: inv.id, Status: inv.status, ErrorType: inv.errorType, TenantID: inv.req.TenantID,
		Metrics: lambdaapi.ReportMetrics{
			DurationMs: dur, BilledDurationMs: float64(res.BilledDurationMs),
			MemorySizeMB: s.cfg.MemoryMB, MaxMemoryUsedMB: res.MaxMemoryUsedMB,
			InitDurationMs: res.InitDurationMs,
		},
		Tracing: &lambdaapi.Tracing{Type: lambdaapi.TracingTypeXRay, Value: inv.trace},
	}
	if !inv.runtimeEnd.IsZero() && inv.extEnd.After(inv.runtimeEnd) {
		rec.Spans = []lambdaapi.Span{{Name: "extensionOverhead", Start: inv.runtimeEnd, DurationMs: durMs(inv.extEnd.Sub(inv.runtimeEnd))}}
	}
	if s.freezes() && inv.status != lambdaapi.StatusTimeout && inv.status != lambdaapi.StatusFailure {
		s.hub.pauseWith(end, lambdaapi.EventReport, rec)
	} else {
		s.hub.emit(end, lambdaapi.EventReport, rec)
	}
	s.broadcastLocked()
}

func (s *Sim) freezes() bool { return !s.cfg.NoFreeze && s.cfg.MaxConcurrency == 0 }

func (s *Sim) invokeExtsLocked() []*extension {
	var out []*extension
	for _, e := range s.exts {
		if e.invoke {
			out = append(out, e)
		}
	}
	return out
}

// maxMemoryUsedMBLocked is the peak resident size of the environment's
// processes (the sum of each one's peak), rounded up to whole MB, as Lambda
// reports the sandbox's peak. The figure read when the runtime answered
// serves when no extension worked after it; otherwise it is read now, so
// that extensions' post-invocation work counts.
func (s *Sim) maxMemoryUsedMBLocked(inv *invocation) int {
	kib := inv.peakKiB
	if kib == 0 || !inv.extEnd.IsZero() && inv.extEnd.After(inv.respEnd) {
		kib = peakKiB(s.allProcsLocked())
	}
	return int((kib + 1023) / 1024)
}

func peakKiB(procs []*process) int64 {
	var kib int64
	for _, p := range procs {
		kib += p.peakRSSKiB()
	}
	return kib
}

func (s *Sim) runtimeDoneRecord(inv *invocation) lambdaapi.RuntimeDone {
	rec := lambdaapi.RuntimeDone{
		RequestID: inv.id, Status: inv.status, ErrorType: inv.errorType, TenantID: inv.req.TenantID,
		Tracing: &lambdaapi.Tracing{Type: lambdaapi.TracingTypeXRay, Value: inv.trace},
	}
	if inv.handed.IsZero() {
		return rec
	}
	rec.Metrics = &lambdaapi.RuntimeDoneMetrics{DurationMs: durMs(inv.runtimeEnd.Sub(inv.handed)), ProducedBytes: inv.produced}
	if !inv.respStart.IsZero() {
		rec.Spans = []lambdaapi.Span{
			{Name: "responseLatency", Start: inv.handed, DurationMs: durMs(inv.respStart.Sub(inv.handed))},
			{Name: "responseDuration", Start: inv.respStart, DurationMs: durMs(inv.respEnd.Sub(inv.respStart))},
			{Name: "runtimeOverhead", Start: inv.respEnd, DurationMs: durMs(inv.runtimeEnd.Sub(inv.respEnd))},
		}
	}
	return rec
}

// complete runs after inv finished: it resets a broken environment or
// freezes a healthy one, then releases the caller.
// drainOutput waits (briefly) until everything the processes have written
// so far has been read: output written before the freeze belongs to the
// invocation that wrote it (an extension's last lines, or the runtime's
// after its next, as an in-process extension exporting after the response
// writes them), not to whenever the environment thaws.
func (s *Sim) drainOutput() {
	s.mu.Lock()
	procs := s.allProcsLocked()
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), logDrainLimit)
	defer cancel()
	for _, p := range procs {
		p.stdout.drained(ctx)
		p.stderr.drained(ctx)
	}
}

func (s *Sim) complete(inv *invocation) {
	s.mu.Lock()
	delete(s.active, inv.id)
	for i, q := range s.queue {
		if q == inv {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
	broken := s.broken
	lmi := s.cfg.MaxConcurrency > 0
	s.mu.Unlock()
	if broken != "" && !lmi {
		inv.result.Reset = s.resetEnv(lambdaapi.ParseShutdownReason(broken))
	} else if s.freezes() {
		s.drainOutput()
		s.freeze()
	}
	s.mu.Lock()
	if inv.counted {
		s.inflight--
	}
	s.broadcastLocked()
	s.mu.Unlock()
	close(inv.doneCh)
}
