package otlpwire

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// decode unmarshals an encoding into the generated type, failing the test on
// malformed output.
func decode(t testing.TB, b []byte) *tracepb.TracesData {
	t.Helper()
	got := &tracepb.TracesData{}
	if err := proto.Unmarshal(b, got); err != nil {
		t.Fatalf("proto.Unmarshal: %v", err)
	}
	return got
}

// assertEncodes checks that spans encode to want, both semantically and
// byte for byte against proto.Marshal: the encoder writes fields in field
// number order with minimal varints, as protobuf-go does, so the bytes must
// agree exactly.
func assertEncodes(t *testing.T, spans []sdktrace.ReadOnlySpan, want *tracepb.TracesData) {
	t.Helper()
	got := AppendTraceRequest(nil, spans)
	if msg := decode(t, got); !proto.Equal(msg, want) {
		t.Fatalf("decoded request differs from expected:\n got: %v\nwant: %v", msg, want)
	}
	wantBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantBytes) {
		t.Fatalf("encoding differs from proto.Marshal:\n got: %x\nwant: %x", got, wantBytes)
	}
}

// seqIDs hands out predictable trace and span IDs.
type seqIDs struct{ n byte }

func (g *seqIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.n++
	return trace.TraceID{0xaa, g.n, 15: g.n}, trace.SpanID{0xbb, g.n, 7: g.n}
}

func (g *seqIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.n++
	return trace.SpanID{0xbb, g.n, 7: g.n}
}

