package otlpstdout

import (
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/lambdaotel/lambdaotel/otlpstdout/tracedata"
)

// traces decodes r's payload for the tests; outside them, callers use
// package tracedata, which the exporter does not link.
func traces(r *Record) (*tracepb.TracesData, error) {
	body, err := r.Body()
	if err != nil {
		return nil, err
	}
	return tracedata.Traces(body, r.IsJSON())
}
