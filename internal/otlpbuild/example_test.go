package otlpbuild_test

import (
	"fmt"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// A counter as a cumulative monotonic Sum and a duration as a Histogram,
// as an extension reports its own work.
func ExampleAppendMetrics() {
	start := time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC)
	now := start.Add(time.Minute)
	res := &otlpbuild.Resource{Attributes: []otlpbuild.KeyValue{otlpbuild.String("service.name", "lambdaotel-extension")}}
	scope := &otlpbuild.Scope{Name: "lambdaotel-extension", Version: "1.0.0"}
	body := otlpbuild.AppendMetrics(nil, res, scope, []otlpbuild.Metric{
		{
			Name: "lambdaotel.exported.spans", Unit: "{span}", Type: otlpbuild.Sum,
			Temporality: otlpbuild.Cumulative, Monotonic: true,
			Points: []otlpbuild.NumberPoint{{Start: start, Time: now, Int: 42,
				Attributes: []otlpbuild.KeyValue{otlpbuild.String("outcome", "ok")}}},
		},
		{
			Name: "lambdaotel.export.duration", Unit: "s", Type: otlpbuild.Histogram,
			Temporality: otlpbuild.Cumulative,
			HistogramPoints: []otlpbuild.HistogramPoint{{Start: start, Time: now,
				Count: 3, Sum: 0.012, Min: 0.002, Max: 0.007,
				Bounds: []float64{0.001, 0.005, 0.01}, BucketCounts: []uint64{0, 2, 1, 0}}},
		},
	})

	// The bytes are an ExportMetricsServiceRequest (MetricsData shares its
	// encoding), ready for POST /v1/metrics.
	var md metricspb.MetricsData
	if err := proto.Unmarshal(body, &md); err != nil {
		panic(err)
	}
	for _, m := range md.ResourceMetrics[0].ScopeMetrics[0].Metrics {
		fmt.Println(m.Name, m.Unit)
	}
	// Output:
	// lambdaotel.exported.spans {span}
	// lambdaotel.export.duration s
}
