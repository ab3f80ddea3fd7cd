package lambdaotel

import (
	"context"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Level is the severity of a span event.
type Level int

// Levels, numbered as OpenTelemetry log severities.
const (
	LevelTrace Level = 1
	LevelDebug Level = 5
	LevelInfo  Level = 9
	LevelWarn  Level = 13
	LevelError Level = 17
)

// String is the severity text.
func (l Level) String() string {
	switch {
	case l >= LevelError:
		return "ERROR"
	case l >= LevelWarn:
		return "WARN"
	case l >= LevelInfo:
		return "INFO"
	case l >= LevelDebug:
		return "DEBUG"
	default:
		return "TRACE"
	}
}

// Span event attribute keys.
const (
	EventName             = "event"
	AttrSeverityText      = attribute.Key("event.severity_text")
	AttrSeverityNumber    = attribute.Key("event.severity_number")
	AttrEventBody         = attribute.Key("event.body")
	EnvLambdaLogLevel     = "AWS_LAMBDA_LOG_LEVEL"
	EnvLogLevelFallback   = "LOG_LEVEL"
	defaultMinEventLevel  = LevelInfo
	maxEventAttributesCap = 64
)

// minLevel is read once: the log level of a Lambda function is fixed for
// the life of its process.
var minLevel = sync.OnceValue(func() Level { return parseLevel(os.Getenv) })

func parseLevel(getenv func(string) string) Level {
	v := getenv(EnvLambdaLogLevel)
	if strings.TrimSpace(v) == "" {
		v = getenv(EnvLogLevelFallback)
	}
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "TRACE":
		return LevelTrace
	case "DEBUG":
		return LevelDebug
	case "WARN", "WARNING":
		return LevelWarn
	case "ERROR", "FATAL":
		return LevelError
	default:
		return defaultMinEventLevel
	}
}

// Event records a span event named "event" on the span in ctx, with the
// severity attributes, msg as event.body (when not empty) and attrs. Events
// below AWS_LAMBDA_LOG_LEVEL (or LOG_LEVEL; INFO by default) are dropped, as
// are events with no recording span in ctx.
func Event(ctx context.Context, level Level, msg string, attrs ...attribute.KeyValue) {
	if level < minLevel() {
		return
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	all := make([]attribute.KeyValue, 0, len(attrs)+3)
	all = append(all, AttrSeverityText.String(level.String()), AttrSeverityNumber.Int(int(level)))
	if msg != "" {
		all = append(all, AttrEventBody.String(msg))
	}
	all = append(all, attrs...)
	span.AddEvent(EventName, trace.WithAttributes(all...))
}
