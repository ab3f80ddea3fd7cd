package export

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/config"
)

func TestBreakerOpensSkipsAndProbes(t *testing.T) {
	var healthy atomic.Bool
	srv := newBackend(t, func(_ int64, w http.ResponseWriter) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	h := newExporter(t, config.Exporter{Endpoint: srv.URL}, Options{ProbeEvery: 4}, true)
	export := func() Result { return h.exp.Export(budget(t, time.Second), "traces", Proto(nil)) }

	for i := 1; i <= 3; i++ {
		if res := export(); res.OK || res.Skipped {
			t.Fatalf("export %d = %+v", i, res)
		}
		if open := h.exp.BreakerOpen("traces"); open != (i == 3) {
			t.Fatalf("after %d failures open = %v", i, open)
		}
	}
	// Signals sharing the backend share its breaker; skipped calls never
	// touch the network.
	for i := 1; i <= 3; i++ {
		res := h.exp.Export(budget(t, time.Second), []string{"traces", "metrics", "logs"}[i-1], Proto(nil))
		if !res.Skipped || !errors.Is(res.Err, ErrBreakerOpen) || res.Attempts != 0 {
			t.Fatalf("skip %d = %+v", i, res)
		}
	}
	if srv.hits.Load() != 3 {
		t.Fatalf("hits = %d while open", srv.hits.Load())
	}
	// The 4th call is a probe: one attempt, no retries. It fails.
	if res := export(); res.Skipped || res.Attempts != 1 {
		t.Fatalf("probe = %+v", res)
	}
	if srv.hits.Load() != 4 || !h.exp.BreakerOpen("traces") {
		t.Fatal("failed probe closed the breaker")
	}
	// A failed probe doubles the spacing: 7 skips, then the next probe.
	for range 7 {
		if res := export(); !res.Skipped {
			t.Fatalf("not skipped after a failed probe: %+v", res)
		}
	}
	healthy.Store(true)
	if res := export(); !res.OK || res.Attempts != 1 {
		t.Fatalf("probe = %+v", res)
	}
	if h.exp.BreakerOpen("traces") || srv.hits.Load() != 5 {
		t.Fatalf("successful probe left the breaker open (hits %d)", srv.hits.Load())
	}
	if res := export(); !res.OK {
		t.Fatalf("after close: %+v", res)
	}
	s := h.exp.Stats()
	if s.BreakerOpens != 1 || s.Skipped != 10 || s.Failures != 4 || s.Exports != 2 {
		t.Errorf("stats = %+v", s)
	}
	logs := h.logs.String()
	if strings.Count(logs, "breaker open") != 1 || strings.Count(logs, "breaker closed") != 1 {
		t.Errorf("transitions not logged once each:\n%s", logs)
	}
}

func TestBreakerIgnoresFinal4xx(t *testing.T) {
	srv := newBackend(t, func(_ int64, w http.ResponseWriter) { w.WriteHeader(http.StatusBadRequest) })
	h := newExporter(t, config.Exporter{Endpoint: srv.URL}, Options{}, true)
	for range 5 {
		h.exp.Export(budget(t, time.Second), "traces", Proto(nil))
	}
	// A backend that answers 400 is up: skipping it would lose good data.
	if h.exp.BreakerOpen("traces") || srv.hits.Load() != 5 {
		t.Fatal("final 4xx answers opened the breaker")
	}
}

func TestBreakerPerBackend(t *testing.T) {
	bad := newBackend(t, func(_ int64, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) })
	good := newBackend(t, nil)
	h := newExporter(t, config.Exporter{TracesEndpoint: bad.URL + "/t", LogsEndpoint: good.URL + "/l"},
		Options{MaxAttempts: 1}, true)
	for range 3 {
		h.exp.Export(budget(t, time.Second), "traces", Proto(nil))
	}
	if !h.exp.BreakerOpen("traces") || h.exp.BreakerOpen("logs") {
		t.Fatal("breakers not per backend")
	}
	if res := h.exp.Export(budget(t, time.Second), "logs", Proto(nil)); !res.OK {
		t.Fatalf("logs = %+v", res)
	}
	// metrics has no endpoint at all: stdout, never a breaker.
	if res := h.exp.Export(budget(t, time.Second), "metrics", Proto(traces(1, 1, 1))); !res.Fallback || res.Err != nil {
		t.Fatalf("metrics = %+v", res)
	}
}

func TestBreakerUnit(t *testing.T) {
	b := newBreaker(2, 3)
	if _, ok := b.allow(); !ok {
		t.Fatal("closed breaker refused")
	}
	if b.record(unavailable, false) != unchanged || b.record(none, false) != unchanged {
		t.Fatal("opened early")
	}
	if b.record(unavailable, false) != opened {
		t.Fatal("did not open at the threshold")
	}
	// Skip, skip, probe; while the probe runs, everyone else skips.
	for i, want := range []bool{false, false, true, false, false} {
		probe, ok := b.allow()
		if ok != want || probe != want {
			t.Fatalf("call %d: probe %v ok %v", i+1, probe, ok)
		}
	}
	if b.record(success, true) != closed {
		t.Fatal("probe success did not close")
	}
	if b.record(slow, false) != opened {
		t.Fatal("a timeout did not open at once")
	}
}

// Failed probes space the next ones out, doubling up to the cap; a
// successful one closes the breaker, and a new outage starts from
// probeEvery again.
func TestProbeSpacingDoubles(t *testing.T) {
	b := newBreaker(1, 2)
	b.record(unavailable, false)
	var gaps []int
	for range 9 {
		n := 0
		for {
			probe, ok := b.allow()
			if ok && probe {
				break
			}
			n++
		}
		gaps = append(gaps, n+1)
		b.record(unavailable, true)
	}
	want := []int{2, 4, 8, 16, 32, 64, 128, 128, 128}
	for i := range want {
		if gaps[i] != want[i] {
			t.Fatalf("calls per probe %v, want %v", gaps, want)
		}
	}
	b.record(success, true)
	b.record(unavailable, false)
	if b.gap != 2 {
		t.Fatalf("a new outage starts with gap %d, want 2", b.gap)
	}
}
