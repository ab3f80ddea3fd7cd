package lambdasim

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// Real-process lifecycle tests: the testdata programs rt and ext run as real
// processes under lambdasim and are driven through init, invocations, freeze,
// timeouts, crashes and shutdown. The checks follow Lambda's documented
// contract (see /work/shared/reference/lambda-platform.md A2, A3.3, A6).

// ---------------------------------------------------------------------------
// 1. Init

// External extensions start first; the runtime is started only once every
// one of them has registered, the slow one included.
func TestLifecycleInitExtensionsRegisterBeforeRuntimeStarts(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	fastOut, slowOut := lcOutFile(t), lcOutFile(t)
	s := newSim(t, Config{
		Runtime: &Process{Path: bins.rt},
		Env:     map[string]string{"RT_PRINT_PID": "1"},
		Extensions: []Process{
			{Path: extNamed(t, "fast-ext"), Args: []string{"EXT_OUT=" + fastOut}},
			{Path: extNamed(t, "slow-ext"), Args: []string{"EXT_OUT=" + slowOut, "EXT_REGISTER_DELAY_MS=200"}},
		},
	})
	lcStart(t, ctx, s)

	evs := s.Telemetry()
	lastExt, firstFn := -1, -1
	registered := map[string]bool{}
	for i, ev := range evs {
		switch ev.Type {
		case lambdaapi.EventExtension:
			var r lambdaapi.ExtensionRecord
			if err := json.Unmarshal(ev.Record, &r); err != nil {
				t.Fatal(err)
			}
			if r.State == "Registered" {
				registered[r.Name] = true
				lastExt = i
			}
		case lambdaapi.EventFunction:
			if firstFn < 0 {
				firstFn = i
			}
		}
	}
	if !registered["fast-ext"] || !registered["slow-ext"] {
		t.Fatalf("registered extensions %v, want fast-ext and slow-ext", registered)
	}
	if firstFn < 0 {
		t.Fatal("the runtime printed nothing")
	}
	if firstFn < lastExt {
		t.Fatalf("runtime output (event %d) before the last extension registered (event %d): the runtime started too early", firstFn, lastExt)
	}
	if evs[0].Type != lambdaapi.EventInitStart {
		t.Fatalf("first event %s, want %s", evs[0].Type, lambdaapi.EventInitStart)
	}
	for _, f := range []string{fastOut, slowOut} {
		if lcIndex(lcLines(t, f), lcHasPrefix("registered function")) < 0 {
			t.Fatalf("%s: no registered line: %q", f, lcLines(t, f))
		}
	}
	if got := s.Extensions(); !slices.Equal(got, []string{"fast-ext", "slow-ext"}) {
		t.Fatalf("Extensions() = %v", got)
	}
}