var (
	t0 = time.Unix(1_700_000_000, 123_456_789)
	t1 = t0.Add(time.Millisecond)
	t2 = t0.Add(2 * time.Millisecond)
	t3 = t0.Add(3 * time.Millisecond)
)

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}
func boolean(b bool) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
}
func integer(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}
func double(f float64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
}
func array(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}
func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// TestEveryField records spans through a real TracerProvider and checks the
// encoding against a hand-written expected message covering every field and
// attribute type.
func TestEveryField(t *testing.T) {
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "checkout"),
		attribute.Int("faas.max_memory", 128),
	)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(&seqIDs{}),
		sdktrace.WithRawSpanLimits(sdktrace.SpanLimits{
			AttributeValueLengthLimit:   -1,
			AttributeValueDepthLimit:    -1,
			AttributeCountLimit:         13,
			EventCountLimit:             2,
			LinkCountLimit:              2,
			AttributePerEventCountLimit: 1,
			AttributePerLinkCountLimit:  1,
		}),
	)
	tracer := tp.Tracer("lambdaotel/test",
		trace.WithInstrumentationVersion("1.2.3"),
		trace.WithSchemaURL("https://opentelemetry.io/schemas/1.24.0"),
		trace.WithInstrumentationAttributes(attribute.String("scope.attr", "s")),
	)

	ts, err := trace.ParseTraceState("vendor=abc,other=x")
	if err != nil {
		t.Fatal(err)
	}
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 1, 1, 1, 1, 1, 1, 1},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
		Remote:     true,
	})
	linkRemote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0xcc, 15: 1},
		SpanID:     trace.SpanID{0xdd, 7: 1},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
		Remote:     true,
	})
	linkLocal := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xcc, 15: 2},
		SpanID:  trace.SpanID{0xdd, 7: 2},
	})

	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
	ctx, server := tracer.Start(ctx, "GET /orders",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(t0),
		trace.WithAttributes(
			attribute.Bool("b.true", true),
			attribute.Bool("b.false", false),
			attribute.Int64("i.neg", -42),
			attribute.Int64("i.zero", 0),
			attribute.Int64("i.max", math.MaxInt64),
			attribute.Float64("f", 3.25),
			attribute.String("s", "hello"),
			attribute.String("s.empty", ""),
			attribute.BoolSlice("bs", []bool{true, false}),
			attribute.Int64Slice("is", []int64{1, -1, 300}),
			attribute.Float64Slice("fs", []float64{0.5, -2}),
			attribute.StringSlice("ss", []string{"a", "", "ccc"}),
			attribute.StringSlice("ss.empty", nil),
			attribute.String("over.limit", "dropped"),
		),
		trace.WithLinks(
			// The SDK evicts the oldest link and event once over the limit.
			trace.Link{SpanContext: linkLocal, Attributes: []attribute.KeyValue{attribute.String("evicted", "yes")}},
			trace.Link{SpanContext: linkRemote, Attributes: []attribute.KeyValue{
				attribute.String("link.attr", "kept"), attribute.String("link.extra", "dropped"),
			}},
			trace.Link{SpanContext: linkLocal},
		),
	)
	server.AddEvent("evicted", trace.WithTimestamp(t0))
	server.AddEvent("exception", trace.WithTimestamp(t1), trace.WithAttributes(
		attribute.String("exception.type", "E"), attribute.String("exception.message", "dropped"),
	))
	server.AddEvent("no-attrs", trace.WithTimestamp(t2))
	server.SetStatus(codes.Error, "boom")

	_, client := tracer.Start(ctx, "call db", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(t1))
	client.SetStatus(codes.Ok, "ignored for Ok")
	client.End(trace.WithTimestamp(t2))
	server.End(trace.WithTimestamp(t3))

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("recorded %d spans", len(spans))
	}

	remoteTID := remote.TraceID()
	serverSID := server.SpanContext().SpanID()
	clientSID := client.SpanContext().SpanID()
	want := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			kv("faas.max_memory", integer(128)), // resources sort their attributes
			kv("service.name", str("checkout")),
		}},
		SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{
				Name:       "lambdaotel/test",
				Version:    "1.2.3",
				Attributes: []*commonpb.KeyValue{kv("scope.attr", str("s"))},
			},
			SchemaUrl: "https://opentelemetry.io/schemas/1.24.0",
			Spans: []*tracepb.Span{
				{
					TraceId:           remoteTID[:],
					SpanId:            clientSID[:],
					TraceState:        "vendor=abc,other=x",
					ParentSpanId:      serverSID[:],
					Flags:             0x01 | 0x100, // sampled, parent known to be local
					Name:              "call db",
					Kind:              tracepb.Span_SPAN_KIND_CLIENT,
					StartTimeUnixNano: uint64(t1.UnixNano()),
					EndTimeUnixNano:   uint64(t2.UnixNano()),
					Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
				},
				{
					TraceId:           remoteTID[:],
					SpanId:            serverSID[:],
					TraceState:        "vendor=abc,other=x",
					ParentSpanId:      []byte{1, 1, 1, 1, 1, 1, 1, 1},
					Flags:             0x01 | 0x100 | 0x200, // sampled, parent remote
					Name:              "GET /orders",
					Kind:              tracepb.Span_SPAN_KIND_SERVER,
					StartTimeUnixNano: uint64(t0.UnixNano()),
					EndTimeUnixNano:   uint64(t3.UnixNano()),
					Attributes: []*commonpb.KeyValue{
						kv("b.true", boolean(true)),
						kv("b.false", boolean(false)),
						kv("i.neg", integer(-42)),
						kv("i.zero", integer(0)),
						kv("i.max", integer(math.MaxInt64)),
						kv("f", double(3.25)),
						kv("s", str("hello")),
						kv("s.empty", str("")),
						kv("bs", array(boolean(true), boolean(false))),
						kv("is", array(integer(1), integer(-1), integer(300))),
						kv("fs", array(double(0.5), double(-2))),
						kv("ss", array(str("a"), str(""), str("ccc"))),
						kv("ss.empty", array()),
					},
					DroppedAttributesCount: 1,
					Events: []*tracepb.Span_Event{
						{
							TimeUnixNano:           uint64(t1.UnixNano()),
							Name:                   "exception",
							Attributes:             []*commonpb.KeyValue{kv("exception.type", str("E"))},
							DroppedAttributesCount: 1,
						},
						{TimeUnixNano: uint64(t2.UnixNano()), Name: "no-attrs"},
					},
					DroppedEventsCount: 1,
					Links: []*tracepb.Span_Link{
						{
							TraceId:                []byte{0xcc, 15: 1},
							SpanId:                 []byte{0xdd, 7: 1},
							TraceState:             "vendor=abc,other=x",
							Attributes:             []*commonpb.KeyValue{kv("link.attr", str("kept"))},
							DroppedAttributesCount: 1,
							Flags:                  0x01 | 0x100 | 0x200,
						},
						{
							TraceId: []byte{0xcc, 15: 2},
							SpanId:  []byte{0xdd, 7: 2},
							Flags:   0x100,
						},
					},
					DroppedLinksCount: 1,
					Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
				},
			},
		}},
	}}}
	assertEncodes(t, spans, want)
}

