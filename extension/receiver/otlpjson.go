package receiver

import (
	"fmt"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/otlpjson"
)

// jsonSignals maps the receiver's signals to the transcoder's.
var jsonSignals = map[wire.Signal]otlpjson.Signal{
	wire.Traces: otlpjson.Traces, wire.Metrics: otlpjson.Metrics, wire.Logs: otlpjson.Logs,
}

// protobufFromJSON converts an OTLP/JSON export request of signal sig to its
// protobuf encoding and validates the result with wire.Validate, so that
// whatever it accepts is exactly what the protobuf path would accept.
//
// internal/otlpjson does the conversion from a hand-written schema, not
// protojson and the generated types: those would add megabytes to the
// extension for a path most SDKs never use (they default to protobuf). It
// takes what the OTLP specification allows — hex trace and span ids,
// lowerCamelCase or snake_case keys, enums by number or name, 64-bit
// integers as strings or numbers — and skips unknown fields, as receivers
// must so that newer producers keep working.
func protobufFromJSON(sig wire.Signal, data []byte) ([]byte, wire.Counts, error) {
	js, ok := jsonSignals[sig]
	if !ok {
		return nil, wire.Counts{}, fmt.Errorf("unknown signal %d", int(sig))
	}
	out, err := otlpjson.AppendProtobuf(nil, js, data)
	if err != nil {
		return nil, wire.Counts{}, fmt.Errorf("invalid OTLP/JSON %s request: %w", sig, err)
	}
	counts, err := wire.Validate(sig, out)
	if err != nil {
		// The transcoder checks the schema; OTLP's own rules (e.g. the
		// AnyValue nesting limit) are wire's. The error names the field.
		return nil, wire.Counts{}, err
	}
	return out, counts, nil
}
