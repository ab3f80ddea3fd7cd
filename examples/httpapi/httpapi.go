// Package httpapi is an HTTP API function (API Gateway HTTP API, payload
// 2.0) instrumented with lambdaotel: every request gets a SERVER span named
// after its route, parented to the caller's traceparent, with a child span
// for the lookup and a span event for a miss. lambdasim's demo runs it in
// async mode, so exporting adds nothing to the response.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel"
)

// Item is what the API serves.
type Item struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Price int    `json:"priceCents"`
}

var catalogue = map[string]Item{
	"1": {ID: "1", Name: "teapot", Price: 1800},
	"2": {ID: "2", Name: "kettle", Price: 3400},
}

// API serves GET /items/{id}.
type API struct {
	Tracer trace.Tracer
}

// Handle answers one request.
func (a API) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if req.RequestContext.HTTP.Method != http.MethodGet || !strings.HasPrefix(req.RawPath, "/items/") {
		return respond(http.StatusNotFound, map[string]string{"error": "no such route"}), nil
	}
	id := req.PathParameters["id"]
	if id == "" {
		id = strings.TrimPrefix(req.RawPath, "/items/")
	}
	_, span := a.Tracer.Start(ctx, "load item", trace.WithAttributes(attribute.String("item.id", id)))
	item, ok := catalogue[id]
	span.End()
	if !ok {
		lambdaotel.Event(ctx, lambdaotel.LevelWarn, "item not found", attribute.String("item.id", id))
		return respond(http.StatusNotFound, map[string]string{"error": "no item " + id}), nil
	}
	return respond(http.StatusOK, item), nil
}

func respond(code int, body any) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(body)
	return events.APIGatewayV2HTTPResponse{StatusCode: code, Body: string(b), Headers: map[string]string{"content-type": "application/json"}}
}

// Main initialises tracing and serves the API until Lambda shuts it down.
func Main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	tel, err := lambdaotel.Init(context.Background())
	if err != nil {
		log.Error("tracing unavailable", "err", err)
		os.Exit(1)
	}
	lambda.Start(lambdaotel.Wrap(tel, API{Tracer: tel.Tracer()}.Handle))
}
