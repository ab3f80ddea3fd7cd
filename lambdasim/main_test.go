package lambdasim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// bins holds the testdata programs, built once per test binary.
var bins struct{ dir, rt, ext, golambda string }

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lambdasim-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./testdata/rt", "./testdata/ext", "./testdata/golambda")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build testdata programs: %v\n%s", err, out)
		return 1
	}
	bins.dir = dir
	bins.rt = filepath.Join(dir, "rt")
	bins.ext = filepath.Join(dir, "ext")
	bins.golambda = filepath.Join(dir, "golambda")
	return m.Run()
}

// extNamed returns the ext test program under the file name name, which is
// the name it registers with (Lambda matches external extensions by file name).
func extNamed(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(bins.ext, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer is a goroutine-safe output sink for a Sim's process output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newSim creates a Sim whose processes' output is kept and shown when the
// test fails, and which is closed (every process killed and reaped) at the
// end of the test.
func newSim(t *testing.T, cfg Config) *Sim {
	t.Helper()
	out := &syncBuffer{}
	cfg.Output = out
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			t.Logf("process output:\n%s", out.String())
		}
	})
	return s
}

// testCtx returns a context bounded well inside the test timeout, so a hang
// fails one test with a message instead of the whole binary.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
