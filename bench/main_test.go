package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
	"github.com/lambdaotel/lambdaotel/lambdasim"
)

// The benchmark functions, built once by TestMain.
var (
	// lambdaotelfn is cmd/lambdaotelfn: the handler with lambdaotel.
	lambdaotelfn string
	// sdkfn is cmd/sdkfn: the handler with the plain OpenTelemetry SDK and
	// a synchronous ForceFlush, as otellambda does it.
	sdkfn string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lambdaotel-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, b := range []struct {
		out *string
		pkg string
	}{{&lambdaotelfn, "./cmd/lambdaotelfn"}, {&sdkfn, "./cmd/sdkfn"}} {
		*b.out = filepath.Join(dir, filepath.Base(b.pkg))
		cmd := exec.Command("go", "build", "-o", *b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

// startSim starts bin on lambdasim with env; the Sim is closed (every
// process killed and reaped) when tb ends.
func startSim(tb testing.TB, bin string, env map[string]string) *lambdasim.Sim {
	tb.Helper()
	s, err := lambdasim.New(lambdasim.Config{Runtime: &lambdasim.Process{Path: bin}, Env: env, Timeout: 10 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		tb.Fatalf("start %s: %v\n%s", filepath.Base(bin), err, functionLog(s))
	}
	return s
}

// functionLog is what the function wrote to stdout and stderr, for failure
// messages.
func functionLog(s *lambdasim.Sim) string {
	var b strings.Builder
	for _, ev := range s.Telemetry() {
		if ev.Type != lambdaapi.EventFunction {
			continue
		}
		if d, err := ev.Decode(); err == nil {
			if r, ok := d.(*lambdaapi.LogRecord); ok {
				b.WriteString(r.Text)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}