// TestNestedAttributeTypes covers the attribute types beyond the classic
// eight: bytes, heterogeneous slices, maps and the empty value, including
// values large enough to need multi-byte lengths at every level.
func TestNestedAttributeTypes(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 300))
	stub := tracetest.SpanStub{
		Name:        "nested",
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}}),
		Attributes: []attribute.KeyValue{
			{Key: "bytes", Value: attribute.ByteSliceValue([]byte{0, 1, 2})},
			{Key: "bytes.empty", Value: attribute.ByteSliceValue(nil)},
			{Key: "slice", Value: attribute.SliceValue(attribute.StringValue("a"), attribute.IntValue(1),
				attribute.SliceValue(attribute.BoolValue(true)))},
			{Key: "map", Value: attribute.MapValue(attribute.String("k", long),
				attribute.KeyValue{Key: "m", Value: attribute.MapValue(attribute.Float64("f", 1))})},
			{Key: "empty"},
			attribute.String("long", long),
			attribute.StringSlice("long.slice", []string{long, long}),
		},
		Resource: resource.Empty(),
	}
	spans := []sdktrace.ReadOnlySpan{stub.Snapshot()}
	want := referenceRequest(spans)
	// Guard against the reference and the encoder sharing a blind spot.
	attrs := want.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes
	if got := attrs[0].Value.GetBytesValue(); !bytes.Equal(got, []byte{0, 1, 2}) {
		t.Fatalf("reference bytes value = %v", got)
	}
	if attrs[4].Value.Value != nil {
		t.Fatalf("reference empty value = %v", attrs[4].Value)
	}
	if n := len(attrs[3].Value.GetKvlistValue().GetValues()); n != 2 {
		t.Fatalf("reference map has %d entries", n)
	}
	assertEncodes(t, spans, want)
}