// The runtime gets the runtime environment, the extension the reduced one
// (no "_" variables, no runtime-only ones); Config.Env reaches both.
func TestLifecycleInitEnvironment(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	out := lcOutFile(t)
	s := newSim(t, Config{
		Runtime:      &Process{Path: bins.rt},
		Extensions:   []Process{{Path: extNamed(t, "env-ext"), Args: []string{"EXT_OUT=" + out, "EXT_VERBOSE=1"}}},
		Env:          map[string]string{"LC_CUSTOM_SETTING": "from-config"},
		FunctionName: "envfn",
		Handler:      "my.handler",
		MemoryMB:     256,
		Region:       "eu-west-1",
	})
	lcStart(t, ctx, s)
	rt := lcEnvMap(t, lcInvokeOK(t, ctx, s, `{"action":"env"}`).Payload)
	ext := lcEnvMap(t, []byte(lcLineValue(t, lcLines(t, out), "environ ")))

	wantRuntime := map[string]string{
		"_HANDLER":                        "my.handler",
		"AWS_LAMBDA_RUNTIME_API":          s.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"AWS_XRAY_CONTEXT_MISSING":        "LOG_ERROR",
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"LC_CUSTOM_SETTING":               "from-config",
	}
	for k, v := range wantRuntime {
		if got, ok := rt[k]; !ok || got != v {
			t.Errorf("runtime %s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{"LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_STREAM_NAME", "_AWS_XRAY_DAEMON_ADDRESS", "AWS_XRAY_DAEMON_ADDRESS"} {
		if rt[k] == "" {
			t.Errorf("runtime has no %s", k)
		}
	}
	if _, ok := rt["AWS_LAMBDA_MAX_CONCURRENCY"]; ok {
		t.Error("runtime has AWS_LAMBDA_MAX_CONCURRENCY outside Managed Instances")
	}

	for k := range ext {
		if strings.HasPrefix(k, "_") {
			t.Errorf("extension environment has %s", k)
		}
	}
	for _, k := range []string{"AWS_XRAY_CONTEXT_MISSING", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_EXECUTION_ENV",
		"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_XRAY_DAEMON_ADDRESS", "_HANDLER"} {
		if v, ok := ext[k]; ok {
			t.Errorf("extension environment has runtime-only %s=%q", k, v)
		}
	}
	for _, k := range []string{"AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_INITIALIZATION_TYPE", "LC_CUSTOM_SETTING", "TZ", "LANG", "PATH"} {
		if ext[k] != rt[k] {
			t.Errorf("extension %s = %q, runtime has %q; want the same", k, ext[k], rt[k])
		}
	}
}

// A runtime that reports an init error fails Start with an *InitError; each
// following Invoke re-runs init in phase "invoke" until one succeeds.
func TestLifecycleInitRuntimeInitErrorThenReinit(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	out := lcOutFile(t)
	s := newSim(t, Config{
		Runtime: &Process{Path: bins.rt},
		// The first two starts fail (Start, then the first Invoke); the
		// third succeeds. The extension subscribes and, like an OTel
		// extension, holds each INVOKE until that request's runtimeDone has
		// been delivered to it, which proves delivery works after the
		// failed inits.
		Env: map[string]string{"RT_INIT": "error", "RT_INIT_FAILS": "2", "RT_MARK": filepath.Join(t.TempDir(), "mark")},
		Extensions: []Process{{Path: extNamed(t, "otel-ext"),
			Args: []string{"EXT_OUT=" + out, "EXT_SUBSCRIBE=1", "EXT_WAIT_RUNTIMEDONE=1"}}},
	})
	ie := lcInitError(t, s.Start(ctx))
	if ie.Status != lambdaapi.StatusError || ie.ErrorType != "Runtime.TestInitError" || ie.Message != "scripted init error" {
		t.Fatalf("Start: %+v", ie)
	}
	ird := lcRecords[lambdaapi.InitRuntimeDone](t, s, lambdaapi.EventInitRuntimeDone)
	if len(ird) != 1 || ird[0].Status != lambdaapi.StatusError || ird[0].ErrorType != "Runtime.TestInitError" || ird[0].Phase != lambdaapi.PhaseInit {
		t.Fatalf("initRuntimeDone after Start: %+v", ird)
	}
	irep := lcRecords[lambdaapi.InitReport](t, s, lambdaapi.EventInitReport)
	if len(irep) != 1 || irep[0].Status != lambdaapi.StatusError {
		t.Fatalf("initReport after Start: %+v", irep)
	}
	// The failed init is torn down: the extension got SHUTDOWN (failure).
	if lcIndex(lcLines(t, out), lcExtEvent("SHUTDOWN", "failure")) < 0 {
		t.Fatalf("extension saw no SHUTDOWN failure after the failed init:\n%s", strings.Join(lcLines(t, out), "\n"))
	}

	// Invoke re-runs init (phase invoke); it fails again and so does the
	// invocation.
	res := lcInvoke(t, ctx, s, `{"action":"echo"}`)
	if res.Status != lambdaapi.StatusFailure || res.ErrorType != "Runtime.TestInitError" {
		t.Fatalf("invocation after a failed init: status %q errorType %q payload %s", res.Status, res.ErrorType, res.Payload)
	}
	if got := lcInitPhases(t, s); !slices.Equal(got, []string{"init", "invoke"}) {
		t.Fatalf("initStart phases %v", got)
	}
	ird = lcRecords[lambdaapi.InitRuntimeDone](t, s, lambdaapi.EventInitRuntimeDone)
	if last := ird[len(ird)-1]; last.Phase != lambdaapi.PhaseInvoke || last.Status != lambdaapi.StatusError {
		t.Fatalf("initRuntimeDone of the suppressed init: %+v", last)
	}
	if r := lcReport(t, s, res.RequestID); r.Status != lambdaapi.StatusFailure {
		t.Fatalf("report of the failed invocation: %+v", r)
	}

	// The third init succeeds within the invocation.
	res = lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
	if res.InitDurationMs == nil {
		t.Fatal("first invocation after a successful init has no InitDurationMs")
	}
	if got := lcInitPhases(t, s); !slices.Equal(got, []string{"init", "invoke", "invoke"}) {
		t.Fatalf("initStart phases %v", got)
	}
	lines := lcLines(t, out)
	if lcIndex(lines, lcHasPrefix("runtimeDone-missing")) >= 0 || lcIndex(lines, lcExtTelemetry(lambdaapi.EventRuntimeDone, res.RequestID)) < 0 {
		t.Fatalf("telemetry did not reach the extension after the re-init:\n%s", strings.Join(lines, "\n"))
	}
	res = lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
	if res.InitDurationMs != nil {
		t.Fatalf("second invocation after init has InitDurationMs %v", *res.InitDurationMs)
	}
}

// A runtime that exits during init fails it with Runtime.ExitError.
func TestLifecycleInitRuntimeExits(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{Runtime: &Process{Path: bins.rt}, Env: map[string]string{"RT_INIT": "exit"}})
	ie := lcInitError(t, s.Start(ctx))
	if ie.Status != lambdaapi.StatusFailure || ie.ErrorType != lambdaapi.ErrTypeRuntimeExit || !strings.Contains(ie.Message, "exited with status 2") {
		t.Fatalf("Start: %+v", ie)
	}
	ird := lcRecords[lambdaapi.InitRuntimeDone](t, s, lambdaapi.EventInitRuntimeDone)
	if len(ird) != 1 || ird[0].Status != lambdaapi.StatusFailure || ird[0].ErrorType != lambdaapi.ErrTypeRuntimeExit {
		t.Fatalf("initRuntimeDone: %+v", ird)
	}
	if !slices.Contains(lcFunctionLines(t, s), "rt: exiting during init") {
		t.Fatalf("the runtime's last words are missing: %q", lcFunctionLines(t, s))
	}
}

// An init that does not finish within InitTimeout fails with status timeout,
// and every process of the environment is killed and reaped.
func TestLifecycleInitTimeout(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	out := lcOutFile(t)
	s := newSim(t, Config{
		Runtime:     &Process{Path: bins.rt},
		Env:         map[string]string{"RT_INIT": "hang", "RT_PRINT_PID": "1"},
		Extensions:  []Process{{Path: extNamed(t, "patient-ext"), Args: []string{"EXT_OUT=" + out, "EXT_VERBOSE=1"}}},
		InitTimeout: 300 * time.Millisecond,
	})
	start := time.Now()
	ie := lcInitError(t, s.Start(ctx))
	took := time.Since(start)
	if ie.Status != lambdaapi.StatusTimeout || ie.ErrorType != lambdaapi.ErrTypeSandboxTimeout || !strings.Contains(ie.Message, "the runtime to call next") {
		t.Fatalf("Start: %+v", ie)
	}
	if took < 300*time.Millisecond {
		t.Fatalf("init failed after %v, before its 300ms limit", took)
	}
	if r := lcRecords[lambdaapi.InitReport](t, s, lambdaapi.EventInitReport); len(r) != 1 || r[0].Status != lambdaapi.StatusTimeout {
		t.Fatalf("initReport: %+v", r)
	}
	lcGone(t, "runtime", lcRuntimePid(t, s))
	lcGone(t, "extension", lcAtoi(t, lcLineValue(t, lcLines(t, out), "pid ")))
}

// An extension that exits before registering fails init, named.
func TestLifecycleInitExtensionExitsBeforeRegister(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{
		Runtime:    &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "quitter-ext"), Args: []string{"EXT_MODE=exit-before-register"}}},
	})
	ie := lcInitError(t, s.Start(ctx))
	if ie.Status != lambdaapi.StatusFailure || ie.ErrorType != lambdaapi.ErrTypeExtensionCrash || !strings.Contains(ie.Message, "quitter-ext") {
		t.Fatalf("Start: %+v", ie)
	}
	if lines := lcFunctionLines(t, s); len(lines) != 0 {
		t.Fatalf("the runtime ran although an extension never registered: %q", lines)
	}
}

