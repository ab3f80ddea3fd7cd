package lambdaotel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel/trigger"
)

// coldStart is true until the process's first invocation: a fact about the
// process, shared by every Telemetry in it.
var coldStart atomic.Bool

func init() { coldStart.Store(true) }

// DefaultSpanName names the invocation's span when the trigger gives none.
const DefaultSpanName = "lambda-invocation"

// Wrap instruments handler: every invocation gets a SERVER span named and
// attributed from its trigger, parented to the caller's trace context, and
// exported as the processing mode says. Pass the result to lambda.Start.
//
// The returned function takes the raw event (so that any event's headers can
// carry a trace context) and decodes it into TIn as aws-lambda-go would. It
// returns the encoded response as a reader: aws-lambda-go posts a reader's
// bytes to the Runtime API and closes it once Lambda has accepted them, which
// is the moment async mode needs to start its export.
func Wrap[TIn, TOut any](t *Telemetry, handler func(context.Context, TIn) (TOut, error)) func(context.Context, json.RawMessage) (io.Reader, error) {
	return func(ctx context.Context, raw json.RawMessage) (io.Reader, error) {
		var in TIn
		if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
			if err := json.Unmarshal(raw, &in); err != nil {
				// As aws-lambda-go would, fail the invocation; but traced.
				return t.invoke(ctx, raw, nil, func(context.Context) ([]byte, any, error) {
					return nil, nil, fmt.Errorf("decode event into %T: %w", in, err)
				})
			}
		}
		return t.invoke(ctx, raw, &in, func(ctx context.Context) ([]byte, any, error) {
			out, err := handler(ctx, in)
			if err != nil {
				return nil, nil, err
			}
			b, err := json.Marshal(out)
			if err != nil {
				return nil, nil, fmt.Errorf("encode response %T: %w", out, err)
			}
			return b, out, nil
		})
	}
}

// WrapHandler instruments an aws-lambda-go lambda.Handler. The result is
// itself usable with lambda.Start.
func WrapHandler(t *Telemetry, h lambda.Handler) func(context.Context, json.RawMessage) (io.Reader, error) {
	return func(ctx context.Context, raw json.RawMessage) (io.Reader, error) {
		return t.invoke(ctx, raw, nil, func(ctx context.Context) ([]byte, any, error) {
			b, err := h.Invoke(ctx, raw)
			if err != nil {
				return nil, nil, err
			}
			return b, json.RawMessage(b), nil
		})
	}
}

