package wire

import (
	"bytes"
	"errors"
	"testing"

	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The fuzz targets use the generated types' Unmarshal as an oracle: Validate
// is meant to be stricter than proto.Unmarshal (wire types of known fields,
// ID lengths, groups, depth), never laxer, because what Validate accepts is
// forwarded byte for byte to backends that decode it with a real protobuf
// library. A body that Validate accepts and proto.Unmarshal rejects fails the
// target. The counts are checked against the decoded structs as well.

func FuzzValidateTraces(f *testing.F) {
	fuzzValidate(f, Traces,
		func(b []byte) (Counts, error) {
			var m tracepb.TracesData
			err := proto.Unmarshal(b, &m)
			c := Counts{Resources: len(m.ResourceSpans)}
			for _, rs := range m.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					c.Items += len(ss.Spans)
				}
			}
			return c, err
		}, true,
		mustMarshal(f, testTraces()), mustMarshal(f, benchTraces(3)))
}

func FuzzValidateMetrics(f *testing.F) {
	fuzzValidate(f, Metrics,
		func(b []byte) (Counts, error) {
			var m metricspb.MetricsData
			err := proto.Unmarshal(b, &m)
			c := Counts{Resources: len(m.ResourceMetrics)}
			for _, rm := range m.ResourceMetrics {
				for _, sm := range rm.ScopeMetrics {
					for _, mt := range sm.Metrics {
						c.Items += len(mt.GetGauge().GetDataPoints()) + len(mt.GetSum().GetDataPoints()) +
							len(mt.GetHistogram().GetDataPoints()) + len(mt.GetExponentialHistogram().GetDataPoints()) +
							len(mt.GetSummary().GetDataPoints())
					}
				}
			}
			return c, err
		},
		// A struct decoder keeps only the last member of Metric's data
		// oneof; Validate counts the data points of every member on the
		// wire, so it may count more.
		false,
		mustMarshal(f, testMetrics()))
}

func FuzzValidateLogs(f *testing.F) {
	fuzzValidate(f, Logs,
		func(b []byte) (Counts, error) {
			var m logspb.LogsData
			err := proto.Unmarshal(b, &m)
			c := Counts{Resources: len(m.ResourceLogs)}
			for _, rl := range m.ResourceLogs {
				for _, sl := range rl.ScopeLogs {
					c.Items += len(sl.LogRecords)
				}
			}
			return c, err
		}, true,
		mustMarshal(f, testLogs()))
}

// fuzzValidate runs one fuzz target. oracle decodes with the generated types
// and counts; exactItems says whether its item count must equal ours (else
// ours may be larger).
func fuzzValidate(f *testing.F, sig Signal, oracle func([]byte) (Counts, error), exactItems bool, seeds ...[]byte) {
	f.Add([]byte{})
	f.Add(unknownFields())
	for _, s := range seeds {
		f.Add(s)
	}
	for _, tc := range malformedCases() {
		if tc.sig == sig {
			f.Add(tc.body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		c, err := Validate(sig, body)
		if !bytes.Equal(body, orig) {
			t.Fatal("Validate modified its input")
		}
		if err != nil {
			var we *Error
			if !errors.As(err, &we) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %T %v is not a *Error matching ErrMalformed", err, err)
			}
			if we.Offset < 0 || we.Offset > len(body) {
				t.Fatalf("offset %d outside the %d-byte body", we.Offset, len(body))
			}
			if c != (Counts{}) {
				t.Fatalf("counts %+v on error", c)
			}
			_ = err.Error()
			return
		}
		want, perr := oracle(body)
		if perr != nil {
			t.Fatalf("Validate accepted a body that proto.Unmarshal rejects (%v): % x", perr, body)
		}
		if c.Resources != want.Resources || (exactItems && c.Items != want.Items) || c.Items < want.Items {
			t.Fatalf("counts %+v, proto.Unmarshal counts %+v", c, want)
		}
		// Concatenation merges requests.
		c2, err := Validate(sig, append(bytes.Clone(body), body...))
		if err != nil || c2 != (Counts{2 * c.Resources, 2 * c.Items}) {
			t.Fatalf("doubled body: %+v, %v; single: %+v", c2, err, c)
		}
	})
}
