package main

import (
	"fmt"
	"html"
	"strings"
	"time"
)

// results is everything one run measured.
type results struct {
	cfg                               runConfig
	machine, goVersion                string
	collectorVersion                  string
	sizes                             map[string]map[string]int64 // program → arch → bytes
	extStart, colStart                startStats
	floorStart                        []time.Duration // the floor program: exec → listening
	extTput, colTput                  throughputStats
	tputRequestBytes, tputRequestGzip int
	extLatency, colLatency            latencyStats
	colLatency0                       latencyStats // collector, batch timeout 0s
	extFlood, colFlood                floodStats
	floodRequestGzip                  int
	foreignSpans                      int64 // spans not of the load (the extension's own) the sink got
}

// Budgets of DESIGN.md's "Performance budget" that this run checks.
const (
	budgetSizeBytes  = 8_000_000
	budgetStart      = 5 * time.Millisecond
	budgetIdleRSS    = 10 << 20
	budgetCPURatio   = 0.25
	budgetBilledTime = 2 * time.Millisecond
)

func passFail(ok bool) string {
	if ok {
		return "**pass**"
	}
	return "**FAIL**"
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	if r := a / b; r < 0.1 {
		return fmt.Sprintf("%.3f×", r)
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func mibStr(b int64) string { return fmt.Sprintf("%.1f MiB", mib(b)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond)) }

// budgetTable has one row per budget row of DESIGN.md this run measures.
func (r *results) budgetTable() string {
	var b strings.Builder
	b.WriteString("| Budget row (DESIGN.md) | lambdaotel-extension | collector | ratio | budget | result |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	es, cs := r.sizes[extName]["amd64"], r.sizes[colName]["amd64"]
	fmt.Fprintf(&b, "| extension binary, stripped (`-s -w`), linux/amd64 | %s | %s | %s | ≤ 8 MB | %s |\n",
		mb(es), mb(cs), ratio(float64(es), float64(cs)), passFail(es <= budgetSizeBytes))
	er, cr := median(r.extStart.ready), median(r.colStart.ready)
	fmt.Fprintf(&b, "| extension start: exec → registered and listening, median of %d | %s | %s (listening) | %s | ≤ 5 ms median | %s |\n",
		len(r.extStart.ready), ms(er), ms(cr), ratio(float64(er), float64(cr)), passFail(er <= budgetStart))
	ei, ci := median(r.extStart.idleRSS), median(r.colStart.idleRSS)
	fmt.Fprintf(&b, "| extension idle RSS (VmRSS %.0f s after start), median of %d | %s | %s | %s | ≤ 10 MiB | %s |\n",
		idleWait.Seconds(), len(r.extStart.idleRSS), mibStr(ei), mibStr(ci), ratio(float64(ei), float64(ci)), passFail(ei <= budgetIdleRSS))
	ec, cc := r.extTput.cpuPerSpan(), r.colTput.cpuPerSpan()
	fmt.Fprintf(&b, "| extension CPU per span, receive → export, gzip in and out (per span delivered) | %s | %s | %s | ≤ ¼ of the collector's | %s |\n",
		us(ec), us(cc), ratio(float64(ec), float64(cc)), passFail(cc > 0 && float64(ec)/float64(cc) <= budgetCPURatio))
	eb := median(r.extLatency.signalToNext)
	fmt.Fprintf(&b, "| added billed time per invocation with the completion signal, p50 (signal → extension's `next`, 10 spans) | %s | — | — | ≤ 2 ms p50 | %s |\n",
		ms(eb), passFail(eb <= budgetBilledTime))
	return b.String()
}

// otherTable has the measurements without a budget row.
func (r *results) otherTable() string {
	var b strings.Builder
	row := func(what, e, c, rat string) { fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", what, e, c, rat) }
	b.WriteString("| Measurement | lambdaotel-extension | collector | ratio |\n|---|---|---|---|\n")
	if ea, ca := r.sizes[extName]["arm64"], r.sizes[colName]["arm64"]; ea > 0 && ca > 0 {
		row("binary, stripped, linux/arm64", mb(ea), mb(ca), ratio(float64(ea), float64(ca)))
	}
	el, cl := r.extStart.listening, r.colStart.listening
	row(fmt.Sprintf("exec → OTLP/HTTP port accepts a connection, median [p90] of %d", len(el)),
		fmt.Sprintf("%s [%s]", ms(median(el)), ms(percentile(el, 90))), fmt.Sprintf("%s [%s]", ms(median(cl)), ms(percentile(cl, 90))),
		ratio(float64(median(el)), float64(median(cl))))
	row("… for comparison, the smallest Go program that listens (the floor on this machine)",
		fmt.Sprintf("%s [%s]", ms(median(r.floorStart)), ms(percentile(r.floorStart, 90))), "", "")
	row("exec → registered with the Extensions API, median [p90]",
		fmt.Sprintf("%s [%s]", ms(median(r.extStart.registered)), ms(percentile(r.extStart.registered, 90))), "— (does not register)", "—")
	et, ct := r.extTput, r.colTput
	row(fmt.Sprintf("throughput, %d spans in gzipped requests of %d, %d senders (spans/s)", r.cfg.spans, r.cfg.batch, r.cfg.conc),
		fmt.Sprintf("%.0f", et.spansPerSecond()), fmt.Sprintf("%.0f", ct.spansPerSecond()), ratio(et.spansPerSecond(), ct.spansPerSecond()))
	row("CPU for that load (utime+stime)", ms(et.cpu), ms(ct.cpu), ratio(float64(et.cpu), float64(ct.cpu)))
	row("CPU per span received (delivered or not)", us(et.cpuPerSpanReceived()), us(ct.cpuPerSpanReceived()),
		ratio(float64(et.cpuPerSpanReceived()), float64(ct.cpuPerSpanReceived())))
	row("peak RSS (VmHWM) after that load", mibStr(et.hwm), mibStr(ct.hwm), ratio(float64(et.hwm), float64(ct.hwm)))
	row("exports to the sink for that load: requests, and gzipped bytes per span delivered", exportsStr(et), exportsStr(ct),
		ratio(et.bytesPerSpan(), ct.bytesPerSpan()))
	row("… exports whose gzip body held more than one member", fmt.Sprint(et.multiMember), fmt.Sprint(ct.multiMember), "—")
	row("503/429 answers retried during that load", fmt.Sprint(et.load.retried), fmt.Sprint(ct.load.retried), "—")
	row("spans of that load delivered to the sink / sent (all accepted)", fmt.Sprintf("%d / %d", et.delivered, et.spans),
		fmt.Sprintf("%d / %d", ct.delivered, ct.spans), "—")
	if et.dropped >= 0 {
		row("spans the extension counts as dropped during that load (`droppedItems`: requests it refused with 503, which the senders here retry, and any evicted)", fmt.Sprint(et.dropped), "—", "—")
	}
	el, cl = r.extLatency.postToSink, r.colLatency.postToSink
	row(fmt.Sprintf("single small export (%d spans): POST → at the sink, p50 [p90] of %d", r.cfg.latencySpans, len(el)),
		fmt.Sprintf("%s [%s]", ms(median(el)), ms(percentile(el, 90))), fmt.Sprintf("%s [%s]", ms(median(cl)), ms(percentile(cl, 90))),
		ratio(float64(median(el)), float64(median(cl))))
	c0 := r.colLatency0.postToSink
	row("… the collector with its batch processor's `timeout: 0s`", "", fmt.Sprintf("%s [%s]", ms(median(c0)), ms(percentile(c0, 90))),
		ratio(float64(median(el)), float64(median(c0))))
	ef, cf := r.extFlood, r.colFlood
	row(fmt.Sprintf("flood: %d requests × %d spans, %d senders: peak RSS (VmHWM)", r.cfg.floodRequests, r.cfg.floodSpans, r.cfg.floodConc),
		mibStr(ef.hwm), mibStr(cf.hwm), ratio(float64(ef.hwm), float64(cf.hwm)))
	row("flood: requests answered 503 (or 429)", fmt.Sprintf("%d of %d", ef.load.unavailable, r.cfg.floodRequests),
		fmt.Sprintf("%d of %d", cf.load.unavailable, r.cfg.floodRequests), "—")
	row("flood: spans delivered to the sink (shutdown drain included) / accepted (answered 200)", fmt.Sprintf("%d / %d", ef.delivered, ef.accepted),
		fmt.Sprintf("%d / %d", cf.delivered, cf.accepted), "—")
	if ef.dropped >= 0 {
		row("flood: spans the extension counts as dropped (`droppedItems`: refused with 503 while a flush drained the queue; the flood senders do not retry)", fmt.Sprint(ef.dropped), "—", "—")
	}
	return b.String()
}

// bar is one bar of a chart.
type bar struct {
	label string
	value float64
	text  string // the value as shown
	color string
}

const (
	colorExt   = "#2f9e44"
	colorCol   = "#868e96"
	colorCol0  = "#ced4da"
	colorFloor = "#e9ecef"
)

// barChart is a horizontal bar chart as a standalone SVG document: one bar
// per program, longest bar (or the budget) full width, values printed at
// the bars' ends; budget > 0 draws it as a dashed line.
func barChart(title, note string, bars []bar, budget float64) string {
	const (
		width, labelW, valueW = 640, 200, 110
		barH, gap, top        = 26, 10, 48
	)
	height := top + len(bars)*(barH+gap) + 18
	maxV := budget
	for _, b := range bars {
		maxV = max(maxV, b.value)
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="13">`+"\n", width, height, width, height)
	fmt.Fprintf(&s, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&s, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	if note != "" {
		fmt.Fprintf(&s, `<text x="10" y="40" font-size="11" fill="#555555">%s</text>`+"\n", html.EscapeString(note))
	}
	span := float64(width - labelW - valueW - 10)
	for i, b := range bars {
		y := top + i*(barH+gap)
		w := 0.0
		if maxV > 0 {
			w = b.value / maxV * span
		}
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+barH/2+5, html.EscapeString(b.label))
		fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelW, y, max(w, 1), barH, b.color)
		fmt.Fprintf(&s, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(labelW)+max(w, 1)+6, y+barH/2+5, html.EscapeString(b.text))
	}
	if budget > 0 && maxV > 0 {
		x := float64(labelW) + budget/maxV*span
		fmt.Fprintf(&s, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c92a2a" stroke-width="1.5" stroke-dasharray="4 3"/>`+"\n", x, top-4, x, height-14)
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" font-size="11" fill="#c92a2a" text-anchor="middle">budget</text>`+"\n", x, height-3)
	}
	s.WriteString("</svg>\n")
	return s.String()
}

// chart is one SVG file of the results.
type chart struct {
	slug, title, note string
	bars              []bar
	budget            float64 // in the bars' unit; 0 for none
}

func (r *results) charts() []chart {
	two := func(e, c float64, et, ct string) []bar {
		return []bar{{extName, e, et, colorExt}, {colName, c, ct, colorCol}}
	}
	es, cs := r.sizes[extName]["amd64"], r.sizes[colName]["amd64"]
	er, cr, fl := median(r.extStart.ready), median(r.colStart.ready), median(r.floorStart)
	ei, ci := median(r.extStart.idleRSS), median(r.colStart.idleRSS)
	ec, cc := r.extTput.cpuPerSpan(), r.colTput.cpuPerSpan()
	el, cl, c0 := median(r.extLatency.postToSink), median(r.colLatency.postToSink), median(r.colLatency0.postToSink)
	return []chart{
		{"size", "Binary size, stripped, linux/amd64 (MB)", "budget: extension ≤ 8 MB", two(float64(es), float64(cs), mb(es), mb(cs)), budgetSizeBytes},
		{"start", "Start: exec → registered and listening, median (ms)", "collector: exec → listening (it does not register); budget ≤ 5 ms",
			append(two(float64(er), float64(cr), ms(er), ms(cr)), bar{"floor (minimal Go listener)", float64(fl), ms(fl), colorFloor}), float64(budgetStart)},
		{"idle-rss", "Idle RSS one second after start, median (MiB)", "budget: extension ≤ 10 MiB", two(float64(ei), float64(ci), mibStr(ei), mibStr(ci)), budgetIdleRSS},
		{"cpu-per-span", "CPU per span, receive → export, gzip in and out (µs)", "budget: extension ≤ ¼ of the collector's",
			two(float64(ec), float64(cc), us(ec), us(cc)), float64(cc) * budgetCPURatio},
		{"throughput", "Throughput (spans/s, higher is better)", fmt.Sprintf("%d spans in gzipped OTLP/HTTP requests of %d, %d senders", r.cfg.spans, r.cfg.batch, r.cfg.conc),
			two(r.extTput.spansPerSecond(), r.colTput.spansPerSecond(), fmt.Sprintf("%.0f", r.extTput.spansPerSecond()), fmt.Sprintf("%.0f", r.colTput.spansPerSecond())), 0},
		{"latency", fmt.Sprintf("Single small export, POST → at the sink, p50 (ms, %d spans)", r.cfg.latencySpans),
			"extension: INVOKE, POST, completion signal; collector: POST, batch processor flush",
			[]bar{{extName, float64(el), ms(el), colorExt}, {colName, float64(cl), ms(cl), colorCol}, {colName + " (batch 0s)", float64(c0), ms(c0), colorCol0}}, 0},
		{"flood-rss", "Peak RSS under a flood (MiB)", fmt.Sprintf("%d requests × %d spans, %d senders; 503s: extension %d, collector %d",
			r.cfg.floodRequests, r.cfg.floodSpans, r.cfg.floodConc, r.extFlood.load.unavailable, r.colFlood.load.unavailable),
			two(float64(r.extFlood.hwm), float64(r.colFlood.hwm), mibStr(r.extFlood.hwm), mibStr(r.colFlood.hwm)), 0},
	}
}

// render returns the results file and its charts by file name.
func (r *results) render() map[string]string {
	files := map[string]string{}
	var md strings.Builder
	d := r.cfg.date
	fmt.Fprintf(&md, "# lambdaotel-extension vs the OpenTelemetry Collector — %s\n\n", d)
	fmt.Fprintf(&md, "Measured by `cd bench && go run ./cmd/vscollector` on %s, Go %s, "+
		"on a **shared 2-core VM** (other work ran on it at the same time: absolute figures are noisy; "+
		"the ratios, measured in the same run on the same load, are what count). "+
		"Collector: `bench/collector`, otelcol %s with the OTLP receiver, the batch processor and the OTLP/HTTP exporter only. "+
		"Extension: `cmd/lambdaotel-extension` from the working tree of the day (uncommitted work of that day included), default configuration. Both built with "+
		"`CGO_ENABLED=0 go build -trimpath -ldflags='-s -w'`.\n\n", r.machine, strings.TrimPrefix(r.goVersion, "go"), r.collectorVersion)
	md.WriteString("## Budget (DESIGN.md, \"Performance budget\")\n\n")
	md.WriteString(r.budgetTable())
	md.WriteString("\nThe other rows of the budget (library response latency, `Init` cost, spans lost across 10,000 invocations) " +
		"are the library's and lambdasim's; `bench/README.md` and the system tests have them.\n\n")
	md.WriteString("## Everything measured\n\n")
	md.WriteString(r.otherTable())
	md.WriteString("\n")
	for _, c := range r.charts() {
		name := d + "-" + c.slug + ".svg"
		files[name] = barChart(c.title, c.note, c.bars, c.budget)
		fmt.Fprintf(&md, "![%s](%s)\n\n", c.title, name)
	}
	md.WriteString(r.method())
	files[d+".md"] = md.String()
	return files
}

func exportsStr(t throughputStats) string {
	return fmt.Sprintf("%d, %.1f B", t.exports, t.bytesPerSpan())
}

func (r *results) method() string {
	var b strings.Builder
	b.WriteString("## How it was measured\n\n")
	fmt.Fprintf(&b, "- **Backend**: one sink for both, in the harness: OTLP/HTTP on 127.0.0.1 that gunzips every export, counts its spans at the protobuf wire level and answers 200. "+
		"Both programs export OTLP/HTTP protobuf with gzip to it (the extension by default, the collector's `otlp_http` exporter by default). "+
		"Every export of the throughput runs arrived gzipped: extension %v, collector %v. "+
		"The sink counts only the load's spans (by instrumentation scope); over the whole run it also got %d spans of the extension's own telemetry.\n",
		r.extTput.gzipOut, r.colTput.gzipOut, r.foreignSpans)
	fmt.Fprintf(&b, "- **Extension's surroundings**: a fake Extensions API in the harness (register, `next`, Telemetry API subscribe) stands in for Lambda, "+
		"so that the harness starts the process itself and knows its pid and exec moment. "+
		"`AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d` (which sizes the extension's queue: 10 %% of it, 4–32 MiB). "+
		"Its receiver ports are given (free ports found by the harness); its Telemetry API listener resolves `sandbox.localdomain` first, "+
		"which on this VM is a DNS query (≈ 0.5 ms) that inside Lambda is a hosts-file lookup.\n", r.cfg.memoryMB)
	b.WriteString("- **Collector's configuration**: the OTLP receiver on 127.0.0.1 for gRPC and HTTP (the extension serves both too), `batch` with its defaults " +
		"(200 ms timeout, 8192 items) unless said otherwise, `otlp_http` to the sink with `compression: gzip` and its default sending queue and retries, " +
		"the three pipelines, its own telemetry at `metrics: level: none` and `logs: level: warn`. No memory limiter: it is not in the minimal distribution.\n")
	fmt.Fprintf(&b, "- **Start**: the harness takes the time just before `exec`, then polls the program's OTLP/HTTP port with TCP connects every 250 µs until one succeeds "+
		"(so the resolution is about a quarter of a millisecond); for the extension the fake Extensions API also takes the time its register call arrives. "+
		"The extension listens before it registers, so \"registered and listening\" is its register time. %d starts of each, alternating; "+
		"each extension start ends with SHUTDOWN, each collector start with SIGTERM. "+
		"In each round the smallest Go program that listens (built like the others) is started the same way too: "+
		"the floor of exec → listening on this machine, which neither program can go below.\n", r.cfg.startRuns)
	fmt.Fprintf(&b, "- **Idle RSS**: `VmRSS` from `/proc/<pid>/status` %.0f s after the program was ready, in the first %d of those starts; median.\n", idleWait.Seconds(), r.cfg.idleRuns)
	fmt.Fprintf(&b, "- **CPU per span and throughput**: a fresh instance each; %d spans in gzipped requests of %d spans (%d B of protobuf, %d B gzipped; "+
		"16 distinct bodies with Lambda-like resources, server and client spans with attributes), from %d keep-alive senders; a 503/429 is retried after 2 ms until accepted. "+
		"CPU is the program's `utime+stime` from `/proc/<pid>/stat` over the run (10 ms ticks), divided by the spans delivered to the sink; throughput is spans delivered over the time from the first request to the last span at the sink (for the extension: to its `next` after the completion signal, when spans are missing). "+
		"The extension gets the load inside one invocation (INVOKE, the load, the completion signal): it exports whenever a batch is full and once more after the signal. "+
		"The collector's batch processor exports on size and on its timeout.\n",
		r.cfg.spans, r.cfg.batch, r.tputRequestBytes, r.tputRequestGzip, r.cfg.conc)
	fmt.Fprintf(&b, "- **Single small export latency**: %d runs of one request of %d spans, from the client's POST to the sink having the spans. "+
		"For the extension each run is an invocation driven as Lambda and the library drive it: INVOKE; the POST; the completion signal "+
		"(`POST /invocation/complete`, which lambdaotel sends once the function has answered); the extension flushes and calls `next`. "+
		"The measured time includes the completion signal's round trip. \"Added billed time\" is from sending the signal to the extension's `next`. "+
		"The collector gets the POST and nothing else, as it would in Lambda: with its default batch processor it exports when the 200 ms timeout fires "+
		"(in Lambda the environment may be frozen before that), and the `timeout: 0s` row is its best case, exporting every request at once.\n",
		r.cfg.latencyRuns, r.cfg.latencySpans)
	fmt.Fprintf(&b, "- **Flood**: a fresh instance each; %d requests of %d spans (%d B gzipped each) from %d senders as fast as they are answered, no retries: a 503 is counted and those spans are gone. "+
		"The extension is flooded inside one invocation and signalled at the end; its flush is over when it calls `next`. "+
		"The collector has no such moment: the harness waits (up to 60 s) for everything it accepted to reach the sink. "+
		"Then it reads `VmHWM` (peak RSS), and stops the program (SHUTDOWN, SIGTERM), whose shutdown drain counts as delivered too. "+
		"The extension's own count of what it dropped is read from its last log line (`droppedItems`).\n",
		r.cfg.floodRequests, r.cfg.floodSpans, r.floodRequestGzip, r.cfg.floodConc)
	b.WriteString("- Percentiles are nearest-rank.\n")
	return b.String()
}
