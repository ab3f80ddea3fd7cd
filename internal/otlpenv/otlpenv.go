// Package otlpenv reads the OpenTelemetry exporter environment variables
// (OTEL_EXPORTER_OTLP_*) for traces, as the OpenTelemetry specification
// defines them: the signal-specific variable wins over the general one.
package otlpenv

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTracesEndpoint is where traces go when nothing is configured: the
// lambdaotel-extension's receiver on loopback.
const DefaultTracesEndpoint = "http://127.0.0.1:4318/v1/traces"

// Traces is the resolved trace exporter configuration.
type Traces struct {
	Endpoint    string
	Headers     map[string]string
	Timeout     time.Duration
	Compression string // "gzip" or "none"
	Protocol    string // e.g. "http/protobuf"
}

// Problem is a variable whose value could not be used; its default applies.
type Problem struct {
	Var, Value, Why string
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s=%q: %s", p.Var, p.Value, p.Why)
}

// ReadTraces resolves the trace exporter configuration from getenv.
func ReadTraces(getenv func(string) string) (Traces, []Problem) {
	var problems []Problem
	pick := func(name string) (string, string) {
		sig := "OTEL_EXPORTER_OTLP_TRACES_" + name
		if v := strings.TrimSpace(getenv(sig)); v != "" {
			return sig, v
		}
		gen := "OTEL_EXPORTER_OTLP_" + name
		return gen, strings.TrimSpace(getenv(gen))
	}
	t := Traces{Endpoint: DefaultTracesEndpoint, Timeout: 10 * time.Second, Compression: "none", Protocol: "http/protobuf"}

	if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); v != "" {
		if _, err := url.Parse(v); err != nil {
			problems = append(problems, Problem{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", v, "not a URL"})
		} else {
			t.Endpoint = v // used as-is, per the specification
		}
	} else if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")); v != "" {
		if _, err := url.Parse(v); err != nil {
			problems = append(problems, Problem{"OTEL_EXPORTER_OTLP_ENDPOINT", v, "not a URL"})
		} else {
			t.Endpoint = strings.TrimSuffix(v, "/") + "/v1/traces"
		}
	}

	h, hp := ParseHeaders(getenv("OTEL_EXPORTER_OTLP_HEADERS"))
	problems = append(problems, tag(hp, "OTEL_EXPORTER_OTLP_HEADERS")...)
	th, thp := ParseHeaders(getenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS"))
	problems = append(problems, tag(thp, "OTEL_EXPORTER_OTLP_TRACES_HEADERS")...)
	for k, v := range th {
		if h == nil {
			h = map[string]string{}
		}
		h[k] = v
	}
	t.Headers = h

	if name, v := pick("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			problems = append(problems, Problem{name, v, "want a positive number of milliseconds"})
		} else {
			t.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	if name, v := pick("COMPRESSION"); v != "" {
		switch strings.ToLower(v) {
		case "gzip", "none":
			t.Compression = strings.ToLower(v)
		default:
			problems = append(problems, Problem{name, v, "want gzip or none"})
		}
	}
	if name, v := pick("PROTOCOL"); v != "" {
		t.Protocol = v
		if v != "http/protobuf" {
			problems = append(problems, Problem{name, v, "the library exports http/protobuf only"})
			t.Protocol = "http/protobuf"
		}
	}
	return t, problems
}

func tag(ps []Problem, name string) []Problem {
	for i := range ps {
		ps[i].Var = name
	}
	return ps
}

// ParseHeaders reads a "k=v,k2=v2" header list: keys trimmed and
// lower-cased, values trimmed and percent-decoded (the W3C Baggage encoding
// the specification names, so '+' stays '+'), split at the first '='.
// Malformed entries are skipped and reported.
func ParseHeaders(s string) (map[string]string, []Problem) { return parseList(s, true) }

// ParseResourceAttributes reads OTEL_RESOURCE_ATTRIBUTES: the same
// "k=v,k2=v2" list as ParseHeaders, but keys keep their case, as attribute
// keys are case-sensitive.
func ParseResourceAttributes(s string) (map[string]string, []Problem) { return parseList(s, false) }

func parseList(s string, lowerKeys bool) (map[string]string, []Problem) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var problems []Problem
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if lowerKeys {
			k = strings.ToLower(k)
		}
		if !ok || k == "" {
			problems = append(problems, Problem{Value: part, Why: "an entry is not key=value"})
			continue
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			problems = append(problems, Problem{Value: part, Why: "a value is not URL-encoded correctly"})
			continue
		}
		out[k] = dv
	}
	return out, problems
}