// TestResourcesAndScopes checks grouping: first-seen order at both levels,
// equal resources behind different pointers merged, scopes told apart by
// every identifying field.
func TestResourcesAndScopes(t *testing.T) {
	resA := resource.NewSchemaless(attribute.String("service.name", "a"))
	resAcopy := resource.NewSchemaless(attribute.String("service.name", "a"))
	resASchema := resource.NewWithAttributes("https://example.com/s", attribute.String("service.name", "a"))
	resB := resource.NewSchemaless(attribute.String("service.name", "b"))

	scope1 := instrumentation.Scope{Name: "one"}
	scope1v := instrumentation.Scope{Name: "one", Version: "v2"}
	scope1s := instrumentation.Scope{Name: "one", SchemaURL: "https://example.com/x"}
	scope1a := instrumentation.Scope{Name: "one", Attributes: attribute.NewSet(attribute.Int("k", 1))}
	scope2 := instrumentation.Scope{Name: "two"}

	var n byte
	mk := func(res *resource.Resource, sc instrumentation.Scope) sdktrace.ReadOnlySpan {
		n++
		return tracetest.SpanStub{
			Name:                 fmt.Sprintf("span-%d", n),
			SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{n}, SpanID: trace.SpanID{n}}),
			Resource:             res,
			InstrumentationScope: sc,
			StartTime:            t0,
			EndTime:              t1,
		}.Snapshot()
	}
	spans := []sdktrace.ReadOnlySpan{
		mk(resA, scope1),             // 1
		mk(resB, scope2),             // 2
		mk(resAcopy, scope2),         // 3: same resource as 1
		mk(resA, scope1v),            // 4
		mk(resA, scope1),             // 5
		mk(resB, scope2),             // 6
		mk(resASchema, scope1),       // 7: different schema URL, different group
		mk(resA, scope1s),            // 8
		mk(resA, scope1a),            // 9
		mk(nil, scope1),              // 10: nil resource is the empty resource
		mk(resource.Empty(), scope1), // 11
	}

	names := func(rs *tracepb.ResourceSpans) [][]string {
		var out [][]string
		for _, ss := range rs.ScopeSpans {
			var s []string
			for _, sp := range ss.Spans {
				s = append(s, sp.Name)
			}
			out = append(out, s)
		}
		return out
	}
	got := decode(t, AppendTraceRequest(nil, spans))
	wantGroups := [][][]string{
		{{"span-1", "span-5"}, {"span-3"}, {"span-4"}, {"span-8"}, {"span-9"}},
		{{"span-2", "span-6"}},
		{{"span-7"}},
		{{"span-10", "span-11"}},
	}
	if len(got.ResourceSpans) != len(wantGroups) {
		t.Fatalf("got %d resource groups, want %d", len(got.ResourceSpans), len(wantGroups))
	}
	for i, rs := range got.ResourceSpans {
		if g := fmt.Sprint(names(rs)); g != fmt.Sprint(wantGroups[i]) {
			t.Errorf("resource group %d: got %s, want %s", i, g, fmt.Sprint(wantGroups[i]))
		}
	}
	if got.ResourceSpans[2].SchemaUrl != "https://example.com/s" {
		t.Errorf("schema URL of resource group 2 = %q", got.ResourceSpans[2].SchemaUrl)
	}
	if r := got.ResourceSpans[3].Resource; r == nil || len(r.Attributes) != 0 {
		t.Errorf("empty resource encoded as %v", r)
	}
	assertEncodes(t, spans, referenceRequest(spans))
}

func TestEmpty(t *testing.T) {
	if got := AppendTraceRequest(nil, nil); len(got) != 0 {
		t.Fatalf("empty input encoded to %x", got)
	}
	prefix := []byte("keep")
	if got := AppendTraceRequest(prefix, []sdktrace.ReadOnlySpan{}); !bytes.Equal(got, prefix) {
		t.Fatalf("empty input changed dst: %q", got)
	}
	// Zero bytes is a valid, empty ExportTraceServiceRequest.
	if msg := decode(t, nil); !proto.Equal(msg, &tracepb.TracesData{}) {
		t.Fatalf("zero bytes decoded to %v", msg)
	}
}

// TestZeroValues checks a span stub with nothing set: zero times stay zero,
// kind is unspecified, and the required sub-messages are still present.
func TestZeroValues(t *testing.T) {
	spans := []sdktrace.ReadOnlySpan{
		tracetest.SpanStub{}.Snapshot(),
		tracetest.SpanStub{SpanKind: trace.SpanKind(42), StartTime: time.Unix(-5, 0), Status: sdktrace.Status{Code: codes.Unset, Description: "dropped"}}.Snapshot(),
	}
	got := decode(t, AppendTraceRequest(nil, spans))
	for _, sp := range got.ResourceSpans[0].ScopeSpans[0].Spans {
		if sp.StartTimeUnixNano != 0 || sp.EndTimeUnixNano != 0 || sp.Kind != 0 {
			t.Errorf("zero span encoded as %v", sp)
		}
		if sp.Status == nil || sp.Status.Message != "" {
			t.Errorf("status = %v", sp.Status)
		}
		if len(sp.TraceId) != 16 || len(sp.SpanId) != 8 || len(sp.ParentSpanId) != 0 {
			t.Errorf("ids = %x %x %x", sp.TraceId, sp.SpanId, sp.ParentSpanId)
		}
	}
	assertEncodes(t, spans, referenceRequest(spans))
}

