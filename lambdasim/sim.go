package lambdasim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// ErrClosed is returned by calls on a Sim that has shut down.
var ErrClosed = errors.New("lambdasim: environment shut down")

// envState is where the execution environment is in its lifecycle.
type envState int

const (
	stateDown     envState = iota // not initialised (before the first init, after a reset)
	stateInit                     // init phase running
	stateReady                    // initialised, between invocations
	stateShutdown                 // shut down for good
)

// Sim is one emulated Lambda execution environment.
type Sim struct {
	cfg       Config
	log       *slog.Logger
	out       *prefixWriter
	hub       *hub
	externals map[string]Process // configured external extensions by name
	logStream string

	ln   net.Listener
	srv  *http.Server
	addr string

	// life serialises init, invocations (classic mode) and shutdown.
	life chan struct{}
	// baseCtx ends when the Sim closes; long polls watch it.
	baseCtx context.Context
	cancel  context.CancelFunc

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every state change
	state   envState
	phase   string // phase of the latest init
	gen     int    // environment generation, one per init
	// earlyNexts counts runtime nexts waiting for an init to start (an
	// attached runtime that asked before Start); tests wait on it.
	earlyNexts int
	initErr    *initFailure
	broken     string // why the next invoke must reset first ("" = healthy)
	frozen     bool
	tearing    bool // teardown in progress: exits are expected

	regOpen bool
	rt      runtimeState
	exts    map[string]*extension // by identifier
	procs   map[string]*process   // external extension processes by name

	queue    []*invocation          // invocations waiting for the runtime
	active   map[string]*invocation // invocations in progress by request id
	inflight int                    // Managed Instances: invocations running

	initStartedAt  time.Time
	initDurationMs *float64 // reported once, on the first invoke after an init
	shutdownResult *ShutdownResult
}

// runtimeState is what lambdasim knows of the runtime in this generation.
type runtimeState struct {
	proc      *process
	firstNext bool
	initError bool
	current   *invocation // handed to the runtime and not yet followed by next
}

// extension is one registered extension.
type extension struct {
	id       string
	name     string
	external bool
	invoke   bool
	shutdown bool

	firstNext bool
	errored   bool // init/error or exit/error reported
	gotEvent  bool // a SHUTDOWN was handed out
	queue     []pendingEvent
	current   *invocation // INVOKE handed out, next not yet called again
}

type pendingEvent struct {
	ev  lambdaapi.Event
	inv *invocation
}

// initFailure says why an init failed.
type initFailure struct {
	status    string
	errorType string
	message   string
}

// New returns a Sim for cfg. It starts nothing; call Start.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	s := &Sim{
		cfg:       cfg,
		log:       cfg.Logger,
		out:       &prefixWriter{w: cfg.Output},
		externals: map[string]Process{},
		life:      make(chan struct{}, 1),
		changed:   make(chan struct{}),
		exts:      map[string]*extension{},
		procs:     map[string]*process{},
		active:    map[string]*invocation{},
		logStream: newLogStream(time.Now()),
	}
	s.hub = newHub(cfg.Logger)
	if cfg.Runtime != nil {
		if err := checkExecutable(cfg.Runtime.Path); err != nil {
			return nil, fmt.Errorf("lambdasim: function: %w", err)
		}
	}
	for _, e := range cfg.Extensions {
		name := e.Name
		if name == "" {
			name = filepath.Base(e.Path)
		}
		if name == "" || name == "." {
			return nil, errors.New("lambdasim: extension has neither a path nor a name")
		}
		if _, dup := s.externals[name]; dup {
			return nil, fmt.Errorf("lambdasim: two extensions named %q", name)
		}
		if e.Path != "" {
			if err := checkExecutable(e.Path); err != nil {
				return nil, fmt.Errorf("lambdasim: extension %s: %w", name, err)
			}
		}
		e.Name = name
		s.externals[name] = e
	}
	if len(s.externals) > maxExtensions {
		return nil, fmt.Errorf("lambdasim: %d extensions configured; Lambda allows %d", len(s.externals), maxExtensions)
	}
	return s, nil
}

// checkExecutable says why path cannot be run, as Lambda would refuse a
// layer's non-executable file, before any process is started.
func checkExecutable(path string) error {
	if path == "" {
		return errors.New("no path given")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", path)
	}
	return nil
}

// Addr is the host:port of the Lambda APIs, the value of
// AWS_LAMBDA_RUNTIME_API. It is empty before Start.
func (s *Sim) Addr() string { return s.addr }

