package lambdaotel

import (
	"fmt"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/lambdaotel/lambdaotel/xray"
)

// parentBased is ParentBased(root), except that a parent X-Ray left
// undecided (Sampled=? or no Sampled field) is decided by root, as X-Ray
// asks: the SDK's ParentBased alone would treat it as "not sampled" and drop
// every span of the request.
func parentBased(root sdktrace.Sampler) sdktrace.Sampler {
	return deferringSampler{parentBased: sdktrace.ParentBased(root), root: root}
}

type deferringSampler struct {
	parentBased, root sdktrace.Sampler
}

func (s deferringSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if xray.SamplingDeferred(p.ParentContext) {
		return s.root.ShouldSample(p)
	}
	return s.parentBased.ShouldSample(p)
}

func (s deferringSampler) Description() string { return s.parentBased.Description() }

// parseSampler reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG as the
// OpenTelemetry specification defines them.
func parseSampler(name, arg string) (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		if strings.TrimSpace(arg) == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(strings.TrimSpace(arg), 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("%s %q is not a ratio in [0, 1]", EnvSamplerArg, arg)
		}
		return r, nil
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		return sdktrace.TraceIDRatioBased(r), nil
	case "parentbased_always_on":
		return parentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return parentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		return parentBased(sdktrace.TraceIDRatioBased(r)), nil
	default:
		return nil, fmt.Errorf("%s %q is not supported (always_on, always_off, traceidratio and their parentbased_ forms are)", EnvTracesSampler, name)
	}
}