// An extension that reports init/error fails init with its error type.
func TestLifecycleInitExtensionInitError(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{
		Runtime:    &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "faulty-ext"), Args: []string{"EXT_MODE=init-error"}}},
	})
	ie := lcInitError(t, s.Start(ctx))
	if ie.Status != lambdaapi.StatusError || ie.ErrorType != "Extension.TestFailure" || ie.Message != "scripted init failure" {
		t.Fatalf("Start: %+v", ie)
	}
	failed := false
	for _, r := range lcRecords[lambdaapi.ExtensionRecord](t, s, lambdaapi.EventExtension) {
		if r.Name == "faulty-ext" && r.State == "Failed" && r.ErrorType == "Extension.TestFailure" {
			failed = true
		}
	}
	if !failed {
		t.Fatal("no platform.extension record with state Failed")
	}
	if r := lcRecords[lambdaapi.InitReport](t, s, lambdaapi.EventInitReport); len(r) != 1 || r[0].Status != lambdaapi.StatusError || r[0].ErrorType != "Extension.TestFailure" {
		t.Fatalf("initReport: %+v", r)
	}
}

// An extension that never registers times init out; the message names it.
func TestLifecycleInitExtensionHangsBeforeRegister(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{
		Runtime:     &Process{Path: bins.rt},
		Extensions:  []Process{{Path: extNamed(t, "sleepy-ext"), Args: []string{"EXT_MODE=hang-before-register"}}},
		InitTimeout: 300 * time.Millisecond,
	})
	ie := lcInitError(t, s.Start(ctx))
	if ie.Status != lambdaapi.StatusTimeout || !strings.Contains(ie.Message, "extension sleepy-ext to register") {
		t.Fatalf("Start: %+v", ie)
	}
	if lines := lcFunctionLines(t, s); len(lines) != 0 {
		t.Fatalf("the runtime ran although an extension never registered: %q", lines)
	}
}

// ---------------------------------------------------------------------------
// 2. Freeze

// Freezing is proven by its effect: a goroutine ticking every millisecond
// in the runtime barely advances across an idle gap when the environment is
// frozen, and advances by about the gap when it is not. The runtime is also
// seen stopped (state T) in /proc while frozen.
func TestLifecycleFreezeStopsTheRuntime(t *testing.T) {
	t.Parallel()
	const gap = 300 * time.Millisecond
	for _, tc := range []struct {
		name     string
		noFreeze bool
	}{{"frozen", false}, {"NoFreeze", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			s := newSim(t, Config{
				Runtime:    &Process{Path: bins.rt},
				Env:        map[string]string{"RT_TICK_MS": "1"},
				Extensions: []Process{{Path: extNamed(t, "freeze-ext")}},
				NoFreeze:   tc.noFreeze,
			})
			lcStart(t, ctx, s)
			// Lambda freezes an initialised environment until its first event.
			if s.Frozen() == tc.noFreeze {
				t.Fatalf("Frozen() = %v after init", s.Frozen())
			}
			pid := lcAtoi(t, string(lcInvokeOK(t, ctx, s, `{"action":"pid"}`).Payload))
			n1 := lcAtoi(t, string(lcInvokeOK(t, ctx, s, `{"action":"ticks"}`).Payload))
			if tc.noFreeze {
				if s.Frozen() {
					t.Fatal("Frozen() with NoFreeze")
				}
				if st, err := lcProcState(pid); err != nil || st == 'T' {
					t.Fatalf("runtime state %c (%v) with NoFreeze", st, err)
				}
			} else {
				if !s.Frozen() {
					t.Fatal("not Frozen() between invocations")
				}
				lcWaitProcState(t, pid, 'T')
			}
			// The idle gap between two invocations: the interval measured,
			// not a synchronisation.
			time.Sleep(gap)
			n2 := lcAtoi(t, string(lcInvokeOK(t, ctx, s, `{"action":"ticks"}`).Payload))
			delta := n2 - n1
			t.Logf("ticks across a %v gap: %d", gap, delta)
			if tc.noFreeze && delta <= 100 {
				t.Fatalf("unfrozen runtime ticked only %d times in %v", delta, gap)
			}
			if !tc.noFreeze && delta >= 30 {
				t.Fatalf("frozen runtime ticked %d times in %v", delta, gap)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 3. Telemetry timing around the freeze

// platform.report for invocation N is made before the freeze but reaches a
// subscriber only after the thaw for N+1 (or at shutdown), as in Lambda.
func TestLifecycleReportDeliveredAfterThaw(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	out := lcOutFile(t)
	s := newSim(t, Config{
		Runtime: &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "otel-ext"), Args: []string{"EXT_OUT=" + out,
			"EXT_SUBSCRIBE=1", "EXT_WAIT_RUNTIMEDONE=1", "EXT_SHUTDOWN_WAIT_REPORT=1"}}},
	})
	lcStart(t, ctx, s)
	r1 := lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
	if !s.Frozen() {
		t.Fatal("not frozen after invocation 1")
	}
	lines := lcLines(t, out)
	if lcIndex(lines, lcExtTelemetry(lambdaapi.EventRuntimeDone, r1.RequestID)) < 0 {
		t.Fatalf("runtimeDone 1 was not delivered during invocation 1:\n%s", strings.Join(lines, "\n"))
	}
	if lcIndex(lines, lcExtTelemetry(lambdaapi.EventReport, r1.RequestID)) >= 0 {
		t.Fatalf("report 1 was delivered before the freeze:\n%s", strings.Join(lines, "\n"))
	}
	// The report was made (captured), only its delivery waits.
	lcReport(t, s, r1.RequestID)

	r2 := lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
	lines = lcLines(t, out)
	rep1 := lcIndex(lines, lcExtTelemetry(lambdaapi.EventReport, r1.RequestID))
	done2 := lcIndex(lines, lcExtTelemetry(lambdaapi.EventRuntimeDone, r2.RequestID))
	inv2 := lcIndex(lines, lcExtEvent("INVOKE", r2.RequestID))
	if rep1 < 0 || done2 < 0 || inv2 < 0 || rep1 > done2 {
		t.Fatalf("report 1 at line %d, INVOKE 2 at %d, runtimeDone 2 at %d; want report 1 delivered after the thaw, before runtimeDone 2:\n%s",
			rep1, inv2, done2, strings.Join(lines, "\n"))
	}
	if lcIndex(lines, lcExtTelemetry(lambdaapi.EventReport, r2.RequestID)) >= 0 {
		t.Fatalf("report 2 was delivered before the freeze:\n%s", strings.Join(lines, "\n"))
	}

	sr := lcShutdown(t, ctx, s)
	lines = lcLines(t, out)
	if lcIndex(lines, lcExtTelemetry(lambdaapi.EventReport, r2.RequestID)) < 0 || lcIndex(lines, lcHasPrefix("report-missing")) >= 0 {
		t.Fatalf("report 2 was not delivered at shutdown:\n%s", strings.Join(lines, "\n"))
	}
	if len(sr.Extensions) != 1 || sr.Extensions[0].Killed || sr.Extensions[0].ExitCode != 0 {
		t.Fatalf("shutdown: %+v", sr)
	}
}

// platform.runtimeDone for N is delivered while the extension is still
// working on INVOKE N, before it calls next.
func TestLifecycleRuntimeDoneDeliveredWhileExtensionBusy(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	out := lcOutFile(t)
	s := newSim(t, Config{
		Runtime: &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "busy-ext"), Args: []string{"EXT_OUT=" + out,
			"EXT_SUBSCRIBE=1", "EXT_INVOKE_MS=200", "EXT_VERBOSE=1"}}},
	})
	lcStart(t, ctx, s)
	res := lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
	lines := lcLines(t, out)
	inv := lcIndex(lines, lcExtEvent("INVOKE", res.RequestID))
	done := lcIndex(lines, lcExtTelemetry(lambdaapi.EventRuntimeDone, res.RequestID))
	next := lcIndex(lines, lcHasPrefix("invoke-done "+res.RequestID))
	if inv < 0 || done < 0 || next < 0 || !(inv < done && done < next) {
		t.Fatalf("INVOKE at line %d, runtimeDone at %d, next at %d; want runtimeDone while the extension works:\n%s",
			inv, done, next, strings.Join(lines, "\n"))
	}
	// The invocation's duration covers the extension's work.
	if res.ExtensionOverheadMs < 100 || res.DurationMs < 150 {
		t.Fatalf("extension overhead %vms, duration %vms; the extension worked 200ms", res.ExtensionOverheadMs, res.DurationMs)
	}
	if rep := lcReport(t, s, res.RequestID); len(rep.Spans) != 1 || rep.Spans[0].Name != "extensionOverhead" {
		t.Fatalf("report spans %+v", rep.Spans)
	}
}

