package lambdaapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TelemetryAPIVersion is the path prefix of the Telemetry API.
const TelemetryAPIVersion = "2022-07-01"

// Telemetry schema versions a subscriber may ask for.
const (
	Schema20220701 = "2022-07-01"
	Schema20221213 = "2022-12-13"
	// Schema20250129 is required on Lambda Managed Instances.
	Schema20250129 = "2025-01-29"
)

// TelemetryType is a stream a subscriber may ask for.
type TelemetryType string

// The three telemetry streams.
const (
	TypePlatform  TelemetryType = "platform"
	TypeFunction  TelemetryType = "function"
	TypeExtension TelemetryType = "extension"
)

// Subscription destinations.
const (
	ProtocolHTTP = "HTTP"
	ProtocolTCP  = "TCP"

	// SandboxHost is the host name telemetry destinations must use.
	SandboxHost = "sandbox.localdomain"
)

// Buffering limits, as the platform enforces them.
const (
	MinBufferingMaxItems  = 1000
	MaxBufferingMaxItems  = 10000
	MinBufferingMaxBytes  = 262144
	MaxBufferingMaxBytes  = 1048576
	MinBufferingTimeoutMs = 25
	MaxBufferingTimeoutMs = 30000

	DefaultBufferingMaxItems  = 10000
	DefaultBufferingMaxBytes  = 262144
	DefaultBufferingTimeoutMs = 1000
)

// SubscribeRequest is the body of PUT /2022-07-01/telemetry.
type SubscribeRequest struct {
	SchemaVersion string          `json:"schemaVersion"`
	Types         []TelemetryType `json:"types"`
	Buffering     *Buffering      `json:"buffering,omitempty"`
	Destination   Destination     `json:"destination"`
}

// Buffering says when the platform sends a batch. Zero fields take the defaults.
type Buffering struct {
	MaxItems  int `json:"maxItems,omitempty"`
	MaxBytes  int `json:"maxBytes,omitempty"`
	TimeoutMs int `json:"timeoutMs,omitempty"`
}

// Destination is where telemetry is delivered: an HTTP URI on
// sandbox.localdomain, or a TCP port.
type Destination struct {
	Protocol string `json:"protocol"`
	URI      string `json:"URI,omitempty"`
	Port     int    `json:"port,omitempty"`
}

// ValidationError is a subscription the platform refuses.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return "telemetry subscription: " + e.Msg }

// Validate checks s as the platform does and returns it with buffering
// defaults filled in. requiredSchema, when not empty, is the only schema
// version accepted (Lambda Managed Instances require Schema20250129).
// Every failure is a *ValidationError.
func (s SubscribeRequest) Validate(requiredSchema string) (SubscribeRequest, error) {
	var problems []string
	switch s.SchemaVersion {
	case Schema20220701, Schema20221213, Schema20250129:
		if requiredSchema != "" && s.SchemaVersion != requiredSchema {
			problems = append(problems, fmt.Sprintf("schemaVersion must be %s here", requiredSchema))
		}
	case "":
		problems = append(problems, "schemaVersion is required")
	default:
		problems = append(problems, fmt.Sprintf("schemaVersion %q is not supported", s.SchemaVersion))
	}
	if len(s.Types) == 0 {
		problems = append(problems, "types should not be empty")
	}
	for _, t := range s.Types {
		if t != TypePlatform && t != TypeFunction && t != TypeExtension {
			problems = append(problems, fmt.Sprintf("type %q is not one of platform, function, extension", t))
		}
	}
	b := Buffering{MaxItems: DefaultBufferingMaxItems, MaxBytes: DefaultBufferingMaxBytes, TimeoutMs: DefaultBufferingTimeoutMs}
	if s.Buffering != nil {
		check := func(name string, v, lo, hi int, dst *int) {
			if v == 0 {
				return
			}
			if v < lo || v > hi {
				problems = append(problems, fmt.Sprintf("buffering.%s %d is outside [%d, %d]", name, v, lo, hi))
				return
			}
			*dst = v
		}
		check("maxItems", s.Buffering.MaxItems, MinBufferingMaxItems, MaxBufferingMaxItems, &b.MaxItems)
		check("maxBytes", s.Buffering.MaxBytes, MinBufferingMaxBytes, MaxBufferingMaxBytes, &b.MaxBytes)
		check("timeoutMs", s.Buffering.TimeoutMs, MinBufferingTimeoutMs, MaxBufferingTimeoutMs, &b.TimeoutMs)
	}
	switch s.Destination.Protocol {
	case ProtocolHTTP:
		if msg := checkDestinationURI(s.Destination.URI); msg != "" {
			problems = append(problems, msg)
		}
	case ProtocolTCP:
		if s.Destination.Port < 1 || s.Destination.Port > 65535 {
			problems = append(problems, "destination.port must be within [1, 65535] for TCP")
		}
	case "":
		problems = append(problems, "destination.protocol is required")
	default:
		problems = append(problems, fmt.Sprintf("destination.protocol %q is not HTTP or TCP", s.Destination.Protocol))
	}
	if len(problems) > 0 {
		return s, &ValidationError{Msg: strings.Join(problems, "; ")}
	}
	s.Buffering = &b
	return s, nil
}

