// Command ext is a scriptable external extension for lambdasim's tests.
// EXT_MODE picks a behaviour; EXT_OUT names a file that receives one line per
// event and telemetry batch it saw.
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
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

var (
	outMu sync.Mutex
	out   *os.File
)

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
	if p := os.Getenv("EXT_OUT"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			out = f
		}
	}
	mode := os.Getenv("EXT_MODE")
	ctx := context.Background()
	switch mode {
	case "exit-before-register":
		fmt.Println("ext: leaving before registering")
		os.Exit(4)
	case "hang-before-register":
		select {}
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
		select {}
	}
	work, _ := strconv.Atoi(os.Getenv("EXT_INVOKE_MS"))
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			fmt.Println("ext: next:", err)
			os.Exit(1)
		}
		record("event %s %s %s", ev.EventType, ev.RequestID, ev.ShutdownReason)
		switch ev.EventType {
		case lambdaapi.Invoke:
			if mode == "crash-on-invoke" {
				fmt.Println("ext: crashing")
				os.Exit(7)
			}
			if mode == "hang-invoke" {
				select {}
			}
			if work > 0 {
				time.Sleep(time.Duration(work) * time.Millisecond)
			}
		case lambdaapi.Shutdown:
			if mode == "ignore-shutdown" {
				select {}
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
