package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// instance is one running program under test, ready: listening for
// OTLP/HTTP (and, for the extension, registered and waiting in next).
type instance struct {
	*process
	// httpAddr is its OTLP/HTTP receiver.
	httpAddr string
	// listening is when its OTLP/HTTP port first accepted a connection;
	// registered is when the extension registered (zero for the
	// collector).
	listening, registered time.Time
	// api is the extension's fake Extensions API (nil for the collector).
	api *extensionsAPI
}

func (in *instance) tracesURL() string { return "http://" + in.httpAddr + "/v1/traces" }

// startupTimeout bounds a start: generous, for a loaded 2-core machine.
const startupTimeout = 30 * time.Second

// startExtension runs lambdaotel-extension under a fake Extensions API,
// exporting to sinkURL with its defaults (OTLP/HTTP protobuf, gzip) and the
// function memory memoryMB (which sizes its queue).
func startExtension(bin, sinkURL string, memoryMB int) (*instance, error) {
	return withPortRetry(func() (*instance, error) {
		api, err := startExtensionsAPI()
		if err != nil {
			return nil, err
		}
		ports, err := freePorts(2)
		if err != nil {
			api.close()
			return nil, err
		}
		p, err := startProcess(bin, nil, map[string]string{
			"AWS_LAMBDA_RUNTIME_API":          api.addr,
			"AWS_LAMBDA_FUNCTION_NAME":        "bench",
			"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(memoryMB),
			"AWS_REGION":                      "us-east-1",
			"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
			"LAMBDA_OTEL_RECEIVER_HTTP_PORT":  strconv.Itoa(ports[0]),
			"LAMBDA_OTEL_RECEIVER_GRPC_PORT":  strconv.Itoa(ports[1]),
			"LAMBDA_OTEL_EXPORTER_ENDPOINT":   sinkURL,
		})
		if err != nil {
			api.close()
			return nil, err
		}
		in := &instance{process: p, httpAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), api: api}
		ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
		defer cancel()
		fail := func(err error) (*instance, error) {
			p.terminate(time.Second)
			api.close()
			return nil, err
		}
		if in.listening, err = p.awaitListening(ctx, in.httpAddr); err != nil {
			return fail(err)
		}
		if in.registered, err = api.registeredAt(ctx, p.done); err != nil {
			return fail(fmt.Errorf("%w\n%s", err, p.output()))
		}
		// Its first next: init is over, it waits for events.
		if _, err := api.awaitNext(ctx); err != nil {
			return fail(fmt.Errorf("%w\n%s", err, p.output()))
		}
		return in, nil
	})
}

// collectorConfig is the collector's configuration: the OTLP receiver on
// both protocols (the extension serves both too), the batch processor, and
// the OTLP/HTTP exporter to the sink with gzip (its default), for the three
// signals; its own telemetry off but for warnings. batchTimeout "" keeps
// the batch processor's defaults (200 ms, 8192 items).
func collectorConfig(httpPort, grpcPort int, sinkURL, batchTimeout string) string {
	batch := "  batch: {}\n"
	if batchTimeout != "" {
		batch = "  batch:\n    timeout: " + batchTimeout + "\n"
	}
	return fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
processors:
%sexporters:
  otlp_http:
    endpoint: %s
    compression: gzip
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp_http]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp_http]
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp_http]
`, grpcPort, httpPort, batch, sinkURL)
}

// startCollector runs the collector with collectorConfig in a file in dir.
func startCollector(bin, dir, sinkURL, batchTimeout string) (*instance, error) {
	return withPortRetry(func() (*instance, error) {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		cfg := filepath.Join(dir, "collector.yaml")
		if err := os.WriteFile(cfg, []byte(collectorConfig(ports[0], ports[1], sinkURL, batchTimeout)), 0o644); err != nil {
			return nil, err
		}
		p, err := startProcess(bin, []string{"--config=file:" + cfg}, nil)
		if err != nil {
			return nil, err
		}
		in := &instance{process: p, httpAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))}
		ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
		defer cancel()
		if in.listening, err = p.awaitListening(ctx, in.httpAddr); err != nil {
			p.terminate(time.Second)
			return nil, err
		}
		return in, nil
	})
}

// stop ends the instance the way its platform would: SHUTDOWN for the
// extension, SIGTERM for the collector; it is killed if it does not exit in
// time. It reports an error when it had to be killed.
func (in *instance) stop() error {
	if in.api != nil {
		defer in.api.close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := in.api.shutdown(ctx)
		cancel()
		if err != nil {
			_ = in.terminate(time.Second)
			return fmt.Errorf("extension did not take SHUTDOWN: %w", err)
		}
		if in.waitExit(3 * time.Second) {
			return fmt.Errorf("extension killed after SHUTDOWN:\n%s", in.output())
		}
		return nil
	}
	if in.terminate(10 * time.Second) {
		return fmt.Errorf("collector killed after SIGTERM:\n%s", in.output())
	}
	return nil
}

// complete sends lambdaotel's completion signal for requestID to the
// extension, as the library does once the function has answered.
func (in *instance) complete(ctx context.Context, c *http.Client, requestID string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+in.httpAddr+"/invocation/complete", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Lambda-Request-Id", requestID)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("/invocation/complete: status %d", resp.StatusCode)
	}
	return nil
}