// TestRemoteParentFlags checks the OTLP flag bits for every parent state.
func TestRemoteParentFlags(t *testing.T) {
	tid := trace.TraceID{9, 15: 9}
	cases := []struct {
		name   string
		parent trace.SpanContext
		self   trace.TraceFlags
		want   uint32
	}{
		{"root", trace.SpanContext{}, 0, 0x100},
		{"root sampled", trace.SpanContext{}, trace.FlagsSampled, 0x101},
		{"local parent", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}}), trace.FlagsSampled, 0x101},
		{"remote parent", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}, Remote: true}), trace.FlagsSampled, 0x301},
		{"remote parent, random flag", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}, Remote: true}), trace.FlagsSampled | trace.FlagsRandom, 0x303},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			span := tracetest.SpanStub{
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{2}, TraceFlags: tc.self}),
				Parent:      tc.parent,
				Links:       []sdktrace.Link{{SpanContext: tc.parent}},
			}.Snapshot()
			got := decode(t, AppendTraceRequest(nil, []sdktrace.ReadOnlySpan{span}))
			sp := got.ResourceSpans[0].ScopeSpans[0].Spans[0]
			if sp.Flags != tc.want {
				t.Errorf("span flags = %#x, want %#x", sp.Flags, tc.want)
			}
			wantLink := uint32(tc.parent.TraceFlags()) | 0x100
			if tc.parent.IsRemote() {
				wantLink |= 0x200
			}
			if sp.Links[0].Flags != wantLink {
				t.Errorf("link flags = %#x, want %#x", sp.Links[0].Flags, wantLink)
			}
			if tc.parent.IsValid() && !bytes.Equal(sp.ParentSpanId, []byte{1, 7: 0}) {
				t.Errorf("parent span id = %x", sp.ParentSpanId)
			}
		})
	}
}

// TestAppendAndConcatenate checks that dst is extended, not overwritten, and
// that two encodings concatenated decode as the merged request (the property
// the extension's zero-decode batching relies on).
func TestAppendAndConcatenate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	a := randomSpans(rng, 5)
	b := randomSpans(rng, 5)
	buf := AppendTraceRequest(nil, a)
	buf = AppendTraceRequest(buf, b)
	got := decode(t, buf)
	want := referenceRequest(a)
	want.ResourceSpans = append(want.ResourceSpans, referenceRequest(b).ResourceSpans...)
	if !proto.Equal(got, want) {
		t.Fatal("concatenated encodings do not decode to the merged request")
	}
}

// TestRandomSpans compares 1,000 random spans (fixed seed) against the
// reference conversion.
func TestRandomSpans(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 1))
	spans := randomSpans(rng, 1000)
	want := referenceRequest(spans)
	got := decode(t, AppendTraceRequest(nil, spans))
	if !proto.Equal(got, want) {
		t.Fatalf("random spans differ from reference (showing a diff):\n%v", diff(got, want))
	}
	assertEncodes(t, spans, want)
}

func diff(got, want proto.Message) string {
	// Print only the first differing span to keep failures readable.
	g := got.(*tracepb.TracesData)
	w := want.(*tracepb.TracesData)
	for i := range min(len(g.ResourceSpans), len(w.ResourceSpans)) {
		for j := range min(len(g.ResourceSpans[i].ScopeSpans), len(w.ResourceSpans[i].ScopeSpans)) {
			gs, ws := g.ResourceSpans[i].ScopeSpans[j].Spans, w.ResourceSpans[i].ScopeSpans[j].Spans
			for k := range min(len(gs), len(ws)) {
				if !proto.Equal(gs[k], ws[k]) {
					return fmt.Sprintf("span %d/%d/%d\n got: %v\nwant: %v", i, j, k, gs[k], ws[k])
				}
			}
		}
	}
	return "difference in grouping or counts"
}

var (
	randResources = []*resource.Resource{
		resource.NewSchemaless(attribute.String("service.name", "alpha")),
		resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
			attribute.String("service.name", "beta"), attribute.Int("n", 2)),
		nil,
	}
	randScopes = []instrumentation.Scope{
		{Name: "s0"},
		{Name: "s1", Version: "1.0.0", SchemaURL: "https://opentelemetry.io/schemas/1.24.0"},
		{Name: "s2", Attributes: attribute.NewSet(attribute.Bool("x", true))},
	}
)