// Start listens for the Lambda APIs and runs the init phase. It returns once
// init has finished; an init failure is returned but leaves the Sim usable:
// the next Invoke re-runs init, as Lambda does.
func (s *Sim) Start(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	return s.initEnv(ctx, lambdaapi.PhaseInit)
}

// Listen starts serving the Lambda APIs without running init. With an
// attached runtime, tests call Listen, connect, and then call Start or Invoke.
func (s *Sim) Listen() error {
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("lambdasim: listen: %w", err)
	}
	s.ln = ln
	s.addr = ln.Addr().String()
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

func (s *Sim) acquire(ctx context.Context) error {
	select {
	case s.life <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sim) release() { <-s.life }

// broadcastLocked wakes every waiter; call with s.mu held after any change.
func (s *Sim) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits until cond, evaluated under s.mu, holds or ctx ends.
func (s *Sim) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// initEnv runs one init phase. The caller holds life.
func (s *Sim) initEnv(ctx context.Context, phase string) error {
	limit := s.cfg.InitTimeout
	if phase == lambdaapi.PhaseInvoke {
		limit = s.cfg.Timeout
	}
	start := time.Now()
	s.mu.Lock()
	if s.state == stateShutdown {
		s.mu.Unlock()
		return ErrClosed
	}
	s.gen++
	s.state = stateInit
	s.phase = phase
	s.initErr = nil
	s.broken = ""
	s.regOpen = true
	s.rt = runtimeState{}
	s.exts = map[string]*extension{}
	s.procs = map[string]*process{}
	s.initStartedAt = start
	s.initDurationMs = nil
	s.broadcastLocked()
	s.mu.Unlock()
	s.hub.emit(start, lambdaapi.EventInitStart, lambdaapi.InitStart{
		InitializationType: s.initType(),
		Phase:              phase,
		FunctionName:       s.cfg.FunctionName,
		FunctionVersion:    s.cfg.FunctionVersion,
		InstanceID:         s.logStream,
		InstanceMaxMemory:  int64(s.cfg.MemoryMB) << 20,
	})

	ictx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	rtEnv, extEnv := s.environment()

	// Extensions first, in parallel; the runtime only once all registered.
	for name, p := range s.externals {
		if p.Path == "" {
			continue
		}
		proc, err := startProcess(name, kindExtension, p.Path, p.Args, extEnv, "", s.onLine, s.onExit)
		if err != nil {
			s.failInit(lambdaapi.StatusFailure, "Extension.LaunchError", err.Error())
			break
		}
		s.mu.Lock()
		s.procs[name] = proc
		s.mu.Unlock()
	}
	err := s.waitFor(ictx, func() bool {
		if s.initErr != nil {
			return true
		}
		for name := range s.externals {
			if s.extByNameLocked(name) == nil {
				return false
			}
		}
		return true
	})
	if err == nil && s.cfg.Runtime != nil && s.initFailure() == nil {
		p := s.cfg.Runtime
		proc, perr := startProcess("function", kindRuntime, p.Path, p.Args, rtEnv, filepath.Dir(p.Path), s.onLine, s.onExit)
		if perr != nil {
			s.failInit(lambdaapi.StatusFailure, "Runtime.LaunchError", perr.Error())
		} else {
			s.mu.Lock()
			s.rt.proc = proc
			s.mu.Unlock()
		}
	}
	if err == nil {
		err = s.waitFor(ictx, func() bool {
			if s.initErr != nil {
				return true
			}
			if !s.rt.firstNext {
				return false
			}
			for _, e := range s.exts {
				if !e.firstNext {
					return false
				}
			}
			return true
		})
	}
	if err != nil {
		which := s.pendingInitParticipants()
		s.failInit(lambdaapi.StatusTimeout, lambdaapi.ErrTypeSandboxTimeout,
			fmt.Sprintf("init did not finish within %v: waiting for %s", limit, which))
	}
	dur := msSince(start)
	if f := s.initFailure(); f != nil {
		s.hub.emit(time.Now(), lambdaapi.EventInitReport, lambdaapi.InitReport{
			InitializationType: s.initType(), Phase: phase, Status: f.status, ErrorType: f.errorType,
			Metrics: lambdaapi.DurationMetrics{DurationMs: dur},
		})
		s.log.Warn("init failed", "phase", phase, "status", f.status, "errorType", f.errorType, "msg", f.message)
		s.resetEnv(lambdaapi.ShutdownFailure)
		return &InitError{Status: f.status, ErrorType: f.errorType, Message: f.message}
	}
	s.hub.emit(time.Now(), lambdaapi.EventInitReport, lambdaapi.InitReport{
		InitializationType: s.initType(), Phase: phase, Status: lambdaapi.StatusSuccess,
		Metrics: lambdaapi.DurationMetrics{DurationMs: dur},
	})
	s.mu.Lock()
	if s.state == stateInit {
		s.state = stateReady
	}
	s.initDurationMs = &dur
	s.broadcastLocked()
	s.mu.Unlock()
	if phase == lambdaapi.PhaseInit && s.freezes() {
		// Lambda freezes an initialised environment until its first event.
		s.freeze()
	}
	return nil
}

// InitError is returned when the init phase fails.
type InitError struct {
	Status    string // error, failure or timeout
	ErrorType string
	Message   string
}

func (e *InitError) Error() string {
	return fmt.Sprintf("lambdasim: init %s (%s): %s", e.Status, e.ErrorType, e.Message)
}

func (s *Sim) initType() string {
	if s.cfg.MaxConcurrency > 0 {
		return lambdaapi.InitManagedInstances
	}
	return lambdaapi.InitOnDemand
}

func (s *Sim) initFailure() *initFailure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initErr
}

