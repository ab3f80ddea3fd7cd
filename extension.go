package lambdaotel

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// internalExtension is the extension "otel-internal", a goroutine of the
// function's process. In async mode it registers for INVOKE and holds its
// next until the invocation's response has reached the Runtime API and its
// spans are exported: Lambda cannot freeze the process before every
// extension has called next, so nothing is left behind a freeze. In finalize
// mode it registers for no events: registering at all is what makes Lambda
// send SIGTERM before it kills the runtime.
type internalExtension struct {
	t      *Telemetry
	client *lambdaapi.ExtensionClient

	// completed receives each invocation whose response has been sent.
	// Buffered: the signal may come before the INVOKE event has been read.
	completed chan completion

	mu   sync.Mutex
	dead bool // the loop ended; Wrap falls back to exporting itself
}

// flushMargin is kept before an invocation's deadline so that a flush that
// runs late is abandoned rather than turning the invocation into a timeout.
const flushMargin = 50 * time.Millisecond

// completion is an invocation whose response has been sent, with its span,
// which the completion signal passes on to an external extension.
type completion struct {
	requestID string
	span      trace.SpanContext
}

func registerInternalExtension(ctx context.Context, t *Telemetry) (*internalExtension, error) {
	e := &internalExtension{t: t, client: lambdaapi.NewExtensionClient(t.cfg.runtimeAPI, nil), completed: make(chan completion, 64)}
	var events []lambdaapi.EventType
	if t.mode == ModeAsync {
		events = []lambdaapi.EventType{lambdaapi.Invoke}
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := e.client.Register(rctx, InternalExtensionName, events...); err != nil {
		return nil, fmt.Errorf("register %s: %w", InternalExtensionName, err)
	}
	go e.loop()
	return e, nil
}

// loop serves lifecycle events until the API fails (the process is being
// torn down).
func (e *internalExtension) loop() {
	for {
		// No timeout: next legitimately blocks across freezes.
		ev, err := e.client.Next(context.Background())
		if err != nil {
			e.mu.Lock()
			e.dead = true
			e.mu.Unlock()
			e.t.log.Debug("internal extension stopped", "err", err)
			return
		}
		if ev.EventType != lambdaapi.Invoke {
			continue
		}
		deadline := time.UnixMilli(ev.DeadlineMs).Add(-flushMargin)
		span := e.await(ev.RequestID, deadline)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		if err := e.t.ForceFlush(ctx); err != nil {
			e.t.log.Warn("flush after the response failed", "requestId", ev.RequestID, "err", err)
		}
		e.t.signalComplete(trace.ContextWithSpanContext(ctx, span), ev.RequestID)
		cancel()
	}
}

// await waits until the response of requestID has been sent, or deadline,
// and returns the invocation's span (invalid if it was not seen).
func (e *internalExtension) await(requestID string, deadline time.Time) trace.SpanContext {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case c := <-e.completed:
			if c.requestID == requestID {
				return c.span
			}
			// A stale signal of an invocation whose INVOKE wait already
			// gave up: skip it.
		case <-timer.C:
			e.t.log.Warn("no completion signal before the deadline; flushing anyway", "requestId", requestID)
			return trace.SpanContext{}
		}
	}
}

// complete signals that requestID's response has been sent; span is the
// invocation's. It never blocks: with the buffer full, the oldest signal
// makes room.
func (e *internalExtension) complete(requestID string, span trace.SpanContext) {
	c := completion{requestID, span}
	for {
		select {
		case e.completed <- c:
			return
		default:
			select {
			case <-e.completed:
			default:
			}
		}
	}
}

// alive reports whether the extension loop still runs.
func (e *internalExtension) alive() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.dead
}

// termBudget is how long a SIGTERM flush may take: Lambda gives a runtime
// with an internal extension 500 ms before SIGKILL.
const termBudget = 450 * time.Millisecond

// handleSIGTERM flushes and shuts tracing down when Lambda sends SIGTERM,
// then exits unless configured not to. It returns a function that stops
// listening.
func (t *Telemetry) handleSIGTERM() func() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	stop := make(chan struct{})
	var once sync.Once
	go func() {
		select {
		case <-sig:
		case <-stop:
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), termBudget)
		if err := t.provider.Shutdown(ctx); err != nil {
			t.log.Warn("flush at SIGTERM failed", "err", err)
		}
		cancel()
		if t.cfg.exitOnTerm {
			os.Exit(0)
		}
	}()
	return func() {
		once.Do(func() {
			signal.Stop(sig)
			close(stop)
		})
	}
}
