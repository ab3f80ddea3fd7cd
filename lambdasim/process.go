package lambdasim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// processKind says what a process is to the environment.
type processKind int

const (
	kindRuntime processKind = iota
	kindExtension
)

// maxLogLine is the longest line turned into one telemetry record; longer
// lines are split, as Lambda splits log events at 256 KiB.
const maxLogLine = 256 << 10

// process is one child of the environment: the runtime or an external
// extension. It runs in its own process group so that freeze, thaw and kill
// reach anything it spawned.
type process struct {
	name string
	kind processKind
	cmd  *exec.Cmd
	pid  int

	stdout, stderr *logPipe

	exited   chan struct{} // closed once the process is reaped
	exitCode int           // valid after exited; -1 when killed by a signal
	signal   syscall.Signal

	mu     sync.Mutex
	killed bool // we sent SIGKILL
	// status is /proc/<pid>/status, kept open so that reading the peak RSS
	// on every invocation costs one pread, not open, read and close.
	status    *os.File
	statusBuf []byte
}

// lineSink receives every line a process writes to stdout or stderr.
type lineSink func(p *process, line []byte)

// startProcess starts path with env in its own process group and begins
// reading its output. onExit runs after the process has been reaped.
func startProcess(name string, kind processKind, path string, args, env []string, dir string, sink lineSink, onExit func(*process)) (*process, error) {
	p := &process{name: name, kind: kind, exited: make(chan struct{})}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: stdout pipe: %w", name, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("start %s: stderr pipe: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdin = nil
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{outR, outW, errR, errW} {
			f.Close()
		}
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	// The child holds its own copies; ours would keep the readers from seeing EOF.
	outW.Close()
	errW.Close()
	p.cmd, p.pid = cmd, cmd.Process.Pid
	p.status, _ = os.Open("/proc/" + strconv.Itoa(p.pid) + "/status")
	emit := func(line []byte) { sink(p, line) }
	p.stdout = newLogPipe(outR, emit)
	p.stderr = newLogPipe(errR, emit)
	go func() {
		err := cmd.Wait()
		p.exitCode = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.signal = ws.Signal()
		}
		_ = err
		// Output written just before exit is still in the pipes; read it all
		// before anyone hears of the exit, so logs never trail the event.
		// Grandchildren may hold the pipes open, so this wait is bounded.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		p.stdout.waitEOF(ctx)
		p.stderr.waitEOF(ctx)
		cancel()
		p.mu.Lock()
		if p.status != nil {
			p.status.Close()
			p.status = nil
		}
		p.mu.Unlock()
		close(p.exited)
		if onExit != nil {
			onExit(p)
		}
	}()
	return p, nil
}

// alive reports whether the process has not been reaped yet.
func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// signalGroup sends sig to the process's whole group.
func (p *process) signalGroup(sig syscall.Signal) {
	if p.alive() {
		_ = syscall.Kill(-p.pid, sig)
	}
}

// signalLeader sends sig to the process itself only.
func (p *process) signalLeader(sig syscall.Signal) {
	if p.alive() {
		_ = syscall.Kill(p.pid, sig)
	}
}

// kill sends SIGKILL to the group and remembers that it had to.
func (p *process) kill() {
	if !p.alive() {
		return
	}
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	// A stopped process must be continued to die promptly on some kernels'
	// accounting; SIGKILL wakes it regardless, but be explicit.
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	_ = syscall.Kill(-p.pid, syscall.SIGCONT)
}

// wasKilled reports whether kill was needed.
func (p *process) wasKilled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killed
}

// waitExit waits for the process to be reaped or ctx to end.
func (p *process) waitExit(ctx context.Context) bool {
	select {
	case <-p.exited:
		return true
	case <-ctx.Done():
		return false
	}
}

// describeExit says how the process ended, for messages.
func (p *process) describeExit() string {
	if p.signal != 0 {
		return "killed by " + p.signal.String()
	}
	return "exited with status " + strconv.Itoa(p.exitCode)
}

// peakRSSKiB returns the process's peak resident set size (VmHWM) in KiB, or
// 0 when it cannot be read.
func (p *process) peakRSSKiB() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.status == nil {
		if p.cmd.ProcessState != nil {
			if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				return ru.Maxrss
			}
		}
		return 0
	}
	if p.statusBuf == nil {
		p.statusBuf = make([]byte, 4096)
	}
	n, err := p.status.ReadAt(p.statusBuf, 0)
	if n == 0 && err != nil {
		return 0
	}
	return parseVmHWM(p.statusBuf[:n])
}

