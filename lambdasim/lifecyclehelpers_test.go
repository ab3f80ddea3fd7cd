package lambdasim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// Helpers of the real-process lifecycle tests (lifecycle_test.go,
// golambda_test.go). Every name starts with lc so as not to collide with
// helpers of other test files in the package.

// lcStart runs the init phase and fails the test if it fails.
func lcStart(t *testing.T, ctx context.Context, s *Sim) {
	t.Helper()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// lcInvoke runs one invocation with payload and returns its result.
func lcInvoke(t *testing.T, ctx context.Context, s *Sim, payload string) *Result {
	t.Helper()
	res, err := s.Invoke(ctx, Request{Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	return res
}

// lcInvokeOK runs one invocation and fails the test unless it succeeded.
func lcInvokeOK(t *testing.T, ctx context.Context, s *Sim, payload string) *Result {
	t.Helper()
	res := lcInvoke(t, ctx, s, payload)
	if res.Status != lambdaapi.StatusSuccess {
		t.Fatalf("Invoke(%s): status %q errorType %q payload %s", payload, res.Status, res.ErrorType, res.Payload)
	}
	return res
}

// lcShutdown shuts s down and fails the test on error.
func lcShutdown(t *testing.T, ctx context.Context, s *Sim) *ShutdownResult {
	t.Helper()
	res, err := s.Shutdown(ctx)
	if err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	return res
}

// lcInitError asserts err is an *InitError and returns it.
func lcInitError(t *testing.T, err error) *InitError {
	t.Helper()
	var ie *InitError
	if !errors.As(err, &ie) {
		t.Fatalf("want *InitError, got %T: %v", err, err)
	}
	return ie
}

// lcOutFile returns a fresh path for an extension's EXT_OUT file.
func lcOutFile(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "ext.out")
}

// lcLines returns the lines of an EXT_OUT file; a file not yet written has
// none.
func lcLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// lcIndex returns the index of the first line for which match holds, or -1.
func lcIndex(lines []string, match func(string) bool) int {
	for i, l := range lines {
		if match(l) {
			return i
		}
	}
	return -1
}

// lcHasPrefix returns a matcher for lines starting with prefix.
func lcHasPrefix(prefix string) func(string) bool {
	return func(l string) bool { return strings.HasPrefix(l, prefix) }
}

// lcExtEvent returns a matcher for the ext program's "event TYPE ID REASON"
// line (fields compared after splitting, so an empty id does not matter).
func lcExtEvent(fields ...string) func(string) bool {
	return func(l string) bool {
		got := strings.Fields(l)
		if len(got) != len(fields)+1 || got[0] != "event" {
			return false
		}
		for i, f := range fields {
			if got[i+1] != f {
				return false
			}
		}
		return true
	}
}

// lcExtTelemetry returns a matcher for the ext program's record of a
// delivered telemetry event of typ about requestID.
func lcExtTelemetry(typ, requestID string) func(string) bool {
	return func(l string) bool {
		rest, ok := strings.CutPrefix(l, "telemetry ")
		if !ok {
			return false
		}
		var ev struct {
			Type   string `json:"type"`
			Record struct {
				RequestID string `json:"requestId"`
			} `json:"record"`
		}
		return json.Unmarshal([]byte(rest), &ev) == nil && ev.Type == typ && ev.Record.RequestID == requestID
	}
}

// lcLineValue returns what follows prefix on the first line that has it.
func lcLineValue(t *testing.T, lines []string, prefix string) string {
	t.Helper()
	i := lcIndex(lines, lcHasPrefix(prefix))
	if i < 0 {
		t.Fatalf("no line starting %q in:\n%s", prefix, strings.Join(lines, "\n"))
	}
	return strings.TrimPrefix(lines[i], prefix)
}

// lcEnvMap turns a JSON array of KEY=VALUE strings into a map.
func lcEnvMap(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	var kvs []string
	if err := json.Unmarshal(raw, &kvs); err != nil {
		t.Fatalf("environment %s: %v", raw, err)
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// lcEvents returns the captured telemetry events of typ.
func lcEvents(s *Sim, typ string) []lambdaapi.TelemetryEvent {
	var out []lambdaapi.TelemetryEvent
	for _, ev := range s.Telemetry() {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// lcRecords decodes the records of every captured event of typ into T.
func lcRecords[T any](t *testing.T, s *Sim, typ string) []T {
	t.Helper()
	var out []T
	for _, ev := range lcEvents(s, typ) {
		var v T
		if err := json.Unmarshal(ev.Record, &v); err != nil {
			t.Fatalf("decode %s %s: %v", typ, ev.Record, err)
		}
		out = append(out, v)
	}
	return out
}

// lcRuntimeDone returns the platform.runtimeDone record of requestID.
func lcRuntimeDone(t *testing.T, s *Sim, requestID string) lambdaapi.RuntimeDone {
	t.Helper()
	for _, r := range lcRecords[lambdaapi.RuntimeDone](t, s, lambdaapi.EventRuntimeDone) {
		if r.RequestID == requestID {
			return r
		}
	}
	t.Fatalf("no platform.runtimeDone for %s", requestID)
	return lambdaapi.RuntimeDone{}
}

// lcReport returns the platform.report record of requestID.
func lcReport(t *testing.T, s *Sim, requestID string) lambdaapi.Report {
	t.Helper()
	for _, r := range lcRecords[lambdaapi.Report](t, s, lambdaapi.EventReport) {
		if r.RequestID == requestID {
			return r
		}
	}
	t.Fatalf("no platform.report for %s", requestID)
	return lambdaapi.Report{}
}

// lcInitPhases returns the phase of every platform.initStart so far.
func lcInitPhases(t *testing.T, s *Sim) []string {
	t.Helper()
	var out []string
	for _, r := range lcRecords[lambdaapi.InitStart](t, s, lambdaapi.EventInitStart) {
		out = append(out, r.Phase)
	}
	return out
}

// lcFunctionLines returns the text of every function log record so far.
func lcFunctionLines(t *testing.T, s *Sim) []string {
	t.Helper()
	var out []string
	for _, ev := range lcEvents(s, lambdaapi.EventFunction) {
		var line string
		if err := json.Unmarshal(ev.Record, &line); err != nil {
			t.Fatalf("function record %s: %v", ev.Record, err)
		}
		out = append(out, line)
	}
	return out
}

// lcRuntimePid finds the "rt: pid N" line printed with RT_PRINT_PID.
func lcRuntimePid(t *testing.T, s *Sim) int {
	t.Helper()
	return lcAtoi(t, lcLineValue(t, lcFunctionLines(t, s), "rt: pid "))
}

func lcAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// lcProcState returns the state letter of /proc/<pid>/stat (R, S, T, Z...).
func lcProcState(pid int) (byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may contain anything; the state
	// follows the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, b)
	}
	return b[i+2], nil
}

// lcWaitProcState polls /proc/<pid>/stat until the state is want. SIGSTOP is
// asynchronous: the kernel stops the process when it next runs, so the file
// is the only signal there is. The poll is bounded.
func lcWaitProcState(t *testing.T, pid int, want byte) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := lcProcState(pid)
		if err != nil {
			t.Fatalf("pid %d: %v", pid, err)
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d: state %c, want %c", pid, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// lcGone asserts that no process pid exists any more (it was killed and
// reaped, not left as a zombie or an orphan).
func lcGone(t *testing.T, what string, pid int) {
	t.Helper()
	if pid <= 0 {
		t.Fatalf("%s: bad pid %d", what, pid)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		st, _ := lcProcState(pid)
		t.Errorf("%s (pid %d) still exists after the environment ended: kill(0) = %v, state %q", what, pid, err, st)
	}
}

// lcBilled is what BilledDurationMs must be for a duration: whole
// milliseconds rounded up, at least 1.
func lcBilled(durationMs float64) int64 {
	return max(1, int64(math.Ceil(durationMs)))
}

// lcErrorDoc decodes an error payload.
func lcErrorDoc(t *testing.T, payload []byte) lambdaapi.ErrorResponse {
	t.Helper()
	var er lambdaapi.ErrorResponse
	if err := json.Unmarshal(payload, &er); err != nil {
		t.Fatalf("error payload %s: %v", payload, err)
	}
	return er
}