// The runtime's Lambda-Runtime-Deadline-Ms and the extension's INVOKE
// deadlineMs are the same instant: invocation start plus the timeout.
func TestLifecycleInvokeDeadlines(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	out := lcOutFile(t)
	s := newSim(t, Config{
		Runtime:    &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "deadline-ext"), Args: []string{"EXT_OUT=" + out, "EXT_VERBOSE=1"}}},
		Timeout:    7 * time.Second,
	})
	lcStart(t, ctx, s)
	before := time.Now()
	res := lcInvokeOK(t, ctx, s, `{"action":"headers"}`)
	after := time.Now()
	var inv lambdaapi.Invocation
	if err := json.Unmarshal(res.Payload, &inv); err != nil {
		t.Fatalf("headers %s: %v", res.Payload, err)
	}
	if inv.RequestID != res.RequestID || inv.TraceID == "" || !strings.HasSuffix(inv.InvokedFunctionARN, ":function:function") {
		t.Fatalf("invocation headers %+v", inv)
	}
	rt := inv.Deadline.UnixMilli()
	lo, hi := before.Add(7*time.Second).UnixMilli(), after.Add(7*time.Second).UnixMilli()
	if rt < lo || rt > hi {
		t.Fatalf("runtime deadline %d, want start+7s within [%d, %d]", rt, lo, hi)
	}
	ext := int64(lcAtoi(t, lcLineValue(t, lcLines(t, out), "deadline INVOKE ")))
	if ext != rt {
		t.Fatalf("extension INVOKE deadlineMs %d, runtime deadline %d", ext, rt)
	}
}

// ---------------------------------------------------------------------------
// 4. Timeouts

