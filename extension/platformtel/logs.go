package platformtel

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/lambdaotel/lambdaotel/internal/otlpbuild"
	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// maxLogAttributes bounds the attributes taken from one JSON log line; the
// rest are counted as dropped.
const maxLogAttributes = 32

// pendingLog is a log record waiting for Collect. Its trace context is
// resolved then, from the invocation, so that records logged before the
// function reported its span still land in the invocation's final trace.
type pendingLog struct {
	rec            otlpbuild.LogRecord // without attributes and trace context
	attrOff, attrN int                 // in Processor.attrs
	reqID          string
	// Explicit trace context: the line's own IDs, or the init phase's.
	hasCtx  bool
	traceID [16]byte
	spanID  [8]byte
	flags   uint32
}

// parsedLog is a function or extension line, parsed before taking the lock.
type parsedLog struct {
	time    time.Time
	sev     otlpbuild.Severity
	sevText string
	body    string
	reqID   string
	hasIDs  bool
	traceID [16]byte
	spanID  [8]byte
	attrs   []otlpbuild.KeyValue
	dropped uint32
}

// logOutcome is what a function or extension record turned out to be.
type logOutcome uint8

const (
	outLog logOutcome = iota
	outUndecodable
	outOwn
	outForward
	outDisabled
	outBelowSeverity
)

func (p *Processor) handleLog(ev lambdaapi.TelemetryEvent) {
	// Everything that needs no state happens before the lock: decoding,
	// otlp-stdout payloads (base64, gunzip, validation), parsing.
	var (
		out     = outLog
		fw      forwarded
		corrupt error
		pl      parsedLog
	)
	ext := ev.Type == lambdaapi.EventExtensionLog
	rec, decErr := decodeLogRecord(ev)
	lr := &rec
	if decErr != nil {
		out = outUndecodable
	}
	if out == outLog && p.isOwn(lr, ext) {
		out = outOwn
	}
	if out == outLog && !ext {
		var isRecord bool
		fw, isRecord, corrupt = stdoutPayload(lr)
		if isRecord && corrupt == nil {
			out = outForward
		}
	}
	if out == outLog && p.opts.DisableLogs {
		out = outDisabled
	}
	if out == outLog {
		parseLog(lr, &pl)
		sev := pl.sev
		if sev == otlpbuild.SeverityUnspecified {
			sev = otlpbuild.SeverityInfo
		}
		if sev < p.opts.MinSeverity {
			out = outBelowSeverity
		}
	}
	observed := p.now()

	p.mu.Lock()
	defer p.unlock()
	p.stats.Events++
	if corrupt != nil {
		p.stats.CorruptStdoutRecords++
		p.warnOnce("corruptStdout", "otlp-stdout record does not decode; kept as a log line", "err", corrupt)
	}
	switch out {
	case outUndecodable:
		p.stats.Undecodable++
		p.warnOnce("undecodable", "telemetry record does not decode; ignored", "type", ev.Type, "err", decErr)
	case outOwn:
		p.stats.OwnLogsSkipped++
	case outForward:
		if !p.reserve(len(fw.body)) {
			p.stats.DroppedStdoutRecords++
			p.warnOnce("droppedStdout", "otlp-stdout records dropped: too much waiting for export", "maxPendingBytes", p.opts.MaxPendingBytes)
			return
		}
		p.forward[fw.sig] = append(p.forward[fw.sig], fw.body...)
		p.stats.StdoutRecords++
	case outBelowSeverity:
		p.stats.LogsBelowSeverity++
	case outDisabled:
		// Counted as an event, nothing more.
	case outLog:
		if pl.time.IsZero() {
			pl.time = ev.Time
		}
		p.addLog(&pl, ext, observed)
	}
}

// decodeLogRecord decodes a function or extension record. Most are text
// lines, for which a JSON string decoder of our own does in one pass what
// encoding/json does in two with reflection; anything else goes to
// lambdaapi.
func decodeLogRecord(ev lambdaapi.TelemetryEvent) (lambdaapi.LogRecord, error) {
	if s, ok := unquoteJSON(ev.Record); ok {
		return lambdaapi.LogRecord{Text: s}, nil
	}
	rec, err := ev.Decode()
	if err != nil {
		return lambdaapi.LogRecord{}, err
	}
	return *rec.(*lambdaapi.LogRecord), nil
}