// failInit records the first reason init failed.
func (s *Sim) failInit(status, errType, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.initErr == nil && s.state == stateInit {
		s.initErr = &initFailure{status: status, errorType: errType, message: msg}
		s.broadcastLocked()
	}
}

// pendingInitParticipants names what init is still waiting for.
func (s *Sim) pendingInitParticipants() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for name := range s.externals {
		if s.extByNameLocked(name) == nil {
			names = append(names, "extension "+name+" to register")
		}
	}
	for _, e := range s.exts {
		if !e.firstNext {
			names = append(names, "extension "+e.name+" to call next")
		}
	}
	if !s.rt.firstNext {
		names = append(names, "the runtime to call next")
	}
	if len(names) == 0 {
		return "nothing"
	}
	return joinAnd(names)
}

func (s *Sim) extByNameLocked(name string) *extension {
	for _, e := range s.exts {
		if e.name == name {
			return e
		}
	}
	return nil
}

// onExit hears of every process that ends.
func (s *Sim) onExit(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateShutdown || s.tearing {
		s.broadcastLocked()
		return
	}
	live := (p.kind == kindRuntime && s.rt.proc == p) || (p.kind == kindExtension && s.procs[p.name] == p)
	if !live || p.wasKilled() {
		s.broadcastLocked()
		return
	}
	what := "runtime"
	errType := lambdaapi.ErrTypeRuntimeExit
	if p.kind == kindExtension {
		what = "extension " + p.name
		errType = lambdaapi.ErrTypeExtensionCrash
	}
	msg := fmt.Sprintf("%s %s", what, p.describeExit())
	switch s.state {
	case stateInit:
		if s.initErr == nil {
			s.initErr = &initFailure{status: lambdaapi.StatusFailure, errorType: errType, message: msg}
			if p.kind == kindRuntime && !s.rt.firstNext {
				s.emitLocked(lambdaapi.EventInitRuntimeDone, lambdaapi.InitRuntimeDone{
					InitializationType: s.initType(), Phase: lambdaapi.PhaseInit,
					Status: lambdaapi.StatusFailure, ErrorType: errType,
				})
			}
		}
	case stateReady:
		for _, inv := range s.active {
			s.finishLocked(inv, lambdaapi.StatusFailure, errType, msg)
		}
		if s.broken == "" {
			s.broken = string(lambdaapi.ShutdownFailure)
		}
		s.log.Warn("process exited while the environment was live", "process", p.name, "how", p.describeExit())
	}
	s.broadcastLocked()
}

// emitLocked emits a telemetry event; the hub has its own lock, so this may be
// called with s.mu held.
func (s *Sim) emitLocked(typ string, rec any) { s.hub.emit(time.Now(), typ, rec) }

// thawLocked continues every process after a freeze.
func (s *Sim) thaw() {
	s.mu.Lock()
	frozen := s.frozen
	s.frozen = false
	procs := s.allProcsLocked()
	s.mu.Unlock()
	if frozen {
		for _, p := range procs {
			p.signalGroup(syscall.SIGCONT)
		}
	}
	// Delivery can be paused without a freeze (a report paused for a freeze
	// that then did not happen); resume it either way.
	s.hub.setPaused(context.Background(), false)
}

// freeze stops every process once delivery in flight has finished.
func (s *Sim) freeze() {
	ctx, cancel := context.WithTimeout(context.Background(), deliveryAttemptTimeout)
	s.hub.setPaused(ctx, true)
	cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateReady || s.broken != "" {
		// No freeze after all (failed init, reset pending): delivery must not
		// stay paused, or subscribers of the next environment get nothing.
		s.hub.setPaused(context.Background(), false)
		return
	}
	for _, p := range s.allProcsLocked() {
		p.signalGroup(syscall.SIGSTOP)
	}
	s.frozen = true
}

