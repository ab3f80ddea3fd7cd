package xray

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// withLambdaHeader stores v the way aws-lambda-go does for every invocation.
func withLambdaHeader(ctx context.Context, v string) context.Context {
	//lint:ignore SA1029 aws-lambda-go uses this plain string key; the test must match it.
	return context.WithValue(ctx, "x-amzn-trace-id", v)
}

// envMap returns a Getenv over a fixed map, so tests never touch the process env.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// Distinct contexts used by the precedence tests.
const (
	carrierHdr = "Root=1-11111111-111111111111111111111111;Parent=1111111111111111;Sampled=1"
	ctxHdr     = "Root=1-22222222-222222222222222222222222;Parent=2222222222222222;Sampled=1"
	envHdr     = "Root=1-33333333-333333333333333333333333;Parent=3333333333333333;Sampled=1;Lineage=a87bd80c:1"
	w3cParent  = "00-44444444444444444444444444444444-4444444444444444-01"
)

func spanContextOf(t testing.TB, hdr string) trace.SpanContext {
	t.Helper()
	h, err := Parse(hdr)
	if err != nil {
		t.Fatal(err)
	}
	sc, ok := h.SpanContext()
	if !ok {
		t.Fatalf("%q has no span context", hdr)
	}
	return sc
}

func TestPropagatorFields(t *testing.T) {
	for _, p := range []propagation.TextMapPropagator{Propagator{}, LambdaPropagator{}} {
		if got := p.Fields(); !reflect.DeepEqual(got, []string{"X-Amzn-Trace-Id"}) {
			t.Fatalf("%T.Fields() = %v", p, got)
		}
	}
}

func TestPropagatorExtract(t *testing.T) {
	want := spanContextOf(t, docHeader)
	carriers := map[string]propagation.TextMapCarrier{
		"canonical key":  propagation.MapCarrier{"X-Amzn-Trace-Id": docHeader},
		"lower-case key": propagation.MapCarrier{"x-amzn-trace-id": docHeader},
		"http.Header":    propagation.HeaderCarrier(http.Header{"X-Amzn-Trace-Id": {docHeader}}),
		"http.Header set": func() propagation.TextMapCarrier {
			h := http.Header{}
			h.Set("x-amzn-trace-id", docHeader)
			return propagation.HeaderCarrier(h)
		}(),
	}
	for name, c := range carriers {
		t.Run(name, func(t *testing.T) {
			ctx := Propagator{}.Extract(context.Background(), c)
			sc := trace.SpanContextFromContext(ctx)
			if !sc.Equal(want) || !sc.IsRemote() || !sc.IsSampled() {
				t.Fatalf("extracted %+v, want %+v", sc, want)
			}
			if SamplingDeferred(ctx) {
				t.Fatal("Sampled=1 reported as deferred")
			}
		})
	}
}

func TestPropagatorExtractLeavesContextUnchanged(t *testing.T) {
	type key struct{}
	base := context.WithValue(context.Background(), key{}, "marker")
	for name, v := range map[string]string{
		"absent":          "",
		"bad hex":         "Root=1-5759e988-bd862e3fe1be46a99427279z;Parent=53995c3f42cd8ad8;Sampled=1",
		"wrong version":   "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
		"zero parent":     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000;Sampled=1",
		"no parent (ALB)": "Root=1-5759e988-bd862e3fe1be46a994272793",
		"garbage":         "hello",
	} {
		t.Run(name, func(t *testing.T) {
			c := propagation.MapCarrier{}
			if v != "" {
				c["x-amzn-trace-id"] = v
			}
			if got := (Propagator{}).Extract(base, c); got != base {
				t.Fatalf("ctx changed for %q: %v", v, trace.SpanContextFromContext(got))
			}
		})
	}
}

