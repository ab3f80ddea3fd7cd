package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPU is the process's user plus system CPU time so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses and
// may hold spaces, so fields are counted after the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat line")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed utime/stime in /proc stat line")
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// procMem reads VmRSS and VmHWM (peak RSS) in bytes.
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStatusMem(string(b))
}

func parseStatusMem(status string) (rss, hwm int64, err error) {
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("malformed %s line %q", k, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("malformed %s line %q", k, line)
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, errors.New("no VmRSS/VmHWM in /proc status")
	}
	return rss, hwm, nil
}

// freePorts finds n free loopback ports by binding 127.0.0.1:0 and closing.
// Neither program under test can report a port it picked itself (the
// extension's receiver ports must be 1–65535; the collector only logs its
// address), so they are told a port found free here. Another process may
// take it between the close and the program's bind: callers retry the start
// on "address already in use".
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tailBuffer keeps the last max bytes written to it: a process's output,
// for error messages, without growing under a chatty process.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// process is a started program, reaped by a goroutine.
type process struct {
	cmd    *exec.Cmd
	out    *tailBuffer
	execAt time.Time
	done   chan struct{} // closed when Wait returned
	err    error         // Wait's error, set before done is closed
}

// startProcess runs bin with args and exactly env (no inherited variables
// beyond PATH and HOME, so the harness's own OTEL_* never leak in).
func startProcess(bin string, args []string, env map[string]string) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = filepath.Dir(bin)
	p := &process{cmd: cmd, out: &tailBuffer{max: 16 << 10}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	p.execAt = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitExit waits up to d for the process to exit, then kills it; it always
// returns with the process reaped. It reports whether it had to kill.
func (p *process) waitExit(d time.Duration) (killed bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return false
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return true
	}
}

// terminate sends SIGTERM and waits up to d, then kills.
func (p *process) terminate(d time.Duration) (killed bool) {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	return p.waitExit(d)
}

// errAddrInUse marks a start that failed because a port found free was
// taken meanwhile: worth another try with other ports.
var errAddrInUse = errors.New("address already in use")

// exitError describes an early exit, with the program's output.
func (p *process) exitError(what string) error {
	out := p.out.String()
	if strings.Contains(out, "address already in use") {
		return fmt.Errorf("%s: %w", what, errAddrInUse)
	}
	return fmt.Errorf("%s exited early (%v):\n%s", what, p.err, out)
}

// awaitListening polls addr with TCP connects until one succeeds and returns
// the moment it did. Polling is how a process's readiness is seen from the
// outside; the interval (250 µs) bounds the measurement's resolution. It
// fails when the process exits first or ctx ends.
func (p *process) awaitListening(ctx context.Context, addr string) (time.Time, error) {
	d := net.Dialer{Timeout: 100 * time.Millisecond}
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			t := time.Now()
			_ = c.Close()
			return t, nil
		}
		if p.exited() {
			return time.Time{}, p.exitError(filepath.Base(p.cmd.Path))
		}
		if ctx.Err() != nil {
			return time.Time{}, fmt.Errorf("%s not listening on %s: %w\n%s", filepath.Base(p.cmd.Path), addr, ctx.Err(), p.out.String())
		}
		time.Sleep(250 * time.Microsecond)
	}
}

// withPortRetry runs start until it does not fail with errAddrInUse, at
// most five times.
func withPortRetry[T any](start func() (T, error)) (T, error) {
	var zero T
	var err error
	for range 5 {
		var v T
		if v, err = start(); err == nil {
			return v, nil
		}
		if !errors.Is(err, errAddrInUse) {
			return zero, err
		}
	}
	return zero, err
}

// output is the process's output so far, for diagnostics.
func (p *process) output() string {
	return strings.TrimSpace(p.out.String())
}