// parseVmHWM finds "VmHWM:   1234 kB" in a /proc status file.
func parseVmHWM(b []byte) int64 {
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	b = bytes.TrimLeft(b[i+len("VmHWM:"):], " \t")
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// logPipe reads one output stream of a process and splits it into lines.
//
// It reads through the raw file descriptor so that it can tell, exactly,
// whether every byte written so far has been turned into lines: drained
// checks the pipe's unread byte count and the reader's own pending state
// under one lock, with no window in between. lambdasim uses that to put a
// runtime's last log lines into the telemetry stream before the
// platform.runtimeDone that follows them, as a subscriber would expect.
type logPipe struct {
	f    *os.File
	rc   syscall.RawConn
	emit func([]byte)

	mu       sync.Mutex
	pending  bool // bytes read from the pipe but not yet emitted as lines
	eof      bool
	progress chan struct{} // closed and replaced when pending clears or EOF
}

func newLogPipe(f *os.File, emit func([]byte)) *logPipe {
	lp := &logPipe{f: f, emit: emit, progress: make(chan struct{})}
	rc, err := f.SyscallConn()
	if err == nil {
		lp.rc = rc
	}
	go lp.run()
	return lp
}

func (lp *logPipe) run() {
	buf := make([]byte, 64<<10)
	var line []byte
	defer func() {
		if len(line) > 0 {
			lp.emit(line)
		}
		lp.f.Close()
		lp.mu.Lock()
		lp.eof, lp.pending = true, false
		close(lp.progress)
		lp.progress = make(chan struct{})
		lp.mu.Unlock()
	}()
	for {
		n, err := lp.read(buf)
		for chunk := buf[:n]; len(chunk) > 0; {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				line = append(line, chunk...)
				chunk = nil
			} else {
				line = append(line, chunk[:i]...)
				chunk = chunk[i+1:]
				lp.emit(bytes.TrimSuffix(line, []byte{'\r'}))
				line = line[:0]
			}
			for len(line) >= maxLogLine {
				lp.emit(line[:maxLogLine])
				line = append(line[:0], line[maxLogLine:]...)
			}
		}
		lp.mu.Lock()
		lp.pending = false
		close(lp.progress)
		lp.progress = make(chan struct{})
		lp.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// read reads once from the pipe, marking the bytes pending in the same
// critical section as the read system call.
func (lp *logPipe) read(buf []byte) (int, error) {
	if lp.rc == nil {
		n, err := lp.f.Read(buf)
		lp.mu.Lock()
		lp.pending = n > 0
		lp.mu.Unlock()
		return n, err
	}
	var n int
	var rerr error
	err := lp.rc.Read(func(fd uintptr) bool {
		lp.mu.Lock()
		defer lp.mu.Unlock()
		m, e := syscall.Read(int(fd), buf)
		if e == syscall.EAGAIN {
			return false
		}
		if e == syscall.EINTR {
			return false
		}
		n, rerr = m, e
		if m > 0 {
			lp.pending = true
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return n, rerr
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// drained waits until every byte written to the pipe so far has been emitted
// as lines (a trailing partial line excepted), or ctx ends.
func (lp *logPipe) drained(ctx context.Context) {
	for {
		lp.mu.Lock()
		if lp.eof {
			lp.mu.Unlock()
			return
		}
		avail := -1
		if lp.rc != nil {
			_ = lp.rc.Control(func(fd uintptr) { avail = unreadBytes(fd) })
		}
		if avail == 0 && !lp.pending {
			lp.mu.Unlock()
			return
		}
		if avail < 0 && !lp.pending {
			// The platform cannot tell us; the reader is idle, which is the
			// best knowledge there is.
			lp.mu.Unlock()
			return
		}
		ch := lp.progress
		lp.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// waitEOF waits until the reader has seen the end of the stream.
func (lp *logPipe) waitEOF(ctx context.Context) {
	for {
		lp.mu.Lock()
		eof, ch := lp.eof, lp.progress
		lp.mu.Unlock()
		if eof {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}
