// Package hello is the smallest useful Go function: it greets whoever the
// event names. lambdasim's demo runs it, and cmd/bootstrap builds it as a
// deployable provided.al2023 bootstrap.
package hello

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Event is what the function accepts.
type Event struct {
	Name string `json:"name"`
	// Fail makes the handler return an error, to show how failures look.
	Fail bool `json:"fail,omitempty"`
}

// Response is what the function answers.
type Response struct {
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

// Handler greets ev.Name.
func Handler(ctx context.Context, ev Event) (Response, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	var id string
	if lc != nil {
		id = lc.AwsRequestID
	}
	if ev.Fail {
		return Response{}, errors.New("asked to fail")
	}
	if ev.Name == "" {
		ev.Name = "world"
	}
	slog.InfoContext(ctx, "greeting", "name", ev.Name, "requestId", id)
	return Response{Message: fmt.Sprintf("hello, %s", ev.Name), RequestID: id}, nil
}

// Main runs Handler under aws-lambda-go's runtime client.
func Main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stdout, nil)))
	lambda.Start(Handler)
}
