package wire

import "testing"

func BenchmarkValidate(b *testing.B) {
	for _, bc := range []struct {
		name  string
		spans int
	}{{"10spans", 10}, {"512spans", 512}} {
		body := mustMarshal(b, benchTraces(bc.spans))
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Validate(Traces, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidateMetrics(b *testing.B) {
	body := mustMarshal(b, testMetrics())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Validate(Metrics, body); err != nil {
			b.Fatal(err)
		}
	}
}
