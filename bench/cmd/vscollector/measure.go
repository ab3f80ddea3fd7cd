package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Names of what is compared.
const (
	extName = "lambdaotel-extension"
	colName = "collector"
)

// startStats are the start measurements of one program, one entry per run.
type startStats struct {
	listening  []time.Duration // exec → OTLP/HTTP port accepts a connection
	registered []time.Duration // exec → register call (extension only)
	ready      []time.Duration // exec → registered and listening (extension), listening (collector)
	idleRSS    []int64         // VmRSS after idleWait, first idleRuns runs
}

// floorSource is the smallest Go program that listens: the floor of "exec
// → listening" on this machine (exec, the Go runtime's start, one bind),
// measured the same way, so the programs' own start-up cost can be told
// from the machine's.
const floorSource = `package main

import (
	"net"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}
`

// buildFloor builds floorSource in dir as a layer binary is built.
func buildFloor(dir string) (string, error) {
	src := filepath.Join(dir, "floor")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module floor\n\ngo 1.26\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(floorSource), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "floor-amd64")
	return out, goBuild(src, ".", out, "amd64", true)
}

// startFloor runs the floor program and returns exec → listening.
func startFloor(bin string) (time.Duration, error) {
	return withPortRetry(func() (time.Duration, error) {
		ports, err := freePorts(1)
		if err != nil {
			return 0, err
		}
		p, err := startProcess(bin, nil, map[string]string{"PORT": strconv.Itoa(ports[0])})
		if err != nil {
			return 0, err
		}
		defer p.terminate(time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
		defer cancel()
		t, err := p.awaitListening(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])))
		if err != nil {
			return 0, err
		}
		return t.Sub(p.execAt), nil
	})
}

// idleWait is how long a started program is left alone before its RSS is
// read: long enough for start-up garbage to be collected or not, as it
// would be between a cold start and the first invocation.
const idleWait = time.Second

// measureStarts starts each program runs times, alternating (with the
// floor program), so all see the same machine over the same minutes.
func measureStarts(cfg runConfig, extBin, colBin, floorBin string, s *sink) (ext, col startStats, floor []time.Duration, err error) {
	for i := range cfg.startRuns {
		f, err := startFloor(floorBin)
		if err != nil {
			return ext, col, floor, fmt.Errorf("floor program start %d: %w", i, err)
		}
		floor = append(floor, f)
		idle := i < cfg.idleRuns
		in, err := startExtension(extBin, s.url(), cfg.memoryMB)
		if err != nil {
			return ext, col, floor, fmt.Errorf("extension start %d: %w", i, err)
		}
		l, r := in.listening.Sub(in.execAt), in.registered.Sub(in.execAt)
		ext.listening = append(ext.listening, l)
		ext.registered = append(ext.registered, r)
		// The extension binds its ports before it calls register, so at r
		// it is listening too. l, found by polling every 250 µs, can come
		// later than r only by the poll's lag: max(l, r) measured the
		// harness, not the extension.
		ext.ready = append(ext.ready, r)
		if idle {
			rss, err := idleRSS(in)
			if err != nil {
				_ = in.stop()
				return ext, col, floor, err
			}
			ext.idleRSS = append(ext.idleRSS, rss)
		}
		if err := in.stop(); err != nil {
			return ext, col, floor, err
		}

		in, err = startCollector(colBin, cfg.workDir, s.url(), "")
		if err != nil {
			return ext, col, floor, fmt.Errorf("collector start %d: %w", i, err)
		}
		l = in.listening.Sub(in.execAt)
		col.listening = append(col.listening, l)
		col.ready = append(col.ready, l)
		if idle {
			rss, err := idleRSS(in)
			if err != nil {
				_ = in.stop()
				return ext, col, floor, err
			}
			col.idleRSS = append(col.idleRSS, rss)
		}
		if err := in.stop(); err != nil {
			return ext, col, floor, err
		}
		progress("start run %d/%d: extension ready %v, collector listening %v", i+1, cfg.startRuns, ext.ready[i].Round(10*time.Microsecond), l.Round(10*time.Microsecond))
	}
	return ext, col, floor, nil
}

func idleRSS(in *instance) (int64, error) {
	// Not synchronisation: the measurement is "RSS after a second idle".
	time.Sleep(idleWait)
	rss, _, err := procMem(in.pid())
	return rss, err
}