// unquoteJSON decodes raw when it is exactly one JSON string literal
// (surrounding whitespace allowed), as encoding/json would: escapes
// resolved, invalid UTF-8 and lone surrogates replaced by U+FFFD. ok is
// false for anything else, including malformed strings, which the caller
// then hands to encoding/json for its verdict.
func unquoteJSON(raw []byte) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	// Fast path: nothing to unescape or replace.
	plain := true
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(body), true
	}
	var out strings.Builder // one allocation, no copy at the end
	out.Grow(len(body))
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '\\':
			if i+1 >= len(body) {
				return "", false
			}
			switch e := body[i+1]; e {
			case '"', '\\', '/':
				out.WriteByte(e)
			case 'b':
				out.WriteByte('\b')
			case 'f':
				out.WriteByte('\f')
			case 'n':
				out.WriteByte('\n')
			case 'r':
				out.WriteByte('\r')
			case 't':
				out.WriteByte('\t')
			case 'u':
				r, ok := hex4(body[i+2:])
				if !ok {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := rune(0), false
					if i+1 < len(body) && body[i] == '\\' && body[i+1] == 'u' {
						r2, ok = hex4(body[i+2:])
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out.WriteRune(r)
				continue
			default:
				return "", false
			}
			i += 2
		case c == '"' || c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			out.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				out.WriteRune(utf8.RuneError)
			} else {
				out.Write(body[i : i+size])
			}
			i += size
		}
	}
	return out.String(), true
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		d, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// isOwn says whether a record is the extension's own output: its OTLP
// fallback lines (which would otherwise come back as function or extension
// records and be exported again, forever) and, in extension records, any
// line naming the extension.
func (p *Processor) isOwn(lr *lambdaapi.LogRecord, ext bool) bool {
	if lr.Object != nil {
		return isFallbackLine(lr.Object) || ext && p.opts.ExtensionName != "" && bytes.Contains(lr.Object, []byte(p.opts.ExtensionName))
	}
	s := strings.TrimLeft(lr.Text, " \t\r\n")
	if strings.HasPrefix(s, "{") && strings.HasPrefix(strings.TrimLeft(s[1:], " \t"), `"otlp_fallback"`) {
		return true
	}
	return ext && p.opts.ExtensionName != "" && strings.Contains(lr.Text, p.opts.ExtensionName)
}

func isFallbackLine(obj []byte) bool {
	obj = bytes.TrimLeft(obj, " \t\r\n")
	return len(obj) > 0 && obj[0] == '{' && bytes.HasPrefix(bytes.TrimLeft(obj[1:], " \t\r\n"), []byte(`"otlp_fallback"`))
}

// addLog queues a parsed record, with the invocation (or init phase) it
// belongs to.
func (p *Processor) addLog(pl *parsedLog, ext bool, observed time.Time) {
	l := pendingLog{reqID: pl.reqID}
	switch {
	case pl.hasIDs:
		l.hasCtx, l.traceID, l.spanID = true, pl.traceID, pl.spanID
	case l.reqID == "":
		if inv := p.active(); inv != nil {
			l.reqID = inv.id
		} else if ph := p.openPhase(); ph != nil {
			l.hasCtx, l.traceID, l.spanID = true, ph.ctx.traceID, ph.spanID
			if ph.ctx.sampled {
				l.flags = otlpbuild.FlagSampled
			}
		}
	}
	size := len(pl.body) + len(l.reqID) + 96
	for i := range pl.attrs {
		size += len(pl.attrs[i].Key) + 16
	}
	if !p.reserve(size) {
		p.stats.DroppedLogRecords++
		p.warnOnce("droppedLogs", "log records dropped: too much waiting for export", "maxPendingBytes", p.opts.MaxPendingBytes)
		return
	}
	l.attrOff = len(p.attrs)
	if l.reqID != "" {
		p.attrs = append(p.attrs, otlpbuild.String(keyInvocationID, l.reqID))
	}
	typ := lambdaapi.EventFunction
	if ext {
		typ = lambdaapi.EventExtensionLog
	}
	p.attrs = append(p.attrs, otlpbuild.String(keyLogType, typ))
	p.attrs = append(p.attrs, pl.attrs...)
	l.attrN = len(p.attrs) - l.attrOff
	l.rec = otlpbuild.LogRecord{
		Time: pl.time, ObservedTime: observed, SeverityNumber: pl.sev, SeverityText: pl.sevText,
		Body: otlpbuild.StringValue(pl.body), DroppedAttributes: pl.dropped,
	}
	p.logs = append(p.logs, l)
	p.stats.LogRecords++
}