// invoke runs one invocation inside its span. event is the decoded event (nil
// when unknown); call returns the encoded response and the response value.
func (t *Telemetry) invoke(ctx context.Context, raw []byte, event any, call func(context.Context) ([]byte, any, error)) (io.Reader, error) {
	if t.disabled {
		b, _, err := call(ctx)
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(b), nil
	}
	lc, _ := lambdacontext.FromContext(ctx)
	info := trigger.Extract(event, raw, t.extractors...)

	carrier := info.Carrier
	if carrier == nil {
		carrier = trigger.Headers{}
	}
	parent := t.propagator.Extract(ctx, carrier)

	name := info.SpanName
	if name == "" {
		name = DefaultSpanName
	}
	kind := info.Kind
	if kind == trace.SpanKindUnspecified {
		kind = trace.SpanKindServer
	}
	attrs := make([]attribute.KeyValue, 0, len(info.Attributes)+6)
	attrs = append(attrs, info.Attributes...)
	trig := info.Trigger
	if trig == "" {
		trig = trigger.TriggerOther
	}
	attrs = append(attrs, semconv.FaaSTriggerKey.String(trig))
	var requestID string
	if lc != nil {
		requestID = lc.AwsRequestID
		attrs = append(attrs, semconv.FaaSInvocationID(requestID))
		if arn := lc.InvokedFunctionArn; arn != "" {
			attrs = append(attrs, semconv.CloudResourceID(arn))
			if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 && parts[4] != "" {
				attrs = append(attrs, semconv.CloudAccountID(parts[4]))
			}
		}
	}
	attrs = append(attrs, semconv.FaaSColdstart(t.coldStart()))

	// parent derives from ctx, so the handler keeps the invocation's
	// deadline and Lambda context, now with the span in it.
	ctx, span := t.tracer.Start(parent, name,
		trace.WithSpanKind(kind), trace.WithAttributes(attrs...), trace.WithLinks(info.Links...))

	var (
		body     []byte
		resp     any
		err      error
		panicked any
		stack    []byte
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				panicked, stack = r, debug.Stack()
			}
		}()
		body, resp, err = call(ctx)
	}()

	switch {
	case panicked != nil:
		perr := fmt.Errorf("panic: %v", panicked)
		span.RecordError(perr, trace.WithAttributes(semconv.ExceptionStacktrace(string(stack))))
		span.SetStatus(codes.Error, perr.Error())
	case err != nil:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	case info.HTTP:
		if code, ok := trigger.ResponseStatus(resp); ok {
			span.SetAttributes(semconv.HTTPResponseStatusCode(code))
			if code >= 500 {
				span.SetStatus(codes.Error, fmt.Sprintf("HTTP %d", code))
			}
		}
	}
	span.End()

	switch {
	case panicked != nil:
		// The process is about to die: export now, whatever the mode.
		t.flushWithin(ctx)
		panic(panicked)
	case err != nil:
		// aws-lambda-go posts the error itself with no hook after it, so
		// async mode signals now; the flush may overlap the error's post.
		t.finish(ctx, requestID)
		return nil, err
	}
	switch {
	case t.mode == ModeAsync && t.ext != nil && t.ext.alive():
		return &response{b: body, onClose: func() { t.ext.complete(requestID, span.SpanContext()) }}, nil
	case t.mode == ModeFinalize:
		// The caller's processors export when they will; the extension
		// only needs to know the invocation is over.
		return &response{b: body, onClose: func() { t.signalComplete(ctx, requestID) }}, nil
	default:
		t.flushWithin(ctx)
		// The signal waits for the response to be accepted: it must not
		// add a round trip to what the caller waits for.
		return &response{b: body, onClose: func() { t.signalComplete(ctx, requestID) }}, nil
	}
}

// finish ends an invocation that returns an error.
func (t *Telemetry) finish(ctx context.Context, requestID string) {
	switch {
	case t.mode == ModeFinalize:
		t.signalComplete(ctx, requestID)
	case t.mode == ModeAsync && t.ext != nil && t.ext.alive():
		t.ext.complete(requestID, trace.SpanContextFromContext(ctx))
	default:
		t.flushWithin(ctx)
		t.signalComplete(ctx, requestID)
	}
}

// flushWithin flushes, bounded by the invocation's deadline less a margin,
// so that telemetry never turns an invocation into a timeout.
func (t *Telemetry) flushWithin(ctx context.Context) {
	fctx := context.WithoutCancel(ctx)
	var cancel context.CancelFunc
	if d, ok := ctx.Deadline(); ok {
		fctx, cancel = context.WithDeadline(fctx, d.Add(-flushMargin))
	} else {
		fctx, cancel = context.WithTimeout(fctx, 2*time.Second)
	}
	defer cancel()
	if err := t.ForceFlush(fctx); err != nil {
		t.log.Warn("flush failed", "err", err)
	}
}

// coldStart reports whether this is the process's first invocation. An
// environment initialised ahead of traffic (provisioned concurrency,
// SnapStart) never has a cold start that a caller waits for.
func (t *Telemetry) coldStart() bool {
	first := coldStart.Swap(false)
	switch t.cfg.getenv("AWS_LAMBDA_INITIALIZATION_TYPE") {
	case "provisioned-concurrency", "snap-start":
		return false
	}
	return first
}

// response is what the wrapped handler returns to aws-lambda-go: the
// encoded response as a reader that says when Lambda has accepted it. It has
// no exported fields, so aws-lambda-go passes it through as a reader.
type response struct {
	b       []byte
	off     int
	onClose func()
	closed  bool
}

func (r *response) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// Close runs after aws-lambda-go's POST of the response has returned.
func (r *response) Close() error {
	if !r.closed {
		r.closed = true
		if r.onClose != nil {
			r.onClose()
		}
	}
	return nil
}

// ContentType tells aws-lambda-go the response is JSON.
func (r *response) ContentType() string { return "application/json" }