// throughputStats is one program's run of the fixed load.
type throughputStats struct {
	spans     int64         // sent (and accepted: 503s are retried)
	delivered int64         // reached the sink
	wall      time.Duration // first request sent → last span at the sink
	cpu       time.Duration // the program's utime+stime over the run
	load      loadResult
	hwm       int64 // VmHWM at the end
	gzipOut   bool  // every export to the sink was gzipped
	// exports, wireBytes and multiMember are the requests the sink got
	// during the run, their bytes as sent, and how many held more than
	// one gzip member.
	exports, wireBytes, multiMember int64
	// dropped is what the extension reports dropped in its last log line
	// (-1 when not known).
	dropped int64
}

// bytesPerSpan is what the program sent the sink per span delivered.
func (t throughputStats) bytesPerSpan() float64 {
	if t.delivered == 0 {
		return 0
	}
	return float64(t.wireBytes) / float64(t.delivered)
}

// cpuPerSpan is CPU per span delivered to the sink: spans a program
// received but dropped cost CPU too, and are charged to the ones delivered.
func (t throughputStats) cpuPerSpan() time.Duration {
	if t.delivered == 0 {
		return 0
	}
	return t.cpu / time.Duration(t.delivered)
}

// cpuPerSpanReceived is CPU per span received (sent and accepted).
func (t throughputStats) cpuPerSpanReceived() time.Duration {
	if t.spans == 0 {
		return 0
	}
	return t.cpu / time.Duration(t.spans)
}

func (t throughputStats) spansPerSecond() float64 {
	if t.wall <= 0 {
		return 0
	}
	return float64(t.delivered) / t.wall.Seconds()
}

// measureThroughput sends requests×spansPer spans (gzipped, OTLP/HTTP
// protobuf) from conc senders to a fresh instance, retrying 503s, and
// measures until the sink has them all. The extension gets the load inside
// one invocation (INVOKE, the load, the completion signal: its flushes are
// the early ones on full batches plus the one after the signal), and its
// work is over when it calls next; the collector simply receives the load,
// and the harness waits (at most two minutes) for the sink to have it all.
// Spans that never arrive show as delivered < spans.
func measureThroughput(ctx context.Context, in *instance, s *sink, bodies [][]byte, requests, spansPer, conc int) (throughputStats, error) {
	st := throughputStats{spans: int64(requests * spansPer), dropped: -1}
	if in.api != nil {
		if _, err := in.api.invoke(ctx, "throughput", 15*time.Minute); err != nil {
			return st, err
		}
	}
	base, reqs0, gz0, _ := s.stats()
	wire0, multi0 := s.wire()
	want := base + st.spans
	cpu0, err := procCPU(in.pid())
	if err != nil {
		return st, err
	}
	t0 := time.Now()
	st.load = sendLoad(ctx, in.tracesURL(), bodies, requests, conc, true)
	if st.load.other > 0 {
		return st, fmt.Errorf("load: %d unexpected answers, first: %s", st.load.other, st.load.firstOther)
	}
	var end time.Time
	if in.api != nil {
		c := newClient(1)
		defer c.CloseIdleConnections()
		// The moment the last span arrives, if it does.
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		arrived := make(chan time.Time, 1)
		go func() {
			if t, err := s.awaitSpans(wctx, want); err == nil {
				arrived <- t
			}
			close(arrived)
		}()
		if err := in.complete(ctx, c, "throughput"); err != nil {
			return st, err
		}
		if end, err = in.api.awaitNext(ctx); err != nil {
			return st, err
		}
		// Its flush is over: what it exported is at the sink (the sink
		// counts before it answers). Missing spans will not come.
		cancel()
		if t, ok := <-arrived; ok {
			end = t
		}
	} else {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		end, err = s.awaitSpans(wctx, want)
		cancel()
		if err != nil {
			end = time.Now()
		}
	}
	cpu1, err := procCPU(in.pid())
	if err != nil {
		return st, err
	}
	if _, st.hwm, err = procMem(in.pid()); err != nil {
		return st, err
	}
	spans, reqs1, gz1, _ := s.stats()
	wire1, multi1 := s.wire()
	st.exports, st.wireBytes, st.multiMember = reqs1-reqs0, wire1-wire0, multi1-multi0
	st.delivered = min(spans-base, st.spans)
	st.wall, st.cpu = end.Sub(t0), cpu1-cpu0
	st.gzipOut = gz1-gz0 == reqs1-reqs0
	return st, nil
}

// finish reads what the extension says it dropped, once it has stopped.
func (st *throughputStats) finish(in *instance) {
	if in.api != nil {
		st.dropped = extensionDropped(in)
	}
}

// latencyStats are single small exports, one per run.
type latencyStats struct {
	// postToSink is client POST of 10 spans → the sink has them.
	postToSink []time.Duration
	// signalToNext (extension only) is the completion signal sent → the
	// extension's next: what the extension adds to billed time after the
	// function is done.
	signalToNext []time.Duration
}

