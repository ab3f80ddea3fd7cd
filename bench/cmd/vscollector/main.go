// Command vscollector measures lambdaotel-extension against an
// OpenTelemetry Collector built from its Go modules (bench/collector: the
// OTLP receiver, the batch processor and the OTLP/HTTP exporter) on the
// same loopback load, and writes results/<date>.md with the budget table of
// DESIGN.md and SVG bar charts.
//
// Run it from bench/:
//
//	go run ./cmd/vscollector
//
// It builds both programs (stripped, CGO_ENABLED=0, linux/amd64, and
// linux/arm64 for the sizes), then measures, for both:
//
//   - binary size;
//   - start: exec → OTLP/HTTP port accepting a connection, and for the
//     extension exec → registered with a fake Extensions API; median of
//     -runs starts, the two programs alternating;
//   - idle RSS (VmRSS) a second after start;
//   - CPU per span (utime+stime from /proc) and throughput for a fixed load
//     of gzipped OTLP/HTTP protobuf, exported with gzip to a sink;
//   - single small export latency: one request of 10 spans, client POST →
//     the sink has it;
//   - peak RSS (VmHWM) under a flood, and how many requests got 503.
//
// The collector is compiled only here: CI vets this command but never runs
// it, and neither the main module nor bench/ depends on the collector.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// runConfig is the command line.
type runConfig struct {
	startRuns, idleRuns                  int
	spans, batch, conc                   int
	latencyRuns, latencySpans            int
	floodRequests, floodSpans, floodConc int
	memoryMB                             int
	outDir, date                         string
	arm64                                bool
	keep                                 bool
	workDir                              string
}

func main() {
	var cfg runConfig
	flag.IntVar(&cfg.startRuns, "runs", 20, "starts of each program for the start-time median")
	flag.IntVar(&cfg.idleRuns, "idle-runs", 5, "of those, how many also measure idle RSS (1 s each)")
	flag.IntVar(&cfg.spans, "spans", 200_000, "spans of the throughput load")
	flag.IntVar(&cfg.batch, "batch", 100, "spans per request of the throughput load")
	flag.IntVar(&cfg.conc, "conc", 4, "concurrent senders of the throughput load")
	flag.IntVar(&cfg.latencyRuns, "latency-runs", 50, "single small exports measured")
	flag.IntVar(&cfg.latencySpans, "latency-spans", 10, "spans of the single small export")
	flag.IntVar(&cfg.floodRequests, "flood-requests", 2000, "requests of the flood")
	flag.IntVar(&cfg.floodSpans, "flood-spans", 512, "spans per request of the flood")
	flag.IntVar(&cfg.floodConc, "flood-conc", 8, "concurrent senders of the flood")
	flag.IntVar(&cfg.memoryMB, "memory", 128, "the function's memory in MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE; sizes the extension's queue)")
	flag.StringVar(&cfg.outDir, "out", "results", "directory for <date>.md and its charts")
	flag.StringVar(&cfg.date, "date", time.Now().Format("2006-01-02"), "date in the results' file names")
	flag.BoolVar(&cfg.arm64, "arm64", true, "also build linux/arm64 binaries, for their sizes")
	flag.BoolVar(&cfg.keep, "keep", false, "build with symbols and keep the binaries, to profile a run (e.g. under perf record -a -g); the sizes are then not the budget's")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "vscollector:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "vscollector: "+format+"\n", args...)
}

