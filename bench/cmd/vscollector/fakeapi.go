package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// extensionsAPI is a minimal fake of Lambda's Extensions API (and the
// Telemetry API's subscribe) for one extension process: it records when the
// extension registered, hands out the lifecycle events the harness queues,
// and tells the harness each time the extension calls next — which is when
// it has finished with the previous event (for INVOKE: flushed).
//
// lambdasim would do all this too, but it starts the extension itself and
// does not expose its pid or exec moment, which the measurements need.
type extensionsAPI struct {
	srv  *http.Server
	addr string

	events chan lambdaapi.Event
	// nexts receives the time of every call to next, delivered receives
	// the time each event was written to the extension.
	nexts, delivered chan time.Time

	mu         sync.Mutex
	registered time.Time
	regCh      chan struct{} // closed at the first register
	initErr    string
}

func startExtensionsAPI() (*extensionsAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &extensionsAPI{
		addr:      ln.Addr().String(),
		events:    make(chan lambdaapi.Event, 4),
		nexts:     make(chan time.Time, 256),
		delivered: make(chan time.Time, 16),
		regCh:     make(chan struct{}),
	}
	mux := http.NewServeMux()
	base := "/" + lambdaapi.ExtensionsAPIVersion + "/extension/"
	mux.HandleFunc("POST "+base+"register", a.register)
	mux.HandleFunc("GET "+base+"event/next", a.next)
	mux.HandleFunc("POST "+base+"init/error", a.reportedError)
	mux.HandleFunc("POST "+base+"exit/error", a.reportedError)
	mux.HandleFunc("PUT /"+lambdaapi.TelemetryAPIVersion+"/telemetry", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("OK"))
	})
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

func (a *extensionsAPI) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = a.srv.Shutdown(ctx)
	_ = a.srv.Close()
}

func (a *extensionsAPI) register(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	_, _ = io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	if a.registered.IsZero() {
		a.registered = now
		close(a.regCh)
	}
	a.mu.Unlock()
	w.Header().Set(lambdaapi.HeaderExtensionIdentifier, "bench-extension-id")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(lambdaapi.RegisterResponse{
		FunctionName: "bench", FunctionVersion: "$LATEST", Handler: "bootstrap", AccountID: "123456789012",
	})
}

func (a *extensionsAPI) next(w http.ResponseWriter, r *http.Request) {
	a.nexts <- time.Now()
	select {
	case ev := <-a.events:
		b, _ := json.Marshal(ev)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(lambdaapi.HeaderExtensionEventID, strconv.FormatInt(time.Now().UnixNano(), 10))
		_, _ = w.Write(b)
		a.delivered <- time.Now()
	case <-r.Context().Done():
	}
}

func (a *extensionsAPI) reportedError(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
	a.mu.Lock()
	a.initErr = r.Header.Get(lambdaapi.HeaderExtensionErrorType) + ": " + string(b)
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

// registeredAt waits for the register call.
func (a *extensionsAPI) registeredAt(ctx context.Context, exited <-chan struct{}) (time.Time, error) {
	select {
	case <-a.regCh:
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.registered, nil
	case <-exited:
		return time.Time{}, errors.New("the extension exited before registering")
	case <-ctx.Done():
		return time.Time{}, errors.New("the extension did not register in time")
	}
}

// awaitNext waits for the extension's next call.
func (a *extensionsAPI) awaitNext(ctx context.Context) (time.Time, error) {
	select {
	case t := <-a.nexts:
		return t, nil
	case <-ctx.Done():
		return time.Time{}, errors.New("the extension did not call next in time")
	}
}

// invoke hands an INVOKE for requestID to the extension (which must be
// waiting in next) and returns when it has been written.
func (a *extensionsAPI) invoke(ctx context.Context, requestID string, deadline time.Duration) (time.Time, error) {
	return a.send(ctx, lambdaapi.Event{
		EventType: lambdaapi.Invoke, RequestID: requestID, DeadlineMs: time.Now().Add(deadline).UnixMilli(),
		InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:bench",
		Tracing:            &lambdaapi.Tracing{Type: lambdaapi.TracingTypeXRay, Value: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"},
	})
}

// shutdown hands a SHUTDOWN event with Lambda's 2 s budget.
func (a *extensionsAPI) shutdown(ctx context.Context) error {
	_, err := a.send(ctx, lambdaapi.Event{EventType: lambdaapi.Shutdown, ShutdownReason: lambdaapi.ShutdownSpindown,
		DeadlineMs: time.Now().Add(2 * time.Second).UnixMilli()})
	return err
}

func (a *extensionsAPI) send(ctx context.Context, ev lambdaapi.Event) (time.Time, error) {
	select {
	case a.events <- ev:
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	select {
	case t := <-a.delivered:
		return t, nil
	case <-ctx.Done():
		return time.Time{}, errors.New("the extension did not take the event in time")
	}
}
