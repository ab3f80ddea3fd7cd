// Command golambda is a function built on aws-lambda-go's real runtime
// client, for proving lambdasim against it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action string `json:"action"`
	Ms     int    `json:"ms"`
	Name   string `json:"name"`
}

type response struct {
	Greeting  string `json:"greeting"`
	RequestID string `json:"requestId"`
	TraceID   string `json:"traceId"`
}

func handle(ctx context.Context, ev event) (response, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	switch ev.Action {
	case "error":
		return response{}, errors.New("handler failed on purpose")
	case "panic":
		panic("handler panicked on purpose")
	case "sleep":
		select {
		case <-time.After(time.Duration(ev.Ms) * time.Millisecond):
		case <-ctx.Done():
		}
	case "block":
		// Like sleep, but deaf to the deadline, so that the platform's
		// timeout (not the handler's own) ends the invocation.
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
	}
	return response{Greeting: "hello " + ev.Name, RequestID: lc.AwsRequestID, TraceID: os.Getenv("_X_AMZN_TRACE_ID")}, nil
}

func main() {
	var opts []lambda.Option
	if os.Getenv("GOLAMBDA_SIGTERM") != "" {
		opts = append(opts, lambda.WithEnableSIGTERM(func() {
			fmt.Println("golambda: SIGTERM received")
		}))
	}
	lambda.StartWithOptions(handle, opts...)
}