func TestPropagatorExtractDeferred(t *testing.T) {
	for _, v := range []string{
		"Root=" + docRoot + ";Parent=" + docParent + ";Sampled=?",
		"Root=" + docRoot + ";Parent=" + docParent,
	} {
		ctx := Propagator{}.Extract(context.Background(), propagation.MapCarrier{"x-amzn-trace-id": v})
		sc := trace.SpanContextFromContext(ctx)
		if !sc.IsValid() || sc.IsSampled() || !sc.IsRemote() {
			t.Fatalf("%q: extracted %+v, want valid, remote, not sampled", v, sc)
		}
		if !SamplingDeferred(ctx) {
			t.Fatalf("%q: SamplingDeferred = false", v)
		}
		// Passing the request on unchanged keeps the decision open downstream.
		out := propagation.MapCarrier{}
		Propagator{}.Inject(ctx, out)
		if got, want := out["X-Amzn-Trace-Id"], "Root="+docRoot+";Parent="+docParent; got != want {
			t.Fatalf("%q: re-injected %q, want %q", v, got, want)
		}
	}
	// Sampled=0 is a decision, not a deferral.
	ctx := Propagator{}.Extract(context.Background(), propagation.MapCarrier{
		"x-amzn-trace-id": "Root=" + docRoot + ";Parent=" + docParent + ";Sampled=0",
	})
	if SamplingDeferred(ctx) || trace.SpanContextFromContext(ctx).IsSampled() {
		t.Fatal("Sampled=0 extracted as deferred or sampled")
	}
	if SamplingDeferred(context.Background()) {
		t.Fatal("empty context reported as deferred")
	}
}

func TestSamplingDeferredEndsWhenSpanContextChanges(t *testing.T) {
	ctx := Propagator{}.Extract(context.Background(), propagation.MapCarrier{
		"x-amzn-trace-id": "Root=" + docRoot + ";Parent=" + docParent + ";Sampled=?",
	})
	// A child span (here: a non-recording span with a new local span context) has made
	// the decision; the mark must not leak onto it.
	child := trace.SpanContextFromContext(ctx).WithSpanID(trace.SpanID{9}).WithRemote(false)
	if SamplingDeferred(trace.ContextWithSpanContext(ctx, child)) {
		t.Fatal("deferred mark applies to a local child span context")
	}
	// A W3C context extracted afterwards replaces ours: not deferred.
	w3c := propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": "00-44444444444444444444444444444444-4444444444444444-00"})
	if !trace.SpanContextFromContext(w3c).IsValid() || SamplingDeferred(w3c) {
		t.Fatal("deferred mark applies to a W3C span context extracted later")
	}
}

func TestPropagatorInject(t *testing.T) {
	tid := mustTraceID(t, "5759e988bd862e3fe1be46a994272793")
	pid := mustSpanID(t, docParent)
	for _, tt := range []struct {
		flags trace.TraceFlags
		want  string
	}{
		{trace.FlagsSampled, docHeader},
		{0, "Root=" + docRoot + ";Parent=" + docParent + ";Sampled=0"},
	} {
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: pid, TraceFlags: tt.flags})
		ctx := trace.ContextWithSpanContext(context.Background(), sc)
		for _, p := range []propagation.TextMapPropagator{Propagator{}, LambdaPropagator{Getenv: envMap(nil)}} {
			c := propagation.MapCarrier{}
			p.Inject(ctx, c)
			if len(c) != 1 || c["X-Amzn-Trace-Id"] != tt.want {
				t.Fatalf("%T injected %v, want %q", p, c, tt.want)
			}
		}
	}
	// Invalid span context: nothing written.
	c := propagation.MapCarrier{}
	Propagator{}.Inject(context.Background(), c)
	LambdaPropagator{}.Inject(context.Background(), c)
	if len(c) != 0 {
		t.Fatalf("injected %v for an empty context", c)
	}
}

func TestPropagatorRoundTrip(t *testing.T) {
	in := propagation.MapCarrier{"x-amzn-trace-id": docHeader + ";Lineage=a87bd80c:1"}
	ctx := Propagator{}.Extract(context.Background(), in)
	out := propagation.MapCarrier{}
	Propagator{}.Inject(ctx, out)
	// Lineage is not part of an OpenTelemetry span context, so it is not re-injected.
	if out["X-Amzn-Trace-Id"] != docHeader {
		t.Fatalf("round trip gave %q", out["X-Amzn-Trace-Id"])
	}
}