// A runtime that overruns the function timeout: the invocation times out,
// the environment is reset (runtime killed, SHUTDOWN timeout to extensions)
// and the next invocation initialises afresh.
func TestLifecycleTimeoutResetsEnvironment(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	out := lcOutFile(t)
	s := newSim(t, Config{
		Runtime:    &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "watch-ext"), Args: []string{"EXT_OUT=" + out}}},
		Timeout:    300 * time.Millisecond,
	})
	lcStart(t, ctx, s)
	pid := lcAtoi(t, string(lcInvokeOK(t, ctx, s, `{"action":"pid"}`).Payload))

	res := lcInvoke(t, ctx, s, `{"action":"sleep","ms":2000}`)
	if res.Status != lambdaapi.StatusTimeout || res.ErrorType != lambdaapi.ErrTypeSandboxTimeout {
		t.Fatalf("status %q errorType %q", res.Status, res.ErrorType)
	}
	if doc := lcErrorDoc(t, res.Payload); !strings.Contains(doc.ErrorMessage, "Task timed out after 0.30 seconds") || doc.ErrorType != lambdaapi.ErrTypeSandboxTimeout {
		t.Fatalf("payload %s", res.Payload)
	}
	if res.Reset == nil || res.Reset.Reason != "timeout" || res.Reset.RuntimeSigterm || res.Reset.Runtime == nil || !res.Reset.Runtime.Killed {
		t.Fatalf("reset %+v", res.Reset)
	}
	if len(res.Reset.Extensions) != 1 || res.Reset.Extensions[0].Killed || res.Reset.Extensions[0].ExitCode != 0 {
		t.Fatalf("reset extensions %+v", res.Reset.Extensions)
	}
	lcGone(t, "timed-out runtime", pid)
	lines := lcLines(t, out)
	if lcIndex(lines, lcExtEvent("SHUTDOWN", "timeout")) < 0 {
		t.Fatalf("extension saw no SHUTDOWN timeout:\n%s", strings.Join(lines, "\n"))
	}
	if rd := lcRuntimeDone(t, s, res.RequestID); rd.Status != lambdaapi.StatusTimeout {
		t.Fatalf("runtimeDone %+v", rd)
	}
	if rep := lcReport(t, s, res.RequestID); rep.Status != lambdaapi.StatusTimeout || rep.ErrorType != lambdaapi.ErrTypeSandboxTimeout {
		t.Fatalf("report %+v", rep)
	}

	next := lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
	if next.InitDurationMs == nil {
		t.Fatal("the invocation after a reset did not re-init")
	}
	if got := lcInitPhases(t, s); !slices.Equal(got, []string{"init", "invoke"}) {
		t.Fatalf("initStart phases %v", got)
	}
	if lcIndex(lcLines(t, out)[len(lines):], lcHasPrefix("registered function")) < 0 {
		t.Fatal("the extension was not started again by the re-init")
	}
}

// The function timeout covers the extensions too: an extension stuck on
// INVOKE times the invocation out even though the runtime answered.
func TestLifecycleTimeoutCoversExtensions(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{
		Runtime:    &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "stuck-ext"), Args: []string{"EXT_MODE=hang-invoke"}}},
		Timeout:    300 * time.Millisecond,
	})
	lcStart(t, ctx, s)
	res := lcInvoke(t, ctx, s, `{"action":"echo","text":"answered"}`)
	if res.Status != lambdaapi.StatusTimeout || res.ErrorType != lambdaapi.ErrTypeSandboxTimeout {
		t.Fatalf("status %q errorType %q payload %s", res.Status, res.ErrorType, res.Payload)
	}
	// The caller had the runtime's answer already.
	if string(res.Payload) != `{"action":"echo","text":"answered"}` {
		t.Fatalf("payload %s", res.Payload)
	}
	if rd := lcRuntimeDone(t, s, res.RequestID); rd.Status != lambdaapi.StatusSuccess {
		t.Fatalf("runtimeDone %+v; the runtime itself succeeded", rd)
	}
	if rep := lcReport(t, s, res.RequestID); rep.Status != lambdaapi.StatusTimeout {
		t.Fatalf("report %+v", rep)
	}
	if res.Reset == nil || res.Reset.Reason != "timeout" || len(res.Reset.Extensions) != 1 || !res.Reset.Extensions[0].Killed {
		t.Fatalf("reset %+v", res.Reset)
	}
}

// ---------------------------------------------------------------------------
// 5. Crashes

// A runtime that exits mid-invoke fails the invocation (Runtime.ExitError)
// and resets the environment; the next invocation initialises afresh.
func TestLifecycleRuntimeCrashMidInvoke(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	out := lcOutFile(t)
	s := newSim(t, Config{
		Runtime:    &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "witness-ext"), Args: []string{"EXT_OUT=" + out}}},
	})
	lcStart(t, ctx, s)
	res := lcInvoke(t, ctx, s, `{"action":"exit","code":3}`)
	if res.Status != lambdaapi.StatusFailure || res.ErrorType != lambdaapi.ErrTypeRuntimeExit {
		t.Fatalf("status %q errorType %q", res.Status, res.ErrorType)
	}
	if doc := lcErrorDoc(t, res.Payload); !strings.Contains(doc.ErrorMessage, "exited with status 3") {
		t.Fatalf("payload %s", res.Payload)
	}
	if res.Reset == nil || res.Reset.Reason != "failure" || res.Reset.Runtime == nil || res.Reset.Runtime.ExitCode != 3 || res.Reset.Runtime.Killed {
		t.Fatalf("reset %+v runtime %+v", res.Reset, res.Reset.Runtime)
	}
	if lcIndex(lcLines(t, out), lcExtEvent("SHUTDOWN", "failure")) < 0 {
		t.Fatalf("extension saw no SHUTDOWN failure:\n%s", strings.Join(lcLines(t, out), "\n"))
	}
	if rep := lcReport(t, s, res.RequestID); rep.Status != lambdaapi.StatusFailure || rep.ErrorType != lambdaapi.ErrTypeRuntimeExit {
		t.Fatalf("report %+v", rep)
	}
	if !slices.Contains(lcFunctionLines(t, s), "rt: exiting mid-invoke") {
		t.Fatal("the runtime's last line is missing from the telemetry")
	}
	next := lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
	if next.InitDurationMs == nil || !slices.Equal(lcInitPhases(t, s), []string{"init", "invoke"}) {
		t.Fatalf("no re-init after the crash: phases %v", lcInitPhases(t, s))
	}
}

// An extension that crashes on INVOKE fails the invocation (Extension.Crash).
func TestLifecycleExtensionCrashOnInvoke(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{
		Runtime:    &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "crashy-ext"), Args: []string{"EXT_MODE=crash-on-invoke"}}},
	})
	lcStart(t, ctx, s)
	res := lcInvoke(t, ctx, s, `{"action":"echo"}`)
	if res.Status != lambdaapi.StatusFailure || res.ErrorType != lambdaapi.ErrTypeExtensionCrash {
		t.Fatalf("status %q errorType %q payload %s", res.Status, res.ErrorType, res.Payload)
	}
	if res.Reset == nil || res.Reset.Reason != "failure" {
		t.Fatalf("reset %+v", res.Reset)
	}
	if len(res.Reset.Extensions) != 1 || res.Reset.Extensions[0].Name != "crashy-ext" || res.Reset.Extensions[0].ExitCode != 7 {
		t.Fatalf("reset extensions %+v", res.Reset.Extensions)
	}
	if rep := lcReport(t, s, res.RequestID); rep.Status != lambdaapi.StatusFailure || rep.ErrorType != lambdaapi.ErrTypeExtensionCrash {
		t.Fatalf("report %+v", rep)
	}
}

