// Package logextension is a small external extension: it subscribes to the
// Telemetry API and prints one line per invocation report. It shows the
// extension lifecycle lambdaotel-extension follows (register, subscribe,
// next until SHUTDOWN) without any OpenTelemetry in the way.
package logextension

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// Run registers as the executable's file name, subscribes to platform
// telemetry and serves events until SHUTDOWN.
func Run(ctx context.Context, log *slog.Logger) error {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		return errors.New("AWS_LAMBDA_RUNTIME_API is not set: not running in Lambda")
	}
	name := filepath.Base(os.Args[0])
	c := lambdaapi.NewExtensionClient(api, nil)
	if _, err := c.Register(ctx, name, lambdaapi.Invoke, lambdaapi.Shutdown); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("telemetry listener: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		evs, err := lambdaapi.DecodeEvents(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, ev := range evs {
			printReport(log, ev)
		}
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	// Platform records only: printing function or extension records would
	// feed our own output back to us.
	if err := c.Subscribe(ctx, lambdaapi.SubscribeRequest{
		SchemaVersion: lambdaapi.Schema20221213,
		Types:         []lambdaapi.TelemetryType{lambdaapi.TypePlatform},
		Buffering:     &lambdaapi.Buffering{TimeoutMs: lambdaapi.MinBufferingTimeoutMs},
		Destination:   lambdaapi.Destination{Protocol: lambdaapi.ProtocolHTTP, URI: "http://" + lambdaapi.SandboxHost + ":" + port + "/"},
	}); err != nil {
		_ = c.InitError(ctx, "Extension.SubscribeFailed", err.Error())
		return err
	}
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			return err
		}
		if ev.EventType == lambdaapi.Shutdown {
			log.Info("shutting down", "reason", ev.ShutdownReason)
			return nil
		}
	}
}

func printReport(log *slog.Logger, ev lambdaapi.TelemetryEvent) {
	if ev.Type != lambdaapi.EventReport {
		return
	}
	rec, err := ev.Decode()
	if err != nil {
		return
	}
	r := rec.(*lambdaapi.Report)
	log.Info("report", "requestId", r.RequestID, "status", r.Status,
		"durationMs", r.Metrics.DurationMs, "billedMs", r.Metrics.BilledDurationMs, "maxMemoryMB", r.Metrics.MaxMemoryUsedMB)
}