func TestLambdaPropagatorPrecedence(t *testing.T) {
	carrierSC := spanContextOf(t, carrierHdr)
	ctxSC := spanContextOf(t, ctxHdr)
	envSC := spanContextOf(t, envHdr)
	const (
		notSampledHdr = "Root=1-55555555-555555555555555555555555;Parent=5555555555555555;Sampled=0"
		deferredHdr   = "Root=1-55555555-555555555555555555555555;Parent=5555555555555555;Sampled=?"
		invalidHdr    = "Root=1-5555555-555555555555555555555555;Parent=5555555555555555;Sampled=1"
		noParentHdr   = "Root=1-55555555-555555555555555555555555;Sampled=1"
	)
	tests := []struct {
		name    string
		carrier string // x-amzn-trace-id in the carrier
		ctxVal  string // aws-lambda-go's context value; "" = not set
		env     map[string]string
		want    trace.SpanContext // zero = ctx unchanged (no span context)
	}{
		{"carrier beats context value and env", carrierHdr, ctxHdr, map[string]string{envTraceID: envHdr}, carrierSC},
		{"carrier Sampled=0 still beats fallback", "Root=1-11111111-111111111111111111111111;Parent=1111111111111111;Sampled=0", ctxHdr, nil, carrierSC.WithTraceFlags(0)},
		{"context value beats env", "", ctxHdr, map[string]string{envTraceID: envHdr}, ctxSC},
		{"env when nothing else", "", "", map[string]string{envTraceID: envHdr}, envSC},
		{"invalid carrier falls back", invalidHdr, ctxHdr, nil, ctxSC},
		{"carrier without Parent falls back", noParentHdr, "", map[string]string{envTraceID: envHdr}, envSC},
		{"context value Sampled=0 ignored", "", notSampledHdr, map[string]string{envTraceID: envHdr}, trace.SpanContext{}},
		{"env Sampled=0 ignored", "", "", map[string]string{envTraceID: notSampledHdr}, trace.SpanContext{}},
		{"env Sampled=? ignored", "", "", map[string]string{envTraceID: deferredHdr}, trace.SpanContext{}},
		{"invalid context value ignored", "", invalidHdr, map[string]string{envTraceID: envHdr}, trace.SpanContext{}},
		{"invalid env ignored", "", "", map[string]string{envTraceID: invalidHdr}, trace.SpanContext{}},
		{"env without Parent ignored", "", "", map[string]string{envTraceID: noParentHdr}, trace.SpanContext{}},
		{"MAX_CONCURRENCY set: env ignored", "", "", map[string]string{envTraceID: envHdr, envMaxConcurrency: "8"}, trace.SpanContext{}},
		{"MAX_CONCURRENCY set: context value used", "", ctxHdr, map[string]string{envTraceID: envHdr, envMaxConcurrency: "8"}, ctxSC},
		{"MAX_CONCURRENCY empty: env used", "", "", map[string]string{envTraceID: envHdr, envMaxConcurrency: ""}, envSC},
		{"nothing anywhere", "", "", nil, trace.SpanContext{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := context.Background()
			if tt.ctxVal != "" {
				base = withLambdaHeader(base, tt.ctxVal)
			}
			c := propagation.MapCarrier{}
			if tt.carrier != "" {
				c["x-amzn-trace-id"] = tt.carrier
			}
			got := LambdaPropagator{Getenv: envMap(tt.env)}.Extract(base, c)
			sc := trace.SpanContextFromContext(got)
			if !tt.want.IsValid() {
				if got != base {
					t.Fatalf("ctx changed: %+v", sc)
				}
				return
			}
			if !sc.Equal(tt.want) || !sc.IsRemote() {
				t.Fatalf("extracted %v/%v sampled=%v, want %v/%v sampled=%v",
					sc.TraceID(), sc.SpanID(), sc.IsSampled(), tt.want.TraceID(), tt.want.SpanID(), tt.want.IsSampled())
			}
		})
	}
}

func TestLambdaPropagatorReadsEnvPerCall(t *testing.T) {
	env := map[string]string{envTraceID: ctxHdr}
	p := LambdaPropagator{Getenv: envMap(env)}
	first := trace.SpanContextFromContext(p.Extract(context.Background(), propagation.MapCarrier{}))
	env[envTraceID] = envHdr // the next invocation
	second := trace.SpanContextFromContext(p.Extract(context.Background(), propagation.MapCarrier{}))
	if first.TraceID() == second.TraceID() || second.TraceID() != spanContextOf(t, envHdr).TraceID() {
		t.Fatalf("env not re-read: %v then %v", first.TraceID(), second.TraceID())
	}
}