func randomString(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_./ éü😀"
	r := []rune(alphabet)
	n := rng.IntN(20)
	if rng.IntN(20) == 0 {
		n = 100 + rng.IntN(300) // exercise multi-byte lengths
	}
	out := make([]rune, n)
	for i := range out {
		out[i] = r[rng.IntN(len(r))]
	}
	return string(out)
}

func randomValue(rng *rand.Rand, depth int) attribute.Value {
	kinds := 13
	if depth > 2 {
		kinds = 10 // no more nesting
	}
	switch rng.IntN(kinds) {
	case 0:
		return attribute.BoolValue(rng.IntN(2) == 0)
	case 1:
		return attribute.Int64Value(int64(rng.Uint64()))
	case 2:
		return attribute.Float64Value(rng.NormFloat64() * 1e6)
	case 3, 4:
		return attribute.StringValue(randomString(rng))
	case 5:
		v := make([]bool, rng.IntN(4))
		for i := range v {
			v[i] = rng.IntN(2) == 0
		}
		return attribute.BoolSliceValue(v)
	case 6:
		v := make([]int64, rng.IntN(4))
		for i := range v {
			v[i] = int64(rng.Uint64()) >> rng.IntN(64)
		}
		return attribute.Int64SliceValue(v)
	case 7:
		v := make([]float64, rng.IntN(4))
		for i := range v {
			v[i] = rng.Float64()
		}
		return attribute.Float64SliceValue(v)
	case 8:
		v := make([]string, rng.IntN(4))
		for i := range v {
			v[i] = randomString(rng)
		}
		return attribute.StringSliceValue(v)
	case 9:
		return attribute.ByteSliceValue([]byte(randomString(rng)))
	case 10:
		v := make([]attribute.Value, rng.IntN(4))
		for i := range v {
			v[i] = randomValue(rng, depth+1)
		}
		return attribute.SliceValue(v...)
	case 11:
		v := make([]attribute.KeyValue, rng.IntN(4))
		for i := range v {
			v[i] = attribute.KeyValue{Key: attribute.Key(randomString(rng)), Value: randomValue(rng, depth+1)}
		}
		return attribute.MapValue(v...)
	default:
		return attribute.Value{}
	}
}

func randomAttrs(rng *rand.Rand, max int) []attribute.KeyValue {
	n := rng.IntN(max + 1)
	out := make([]attribute.KeyValue, n)
	for i := range out {
		out[i] = attribute.KeyValue{Key: attribute.Key(fmt.Sprintf("k%d.%s", i, randomString(rng))), Value: randomValue(rng, 0)}
	}
	return out
}

func randomSpanContext(rng *rand.Rand, remote bool) trace.SpanContext {
	var tid trace.TraceID
	var sid trace.SpanID
	for i := range tid {
		tid[i] = byte(rng.Uint32())
	}
	for i := range sid {
		sid[i] = byte(rng.Uint32())
	}
	cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(rng.IntN(4)), Remote: remote}
	if rng.IntN(5) == 0 {
		ts, _ := trace.ParseTraceState(fmt.Sprintf("v%d=x%d", rng.IntN(9), rng.IntN(99)))
		cfg.TraceState = ts
	}
	return trace.NewSpanContext(cfg)
}

func randomTime(rng *rand.Rand) time.Time {
	if rng.IntN(10) == 0 {
		return time.Time{}
	}
	return time.Unix(0, 1_600_000_000_000_000_000+rng.Int64N(1e17))
}