// measureLatency posts one request of spansPer spans per run and measures
// until the sink has it. For the extension each run is an invocation, as
// Lambda and the library drive it: INVOKE, the POST, the completion signal
// (lambdaotel sends it after the response); the extension flushes then and
// calls next. The collector gets the POST only: it exports when its batch
// processor's timeout fires.
func measureLatency(ctx context.Context, in *instance, s *sink, body []byte, spansPer, runs int) (latencyStats, error) {
	var st latencyStats
	c := newClient(1)
	defer c.CloseIdleConnections()
	for i := range runs {
		id := fmt.Sprintf("latency-%d", i)
		if in.api != nil {
			if _, err := in.api.invoke(ctx, id, time.Minute); err != nil {
				return st, err
			}
		}
		spans, _, _, _ := s.stats()
		t0 := time.Now()
		code, err := post(ctx, c, in.tracesURL(), body)
		if err != nil || code != http.StatusOK {
			return st, fmt.Errorf("latency POST: status %d, %v", code, err)
		}
		var signalled time.Time
		if in.api != nil {
			signalled = time.Now()
			if err := in.complete(ctx, c, id); err != nil {
				return st, err
			}
		}
		got, err := s.awaitSpans(ctx, spans+int64(spansPer))
		if err != nil {
			return st, err
		}
		st.postToSink = append(st.postToSink, got.Sub(t0))
		if in.api != nil {
			next, err := in.api.awaitNext(ctx)
			if err != nil {
				return st, err
			}
			st.signalToNext = append(st.signalToNext, next.Sub(signalled))
		}
	}
	return st, nil
}

// floodStats is one program under the flood.
type floodStats struct {
	load      loadResult
	accepted  int64 // spans answered 200
	delivered int64 // spans that reached the sink, shutdown drain included
	hwm       int64 // VmHWM (peak RSS) after the flood
	// dropped is what the extension itself reports as dropped (evicted,
	// refused or failed) in its last log line; -1 when not known.
	dropped int64
	base    int64 // the sink's span count before the flood
}

// measureFlood sends requests×spansPer spans from conc senders without
// retrying: a 503 is counted and its spans are gone, as when a function
// floods its extension. The extension is flooded inside one invocation and
// signalled at the end; its flush is over when it calls next. The collector
// has no such moment: the harness waits (at most a minute) for everything
// it accepted to reach the sink. Then the peak RSS is read. The caller
// stops the instance (whose shutdown drains what is left) and then calls
// finish.
func measureFlood(ctx context.Context, in *instance, s *sink, bodies [][]byte, requests, spansPer, conc int) (floodStats, error) {
	st := floodStats{dropped: -1}
	st.base, _, _, _ = s.stats()
	if in.api != nil {
		if _, err := in.api.invoke(ctx, "flood", 15*time.Minute); err != nil {
			return st, err
		}
	}
	st.load = sendLoad(ctx, in.tracesURL(), bodies, requests, conc, false)
	if st.load.other > 0 {
		return st, fmt.Errorf("flood: %d unexpected answers, first: %s", st.load.other, st.load.firstOther)
	}
	st.accepted = st.load.ok * int64(spansPer)
	if in.api != nil {
		c := newClient(1)
		defer c.CloseIdleConnections()
		if err := in.complete(ctx, c, "flood"); err != nil {
			return st, err
		}
		if _, err := in.api.awaitNext(ctx); err != nil {
			return st, err
		}
	} else {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, _ = s.awaitSpans(wctx, st.base+st.accepted) // short of it shows in delivered
		cancel()
	}
	var err error
	_, st.hwm, err = procMem(in.pid())
	return st, err
}

var droppedItems = regexp.MustCompile(`droppedItems=(\d+)`)

// finish counts what reached the sink once the instance has stopped, and
// what the extension says it dropped.
func (st *floodStats) finish(s *sink, in *instance) {
	spans, _, _, _ := s.stats()
	st.delivered = spans - st.base
	if in.api != nil {
		st.dropped = extensionDropped(in)
	}
}

// extensionDropped is the droppedItems of the extension's last log line,
// or -1.
func extensionDropped(in *instance) int64 {
	m := droppedItems.FindAllStringSubmatch(in.output(), -1)
	if m == nil {
		return -1
	}
	n, err := strconv.ParseInt(m[len(m)-1][1], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// percentile is the nearest-rank percentile p (0–100) of ds.
func percentile[T int64 | time.Duration](ds []T, p float64) T {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

func median[T int64 | time.Duration](ds []T) T { return percentile(ds, 50) }