// ---------------------------------------------------------------------------
// 6. Shutdown

func TestLifecycleShutdown(t *testing.T) {
	t.Parallel()

	// With an external extension the runtime gets SIGTERM first; a
	// well-behaved extension gets SHUTDOWN (spindown, deadline start+2s)
	// and exits 0.
	t.Run("SigtermAndShutdownEvent", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		out := lcOutFile(t)
		s := newSim(t, Config{
			Runtime:    &Process{Path: bins.rt},
			Env:        map[string]string{"RT_SIGTERM": "exit"},
			Extensions: []Process{{Path: extNamed(t, "good-ext"), Args: []string{"EXT_OUT=" + out, "EXT_VERBOSE=1"}}},
		})
		lcStart(t, ctx, s)
		lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
		before := time.Now()
		sr := lcShutdown(t, ctx, s)
		after := time.Now()
		if sr.Reason != "spindown" || !sr.RuntimeSigterm || sr.Runtime == nil || sr.Runtime.Killed || sr.Runtime.ExitCode != 0 {
			t.Fatalf("shutdown %+v runtime %+v", sr, sr.Runtime)
		}
		if len(sr.Extensions) != 1 || sr.Extensions[0].Name != "good-ext" || sr.Extensions[0].Killed || sr.Extensions[0].ExitCode != 0 {
			t.Fatalf("extensions %+v", sr.Extensions)
		}
		if !slices.Contains(lcFunctionLines(t, s), "rt: SIGTERM") {
			t.Fatalf("no SIGTERM line from the runtime: %q", lcFunctionLines(t, s))
		}
		lines := lcLines(t, out)
		if lcIndex(lines, lcExtEvent("SHUTDOWN", "spindown")) < 0 || lcIndex(lines, lcHasPrefix("exiting")) < 0 {
			t.Fatalf("extension lines:\n%s", strings.Join(lines, "\n"))
		}
		deadline := int64(lcAtoi(t, lcLineValue(t, lines, "deadline SHUTDOWN ")))
		lo, hi := before.Add(2*time.Second).UnixMilli(), after.Add(2*time.Second).UnixMilli()
		if deadline < lo || deadline > hi {
			t.Fatalf("SHUTDOWN deadlineMs %d, want start+2000 within [%d, %d]", deadline, lo, hi)
		}
		if sr.DurationMs >= 2000 {
			t.Fatalf("a well-behaved shutdown took the whole budget: %vms", sr.DurationMs)
		}
		if s.Frozen() {
			t.Fatal("Frozen() after shutdown")
		}
		if _, err := s.Invoke(ctx, Request{Payload: []byte(`{}`)}); err != ErrClosed {
			t.Fatalf("Invoke after Shutdown: %v, want ErrClosed", err)
		}
		again, err := s.Shutdown(ctx)
		if err != nil || again != sr {
			t.Fatalf("second Shutdown: %+v, %v", again, err)
		}
	})

	// Without any extension the runtime is killed at once, no SIGTERM.
	t.Run("NoExtensionNoSigterm", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		s := newSim(t, Config{Runtime: &Process{Path: bins.rt}, Env: map[string]string{"RT_SIGTERM": "exit"}})
		lcStart(t, ctx, s)
		lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
		sr := lcShutdown(t, ctx, s)
		if sr.RuntimeSigterm || sr.Runtime == nil || !sr.Runtime.Killed || len(sr.Extensions) != 0 {
			t.Fatalf("shutdown %+v runtime %+v", sr, sr.Runtime)
		}
		if slices.Contains(lcFunctionLines(t, s), "rt: SIGTERM") {
			t.Fatal("the runtime got SIGTERM although no extension is registered")
		}
		t.Logf("shutdown without extensions took %vms", sr.DurationMs)
	})

	// A runtime that ignores SIGTERM is killed after its 300 ms share.
	t.Run("RuntimeIgnoresSigterm", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		s := newSim(t, Config{
			Runtime:    &Process{Path: bins.rt},
			Env:        map[string]string{"RT_SIGTERM": "ignore"},
			Extensions: []Process{{Path: extNamed(t, "good-ext")}},
		})
		lcStart(t, ctx, s)
		lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
		sr := lcShutdown(t, ctx, s)
		if !sr.RuntimeSigterm || sr.Runtime == nil || !sr.Runtime.Killed {
			t.Fatalf("shutdown %+v runtime %+v", sr, sr.Runtime)
		}
		if sr.DurationMs < 300 || sr.DurationMs >= 2000 {
			t.Fatalf("shutdown took %vms; want the runtime's 300ms share, not the whole budget", sr.DurationMs)
		}
		if len(sr.Extensions) != 1 || sr.Extensions[0].Killed {
			t.Fatalf("extensions %+v", sr.Extensions)
		}
		t.Logf("runtime ignoring SIGTERM: shutdown took %vms", sr.DurationMs)
	})

	// An extension that ignores SHUTDOWN is killed at the deadline.
	t.Run("ExtensionIgnoresShutdown", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		out := lcOutFile(t)
		s := newSim(t, Config{
			Runtime:    &Process{Path: bins.rt},
			Env:        map[string]string{"RT_SIGTERM": "exit"},
			Extensions: []Process{{Path: extNamed(t, "deaf-ext"), Args: []string{"EXT_OUT=" + out, "EXT_MODE=ignore-shutdown"}}},
		})
		lcStart(t, ctx, s)
		lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
		start := time.Now()
		sr := lcShutdown(t, ctx, s)
		wall := time.Since(start)
		t.Logf("extension ignoring SHUTDOWN: shutdown DurationMs %v, wall %v", sr.DurationMs, wall)
		if sr.DurationMs < 1950 || sr.DurationMs > 2050 {
			t.Fatalf("shutdown took %vms, want 2000±50 (killed at the deadline)", sr.DurationMs)
		}
		if wall < 1950*time.Millisecond {
			t.Fatalf("Shutdown returned after %v, before the deadline", wall)
		}
		if len(sr.Extensions) != 1 || !sr.Extensions[0].Killed || sr.Extensions[0].Name != "deaf-ext" {
			t.Fatalf("extensions %+v", sr.Extensions)
		}
		if !sr.RuntimeSigterm || sr.Runtime == nil || sr.Runtime.Killed {
			t.Fatalf("runtime %+v", sr.Runtime)
		}
		if lcIndex(lcLines(t, out), lcExtEvent("SHUTDOWN", "spindown")) < 0 {
			t.Fatal("the extension never saw SHUTDOWN")
		}
	})

	// With only an internal extension registered the budget is 500 ms and
	// the runtime gets SIGTERM.
	t.Run("InternalExtensionOnly", func(t *testing.T) {
		t.Parallel()
		for _, mode := range []string{"exit", "ignore"} {
			t.Run(mode, func(t *testing.T) {
				t.Parallel()
				ctx := testCtx(t)
				s := newSim(t, Config{
					Runtime: &Process{Path: bins.rt},
					Env:     map[string]string{"RT_SIGTERM": mode, "RT_REGISTER_INTERNAL": "inproc-ext"},
				})
				lcStart(t, ctx, s)
				if got := s.Extensions(); !slices.Equal(got, []string{"inproc-ext"}) {
					t.Fatalf("Extensions() = %v", got)
				}
				lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
				sr := lcShutdown(t, ctx, s)
				if !sr.RuntimeSigterm || sr.Runtime == nil || len(sr.Extensions) != 0 {
					t.Fatalf("shutdown %+v runtime %+v", sr, sr.Runtime)
				}
				if mode == "exit" {
					if sr.Runtime.Killed || !slices.Contains(lcFunctionLines(t, s), "rt: SIGTERM") {
						t.Fatalf("runtime %+v lines %q", sr.Runtime, lcFunctionLines(t, s))
					}
					return
				}
				t.Logf("internal extension only, runtime ignoring SIGTERM: shutdown took %vms", sr.DurationMs)
				if !sr.Runtime.Killed || sr.DurationMs < 500 || sr.DurationMs >= 1000 {
					t.Fatalf("runtime %+v after %vms; want killed at the 500ms budget", sr.Runtime, sr.DurationMs)
				}
			})
		}
	})

	// An extension whose SHUTDOWN handling takes 300 ms still exits cleanly.
	t.Run("SlowShutdownExtension", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		out := lcOutFile(t)
		s := newSim(t, Config{
			Runtime:    &Process{Path: bins.rt},
			Extensions: []Process{{Path: extNamed(t, "slow-ext"), Args: []string{"EXT_OUT=" + out, "EXT_SHUTDOWN_MS=300"}}},
		})
		lcStart(t, ctx, s)
		lcInvokeOK(t, ctx, s, `{"action":"echo"}`)
		sr := lcShutdown(t, ctx, s)
		if len(sr.Extensions) != 1 || sr.Extensions[0].Killed || sr.Extensions[0].ExitCode != 0 {
			t.Fatalf("extensions %+v", sr.Extensions)
		}
		if sr.DurationMs < 300 {
			t.Fatalf("shutdown took %vms, less than the extension's 300ms", sr.DurationMs)
		}
		if lcIndex(lcLines(t, out), lcHasPrefix("exiting")) < 0 {
			t.Fatal("extension did not finish its SHUTDOWN handling")
		}
	})

	// Shutdown during an invocation lets it finish first; nothing is
	// signalled while the runtime is still working.
	t.Run("WaitsForInvocationInProgress", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		s := newSim(t, Config{
			Runtime:    &Process{Path: bins.rt},
			Env:        map[string]string{"RT_SIGTERM": "exit"},
			Extensions: []Process{{Path: extNamed(t, "patient-ext")}},
		})
		lcStart(t, ctx, s)
		p, err := s.InvokeAsync(ctx, Request{Payload: []byte(`{"action":"sleep","ms":200}`)})
		if err != nil {
			t.Fatal(err)
		}
		sr := lcShutdown(t, ctx, s)
		select {
		case <-p.inv.doneCh:
		default:
			t.Fatal("Shutdown returned while the invocation was still running")
		}
		res, err := p.Wait(ctx)
		if err != nil || res.Status != lambdaapi.StatusSuccess || string(res.Payload) != `"slept"` {
			t.Fatalf("invocation interrupted by Shutdown: %+v, %v", res, err)
		}
		if !sr.RuntimeSigterm || sr.Runtime == nil || sr.Runtime.Killed {
			t.Fatalf("shutdown %+v runtime %+v", sr, sr.Runtime)
		}
	})

	// Close kills everything, frozen or not, and reaps it.
	t.Run("NothingSurvivesClose", func(t *testing.T) {
		t.Parallel()
		for _, frozen := range []bool{true, false} {
			name := "frozen"
			if !frozen {
				name = "running"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := testCtx(t)
				out := lcOutFile(t)
				s := newSim(t, Config{
					Runtime:    &Process{Path: bins.rt},
					Env:        map[string]string{"RT_SIGTERM": "ignore"},
					Extensions: []Process{{Path: extNamed(t, "lingering-ext"), Args: []string{"EXT_OUT=" + out, "EXT_VERBOSE=1", "EXT_MODE=ignore-shutdown"}}},
					NoFreeze:   !frozen,
				})
				lcStart(t, ctx, s)
				rtPid := lcAtoi(t, string(lcInvokeOK(t, ctx, s, `{"action":"pid"}`).Payload))
				extPid := lcAtoi(t, lcLineValue(t, lcLines(t, out), "pid "))
				if frozen {
					lcWaitProcState(t, rtPid, 'T')
					lcWaitProcState(t, extPid, 'T')
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				lcGone(t, "runtime", rtPid)
				lcGone(t, "extension", extPid)
				if _, err := s.Invoke(ctx, Request{}); err != ErrClosed {
					t.Fatalf("Invoke after Close: %v, want ErrClosed", err)
				}
			})
		}
	})

	// After Shutdown every process is gone too.
	t.Run("NothingSurvivesShutdown", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		out := lcOutFile(t)
		s := newSim(t, Config{
			Runtime:    &Process{Path: bins.rt},
			Extensions: []Process{{Path: extNamed(t, "tidy-ext"), Args: []string{"EXT_OUT=" + out, "EXT_VERBOSE=1"}}},
		})
		lcStart(t, ctx, s)
		rtPid := lcAtoi(t, string(lcInvokeOK(t, ctx, s, `{"action":"pid"}`).Payload))
		extPid := lcAtoi(t, lcLineValue(t, lcLines(t, out), "pid "))
		if got, want := s.Pids(), map[string]int{"runtime": rtPid, "tidy-ext": extPid}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Pids() = %v, want %v", got, want)
		}
		lcShutdown(t, ctx, s)
		lcGone(t, "runtime", rtPid)
		lcGone(t, "extension", extPid)
	})
}