// Frozen reports whether the environment's processes are stopped.
func (s *Sim) Frozen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frozen
}

func (s *Sim) allProcsLocked() []*process {
	var ps []*process
	if s.rt.proc != nil {
		ps = append(ps, s.rt.proc)
	}
	for _, p := range s.procs {
		ps = append(ps, p)
	}
	return ps
}

// ShutdownResult says how a shutdown (or a reset) went.
type ShutdownResult struct {
	Reason         string          `json:"reason"`
	RuntimeSigterm bool            `json:"runtimeSigterm"`
	DurationMs     float64         `json:"durationMs"`
	Runtime        *ProcessExit    `json:"runtime,omitempty"`
	Extensions     []ExtensionExit `json:"extensions"`
}

// ProcessExit says how a process ended.
type ProcessExit struct {
	ExitCode int  `json:"exitCode"`
	Killed   bool `json:"killed"`
}

// ExtensionExit says how an external extension ended.
type ExtensionExit struct {
	Name     string `json:"name"`
	ExitCode int    `json:"exitCode"`
	Killed   bool   `json:"killed"`
}

// resetEnv tears the environment down as Lambda does after a failed init, a
// timeout or a crash: the runtime is killed, SHUTDOWN goes to extensions,
// and the next invoke initialises afresh. The caller holds life.
func (s *Sim) resetEnv(reason lambdaapi.ShutdownReason) *ShutdownResult {
	res := s.teardown(reason, true)
	s.mu.Lock()
	if s.state != stateShutdown {
		s.state = stateDown
	}
	s.broken = ""
	s.broadcastLocked()
	s.mu.Unlock()
	return res
}

// teardown ends the current generation's processes. With reset, the runtime
// is killed at once; otherwise it gets SIGTERM and its share of the budget
// when any extension is registered.
func (s *Sim) teardown(reason lambdaapi.ShutdownReason, reset bool) *ShutdownResult {
	start := time.Now()
	s.thaw()
	s.mu.Lock()
	var hasExternal, hasInternal bool
	for _, e := range s.exts {
		if e.external {
			hasExternal = true
		} else {
			hasInternal = true
		}
	}
	if len(s.procs) > 0 {
		hasExternal = true
	}
	budget, share := time.Duration(0), time.Duration(0)
	switch {
	case hasExternal:
		budget, share = shutdownExternal, runtimeShare
		if hasInternal {
			share = runtimeShareInternal
		}
	case hasInternal:
		budget, share = shutdownInternalOnly, shutdownInternalOnly
	}
	deadline := start.Add(budget)
	s.tearing = true
	defer func() {
		s.mu.Lock()
		s.tearing = false
		s.mu.Unlock()
	}()
	rt := s.rt.proc
	procs := make(map[string]*process, len(s.procs))
	for k, v := range s.procs {
		procs[k] = v
	}
	s.regOpen = false
	s.mu.Unlock()

	res := &ShutdownResult{Reason: string(reason), Extensions: []ExtensionExit{}}
	s.hub.setFlushNow(true)
	defer s.hub.setFlushNow(false)

	if rt != nil {
		if !reset && (hasExternal || hasInternal) {
			res.RuntimeSigterm = true
			rt.signalLeader(syscall.SIGTERM)
			ctx, cancel := context.WithDeadline(context.Background(), start.Add(share))
			rt.waitExit(ctx)
			cancel()
		}
		rt.kill()
		rt.waitExit(context.Background())
		res.Runtime = &ProcessExit{ExitCode: rt.exitCode, Killed: rt.wasKilled()}
	}

	// SHUTDOWN to every extension that asked for it.
	s.mu.Lock()
	attached := false
	for _, e := range s.exts {
		if e.external && e.shutdown && !e.errored {
			e.queue = append(e.queue, pendingEvent{ev: lambdaapi.Event{
				EventType: lambdaapi.Shutdown, ShutdownReason: reason, DeadlineMs: deadline.UnixMilli(),
			}})
			if procs[e.name] == nil {
				attached = true
			}
		}
	}
	s.broadcastLocked()
	s.mu.Unlock()

	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	for _, p := range procs {
		p.waitExit(ctx)
	}
	if attached {
		// An attached extension has no process whose exit could end its
		// budget early: it keeps all of it (and gets its SHUTDOWN before the
		// APIs close), unless the Sim is closed.
		var closed <-chan struct{}
		if s.baseCtx != nil {
			closed = s.baseCtx.Done()
		}
		select {
		case <-ctx.Done():
		case <-closed:
		}
	}
	cancel()
	for name, p := range procs {
		p.kill()
		p.waitExit(context.Background())
		res.Extensions = append(res.Extensions, ExtensionExit{Name: name, ExitCode: p.exitCode, Killed: p.wasKilled()})
	}
	sortExits(res.Extensions)
	s.hub.unsubscribeAll()
	res.DurationMs = msSince(start)
	return res
}

