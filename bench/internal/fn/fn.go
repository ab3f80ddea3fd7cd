// Package fn is the function both sides of the benchmarks run: one handler,
// so that lambdaotel and its peers are measured on exactly the same work.
package fn

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/trace"
)

// EnvPlain, when set to any value, makes a benchmark function start the
// handler with no instrumentation at all: the baseline.
const EnvPlain = "BENCHFN_PLAIN"

// Event is the benchmark's event: how many child spans to create.
type Event struct {
	Spans int    `json:"spans"`
	Name  string `json:"name"`
}

// Handle creates ev.Spans child spans of the span in ctx (none when tracer
// is nil) and answers {"hello": ev.Name}.
func Handle(ctx context.Context, tracer trace.Tracer, ev Event) (map[string]string, error) {
	if tracer != nil {
		for i := 0; i < ev.Spans; i++ {
			_, s := tracer.Start(ctx, ChildName(i))
			s.End()
		}
	}
	return map[string]string{"hello": ev.Name}, nil
}

// Plain is Handle with no tracer: the uninstrumented function.
func Plain(ctx context.Context, ev Event) (map[string]string, error) { return Handle(ctx, nil, ev) }

// ChildName is the name of the i-th child span Handle creates.
func ChildName(i int) string { return "child-" + strconv.Itoa(i) }
