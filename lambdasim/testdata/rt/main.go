// Command rt is a scriptable Lambda runtime for lambdasim's tests. Each event
// is a JSON object saying what to do; RT_INIT and RT_SIGTERM script init and
// shutdown.
//
// RT_PRINT_PID=1 prints "rt: pid N" first thing. RT_INIT_FAILS=N with
// RT_MARK=<file> applies RT_INIT only to the first N starts (the file counts
// them), so that a re-init can succeed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

type event struct {
	Action string `json:"action"` // echo (default), error, sleep, exit, print, big, ticks, env, headers, pid
	Ms     int    `json:"ms"`
	Code   int    `json:"code"`
	Lines  int    `json:"lines"`
	Bytes  int    `json:"bytes"`
	Text   string `json:"text"`
}

func main() {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	c := lambdaapi.NewRuntimeClient(api, nil)
	ctx := context.Background()
	if os.Getenv("RT_PRINT_PID") != "" {
		fmt.Printf("rt: pid %d\n", os.Getpid())
	}

	var ticks atomic.Int64
	if ms, _ := strconv.Atoi(os.Getenv("RT_TICK_MS")); ms > 0 {
		go func() {
			for range time.Tick(time.Duration(ms) * time.Millisecond) {
				ticks.Add(1)
			}
		}()
	}
	switch os.Getenv("RT_SIGTERM") {
	case "exit":
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		go func() { <-sig; fmt.Println("rt: SIGTERM"); os.Exit(0) }()
	case "ignore":
		signal.Ignore(syscall.SIGTERM)
	}
	if n := os.Getenv("RT_REGISTER_INTERNAL"); n != "" {
		ec := lambdaapi.NewExtensionClient(api, nil)
		var evs []lambdaapi.EventType
		if os.Getenv("RT_INTERNAL_INVOKE") != "" {
			evs = append(evs, lambdaapi.Invoke)
		}
		if _, err := ec.Register(ctx, n, evs...); err != nil {
			fmt.Println("rt: internal register:", err)
			os.Exit(3)
		}
		go func() {
			for {
				if _, err := ec.Next(ctx); err != nil {
					return
				}
			}
		}()
	}
	initMode := os.Getenv("RT_INIT")
	if n, err := strconv.Atoi(os.Getenv("RT_INIT_FAILS")); err == nil && os.Getenv("RT_MARK") != "" {
		b, _ := os.ReadFile(os.Getenv("RT_MARK"))
		starts, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		starts++
		_ = os.WriteFile(os.Getenv("RT_MARK"), []byte(strconv.Itoa(starts)), 0o644)
		if starts > n {
			initMode = ""
		}
	}
	switch initMode {
	case "error":
		_ = c.InitError(ctx, lambdaapi.ErrorResponse{ErrorType: "Runtime.TestInitError", ErrorMessage: "scripted init error"})
		os.Exit(1)
	case "exit":
		fmt.Println("rt: exiting during init")
		os.Exit(2)
	case "hang":
		hang()
	}
	fmt.Println("rt: ready")
	// On Managed Instances a runtime serves as many invocations at once as
	// AWS_LAMBDA_MAX_CONCURRENCY allows, each worker with its own next loop.
	workers, _ := strconv.Atoi(os.Getenv("AWS_LAMBDA_MAX_CONCURRENCY"))
	for w := 1; w < workers; w++ {
		go serve(ctx, c, &ticks)
	}
	serve(ctx, c, &ticks)
}

// arrivals counts "rendezvous" invocations so far.
var arrivals atomic.Int64

func serve(ctx context.Context, c *lambdaapi.RuntimeClient, ticks *atomic.Int64) {
	for {
		inv, err := c.Next(ctx)
		if err != nil {
			fmt.Println("rt: next:", err)
			os.Exit(1)
		}
		var ev event
		_ = json.Unmarshal(inv.Payload, &ev)
		switch ev.Action {
		case "error":
			_ = c.RespondError(ctx, inv.RequestID, lambdaapi.ErrorResponse{ErrorType: "Handler.Failed", ErrorMessage: ev.Text})
		case "sleep":
			time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
			respond(c, inv, []byte(`"slept"`))
		case "exit":
			fmt.Println("rt: exiting mid-invoke")
			os.Exit(ev.Code)
		case "print":
			for i := 0; i < ev.Lines; i++ {
				fmt.Printf("line %d %s\n", i, ev.Text)
			}
			respond(c, inv, []byte(`"printed"`))
		case "say":
			fmt.Println(ev.Text)
			respond(c, inv, []byte(`"said"`))
		case "big":
			respond(c, inv, bytes.Repeat([]byte("x"), ev.Bytes))
		case "ticks":
			respond(c, inv, []byte(strconv.FormatInt(ticks.Load(), 10)))
		case "env":
			b, _ := json.Marshal(os.Environ())
			respond(c, inv, b)
		case "headers":
			b, _ := json.Marshal(inv)
			respond(c, inv, b)
		case "pid":
			respond(c, inv, []byte(strconv.Itoa(os.Getpid())))
		case "rendezvous":
			// A barrier of Code invocations: the k-th arrival belongs to
			// round k/Code and waits (bounded) for the round to fill.
			// "together" proves that many ran at once.
			k := arrivals.Add(1) - 1
			need := (k/int64(ev.Code) + 1) * int64(ev.Code)
			answer := "alone"
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if arrivals.Load() >= need {
					answer = "together"
					break
				}
			}
			respond(c, inv, []byte(`"`+answer+`"`))
		default:
			respond(c, inv, inv.Payload)
		}
	}
}

func respond(c *lambdaapi.RuntimeClient, inv *lambdaapi.Invocation, body []byte) {
	if err := c.Respond(context.Background(), inv.RequestID, bytes.NewReader(body)); err != nil {
		fmt.Println("rt: respond:", strings.TrimSpace(err.Error()))
	}
}

// hang blocks forever. A bare select{} would not: with no other goroutine
// alive, Go's runtime declares a deadlock and exits with status 2.
func hang() {
	for {
		time.Sleep(time.Hour)
	}
}
