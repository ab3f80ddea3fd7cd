package lambdaotel

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestModeResolution(t *testing.T) {
	for _, tc := range []struct {
		env    string
		option Mode
		want   Mode
		warns  bool
	}{
		{"", "", ModeSync, false},
		{"", ModeAsync, ModeAsync, false},
		{"async", "", ModeAsync, false},
		{"ASYNC", ModeFinalize, ModeAsync, false},
		{" finalize ", ModeSync, ModeFinalize, false},
		{"sync", ModeAsync, ModeSync, false},
		{"bogus", ModeAsync, ModeAsync, true},
		{"bogus", "", ModeSync, true},
		{"", "weird", ModeSync, true},
	} {
		var logs bytes.Buffer
		c := newConfig([]Option{
			WithMode(tc.option), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
			withEnv(envOf(map[string]string{EnvMode: tc.env})),
		})
		if c.mode != tc.want {
			t.Errorf("env %q option %q: mode %q, want %q", tc.env, tc.option, c.mode, tc.want)
		}
		if got := logs.Len() > 0; got != tc.warns {
			t.Errorf("env %q option %q: warned %v, want %v: %s", tc.env, tc.option, got, tc.warns, logs.String())
		}
		if tc.warns && tc.env != "" && !strings.Contains(logs.String(), EnvMode) {
			t.Errorf("the warning must name %s: %s", EnvMode, logs.String())
		}
	}
}

func TestQueueSizeResolution(t *testing.T) {
	for _, tc := range []struct {
		env    string
		option int
		want   int
		warns  bool
	}{
		{"", 0, DefaultQueueSize, false},
		{"", 10, 10, false},
		{"64", 10, 64, false},
		{"0", 10, 10, true},
		{"-3", 0, DefaultQueueSize, true},
		{"many", 7, 7, true},
	} {
		var logs bytes.Buffer
		c := newConfig([]Option{
			WithQueueSize(tc.option), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
			withEnv(envOf(map[string]string{EnvQueueSize: tc.env})),
		})
		if c.queueSize != tc.want || (logs.Len() > 0) != tc.warns {
			t.Errorf("env %q option %d: size %d warned %v, want %d %v", tc.env, tc.option, c.queueSize, logs.Len() > 0, tc.want, tc.warns)
		}
	}
}

func TestParseSampler(t *testing.T) {
	for _, tc := range []struct{ name, arg, wantDesc, err string }{
		{"always_on", "", "AlwaysOnSampler", ""},
		{"ALWAYS_OFF", "", "AlwaysOffSampler", ""},
		{"traceidratio", "0.25", "TraceIDRatioBased{0.25}", ""},
		{"traceidratio", "", "TraceIDRatioBased{1}", ""},
		{"parentbased_always_on", "", "ParentBased{root:AlwaysOnSampler", ""},
		{"parentbased_traceidratio", "0.5", "ParentBased{root:TraceIDRatioBased{0.5}", ""},
		{"traceidratio", "2", "", "not a ratio"},
		{"jaeger_remote", "", "", "not supported"},
	} {
		s, err := parseSampler(tc.name, tc.arg)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %s: err %v, want %q", tc.name, tc.arg, err, tc.err)
			}
			continue
		}
		if err != nil || !strings.HasPrefix(s.Description(), tc.wantDesc) {
			t.Errorf("%s %s: %v %v, want %s", tc.name, tc.arg, s, err, tc.wantDesc)
		}
	}
}

func TestParsePropagators(t *testing.T) {
	for _, tc := range []struct {
		list   string
		fields []string
		err    string
	}{
		{"tracecontext", []string{"traceparent", "tracestate"}, ""},
		{"tracecontext,baggage", []string{"traceparent", "tracestate", "baggage"}, ""},
		{"xray", []string{"X-Amzn-Trace-Id"}, ""},
		{"xray-lambda, tracecontext", []string{"X-Amzn-Trace-Id", "traceparent", "tracestate"}, ""},
		{"none", nil, ""},
		{"tracecontext,b3", []string{"traceparent", "tracestate"}, "b3"},
	} {
		p, err := parsePropagators(tc.list)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.list, err, tc.err)
			}
		} else if err != nil {
			t.Errorf("%q: %v", tc.list, err)
		}
		gotF, wantF := slices.Sorted(slices.Values(p.Fields())), slices.Sorted(slices.Values(tc.fields))
		if got := strings.Join(gotF, ","); got != strings.Join(wantF, ",") {
			t.Errorf("%q: fields %q, want %q", tc.list, got, strings.Join(wantF, ","))
		}
	}
}
