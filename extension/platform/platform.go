// Package platform is lambdaotel-extension's Telemetry API listener: it
// subscribes before the extension's first next, receives the batches Lambda
// POSTs, and hands each decoded event to the extension. Today the extension
// uses platform.runtimeDone as a completion source; platform metrics, spans
// and function logs are built on the same listener.
package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// maxBatchBytes bounds one delivery: Lambda sends at most about twice the
// subscription's maxBytes (256 KiB by default) plus metadata.
const maxBatchBytes = 4 << 20

// Listener receives Telemetry API deliveries.
type Listener struct {
	srv    *http.Server
	ln     net.Listener
	handle func(lambdaapi.TelemetryEvent)
	log    *slog.Logger
}

// Listen starts a listener on port (0 picks one) that calls handle for
// every event delivered, in order, on the delivering request's goroutine:
// handle must be quick. It binds the address sandbox.localdomain resolves
// to, where Lambda delivers; where that name does not resolve (emulators,
// which deliver to loopback), 127.0.0.1.
func Listen(port int, handle func(lambdaapi.TelemetryEvent), log *slog.Logger) (*Listener, error) {
	return ListenOn(sandboxAddr(), port, handle, log)
}

// ListenOn is Listen on host, the address LookupSandbox found: the
// extension starts that lookup first thing, so that its latency (a DNS
// query where the name is not in the hosts file) overlaps the rest of its
// start instead of adding to it.
func ListenOn(host string, port int, handle func(lambdaapi.TelemetryEvent), log *slog.Logger) (*Listener, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Plain TCP: see receiver.Listen on Multipath TCP, which net.Listen
	// would ask for.
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("telemetry listener: %w", err)
	}
	l := &Listener{ln: ln, handle: handle, log: log}
	l.srv = &http.Server{Handler: http.HandlerFunc(l.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.srv.Serve(ln) }()
	return l, nil
}

// LookupSandbox starts resolving sandbox.localdomain and returns a function
// that waits for the address (127.0.0.1 where the name does not resolve).
func LookupSandbox() func() string {
	ch := make(chan string, 1)
	go func() { ch <- sandboxAddr() }()
	var addr string
	var once sync.Once
	return func() string {
		once.Do(func() { addr = <-ch })
		return addr
	}
}

// sandboxAddr resolves sandbox.localdomain, briefly: it is a local name
// inside Lambda, and an emulator's machine will not know it at all.
func sandboxAddr() string {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, lambdaapi.SandboxHost)
	if err != nil || len(addrs) == 0 {
		return "127.0.0.1"
	}
	return addrs[0]
}

// Port is the port the listener is on.
func (l *Listener) Port() int { return l.ln.Addr().(*net.TCPAddr).Port }

func (l *Listener) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBatchBytes+1))
	if err != nil || len(body) > maxBatchBytes {
		// Lambda retries a failed delivery; an oversized one would fail
		// again, so it is acknowledged and dropped.
		l.log.Warn("telemetry batch unreadable or too large; dropped", "bytes", len(body), "err", err)
		return
	}
	evs, err := lambdaapi.DecodeEvents(body)
	if err != nil {
		l.log.Warn("telemetry batch is not a JSON array of events; dropped", "err", err)
		return
	}
	for _, ev := range evs {
		l.handle(ev)
	}
}

// Subscribe subscribes the extension (client must be registered) to
// types, delivering to this listener, with timeoutMs buffering. It must run
// before the extension's first next.
func (l *Listener) Subscribe(ctx context.Context, c *lambdaapi.ExtensionClient, schema string, types []lambdaapi.TelemetryType, timeout time.Duration) error {
	ms := int(timeout / time.Millisecond)
	if ms < lambdaapi.MinBufferingTimeoutMs {
		ms = lambdaapi.MinBufferingTimeoutMs
	}
	err := c.Subscribe(ctx, lambdaapi.SubscribeRequest{
		SchemaVersion: schema,
		Types:         types,
		Buffering:     &lambdaapi.Buffering{MaxItems: lambdaapi.MinBufferingMaxItems, MaxBytes: lambdaapi.MinBufferingMaxBytes, TimeoutMs: ms},
		Destination: lambdaapi.Destination{Protocol: lambdaapi.ProtocolHTTP,
			URI: "http://" + lambdaapi.SandboxHost + ":" + strconv.Itoa(l.Port()) + "/"},
	})
	if err != nil {
		return fmt.Errorf("telemetry subscribe: %w", err)
	}
	return nil
}

// Close stops the listener, waiting up to ctx for deliveries in progress.
func (l *Listener) Close(ctx context.Context) error {
	if err := l.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// RuntimeDone returns the request id and status (success, error, failure,
// timeout) of a platform.runtimeDone event.
func RuntimeDone(ev lambdaapi.TelemetryEvent) (requestID, status string, ok bool) {
	if ev.Type != lambdaapi.EventRuntimeDone {
		return "", "", false
	}
	rec, err := ev.Decode()
	if err != nil {
		return "", "", false
	}
	rd := rec.(*lambdaapi.RuntimeDone)
	return rd.RequestID, rd.Status, rd.RequestID != ""
}