// openPhase is the init or restore phase still under way, if any: lines
// logged then belong to its span.
func (p *Processor) openPhase() *phase {
	for _, ph := range []*phase{&p.restore, &p.init} {
		if ph.open && ph.hasCtx {
			return ph
		}
	}
	return nil
}

// appendLogs writes the pending log records as one logs request, with the
// trace context of their invocations.
func (p *Processor) appendLogs(dst []byte) []byte {
	if len(p.logs) == 0 {
		return dst
	}
	buf := p.scratch[:0]
	for i := range p.logs {
		l := &p.logs[i]
		r := &p.pl
		*r = l.rec
		r.Attributes = p.attrs[l.attrOff : l.attrOff+l.attrN]
		switch {
		case l.hasCtx:
			r.TraceID, r.SpanID, r.Flags = l.traceID, l.spanID, l.flags
		case l.reqID != "":
			r.TraceID, r.SpanID, r.Flags = p.logContext(l.reqID)
		}
		buf = otlpbuild.AppendLogRecord(buf, r)
	}
	p.pl = otlpbuild.LogRecord{} // drop references to the last record
	dst = otlpbuild.WrapLogs(dst, &p.res, &p.scope, buf)
	p.scratch = shrink(buf)
	return dst
}

// logContext is the trace and span ID (the invocation span's) and trace
// flags a log line of invocation id carries; zero when the invocation is
// not known.
func (p *Processor) logContext(id string) ([16]byte, [8]byte, uint32) {
	var c spanContext
	var span [8]byte
	if inv := p.invs[id]; inv != nil {
		p.decide(inv)
		c, span = inv.ctx, inv.spanID
	} else if i := p.done.find(id); i >= 0 {
		c, span = p.done.entries[i].ctx, p.done.entries[i].spanID
	} else {
		return [16]byte{}, [8]byte{}, 0
	}
	var flags uint32
	if c.sampled {
		flags = otlpbuild.FlagSampled
	}
	return c.traceID, span, flags
}

// parseLog fills pl from a function or extension record: a JSON object
// (Lambda's JSON log format, or a structured logger's line) or a text line.
func parseLog(lr *lambdaapi.LogRecord, pl *parsedLog) {
	if lr.Object != nil {
		parseJSONLog(lr.Object, pl)
		return
	}
	pl.body = lr.Text
	for pl.body != "" && (pl.body[len(pl.body)-1] == '\n' || pl.body[len(pl.body)-1] == '\r') {
		pl.body = pl.body[:len(pl.body)-1]
	}
	pl.sev, pl.sevText, pl.reqID = parseTextLine(pl.body)
}

// maxPrefixTokens is how far into a text line a level is looked for.
const maxPrefixTokens = 6

// parseTextLine finds a log level and a request ID in the prefix of a text
// line. It reads the prefix the way the runtimes write it:
//
//	[ERROR]	2024-07-01T08:54:54.108Z	<request id>	message    (Python)
//	2024-07-01T08:54:54.108Z	<request id>	ERROR	message    (Node.js)
//	2024-07-01 08:54:54 <request id> ERROR Handler - message   (Java log4j2)
//	time=2024-07-01T08:54:54Z level=ERROR msg=message          (Go slog, logfmt)
//	ERROR:root:message                                         (Python logging)
//	WARN something, [WARN] something, panic: something
//
// Tokens that are timestamps, request IDs, or bracketed (thread names) are
// skipped; the first other token that is not a level ends the prefix, so a
// level word inside the message does not count. A level word is taken in
// any case at the start or in brackets, elsewhere only in capitals.
func parseTextLine(line string) (sev otlpbuild.Severity, text, reqID string) {
	rest := line
	for i := 0; i < maxPrefixTokens; i++ {
		start := 0
		for start < len(rest) && (rest[start] == ' ' || rest[start] == '\t') {
			start++
		}
		if start == len(rest) {
			break
		}
		end := start
		for end < len(rest) && rest[end] != ' ' && rest[end] != '\t' {
			end++
		}
		tok := rest[start:end]
		rest = rest[end:]
		if k, v, ok := strings.Cut(tok, "="); ok && k != "" {
			if isLevelKey(k) && sev == 0 {
				v = strings.Trim(v, `"'`)
				if s, ok := levelOf(v); ok {
					sev, text = s, v
				}
			}
			continue // time=…, caller=…: logfmt prefix fields
		}
		core, bracketed := trimDecoration(tok)
		word := core
		if j := strings.IndexByte(word, ':'); j > 0 {
			word = word[:j]
		}
		if s, ok := levelOf(word); ok && (i == 0 || bracketed || isUpper(word)) {
			if sev == 0 {
				sev, text = s, word
			}
			continue // the request ID may follow (Python)
		}
		switch {
		case isUUID(core):
			if reqID == "" {
				reqID = core
			}
			continue
		case core != "" && core[0] >= '0' && core[0] <= '9': // dates, times, PIDs
			continue
		case bracketed: // [main], [handler]
			continue
		case i == 0 && len(tok) == 2 && tok[1] == ',': // Ruby: "E, [time #pid] ERROR -- : msg"
			continue
		}
		break
	}
	if sev == 0 && strings.Contains(line, "Task timed out after") { // Lambda's own line for a timeout
		sev, text = otlpbuild.SeverityError, "ERROR"
	}
	return sev, text, reqID
}