// ---------------------------------------------------------------------------
// 8. Lambda Managed Instances

func TestLifecycleManagedInstances(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{
		Runtime:        &Process{Path: bins.rt},
		Extensions:     []Process{{Path: extNamed(t, "lmi-ext"), Args: []string{"EXT_MODE=shutdown-only"}}},
		MaxConcurrency: 2,
	})
	lcStart(t, ctx, s)
	if s.Frozen() {
		t.Fatal("Managed Instances environment frozen after init")
	}
	env := lcEnvMap(t, lcInvokeOK(t, ctx, s, `{"action":"env"}`).Payload)
	if env["AWS_LAMBDA_MAX_CONCURRENCY"] != "2" || env["AWS_LAMBDA_INITIALIZATION_TYPE"] != "lambda-managed-instances" {
		t.Fatalf("AWS_LAMBDA_MAX_CONCURRENCY=%q AWS_LAMBDA_INITIALIZATION_TYPE=%q",
			env["AWS_LAMBDA_MAX_CONCURRENCY"], env["AWS_LAMBDA_INITIALIZATION_TYPE"])
	}
	pid := lcAtoi(t, string(lcInvokeOK(t, ctx, s, `{"action":"pid"}`).Payload))
	if s.Frozen() {
		t.Fatal("Managed Instances environment frozen between invocations")
	}
	if st, err := lcProcState(pid); err != nil || st == 'T' {
		t.Fatalf("runtime state %c (%v) between invocations", st, err)
	}
	if r := lcRecords[lambdaapi.InitStart](t, s, lambdaapi.EventInitStart); len(r) != 1 || r[0].InitializationType != "lambda-managed-instances" {
		t.Fatalf("initStart %+v", r)
	}
	sr := lcShutdown(t, ctx, s)
	if len(sr.Extensions) != 1 || sr.Extensions[0].Killed {
		t.Fatalf("shutdown %+v", sr)
	}
}

