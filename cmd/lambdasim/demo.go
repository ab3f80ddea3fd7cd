package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/lambdaotel/lambdaotel/examples/hello"
	"github.com/lambdaotel/lambdaotel/examples/logextension"
	"github.com/lambdaotel/lambdaotel/lambdasim"
)

// The demo runs this binary under these file names; the name picks the role,
// and the extension's name is what it registers with.
const (
	demoFunction  = "lambdasim-demo-function"
	demoExtension = "lambdasim-demo-extension"
)

func demoRole() (func() int, bool) {
	switch filepath.Base(os.Args[0]) {
	case demoFunction:
		return func() int { hello.Main(); return 0 }, true
	case demoExtension:
		return func() int {
			log := slog.New(slog.NewTextHandler(os.Stdout, nil))
			if err := logextension.Run(context.Background(), log); err != nil {
				log.Error("extension failed", "err", err)
				return 1
			}
			return 0
		}, true
	}
	return nil, false
}

var demoEvents = [][]byte{
	[]byte(`{"name":"Ada"}`),
	[]byte(`{"name":"Grace"}`),
	[]byte(`{"name":"Barbara"}`),
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	invocations := fs.Int("invocations", len(demoEvents), "how many invocations")
	report := fs.String("report", "", "write a JSON report to `file`")
	if !parse(fs, args, stderr) {
		return 2
	}
	exe, err := exePath()
	if err != nil {
		fmt.Fprintf(stderr, "lambdasim demo: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "lambdasim-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "lambdasim demo: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	fn, ext := filepath.Join(dir, demoFunction), filepath.Join(dir, demoExtension)
	for _, p := range []string{fn, ext} {
		if err := os.Symlink(exe, p); err != nil {
			fmt.Fprintf(stderr, "lambdasim demo: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "lambdasim demo: the hello function (aws-lambda-go) and a Telemetry API extension,\n"+
		"%d invocations, frozen between them, then a graceful shutdown.\n\n", *invocations)
	cfg := lambdasim.Config{
		Runtime:      &lambdasim.Process{Path: fn},
		Extensions:   []lambdasim.Process{{Path: ext}},
		FunctionName: "hello",
		Output:       stdout,
		Logger:       log,
	}
	return session(ctx, cfg, lambdasim.RunOptions{Events: demoEvents, Invocations: *invocations, Idle: 100 * time.Millisecond}, *report, stdout, stderr, log)
}