func isLevelKey(k string) bool {
	return strings.EqualFold(k, "level") || strings.EqualFold(k, "lvl") || strings.EqualFold(k, "severity")
}

// trimDecoration strips brackets and trailing punctuation from a token and
// says whether it was (part of something) bracketed: "[main]", "[2024-…",
// "#1]".
func trimDecoration(tok string) (string, bool) {
	bracketed := false
	if tok != "" && (tok[0] == '[' || tok[0] == '(' || tok[0] == '<') {
		tok, bracketed = tok[1:], true
	}
	if tok != "" && (tok[len(tok)-1] == ']' || tok[len(tok)-1] == ')' || tok[len(tok)-1] == '>') {
		bracketed = true
	}
	for tok != "" {
		switch tok[len(tok)-1] {
		case ']', ')', '>', ':', ',':
			tok = tok[:len(tok)-1]
			continue
		}
		break
	}
	return tok, bracketed
}

var levelWords = [...]struct {
	word string
	sev  otlpbuild.Severity
}{
	{"TRACE", otlpbuild.SeverityTrace},
	{"DEBUG", otlpbuild.SeverityDebug},
	{"INFO", otlpbuild.SeverityInfo},
	{"NOTICE", otlpbuild.SeverityInfo + 1},
	{"WARN", otlpbuild.SeverityWarn},
	{"WARNING", otlpbuild.SeverityWarn},
	{"ERROR", otlpbuild.SeverityError},
	{"ERR", otlpbuild.SeverityError},
	{"CRITICAL", otlpbuild.SeverityFatal},
	{"FATAL", otlpbuild.SeverityFatal},
	{"PANIC", otlpbuild.SeverityFatal},
}

// levelOf maps a level word, in any case, to its severity.
func levelOf(w string) (otlpbuild.Severity, bool) {
	if len(w) < 3 || len(w) > 8 {
		return 0, false
	}
	for _, l := range levelWords {
		if strings.EqualFold(w, l.word) {
			return l.sev, true
		}
	}
	return 0, false
}

func isUpper(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'A' || w[i] > 'Z' {
			return false
		}
	}
	return w != ""
}