func run(cfg runConfig) error {
	if runtime.GOOS != "linux" {
		return errors.New("needs Linux: it reads /proc")
	}
	if cfg.spans%cfg.batch != 0 || cfg.startRuns < 1 || cfg.latencyRuns < 1 {
		return errors.New("-spans must be a multiple of -batch; -runs and -latency-runs at least 1")
	}
	mainDir, err := goOutput("", "list", "-m", "-f", "{{.Dir}}", "github.com/lambdaotel/lambdaotel")
	if err != nil {
		return fmt.Errorf("run from bench/ (the main module is found through its replace directive): %w", err)
	}
	benchDir, err := goOutput("", "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		return err
	}
	colDir := filepath.Join(benchDir, "collector")
	work, err := os.MkdirTemp("", "vscollector-")
	if err != nil {
		return err
	}
	if cfg.keep {
		progress("keeping %s (unstripped binaries, for perf)", work)
	} else {
		defer os.RemoveAll(work)
	}
	cfg.workDir = work

	res := &results{cfg: cfg, machine: machineInfo(), sizes: map[string]map[string]int64{extName: {}, colName: {}}}
	res.goVersion, _ = goOutput("", "env", "GOVERSION")
	res.collectorVersion = collectorVersion(colDir)

	// Builds.
	archs := []string{"amd64"}
	if cfg.arm64 {
		archs = append(archs, "arm64")
	}
	bins := map[string]string{}
	for _, arch := range archs {
		for _, b := range []struct{ name, dir, pkg string }{
			{extName, mainDir, "./cmd/lambdaotel-extension"},
			{colName, colDir, "."},
		} {
			out := filepath.Join(work, b.name+"-"+arch)
			progress("building %s for linux/%s (the collector takes minutes on a cold cache)", b.name, arch)
			start := time.Now()
			if err := goBuild(b.dir, b.pkg, out, arch, !cfg.keep); err != nil {
				return err
			}
			fi, err := os.Stat(out)
			if err != nil {
				return err
			}
			res.sizes[b.name][arch] = fi.Size()
			progress("built %s linux/%s: %.1f MB in %v", b.name, arch, float64(fi.Size())/1e6, time.Since(start).Round(time.Second))
			if arch == "amd64" {
				bins[b.name] = out
			}
		}
	}

	s, err := startSink()
	if err != nil {
		return err
	}
	defer s.close()

	// Start time and idle RSS.
	floorBin, err := buildFloor(work)
	if err != nil {
		return err
	}
	res.extStart, res.colStart, res.floorStart, err = measureStarts(cfg, bins[extName], bins[colName], floorBin, s)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	// Throughput and CPU per span.
	bodies, raw, err := makeRequests(cfg.batch, 1)
	if err != nil {
		return err
	}
	res.tputRequestBytes, res.tputRequestGzip = raw, len(bodies[0])
	progress("throughput: %d spans in requests of %d (%d B protobuf, %d B gzipped), %d senders", cfg.spans, cfg.batch, raw, len(bodies[0]), cfg.conc)
	var tputIn *instance
	if err := withInstance(func() (*instance, error) {
		tputIn, err = startExtension(bins[extName], s.url(), cfg.memoryMB)
		return tputIn, err
	}, func(in *instance) error {
		res.extTput, err = measureThroughput(ctx, in, s, bodies, cfg.spans/cfg.batch, cfg.batch, cfg.conc)
		return err
	}); err != nil {
		return fmt.Errorf("extension throughput: %w", err)
	}
	res.extTput.finish(tputIn)
	progress("extension: %.0f spans/s, %v CPU/span, %d of %d spans delivered", res.extTput.spansPerSecond(), res.extTput.cpuPerSpan(), res.extTput.delivered, res.extTput.spans)
	if err := withInstance(func() (*instance, error) { return startCollector(bins[colName], work, s.url(), "") }, func(in *instance) error {
		res.colTput, err = measureThroughput(ctx, in, s, bodies, cfg.spans/cfg.batch, cfg.batch, cfg.conc)
		return err
	}); err != nil {
		return fmt.Errorf("collector throughput: %w", err)
	}
	progress("collector: %.0f spans/s, %v CPU/span, %d of %d spans delivered", res.colTput.spansPerSecond(), res.colTput.cpuPerSpan(), res.colTput.delivered, res.colTput.spans)

	// Single small export latency.
	small, _, err := makeRequests(cfg.latencySpans, 2)
	if err != nil {
		return err
	}
	if err := withInstance(func() (*instance, error) { return startExtension(bins[extName], s.url(), cfg.memoryMB) }, func(in *instance) error {
		res.extLatency, err = measureLatency(ctx, in, s, small[0], cfg.latencySpans, cfg.latencyRuns)
		return err
	}); err != nil {
		return fmt.Errorf("extension latency: %w", err)
	}
	if err := withInstance(func() (*instance, error) { return startCollector(bins[colName], work, s.url(), "") }, func(in *instance) error {
		res.colLatency, err = measureLatency(ctx, in, s, small[0], cfg.latencySpans, cfg.latencyRuns)
		return err
	}); err != nil {
		return fmt.Errorf("collector latency: %w", err)
	}
	if err := withInstance(func() (*instance, error) { return startCollector(bins[colName], work, s.url(), "0s") }, func(in *instance) error {
		res.colLatency0, err = measureLatency(ctx, in, s, small[0], cfg.latencySpans, cfg.latencyRuns)
		return err
	}); err != nil {
		return fmt.Errorf("collector latency (batch timeout 0s): %w", err)
	}
	progress("latency p50: extension %v, collector %v (batch timeout 0s: %v)", median(res.extLatency.postToSink), median(res.colLatency.postToSink), median(res.colLatency0.postToSink))

	// Flood.
	flood, _, err := makeRequests(cfg.floodSpans, 3)
	if err != nil {
		return err
	}
	res.floodRequestGzip = len(flood[0])
	var floodIn *instance
	if err := withInstance(func() (*instance, error) {
		floodIn, err = startExtension(bins[extName], s.url(), cfg.memoryMB)
		return floodIn, err
	}, func(in *instance) error {
		res.extFlood, err = measureFlood(ctx, in, s, flood, cfg.floodRequests, cfg.floodSpans, cfg.floodConc)
		return err
	}); err != nil {
		return fmt.Errorf("extension flood: %w", err)
	}
	res.extFlood.finish(s, floodIn)
	if err := withInstance(func() (*instance, error) {
		floodIn, err = startCollector(bins[colName], work, s.url(), "")
		return floodIn, err
	}, func(in *instance) error {
		res.colFlood, err = measureFlood(ctx, in, s, flood, cfg.floodRequests, cfg.floodSpans, cfg.floodConc)
		return err
	}); err != nil {
		return fmt.Errorf("collector flood: %w", err)
	}
	res.colFlood.finish(s, floodIn)
	progress("flood peak RSS: extension %.1f MiB (%d × 503), collector %.1f MiB (%d × 503)",
		mib(res.extFlood.hwm), res.extFlood.load.unavailable, mib(res.colFlood.hwm), res.colFlood.load.unavailable)
	res.foreignSpans = s.foreignSpans()
	if _, _, _, err := s.stats(); err != nil {
		return fmt.Errorf("the sink got a malformed export: %w", err)
	}

	// Report.
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return err
	}
	files := res.render()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(cfg.outDir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(res.budgetTable())
	fmt.Println(res.otherTable())
	progress("wrote %s", filepath.Join(cfg.outDir, cfg.date+".md"))
	return nil
}

// withInstance starts an instance, runs fn on it and always stops it.
func withInstance(start func() (*instance, error), fn func(*instance) error) error {
	in, err := start()
	if err != nil {
		return err
	}
	ferr := fn(in)
	serr := in.stop()
	if ferr != nil {
		return ferr
	}
	return serr
}

func goOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// goBuild builds as a layer is built: stripped, static, trimmed paths.
func goBuild(dir, pkg, out, arch string, strip bool) error {
	ld := "-ldflags=-s -w"
	if !strip {
		ld = "-ldflags="
	}
	cmd := exec.Command("go", "build", "-trimpath", ld, "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s in %s for %s: %w\n%s", pkg, dir, arch, err, b)
	}
	return nil
}

var otelcolRequire = regexp.MustCompile(`(?m)^\s*go\.opentelemetry\.io/collector/otelcol (v\S+)`)

func collectorVersion(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "unknown"
	}
	if m := otelcolRequire.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return "unknown"
}

// machineInfo names the CPU and core count.
func machineInfo() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s/%s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
