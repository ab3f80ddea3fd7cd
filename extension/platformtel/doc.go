// Package platformtel turns Lambda Telemetry API events into OpenTelemetry
// data: invocation, init and failure spans, the FaaS semantic-convention
// metrics, and log records for function and extension output, all as OTLP
// protobuf request bodies ready to be queued and exported. It is pure
// logic: no network, no goroutines, one mutex.
//
// The listener feeds every event to Processor.Handle; the extension's
// flush calls Processor.Collect and enqueues the three request bodies it
// returns; the OTLP receiver may call Processor.SetParent when the
// function's own invocation span arrives, so that platform spans join the
// function's trace; SHUTDOWN ends with Processor.Shutdown and a last
// Collect.
//
// # Correlation
//
// Records are correlated by requestId, never by "the current invocation":
// a platform.report for invocation N is only made after every extension
// has called next, so it arrives during N+1, or at SHUTDOWN, possibly much
// later. Each request ID has an entry from its first record until its
// report; at most Options.MaxInvocations entries exist, and past that the
// oldest is evicted (counted, and whatever can still be said about it is
// said: a failed invocation gets its error span). Ended IDs are remembered
// in a ring of the same size, so duplicates are recognised and a report
// for an evicted invocation still feeds the metrics. Records may come
// duplicated, out of order, or not at all; each case is counted in Stats
// and none produces a second or a wrong span.
//
// Schema versions 2022-07-01, 2022-12-13 and 2025-01-29 are all read
// leniently (every field optional, a record string holding an object
// accepted). On Lambda Managed Instances (schema 2025-01-29) invocations run
// concurrently, there is no runtimeDone, and records may carry no time; the
// report then ends the invocation span, and a missing time is when the
// record arrived.
//
// # Spans
//
// The invocation span runs from platform.start to the end of the runtime
// phase (start + runtimeDone's durationMs, which is more precise than the
// record times), with children for the platform's responseLatency,
// responseDuration and runtimeOverhead spans, and later, from the report,
// an extensionOverhead child for the time extensions worked after the
// runtime was done. It is named after the function (Options.FunctionName,
// else the name in platform.initStart, else "invoke") and carries
// faas.invocation_id, faas.coldstart, and error.type with an error status
// when the invocation failed.
//
// Its parent is, in order: the function's own span (SetParent), then the
// Root and Parent of the X-Ray header in the records' tracing field (the
// W3C trace ID is the Root without its "1-" version and dash), else none,
// in a new trace. Its kind is SERVER — the invocation as the Lambda service
// served it — except under the function's span, which is already the
// invocation's SERVER span: there it is INTERNAL. The trace is decided once,
// when the invocation's spans or logs are first written, so SetParent must
// come before runtimeDone is handled to take effect (late calls are
// counted). Sampled=0 in the header means no spans for the invocation;
// metrics count it all the same and its log records carry its IDs with the
// sampled flag off. New trace and span IDs come from a ChaCha8 generator
// seeded once from crypto/rand (or Options.Seed): IDs must be unique, not
// secret, and this costs no system call per ID.
//
// An invocation that ends as timeout, failure or error — by runtimeDone, by
// report, or by Shutdown with reason timeout or failure while it runs —
// also gets an error span, a child named "invocation <status>", with the
// reason, the duration, and the report's billed duration and memory
// figures when the report came. It waits for the report (which follows the
// runtimeDone closely on a failure) and is made without it at Shutdown or
// eviction. This is what shows a timed-out invocation in the trace view
// even when the function itself exported nothing.
//
// The init span runs from platform.initStart to platform.initRuntimeDone
// (a SnapStart restore likewise), with the initReport's duration.
//
// # Metrics
//
// faas.invocations (successes), faas.errors, faas.timeouts and
// faas.coldstarts are monotonic sums; faas.invoke_duration (runtimeDone's
// duration, s), faas.init_duration (s), faas.mem_usage (peak memory, By),
// aws.lambda.billed_duration (s), aws.lambda.restore_duration (s) and
// aws.lambda.extension_overhead_duration (s) are explicit-bounds
// histograms. Names, units and instruments follow the FaaS semantic
// conventions; there are no attributes, since the resource says which
// function and anything per invocation would make a series per invocation.
// Temporality is cumulative by default (start time: when the processor was
// made; every series is sent on each Collect that has news) or delta (start
// time: the previous Collect; only what changed). Either way a backend can
// chart them as they are.
//
// # Logs
//
// function and extension records become log records: the time (the JSON
// line's own, else the record's), the observed time, a severity read from
// a JSON line's level (names, or pino's numbers) or from a text line's
// prefix in the formats the runtimes and common loggers write ("[ERROR]\t…"
// from Python, "<time>\t<request id>\tERROR\t…" from Node.js, log4j's
// "<time> <request id> ERROR …", "level=error" from slog and logfmt,
// "ERROR:root:…", "WARN …", "panic: …"), the line as body (a JSON line's
// message), faas.invocation_id (the line's own request ID, else the
// invocation running), and that invocation's trace and span IDs, resolved
// at Collect so that they match its spans. Lines during init go to the init
// span. The extension's own output is never ingested: its fallback lines
// (otlp_fallback) and, in extension records, lines naming
// Options.ExtensionName.
//
// A function line that is an otlp-stdout record is not a log: its payload
// (base64, maybe gzip, of an OTLP protobuf or JSON request) is validated
// and forwarded as it is in the traces request (or the signal its endpoint
// names). A record that does not decode is counted, logged once, and kept
// as a log line.
package platformtel