func TestLambdaPropagatorNilGetenvUsesProcessEnv(t *testing.T) {
	t.Setenv(envMaxConcurrency, "")
	t.Setenv(envTraceID, envHdr)
	sc := trace.SpanContextFromContext(LambdaPropagator{}.Extract(context.Background(), propagation.MapCarrier{}))
	if !sc.Equal(spanContextOf(t, envHdr)) {
		t.Fatalf("extracted %v from the process environment", sc)
	}
}

func TestLambdaPropagatorKeepsExistingSpanContext(t *testing.T) {
	// Inside an invocation span, extracting a message without a trace header must not
	// re-parent onto Lambda's segment.
	local := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{7}, SpanID: trace.SpanID{7}, TraceFlags: trace.FlagsSampled,
	})
	base := withLambdaHeader(trace.ContextWithSpanContext(context.Background(), local), ctxHdr)
	p := LambdaPropagator{Getenv: envMap(map[string]string{envTraceID: envHdr})}
	if got := p.Extract(base, propagation.MapCarrier{}); got != base {
		t.Fatalf("fallback replaced the existing span context with %v", trace.SpanContextFromContext(got))
	}
	// A carrier header still applies.
	sc := trace.SpanContextFromContext(p.Extract(base, propagation.MapCarrier{"x-amzn-trace-id": carrierHdr}))
	if !sc.Equal(spanContextOf(t, carrierHdr)) {
		t.Fatalf("carrier ignored: %v", sc)
	}
}

// TestCompositeOrdering documents the ordering the library must use: X-Ray first, W3C
// last, so that when a request carries both a traceparent and an X-Amzn-Trace-Id the
// W3C context wins (the last propagator that finds a valid context wins), and X-Ray
// (including the Lambda fallback) is used only when there is no traceparent.
func TestCompositeOrdering(t *testing.T) {
	w3cSC, err := trace.TraceIDFromHex("44444444444444444444444444444444")
	if err != nil {
		t.Fatal(err)
	}
	lambda := LambdaPropagator{Getenv: envMap(map[string]string{envTraceID: envHdr})}
	xrayFirst := propagation.NewCompositeTextMapPropagator(lambda, propagation.TraceContext{})

	both := propagation.MapCarrier{"traceparent": w3cParent, "x-amzn-trace-id": carrierHdr}
	if got := trace.SpanContextFromContext(xrayFirst.Extract(context.Background(), both)); got.TraceID() != w3cSC {
		t.Fatalf("X-Ray then TraceContext, both headers: got trace %v, want W3C %v", got.TraceID(), w3cSC)
	}
	// W3C also beats the Lambda fallback.
	onlyW3C := propagation.MapCarrier{"traceparent": w3cParent}
	if got := trace.SpanContextFromContext(xrayFirst.Extract(context.Background(), onlyW3C)); got.TraceID() != w3cSC {
		t.Fatalf("X-Ray then TraceContext, traceparent + env: got trace %v, want W3C", got.TraceID())
	}
	// Without a traceparent, X-Ray applies: the carrier's, else the invocation's.
	onlyXRay := propagation.MapCarrier{"x-amzn-trace-id": carrierHdr}
	if got := trace.SpanContextFromContext(xrayFirst.Extract(context.Background(), onlyXRay)); !got.Equal(spanContextOf(t, carrierHdr)) {
		t.Fatalf("X-Ray then TraceContext, X-Ray only: got %v", got)
	}
	if got := trace.SpanContextFromContext(xrayFirst.Extract(context.Background(), propagation.MapCarrier{})); !got.Equal(spanContextOf(t, envHdr)) {
		t.Fatalf("X-Ray then TraceContext, no headers: got %v, want the env fallback", got)
	}

	// The opposite order lets X-Ray override W3C: this is the ordering NOT to use.
	w3cFirst := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, lambda)
	if got := trace.SpanContextFromContext(w3cFirst.Extract(context.Background(), both)); got.TraceID() == w3cSC {
		t.Fatal("TraceContext then X-Ray: W3C won; the test no longer documents the order dependence")
	}

	// Inject writes both headers for the same span context.
	out := propagation.MapCarrier{}
	xrayFirst.Inject(xrayFirst.Extract(context.Background(), both), out)
	if out["traceparent"] != w3cParent || out["X-Amzn-Trace-Id"] != "Root=1-44444444-444444444444444444444444;Parent=4444444444444444;Sampled=1" {
		t.Fatalf("composite inject wrote %v", out)
	}
}
