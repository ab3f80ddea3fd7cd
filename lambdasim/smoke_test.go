package lambdasim

import (
	"testing"
)

func TestSmokeRuntimeAndExtension(t *testing.T) {
	ctx := testCtx(t)
	s := newSim(t, Config{
		Runtime:    &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "smoke-ext")}},
	})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		res, err := s.Invoke(ctx, Request{Payload: []byte(`{"action":"echo"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != "success" || string(res.Payload) != `{"action":"echo"}` {
			t.Fatalf("invocation %d: %+v payload %s", i, res, res.Payload)
		}
		if !s.Frozen() {
			t.Fatalf("not frozen after invocation %d", i)
		}
	}
	sr, err := s.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sr.RuntimeSigterm || len(sr.Extensions) != 1 || sr.Extensions[0].Killed {
		t.Fatalf("shutdown: %+v", sr)
	}
	for _, ev := range s.Telemetry() {
		t.Log(ev.Type, string(ev.Record))
	}
}
