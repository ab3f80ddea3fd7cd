package otlpjson

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// newMessage returns an empty generated message with the encoding of sig's
// export request.
func newMessage(sig Signal) proto.Message {
	switch sig {
	case Traces:
		return &tracepb.TracesData{}
	case Metrics:
		return &metricspb.MetricsData{}
	case Logs:
		return &logspb.LogsData{}
	}
	panic(fmt.Sprintf("no message for %v", sig))
}

// unmarshalPB decodes protobuf bytes of signal sig, discarding unknown
// fields, which the JSON encoding cannot carry.
func unmarshalPB(sig Signal, pb []byte) (proto.Message, error) {
	m := newMessage(sig)
	err := proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(pb, m)
	return m, err
}

// idKeys are the JSON keys that hold trace and span IDs, in both spellings:
// the one place where OTLP/JSON (hex) and protojson (base64) differ.
var idKeys = map[string]bool{
	"traceId": true, "spanId": true, "parentSpanId": true,
	"trace_id": true, "span_id": true, "parent_span_id": true,
}

// rewriteIDs rewrites every ID-named string in a JSON document with conv.
// It re-encodes the document through encoding/json (numbers kept exact), so
// key order and white space change and duplicate keys collapse.
func rewriteIDs(data []byte, conv func(string) (string, error)) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && idKeys[k] {
					s2, err := conv(s)
					if err != nil {
						return fmt.Errorf("%s: %w", k, err)
					}
					v[k] = s2
					continue
				}
				if err := walk(x); err != nil {
					return err
				}
			}
		case []any:
			for _, x := range v {
				if err := walk(x); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(doc); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// hexToBase64IDs turns OTLP/JSON into what protojson expects.
func hexToBase64IDs(data []byte) ([]byte, error) {
	return rewriteIDs(data, func(s string) (string, error) {
		b, err := hex.DecodeString(s)
		return base64.StdEncoding.EncodeToString(b), err
	})
}

// base64ToHexIDs turns protojson output into OTLP/JSON.
func base64ToHexIDs(data []byte) ([]byte, error) {
	return rewriteIDs(data, func(s string) (string, error) {
		b, err := base64.StdEncoding.DecodeString(s)
		return hex.EncodeToString(b), err
	})
}

// otlpJSON marshals m with protojson and the OTLP ID rewrite: what a
// conforming OTLP/JSON producer sends.
func otlpJSON(t testing.TB, opts protojson.MarshalOptions, m proto.Message) []byte {
	t.Helper()
	js, err := opts.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	js, err = base64ToHexIDs(js)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// protojsonFromOTLP decodes OTLP/JSON with protojson (after the ID rewrite),
// the oracle for AppendProtobuf.
func protojsonFromOTLP(sig Signal, data []byte) (proto.Message, error) {
	js, err := hexToBase64IDs(data)
	if err != nil {
		return nil, err
	}
	m := newMessage(sig)
	err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(js, m)
	return m, err
}

// toProtobuf runs AppendProtobuf and decodes the result, failing the test on
// any error.
func toProtobuf(t testing.TB, sig Signal, js []byte) proto.Message {
	t.Helper()
	pb, err := AppendProtobuf(nil, sig, js)
	if err != nil {
		t.Fatalf("AppendProtobuf: %v\ninput: %s", err, js)
	}
	m, err := unmarshalPB(sig, pb)
	if err != nil {
		t.Fatalf("proto.Unmarshal of AppendProtobuf output: %v", err)
	}
	return m
}

// toJSON runs AppendJSON, failing the test on error or invalid JSON.
func toJSON(t testing.TB, sig Signal, pb []byte) []byte {
	t.Helper()
	js, err := AppendJSON(nil, sig, pb)
	if err != nil {
		t.Fatalf("AppendJSON: %v", err)
	}
	if !json.Valid(js) {
		t.Fatalf("AppendJSON wrote invalid JSON: %s", js)
	}
	return js
}

// mustMarshal is proto.Marshal for tests.
func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertEqual fails the test when the messages differ.
func assertEqual(t testing.TB, what string, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%s: messages differ\n got: %v\nwant: %v", what, prototextString(got), prototextString(want))
	}
}

func prototextString(m proto.Message) string {
	b, _ := protojson.MarshalOptions{Multiline: false}.Marshal(m)
	return string(b)
}