// ---------------------------------------------------------------------------
// 9. Result fields

func TestLifecycleResultFields(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{
		Runtime:    &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "fields-ext")}},
		MemoryMB:   128,
	})
	lcStart(t, ctx, s)
	check := func(res *Result, wantInit bool) {
		t.Helper()
		if res.MaxMemoryUsedMB <= 0 || res.MaxMemoryUsedMB >= 128*10 {
			t.Errorf("%s: MaxMemoryUsedMB %d", res.RequestID, res.MaxMemoryUsedMB)
		}
		if res.BilledDurationMs != lcBilled(res.DurationMs) {
			t.Errorf("%s: BilledDurationMs %d for DurationMs %v", res.RequestID, res.BilledDurationMs, res.DurationMs)
		}
		if (res.InitDurationMs != nil) != wantInit {
			t.Errorf("%s: InitDurationMs %v, want set=%v", res.RequestID, res.InitDurationMs, wantInit)
		}
		if res.InitDurationMs != nil && *res.InitDurationMs <= 0 {
			t.Errorf("%s: InitDurationMs %v", res.RequestID, *res.InitDurationMs)
		}
		rep := lcReport(t, s, res.RequestID)
		if rep.Metrics.DurationMs != res.DurationMs || int64(rep.Metrics.BilledDurationMs) != res.BilledDurationMs ||
			rep.Metrics.MaxMemoryUsedMB != res.MaxMemoryUsedMB || rep.Metrics.MemorySizeMB != 128 ||
			(rep.Metrics.InitDurationMs == nil) != (res.InitDurationMs == nil) {
			t.Errorf("%s: report metrics %+v do not match the result %+v", res.RequestID, rep.Metrics, res)
		}
	}
	check(lcInvokeOK(t, ctx, s, `{"action":"echo"}`), true)
	check(lcInvokeOK(t, ctx, s, `{"action":"sleep","ms":20}`), false)
	crash := lcInvoke(t, ctx, s, `{"action":"exit","code":1}`)
	if crash.Status != lambdaapi.StatusFailure {
		t.Fatalf("crash: %+v", crash)
	}
	check(crash, false)
	check(lcInvokeOK(t, ctx, s, `{"action":"echo"}`), true)
	check(lcInvokeOK(t, ctx, s, `{"action":"echo"}`), false)
}

// What an extension prints just before its next, the last thing before the
// freeze, is in the telemetry when Invoke returns: output belongs to the
// invocation that wrote it, not to the next thaw.
func TestLifecycleOutputBeforeFreezeIsCaptured(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s := newSim(t, Config{
		Runtime:    &Process{Path: bins.rt},
		Extensions: []Process{{Path: extNamed(t, "print-ext"), Args: []string{"EXT_PRINT_DONE=1"}}},
	})
	lcStart(t, ctx, s)
	for i := range 20 {
		res := lcInvokeOK(t, ctx, s, `{}`)
		if !s.Frozen() {
			t.Fatal("not frozen after the invocation")
		}
		want := "ext: done with " + res.RequestID
		found := false
		for _, ev := range s.Telemetry() {
			if ev.Type == lambdaapi.EventExtensionLog && strings.Contains(string(ev.Record), want) {
				found = true
			}
		}
		if !found {
			t.Fatalf("invocation %d: %q not captured before the freeze", i, want)
		}
	}
}