func checkDestinationURI(raw string) string {
	if raw == "" {
		return "destination.URI is required for HTTP"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("destination.URI %q is not a URI", raw)
	}
	if u.Scheme != "http" {
		return fmt.Sprintf("destination.URI %q must use http", raw)
	}
	if u.Hostname() != SandboxHost {
		return fmt.Sprintf("destination.URI host must be %s", SandboxHost)
	}
	p := u.Port()
	if p == "" {
		return "URI port is not provided"
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("destination.URI port %q is not valid", p)
	}
	return ""
}

// Telemetry event types.
const (
	EventInitStart             = "platform.initStart"
	EventInitRuntimeDone       = "platform.initRuntimeDone"
	EventInitReport            = "platform.initReport"
	EventStart                 = "platform.start"
	EventRuntimeDone           = "platform.runtimeDone"
	EventReport                = "platform.report"
	EventRestoreStart          = "platform.restoreStart"
	EventRestoreRuntimeDone    = "platform.restoreRuntimeDone"
	EventRestoreReport         = "platform.restoreReport"
	EventExtension             = "platform.extension"
	EventTelemetrySubscription = "platform.telemetrySubscription"
	EventLogsDropped           = "platform.logsDropped"
	EventFunction              = "function"
	EventExtensionLog          = "extension"
)

// StreamOf says which stream an event type belongs to.
func StreamOf(eventType string) TelemetryType {
	switch eventType {
	case EventFunction:
		return TypeFunction
	case EventExtensionLog:
		return TypeExtension
	default:
		return TypePlatform
	}
}

// TelemetryTimeFormat is how the platform writes record times: UTC, milliseconds.
const TelemetryTimeFormat = "2006-01-02T15:04:05.000Z"

// TelemetryEvent is one element of a delivered batch. Record is left encoded;
// Decode turns it into the typed record for Type.
type TelemetryEvent struct {
	Time   time.Time
	Type   string
	Record json.RawMessage
}

