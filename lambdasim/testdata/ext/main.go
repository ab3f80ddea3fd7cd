// Command ext is a scriptable external extension for lambdasim's tests.
// EXT_MODE picks a behaviour; EXT_OUT names a file that receives one line per
// event and telemetry batch it saw.
//
// Arguments of the form KEY=VALUE set environment variables before anything
// else runs, so that one extension of several can be scripted on its own.
// Further knobs:
//
//	EXT_VERBOSE=1            also record "pid N", "environ [...]" (JSON),
//	                         "deadline TYPE MS" per event and "invoke-done ID"
//	                         when the extension calls next after an INVOKE
//	EXT_REGISTER_DELAY_MS=N  wait N ms before registering
//	EXT_PRINT_DONE=1         print "ext: done with ID" on stdout just before
//	                         calling next after an INVOKE
//	EXT_WAIT_RUNTIMEDONE=1   with EXT_SUBSCRIBE: on INVOKE, wait (at most 5 s)
//	                         for that request's platform.runtimeDone before
//	                         calling next, as an OpenTelemetry extension does
//	EXT_SHUTDOWN_WAIT_REPORT=1 with EXT_SUBSCRIBE: on SHUTDOWN, wait (at most
//	                         1.5 s) for the platform.report of the last INVOKE
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

var (
	outMu sync.Mutex
	out   *os.File

	// seen records the telemetry received, for the waits above.
	seenMu      sync.Mutex
	seenChanged = make(chan struct{})
	seen        = map[string]bool{} // "type requestId"
)

// markSeen notes that an event of typ for requestID was received.
func markSeen(typ, requestID string) {
	seenMu.Lock()
	defer seenMu.Unlock()
	seen[typ+" "+requestID] = true
	close(seenChanged)
	seenChanged = make(chan struct{})
}

// waitSeen waits until an event of typ for requestID was received, or limit.
func waitSeen(typ, requestID string, limit time.Duration) bool {
	deadline := time.After(limit)
	for {
		seenMu.Lock()
		ok, ch := seen[typ+" "+requestID], seenChanged
		seenMu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

func record(format string, args ...any) {
	if out == nil {
		return
	}
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(out, format+"\n", args...)
	_ = out.Sync()
}

func main() {
	name := filepath.Base(os.Args[0])
	for _, a := range os.Args[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			os.Setenv(k, v)
		}
	}
	if p := os.Getenv("EXT_OUT"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			out = f
		}
	}
	verbose := os.Getenv("EXT_VERBOSE") != ""
	if verbose {
		record("pid %d", os.Getpid())
		b, _ := json.Marshal(os.Environ())
		record("environ %s", b)
	}
	mode := os.Getenv("EXT_MODE")
	ctx := context.Background()
	switch mode {
	case "exit-before-register":
		fmt.Println("ext: leaving before registering")
		os.Exit(4)
	case "hang-before-register":
		hang()
	}
	if ms, _ := strconv.Atoi(os.Getenv("EXT_REGISTER_DELAY_MS")); ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	c := lambdaapi.NewExtensionClient(os.Getenv("AWS_LAMBDA_RUNTIME_API"), nil)
	events := []lambdaapi.EventType{lambdaapi.Invoke, lambdaapi.Shutdown}
	if mode == "shutdown-only" {
		events = events[1:]
	}
	reg, err := c.Register(ctx, name, events...)
	if err != nil {
		fmt.Println("ext: register:", err)
		os.Exit(1)
	}
	record("registered %s account=%s", reg.FunctionName, reg.AccountID)
	if mode == "init-error" {
		_ = c.InitError(ctx, "Extension.TestFailure", "scripted init failure")
		os.Exit(1)
	}
	if os.Getenv("EXT_SUBSCRIBE") != "" {
		subscribe(ctx, c)
	}
	if mode == "hang-init" {
		hang()
	}
	work, _ := strconv.Atoi(os.Getenv("EXT_INVOKE_MS"))
	lastInvoke := ""
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			fmt.Println("ext: next:", err)
			os.Exit(1)
		}
		record("event %s %s %s", ev.EventType, ev.RequestID, ev.ShutdownReason)
		if verbose {
			record("deadline %s %d", ev.EventType, ev.DeadlineMs)
		}
		switch ev.EventType {
		case lambdaapi.Invoke:
			lastInvoke = ev.RequestID
			if mode == "crash-on-invoke" {
				fmt.Println("ext: crashing")
				os.Exit(7)
			}
			if mode == "hang-invoke" {
				hang()
			}
			if work > 0 {
				time.Sleep(time.Duration(work) * time.Millisecond)
			}
			if os.Getenv("EXT_WAIT_RUNTIMEDONE") != "" && !waitSeen(lambdaapi.EventRuntimeDone, ev.RequestID, 5*time.Second) {
				record("runtimeDone-missing %s", ev.RequestID)
			}
			if verbose {
				record("invoke-done %s", ev.RequestID)
			}
			if os.Getenv("EXT_PRINT_DONE") != "" {
				// On stdout, just before next: lambdasim must capture it
				// before it freezes the environment.
				fmt.Println("ext: done with", ev.RequestID)
			}
		case lambdaapi.Shutdown:
			if mode == "ignore-shutdown" {
				hang()
			}
			if os.Getenv("EXT_SHUTDOWN_WAIT_REPORT") != "" && lastInvoke != "" && !waitSeen(lambdaapi.EventReport, lastInvoke, 1500*time.Millisecond) {
				record("report-missing %s", lastInvoke)
			}
			if ms, _ := strconv.Atoi(os.Getenv("EXT_SHUTDOWN_MS")); ms > 0 {
				time.Sleep(time.Duration(ms) * time.Millisecond)
			}
			record("exiting")
			os.Exit(0)
		}
	}
}

// subscribe starts a telemetry listener and subscribes to all three streams,
// recording every event it receives.
func subscribe(ctx context.Context, c *lambdaapi.ExtensionClient) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ext: listen:", err)
		os.Exit(1)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		evs, err := lambdaapi.DecodeEvents(body)
		if err != nil {
			record("bad-batch %v", err)
			return
		}
		for _, ev := range evs {
			if ev.Type == lambdaapi.EventExtensionLog {
				continue
			}
			b, _ := json.Marshal(ev)
			record("telemetry %s", b)
			var rec struct {
				RequestID string `json:"requestId"`
			}
			if json.Unmarshal(ev.Record, &rec) == nil && rec.RequestID != "" {
				markSeen(ev.Type, rec.RequestID)
			}
		}
	}))
	port := ln.Addr().(*net.TCPAddr).Port
	err = c.Subscribe(ctx, lambdaapi.SubscribeRequest{
		SchemaVersion: lambdaapi.Schema20221213,
		Types:         []lambdaapi.TelemetryType{lambdaapi.TypePlatform, lambdaapi.TypeFunction},
		Buffering:     &lambdaapi.Buffering{TimeoutMs: 25},
		Destination:   lambdaapi.Destination{Protocol: lambdaapi.ProtocolHTTP, URI: "http://sandbox.localdomain:" + strconv.Itoa(port) + "/telemetry"},
	})
	if err != nil {
		fmt.Println("ext: subscribe:", err)
		os.Exit(1)
	}
}

// hang blocks forever. A bare select{} would not: with no other goroutine
// alive, Go's runtime declares a deadlock and exits with status 2.
func hang() {
	for {
		time.Sleep(time.Hour)
	}
}
