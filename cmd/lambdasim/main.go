// Command lambdasim runs a Lambda function and its extensions locally, with
// Lambda's lifecycle: real processes, freeze between invocations, timeouts
// and a graceful shutdown. See "lambdasim help".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdasim"
)

const usage = `lambdasim: a local AWS Lambda with real processes and real freeze.

Usage:
  lambdasim run   --function BOOTSTRAP [--extension EXE]... [--event FILE] [--invocations N]
                  [--timeout 3s] [--memory 128] [--idle 50ms] [--no-freeze] [--env K=V]...
                  [--max-concurrency N] [--report FILE]
  lambdasim serve --function BOOTSTRAP [--extension EXE]... [--addr 127.0.0.1:8080] [...]
                  POST /2015-03-31/functions/function/invocations, like AWS's emulator
  lambdasim demo  [--invocations N] [--report FILE]
                  the example function and extension, in one command

Exit status is 1 when an invocation did not succeed or an extension had to be
killed, 2 on bad usage.
`

func main() {
	// Inside the demo, this same binary plays the function and the extension.
	if role, ok := demoRole(); ok {
		os.Exit(role())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; ctx ends on SIGINT or SIGTERM, which shuts the
// environment down gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr, log)
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr, log)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout, stderr, log)
	default:
		fmt.Fprintf(stderr, "lambdasim: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// envFlags collects repeated K=V flags.
type envFlags map[string]string

func (e envFlags) String() string { return "" }
func (e envFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want K=V, got %q", v)
	}
	e[k] = val
	return nil
}

// listFlags collects repeated values.
type listFlags []string

func (l *listFlags) String() string     { return strings.Join(*l, ",") }
func (l *listFlags) Set(v string) error { *l = append(*l, v); return nil }

// common holds the flags shared by run and serve.
type common struct {
	function    string
	extensions  listFlags
	env         envFlags
	timeout     time.Duration
	initTimeout time.Duration
	memory      int
	noFreeze    bool
	maxConc     int
	report      string
}

func (c *common) register(fs *flag.FlagSet) {
	c.env = envFlags{}
	fs.StringVar(&c.function, "function", "", "the function's bootstrap `executable`")
	fs.Var(&c.extensions, "extension", "an external extension `executable` (repeatable)")
	fs.Var(c.env, "env", "a function environment variable `K=V` (repeatable)")
	fs.DurationVar(&c.timeout, "timeout", 3*time.Second, "function timeout")
	fs.DurationVar(&c.initTimeout, "init-timeout", 10*time.Second, "init phase limit")
	fs.IntVar(&c.memory, "memory", 128, "memory size in MB")
	fs.BoolVar(&c.noFreeze, "no-freeze", false, "do not SIGSTOP processes between invocations")
	fs.IntVar(&c.maxConc, "max-concurrency", 0, "emulate Lambda Managed Instances with this many concurrent invocations")
	fs.StringVar(&c.report, "report", "", "write a JSON report to `file`")
}

func (c *common) config(stdout io.Writer, log *slog.Logger) lambdasim.Config {
	cfg := lambdasim.Config{
		Runtime:        &lambdasim.Process{Path: c.function},
		Env:            c.env,
		Timeout:        c.timeout,
		InitTimeout:    c.initTimeout,
		MemoryMB:       c.memory,
		NoFreeze:       c.noFreeze,
		MaxConcurrency: c.maxConc,
		Output:         stdout,
		Logger:         log,
	}
	for _, e := range c.extensions {
		cfg.Extensions = append(cfg.Extensions, lambdasim.Process{Path: e})
	}
	return cfg
}

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) bool {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lambdasim %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return false
	}
	return true
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c common
	c.register(fs)
	eventFile := fs.String("event", "", "a `file` with one JSON event, or JSON lines (one event per invocation, cycled)")
	invocations := fs.Int("invocations", 0, "how many invocations (default: one per event)")
	idle := fs.Duration("idle", 50*time.Millisecond, "pause between invocations, frozen")
	if !parse(fs, args, stderr) {
		return 2
	}
	if c.function == "" {
		fmt.Fprintln(stderr, "lambdasim run: --function is required")
		return 2
	}
	var events [][]byte
	if *eventFile != "" {
		f, err := os.Open(*eventFile)
		if err != nil {
			fmt.Fprintf(stderr, "lambdasim run: %v\n", err)
			return 2
		}
		events, err = lambdasim.ReadEvents(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "lambdasim run: %s: %v\n", *eventFile, err)
			return 2
		}
	}
	return session(ctx, c.config(stdout, log), lambdasim.RunOptions{Events: events, Invocations: *invocations, Idle: *idle}, c.report, stdout, stderr, log, nil)
}

// session runs a whole emulated lifetime: init, invocations, shutdown, report.
// after, if set, runs once the summary is written.
func session(ctx context.Context, cfg lambdasim.Config, opts lambdasim.RunOptions, report string, stdout, stderr io.Writer, log *slog.Logger, after func(*lambdasim.Sim)) int {
	s, err := lambdasim.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer s.Close()
	if err := s.Start(ctx); err != nil {
		var ie *lambdasim.InitError
		if !errors.As(err, &ie) {
			fmt.Fprintln(stderr, err)
			return 1
		}
		// Lambda retries init with the first invocation; so do we.
		log.Warn("init failed; the first invocation will retry it", "err", err)
	}
	results, runErr := s.Run(ctx, opts)
	// Shutdown must finish even after SIGINT: it is bounded by Lambda's own
	// budget, so a fresh context is safe.
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sr, err := s.Shutdown(sctx)
	if err != nil {
		fmt.Fprintf(stderr, "lambdasim: shutdown: %v\n", err)
	}
	fmt.Fprintln(stdout)
	_ = lambdasim.WriteSummary(stdout, results, sr)
	if after != nil {
		after(s)
	}
	if report != "" {
		if err := writeReport(report, s.NewReport(results, sr)); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "lambdasim: %v\n", runErr)
		return 1
	}
	if lambdasim.Failed(results, sr) {
		return 1
	}
	return 0
}

func writeReport(path string, r *lambdasim.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c common
	c.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "where to take invocations")
	if !parse(fs, args, stderr) {
		return 2
	}
	if c.function == "" {
		fmt.Fprintln(stderr, "lambdasim serve: --function is required")
		return 2
	}
	s, err := lambdasim.New(c.config(stdout, log))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer s.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "lambdasim serve: %v\n", err)
		return 1
	}
	if err := s.Start(ctx); err != nil {
		log.Warn("init failed; the first invocation will retry it", "err", err)
	}
	resultsCh := make(chan *lambdasim.Result, 64)
	var results []*lambdasim.Result
	srv := &http.Server{Handler: s.InvokeHandler(resultsCh), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("serving", "invoke", "http://"+ln.Addr().String()+lambdasim.InvokePath, "runtimeAPI", s.Addr())
	for done := false; !done; {
		select {
		case r := <-resultsCh:
			results = append(results, r)
		case <-ctx.Done():
			done = true
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	sr, _ := s.Shutdown(sctx)
	for drained := false; !drained; {
		select {
		case r := <-resultsCh:
			results = append(results, r)
		default:
			drained = true
		}
	}
	fmt.Fprintln(stdout)
	_ = lambdasim.WriteSummary(stdout, results, sr)
	if c.report != "" {
		if err := writeReport(c.report, s.NewReport(results, sr)); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	return 0
}

// exePath is the running binary, which the demo links under role names.
func exePath() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(p)
}