// isUUID reports whether s is a UUID in its 8-4-4-4-12 hex form, as Lambda
// request IDs are.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// parseJSONLog reads a JSON log line. The keys of Lambda's JSON log format
// and of the common structured loggers are taken for what they mean:
// message/msg is the body, level/severity the severity (names, or pino's
// numbers), timestamp/time/ts the time, requestId (and its spellings) the
// invocation, trace_id/span_id the line's own trace context. Every other
// key becomes an attribute, in order. A line without a message is its own
// body.
func parseJSONLog(obj []byte, pl *parsedLog) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		pl.body = string(obj)
		return
	}
	haveBody := false
	var traceID [16]byte
	var spanID [8]byte
	var haveTrace, haveSpan bool
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			break
		}
		switch key {
		case "message", "msg":
			if !haveBody {
				haveBody = true
				if s, ok := jsonString(raw); ok {
					pl.body = s
				} else {
					pl.body = string(raw)
				}
				continue
			}
		case "level", "severity", "levelname", "log.level":
			if pl.sev == 0 {
				if s, text, ok := jsonLevel(raw); ok {
					pl.sev, pl.sevText = s, text
					continue
				}
			}
		case "timestamp", "time", "ts", "@timestamp":
			if pl.time.IsZero() {
				if t := jsonTime(raw); !t.IsZero() {
					pl.time = t
					continue
				}
			}
		case "requestId", "request_id", "AWSRequestId", "awsRequestId", "function_request_id":
			if pl.reqID == "" {
				if s, ok := jsonString(raw); ok && s != "" {
					pl.reqID = s
					continue
				}
			}
		case "trace_id", "traceId", "traceID":
			if s, ok := jsonString(raw); ok && decodeHexID(traceID[:], s) {
				haveTrace = true
				continue
			}
		case "span_id", "spanId", "spanID":
			if s, ok := jsonString(raw); ok && decodeHexID(spanID[:], s) {
				haveSpan = true
				continue
			}
		}
		if len(pl.attrs) >= maxLogAttributes {
			pl.dropped++
			continue
		}
		pl.attrs = append(pl.attrs, otlpbuild.KeyValue{Key: key, Value: jsonValue(raw)})
	}
	if haveTrace && haveSpan {
		pl.hasIDs, pl.traceID, pl.spanID = true, traceID, spanID
	}
	if !haveBody {
		pl.body = string(obj)
	}
}

func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonLevel reads a level name ("ERROR", "warning", slog's "ERROR+2") or
// pino's number (10 trace … 60 fatal).
func jsonLevel(raw json.RawMessage) (otlpbuild.Severity, string, bool) {
	if s, ok := jsonString(raw); ok {
		n := 0
		for n < len(s) && (s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z') {
			n++
		}
		sev, ok := levelOf(s[:n])
		return sev, s, ok
	}
	n, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || n <= 0 {
		return 0, "", false
	}
	switch {
	case n <= 10:
		return otlpbuild.SeverityTrace, "TRACE", true
	case n <= 20:
		return otlpbuild.SeverityDebug, "DEBUG", true
	case n <= 30:
		return otlpbuild.SeverityInfo, "INFO", true
	case n <= 40:
		return otlpbuild.SeverityWarn, "WARN", true
	case n <= 50:
		return otlpbuild.SeverityError, "ERROR", true
	}
	return otlpbuild.SeverityFatal, "FATAL", true
}

// jsonTime reads an RFC 3339 string or a Unix time in seconds,
// milliseconds, microseconds or nanoseconds (told apart by magnitude).
func jsonTime(raw json.RawMessage) time.Time {
	if s, ok := jsonString(raw); ok {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}
		}
		return t
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || !(f > 0) || f > 1e19 {
		return time.Time{}
	}
	switch {
	case f >= 1e17:
		return time.Unix(0, int64(f))
	case f >= 1e14:
		return time.UnixMicro(int64(f))
	case f >= 1e11:
		return time.UnixMilli(int64(f))
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}

// jsonValue turns a JSON value into an attribute value: strings, booleans
// and numbers as themselves, objects and arrays as their JSON text, null as
// the empty value.
func jsonValue(raw json.RawMessage) otlpbuild.Value {
	if len(raw) == 0 {
		return otlpbuild.Value{}
	}
	switch raw[0] {
	case '"':
		s, _ := jsonString(raw)
		return otlpbuild.StringValue(s)
	case 't':
		return otlpbuild.BoolValue(true)
	case 'f':
		return otlpbuild.BoolValue(false)
	case 'n':
		return otlpbuild.Value{}
	case '{', '[':
		var b bytes.Buffer
		if json.Compact(&b, raw) == nil {
			return otlpbuild.StringValue(b.String())
		}
		return otlpbuild.StringValue(string(raw))
	}
	if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return otlpbuild.IntValue(i)
	}
	if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
		return otlpbuild.DoubleValue(f)
	}
	return otlpbuild.StringValue(string(raw))
}

// decodeHexID decodes a hex trace or span ID of exactly len(dst) bytes that
// is not all zeros.
func decodeHexID(dst []byte, s string) bool {
	if !decodeHexInto(dst, s) {
		return false
	}
	for _, c := range dst {
		if c != 0 {
			return true
		}
	}
	return false
}