func randomSpans(rng *rand.Rand, n int) []sdktrace.ReadOnlySpan {
	spans := make([]sdktrace.ReadOnlySpan, n)
	for i := range spans {
		stub := tracetest.SpanStub{
			Name:                 randomString(rng),
			SpanContext:          randomSpanContext(rng, false),
			SpanKind:             trace.SpanKind(rng.IntN(6)),
			StartTime:            randomTime(rng),
			EndTime:              randomTime(rng),
			Attributes:           randomAttrs(rng, 6),
			DroppedAttributes:    rng.IntN(3),
			DroppedEvents:        rng.IntN(3),
			DroppedLinks:         rng.IntN(3),
			Resource:             randResources[rng.IntN(len(randResources))],
			InstrumentationScope: randScopes[rng.IntN(len(randScopes))],
		}
		if rng.IntN(3) > 0 {
			stub.Parent = randomSpanContext(rng, rng.IntN(2) == 0)
		}
		switch rng.IntN(3) {
		case 1:
			stub.Status = sdktrace.Status{Code: codes.Ok}
		case 2:
			stub.Status = sdktrace.Status{Code: codes.Error, Description: randomString(rng)}
		}
		for range rng.IntN(3) {
			stub.Events = append(stub.Events, sdktrace.Event{
				Name: randomString(rng), Time: randomTime(rng), Attributes: randomAttrs(rng, 3),
				DroppedAttributeCount: rng.IntN(2),
			})
		}
		for range rng.IntN(3) {
			stub.Links = append(stub.Links, sdktrace.Link{
				SpanContext: randomSpanContext(rng, rng.IntN(2) == 0), Attributes: randomAttrs(rng, 2),
				DroppedAttributeCount: rng.IntN(2),
			})
		}
		spans[i] = stub.Snapshot()
	}
	return spans
}

// benchSpans records spans shaped like a Lambda invocation through a real
// TracerProvider (the SDK's own snapshot type, as exporters receive it): a
// handful of string and int attributes, an event on every third span, one
// resource, one scope.
func benchSpans(n int) []sdktrace.ReadOnlySpan {
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "orders-api"),
		attribute.String("cloud.provider", "aws"),
		attribute.String("cloud.region", "eu-west-1"),
		attribute.String("faas.name", "orders-api"),
		attribute.String("faas.version", "$LATEST"),
		attribute.Int("faas.max_memory", 134217728),
		attribute.String("telemetry.sdk.language", "go"),
		attribute.String("telemetry.sdk.name", "opentelemetry"),
		attribute.String("telemetry.sdk.version", "1.47.0"),
	)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(res))
	tracer := tp.Tracer("github.com/lambdaotel/lambdaotel", trace.WithInstrumentationVersion("0.1.0"))
	parent := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 15: 1}, SpanID: trace.SpanID{1, 7: 1}, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	for i := range n {
		_, span := tracer.Start(parent, "GET /orders/{id}",
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithTimestamp(t0),
			trace.WithAttributes(
				attribute.String("faas.trigger", "http"),
				attribute.String("faas.invocation_id", "af9d5aa4-a685-4c5f-a22b-444f80b3cc28"),
				attribute.Bool("faas.coldstart", i == 0),
				attribute.String("http.request.method", "GET"),
				attribute.String("url.path", "/orders/12345"),
				attribute.String("http.route", "/orders/{id}"),
				attribute.Int("http.response.status_code", 200),
				attribute.Float64("app.ratio", 0.25),
			))
		if i%3 == 0 {
			span.AddEvent("cache.miss", trace.WithTimestamp(t1), trace.WithAttributes(attribute.String("key", "order:12345")))
		}
		span.SetStatus(codes.Ok, "")
		span.End(trace.WithTimestamp(t1))
	}
	return rec.Ended()
}

func BenchmarkAppendTraceRequest(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		spans := benchSpans(n)
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendTraceRequest(buf[:0], spans)
			}
			b.ReportMetric(float64(len(buf)), "bytes/req")
		})
	}
}

// BenchmarkProtoMarshalBaseline is the usual way: convert to the generated
// structs, then proto.Marshal. "convert+marshal" is what an exporter built on
// the generated types pays per export; "marshal-only" isolates proto.Marshal.
func BenchmarkProtoMarshalBaseline(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		spans := benchSpans(n)
		b.Run(fmt.Sprintf("convert+marshal/spans=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := proto.Marshal(referenceRequest(spans)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("marshal-only/spans=%d", n), func(b *testing.B) {
			req := referenceRequest(spans)
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				var err error
				buf, err = proto.MarshalOptions{}.MarshalAppend(buf[:0], req)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