// MarshalJSON writes the event with the platform's time format. It is
// hand-written because lambdasim encodes several events per invocation.
func (e TelemetryEvent) MarshalJSON() ([]byte, error) {
	rec := e.Record
	if len(rec) == 0 {
		rec = json.RawMessage("null")
	}
	b := make([]byte, 0, len(rec)+len(e.Type)+64)
	b = append(b, `{"time":"`...)
	b = e.Time.UTC().AppendFormat(b, TelemetryTimeFormat)
	b = append(b, `","type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"record":`...)
	b = append(b, rec...)
	return append(b, '}'), nil
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// UnmarshalJSON reads an event leniently: an unparseable or missing time is
// left zero rather than failing the whole batch.
func (e *TelemetryEvent) UnmarshalJSON(b []byte) error {
	var w struct {
		Time   json.RawMessage `json:"time"`
		Type   string          `json:"type"`
		Record json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("telemetry event: %w", err)
	}
	if w.Type == "" {
		return errors.New("telemetry event: missing type")
	}
	e.Type, e.Record = w.Type, w.Record
	e.Time = parseTime(w.Time)
	return nil
}

// parseTime reads a record time leniently: anything but a string in RFC 3339
// (a number, an object, garbage) is the zero time, not an error.
func parseTime(raw json.RawMessage) time.Time {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// DecodeEvents reads a batch as delivered over HTTP: a JSON array of events.
func DecodeEvents(body []byte) ([]TelemetryEvent, error) {
	var evs []TelemetryEvent
	if err := json.Unmarshal(body, &evs); err != nil {
		return nil, fmt.Errorf("decode telemetry batch: %w", err)
	}
	return evs, nil
}

// DecodeEventLines reads events as delivered over TCP: one JSON event per line.
// Blank lines are skipped; the first bad line stops decoding with an error
// that names its position, returning the events before it.
func DecodeEventLines(body []byte) ([]TelemetryEvent, error) {
	var evs []TelemetryEvent
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var ev TelemetryEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return evs, fmt.Errorf("decode telemetry line %d: %w", n, err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// Span is a timed phase inside a platform record.
type Span struct {
	Name       string    `json:"name"`
	Start      time.Time `json:"-"`
	DurationMs float64   `json:"durationMs"`
}

// MarshalJSON writes the span with the platform's time format.
func (s Span) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 96)
	b = append(b, `{"name":`...)
	b = appendJSONString(b, s.Name)
	b = append(b, `,"start":"`...)
	b = s.Start.UTC().AppendFormat(b, TelemetryTimeFormat)
	b = append(b, `","durationMs":`...)
	d := s.DurationMs
	if math.IsNaN(d) || math.IsInf(d, 0) {
		d = 0 // not representable in JSON
	}
	b = strconv.AppendFloat(b, d, 'f', -1, 64)
	return append(b, '}'), nil
}

// UnmarshalJSON reads a span; an unparseable start is left zero.
func (s *Span) UnmarshalJSON(b []byte) error {
	var w struct {
		Name       string          `json:"name"`
		Start      json.RawMessage `json:"start"`
		DurationMs float64         `json:"durationMs"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("span: %w", err)
	}
	s.Name, s.DurationMs, s.Start = w.Name, w.DurationMs, parseTime(w.Start)
	return nil
}

// Initialization types.
const (
	InitOnDemand               = "on-demand"
	InitProvisionedConcurrency = "provisioned-concurrency"
	InitSnapStart              = "snap-start"
	InitManagedInstances       = "lambda-managed-instances"
)

// Phases of an init.
const (
	PhaseInit   = "init"
	PhaseInvoke = "invoke"
)

// Statuses of init and invocation records.
const (
	StatusSuccess = "success"
	StatusError   = "error"
	StatusFailure = "failure"
	StatusTimeout = "timeout"
)

// InitStart is the record of platform.initStart.
type InitStart struct {
	InitializationType string   `json:"initializationType"`
	Phase              string   `json:"phase"`
	RuntimeVersion     string   `json:"runtimeVersion,omitempty"`
	RuntimeVersionARN  string   `json:"runtimeVersionArn,omitempty"`
	FunctionName       string   `json:"functionName,omitempty"`
	FunctionVersion    string   `json:"functionVersion,omitempty"`
	FunctionARN        string   `json:"functionArn,omitempty"`
	InstanceID         string   `json:"instanceId,omitempty"`
	InstanceMaxMemory  int64    `json:"instanceMaxMemory,omitempty"`
	Tracing            *Tracing `json:"tracing,omitempty"`
}

// InitRuntimeDone is the record of platform.initRuntimeDone.
type InitRuntimeDone struct {
	InitializationType string   `json:"initializationType"`
	Phase              string   `json:"phase"`
	Status             string   `json:"status"`
	ErrorType          string   `json:"errorType,omitempty"`
	Spans              []Span   `json:"spans,omitempty"`
	Tracing            *Tracing `json:"tracing,omitempty"`
}

// DurationMetrics carries a single duration.
type DurationMetrics struct {
	DurationMs float64 `json:"durationMs"`
}

// InitReport is the record of platform.initReport.
type InitReport struct {
	InitializationType string          `json:"initializationType"`
	Phase              string          `json:"phase"`
	Status             string          `json:"status,omitempty"`
	ErrorType          string          `json:"errorType,omitempty"`
	Metrics            DurationMetrics `json:"metrics"`
	Spans              []Span          `json:"spans,omitempty"`
	Tracing            *Tracing        `json:"tracing,omitempty"`
}

// Start is the record of platform.start.
type Start struct {
	RequestID   string   `json:"requestId"`
	Version     string   `json:"version,omitempty"`
	FunctionARN string   `json:"functionArn,omitempty"`
	TenantID    string   `json:"tenantId,omitempty"`
	Tracing     *Tracing `json:"tracing,omitempty"`
}

// RuntimeDoneMetrics are the metrics of platform.runtimeDone.
type RuntimeDoneMetrics struct {
	DurationMs    float64 `json:"durationMs"`
	ProducedBytes int64   `json:"producedBytes,omitempty"`
}

// RuntimeDone is the record of platform.runtimeDone.
type RuntimeDone struct {
	RequestID string              `json:"requestId"`
	Status    string              `json:"status"`
	ErrorType string              `json:"errorType,omitempty"`
	Metrics   *RuntimeDoneMetrics `json:"metrics,omitempty"`
	Spans     []Span              `json:"spans,omitempty"`
	TenantID  string              `json:"tenantId,omitempty"`
	Tracing   *Tracing            `json:"tracing,omitempty"`
}

// ReportMetrics are the metrics of platform.report.
type ReportMetrics struct {
	DurationMs              float64  `json:"durationMs"`
	BilledDurationMs        float64  `json:"billedDurationMs,omitempty"`
	MemorySizeMB            int      `json:"memorySizeMB,omitempty"`
	MaxMemoryUsedMB         int      `json:"maxMemoryUsedMB,omitempty"`
	InitDurationMs          *float64 `json:"initDurationMs,omitempty"`
	RestoreDurationMs       *float64 `json:"restoreDurationMs,omitempty"`
	BilledRestoreDurationMs *float64 `json:"billedRestoreDurationMs,omitempty"`
}

// Report is the record of platform.report.
type Report struct {
	RequestID string        `json:"requestId"`
	Status    string        `json:"status"`
	ErrorType string        `json:"errorType,omitempty"`
	Metrics   ReportMetrics `json:"metrics"`
	Spans     []Span        `json:"spans,omitempty"`
	TenantID  string        `json:"tenantId,omitempty"`
	Tracing   *Tracing      `json:"tracing,omitempty"`
}

// RestoreStart is the record of platform.restoreStart (SnapStart).
type RestoreStart struct {
	RuntimeVersion    string `json:"runtimeVersion,omitempty"`
	RuntimeVersionARN string `json:"runtimeVersionArn,omitempty"`
	FunctionName      string `json:"functionName,omitempty"`
	FunctionVersion   string `json:"functionVersion,omitempty"`
	InstanceID        string `json:"instanceId,omitempty"`
	InstanceMaxMemory int64  `json:"instanceMaxMemory,omitempty"`
}

// RestoreRuntimeDone is the record of platform.restoreRuntimeDone.
type RestoreRuntimeDone struct {
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType,omitempty"`
	Spans     []Span   `json:"spans,omitempty"`
	Tracing   *Tracing `json:"tracing,omitempty"`
}

// RestoreReport is the record of platform.restoreReport.
type RestoreReport struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType,omitempty"`
	Metrics   DurationMetrics `json:"metrics"`
	Spans     []Span          `json:"spans,omitempty"`
}

// ExtensionRecord is the record of platform.extension.
type ExtensionRecord struct {
	Name      string   `json:"name"`
	State     string   `json:"state"`
	Events    []string `json:"events"`
	ErrorType string   `json:"errorType,omitempty"`
}

// TelemetrySubscription is the record of platform.telemetrySubscription.
type TelemetrySubscription struct {
	Name  string   `json:"name"`
	State string   `json:"state"`
	Types []string `json:"types"`
}

// LogsDropped is the record of platform.logsDropped.
type LogsDropped struct {
	DroppedBytes   int64  `json:"droppedBytes"`
	DroppedRecords int64  `json:"droppedRecords"`
	Reason         string `json:"reason"`
}

// LogRecord is the record of a function or extension event: a line of text,
// or a JSON object when the function logs in JSON format.
type LogRecord struct {
	// Text is the line when the record was a string.
	Text string
	// Object is the raw object when the record was a JSON object.
	Object json.RawMessage
}

// ErrNotObject is returned when a platform record is neither an object nor a
// string holding one.
var ErrNotObject = errors.New("record is not a JSON object")

// Decode returns the typed record for e.Type: a pointer to one of the record
// types above, a *LogRecord for function and extension events, or the raw
// record (json.RawMessage) for a type it does not know. A platform record sent
// as a string that holds a JSON object is decoded from that string.
func (e TelemetryEvent) Decode() (any, error) {
	if e.Type == EventFunction || e.Type == EventExtensionLog {
		lr, err := decodeLogRecord(e.Record)
		if err != nil {
			// Not lr: a nil *LogRecord would be a non-nil any.
			return nil, err
		}
		return lr, nil
	}
	var dst any
	switch e.Type {
	case EventInitStart:
		dst = new(InitStart)
	case EventInitRuntimeDone:
		dst = new(InitRuntimeDone)
	case EventInitReport:
		dst = new(InitReport)
	case EventStart:
		dst = new(Start)
	case EventRuntimeDone:
		dst = new(RuntimeDone)
	case EventReport:
		dst = new(Report)
	case EventRestoreStart:
		dst = new(RestoreStart)
	case EventRestoreRuntimeDone:
		dst = new(RestoreRuntimeDone)
	case EventRestoreReport:
		dst = new(RestoreReport)
	case EventExtension:
		dst = new(ExtensionRecord)
	case EventTelemetrySubscription:
		dst = new(TelemetrySubscription)
	case EventLogsDropped:
		dst = new(LogsDropped)
	default:
		return e.Record, nil
	}
	rec, err := objectOf(e.Record)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", e.Type, err)
	}
	if err := json.Unmarshal(rec, dst); err != nil {
		return nil, fmt.Errorf("decode %s: %w", e.Type, err)
	}
	return dst, nil
}

func objectOf(rec json.RawMessage) (json.RawMessage, error) {
	rec = bytes.TrimSpace(rec)
	if len(rec) > 0 && rec[0] == '"' {
		var s string
		if err := json.Unmarshal(rec, &s); err != nil {
			return nil, err
		}
		rec = bytes.TrimSpace([]byte(s))
	}
	if len(rec) == 0 || rec[0] != '{' {
		return nil, ErrNotObject
	}
	return rec, nil
}

func decodeLogRecord(rec json.RawMessage) (*LogRecord, error) {
	rec = bytes.TrimSpace(rec)
	switch {
	case len(rec) == 0 || bytes.Equal(rec, []byte("null")):
		return &LogRecord{}, nil
	case rec[0] == '"':
		var s string
		if err := json.Unmarshal(rec, &s); err != nil {
			return nil, fmt.Errorf("decode log record: %w", err)
		}
		return &LogRecord{Text: s}, nil
	case rec[0] == '{':
		if !json.Valid(rec) {
			return nil, errors.New("decode log record: invalid JSON object")
		}
		return &LogRecord{Object: slices.Clone(rec)}, nil
	default:
		// Numbers and other scalars: keep their text, as the platform would print them.
		if !json.Valid(rec) {
			return nil, errors.New("decode log record: invalid JSON")
		}
		return &LogRecord{Text: string(rec)}, nil
	}
}