// Shutdown ends the environment as Lambda does when it spins down (reason
// spindown): SIGTERM to the runtime when any extension is registered,
// SHUTDOWN to the extensions, SIGKILL at the deadline. It waits for any
// invocation in progress first. It is safe to call more than once.
func (s *Sim) Shutdown(ctx context.Context) (*ShutdownResult, error) {
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	if err := s.waitFor(ctx, func() bool { return s.inflight == 0 }); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.state == stateShutdown {
		res := s.shutdownResult
		s.mu.Unlock()
		return res, nil
	}
	s.mu.Unlock()
	res := s.teardown(lambdaapi.ShutdownSpindown, false)
	s.mu.Lock()
	s.state = stateShutdown
	s.shutdownResult = res
	s.broadcastLocked()
	s.mu.Unlock()
	s.close()
	return res, nil
}

// close stops serving and delivering. Processes are already gone.
func (s *Sim) close() {
	if s.srv != nil {
		s.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.srv.Shutdown(ctx)
		cancel()
		_ = s.srv.Close()
	}
	s.hub.close()
}

// Close ends the environment at once: every process is killed, nothing waits
// for a budget. Use Shutdown for Lambda's graceful sequence.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.state == stateShutdown {
		s.mu.Unlock()
		return nil
	}
	s.state = stateShutdown
	procs := s.allProcsLocked()
	s.broadcastLocked()
	s.mu.Unlock()
	for _, p := range procs {
		p.kill()
	}
	for _, p := range procs {
		p.waitExit(context.Background())
	}
	s.close()
	return nil
}

// Telemetry returns every telemetry event produced so far, in order.
func (s *Sim) Telemetry() []lambdaapi.TelemetryEvent { return s.hub.snapshot() }

// WaitFor waits until cond holds for the telemetry produced so far, or ctx
// ends. cond must not keep the slice.
func (s *Sim) WaitFor(ctx context.Context, cond func([]lambdaapi.TelemetryEvent) bool) error {
	for {
		s.hub.mu.Lock()
		ok, ch := cond(s.hub.capturedLocked()), s.hub.changed
		s.hub.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("lambdasim: wait for telemetry: %w", ctx.Err())
		}
	}
}

// SetDeliveryPolicy changes how events of eventType reach subscribers, e.g.
// Delay(time.Second) for platform.runtimeDone.
func (s *Sim) SetDeliveryPolicy(eventType string, p DeliveryPolicy) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.policies[eventType] = p
}

// Extensions lists the names of the extensions registered in the current
// environment, internal ones included.
func (s *Sim) Extensions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, e := range s.exts {
		names = append(names, e.name)
	}
	sortStrings(names)
	return names
}

// Pids maps each running process of the current environment to its
// process id: the runtime as "runtime", external extensions by name.
// Attached participants have no process and are not listed. Tests use it
// to read a process's resource use from /proc.
func (s *Sim) Pids() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	pids := make(map[string]int, len(s.procs)+1)
	if s.rt.proc != nil {
		pids["runtime"] = s.rt.proc.pid
	}
	for name, p := range s.procs {
		pids[name] = p.pid
	}
	return pids
}

// onLine turns a line of process output into terminal output and a function
// or extension telemetry record.
func (s *Sim) onLine(p *process, line []byte) {
	src, typ := "function", lambdaapi.EventFunction
	if p.kind == kindExtension {
		src, typ = p.name, lambdaapi.EventExtensionLog
	}
	s.out.writeLine(src, line)
	s.hub.emit(time.Now(), typ, s.logRecord(line))
}

func msSince(t time.Time) float64 { return durMs(time.Since(t)) }

func durMs(d time.Duration) float64 {
	return math.Round(float64(d.Nanoseconds())/1e3) / 1e3
}

// prefixWriter writes whole lines, prefixed with their source, to one writer.
type prefixWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *prefixWriter) writeLine(src string, line []byte) {
	if p.w == io.Discard {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	buf := make([]byte, 0, len(src)+len(line)+4)
	buf = append(buf, '[')
	buf = append(buf, src...)
	buf = append(buf, "] "...)
	buf = append(buf, line...)
	buf = append(buf, '\n')
	_, _ = p.w.Write(buf)
}
