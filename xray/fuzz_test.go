package xray

import (
	"context"
	"reflect"
	"testing"

	"go.opentelemetry.io/otel/propagation"
)

// FuzzParse checks that Parse never panics, that every header it accepts formats to a
// header that parses back to the same Header (String is canonical and lossless for
// everything Parse keeps), and that the propagator agrees with Parse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		docHeader,
		"Root=" + docRoot + ";Parent=" + docParent + ";Sampled=?",
		"Root=1-67891233-abcdef012345678912345678;Parent=a87bd80c6f1d5e42;Sampled=1;Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2",
		"Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;CalledFrom=app",
		"root=" + docRoot + ";parent=" + docParent + ";sampled=0",
		"  Root = " + docRoot + " ;\tParent=\t" + docParent + " ; ",
		"Root=1-00000000-000000000000000000000000",
		"Root=2-5759e988-bd862e3fe1be46a994272793",
		";;=;a;b=;Root=" + docRoot + ";a=b=c",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		// The propagator's allocation-free path must accept exactly what Parse does.
		_, _, ok := parse(s, false)
		if ok != (err == nil) {
			t.Fatalf("parse(keepFields=false) ok=%v but Parse err=%v for %q", ok, err, s)
		}
		ctx := Propagator{}.Extract(context.Background(), propagation.MapCarrier{"x-amzn-trace-id": s})
		if err != nil {
			if ctx != context.Background() {
				t.Fatalf("Extract changed ctx for rejected %q", s)
			}
			return
		}
		out := h.String()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String %q does not parse: %v", s, out, err)
		}
		if !reflect.DeepEqual(again, h) {
			t.Fatalf("round trip changed the header\n in  %q\n out %q\n %+v\n %+v", s, out, h, again)
		}
		if again.String() != out {
			t.Fatalf("String not canonical: %q then %q", out, again.String())
		}
	})
}
