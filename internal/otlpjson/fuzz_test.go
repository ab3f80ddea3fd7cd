package otlpjson

import (
	"bytes"
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The fuzz targets check the properties the extension relies on: no input
// makes either direction panic; whatever AppendProtobuf accepts is valid
// protobuf, means what protojson says it means, and survives a round trip;
// whatever AppendJSON accepts, proto.Unmarshal accepts too, and the JSON
// means the same message.

func FuzzAppendProtobuf(f *testing.F) {
	for _, fx := range fixtures(f) {
		f.Add(fx.data, uint8(fx.sig))
	}
	for sig, m := range richMessages() {
		f.Add(otlpJSON(f, protojson.MarshalOptions{}, m), uint8(sig))
		f.Add(otlpJSON(f, protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}, m), uint8(sig))
	}
	for _, tc := range accepted {
		f.Add([]byte(tc.doc), uint8(tc.sig))
	}
	for _, tc := range rejected {
		f.Add([]byte(tc.doc), uint8(tc.sig))
	}
	f.Fuzz(func(t *testing.T, data []byte, s uint8) {
		sig := Signal(s % 3)
		dst := make([]byte, 2, 8)
		pb, err := AppendProtobuf(dst, sig, data)
		if err != nil {
			if len(pb) != 2 || &pb[0] != &dst[0] {
				t.Fatal("dst not returned unchanged on error")
			}
			return
		}
		pb = pb[2:]
		m := newMessage(sig)
		if err := proto.Unmarshal(pb, m); err != nil {
			t.Fatalf("AppendProtobuf wrote invalid protobuf: %v", err)
		}

		// protojson, the reference reader, agrees on the meaning.
		if oracle, err := protojsonFromOTLP(sig, data); err == nil {
			if !proto.Equal(m, oracle) {
				t.Fatalf("AppendProtobuf and protojson disagree\n ours: %v\n protojson: %v", prototextString(m), prototextString(oracle))
			}
		} else if _, rerr := hexToBase64IDs(data); rerr == nil {
			// The ID rewrite worked, so protojson refused something we
			// accepted: only acceptable for what the package doc lists.
			t.Fatalf("accepted what protojson rejects: %v", err)
		}

		js, err := AppendJSON(nil, sig, pb)
		if err != nil {
			t.Fatalf("AppendJSON of AppendProtobuf output: %v", err)
		}
		if !json.Valid(js) {
			t.Fatalf("AppendJSON wrote invalid JSON: %s", js)
		}
		back, err := AppendProtobuf(nil, sig, js)
		if err != nil {
			t.Fatalf("AppendProtobuf of AppendJSON output: %v\n%s", err, js)
		}
		if want := mustMarshal(t, m); !bytes.Equal(back, want) {
			got := newMessage(sig)
			_ = proto.Unmarshal(back, got)
			t.Fatalf("round trip differs\n got: %v\nwant: %v", prototextString(got), prototextString(m))
		}
	})
}

func FuzzAppendJSON(f *testing.F) {
	for _, fx := range fixtures(f) {
		pb, err := AppendProtobuf(nil, fx.sig, fx.data)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pb, uint8(fx.sig))
	}
	for sig, m := range richMessages() {
		f.Add(mustMarshal(f, m), uint8(sig))
	}
	// Small seeds mutate into interesting inputs much faster than large.
	for _, tc := range accepted {
		if pb, err := AppendProtobuf(nil, tc.sig, []byte(tc.doc)); err == nil {
			f.Add(pb, uint8(tc.sig))
		}
	}
	f.Add(pbSpans(msg(fString(5, "a"), fBytes(15, fString(2, "m")), fBytes(15, fVarint(3, 2)), fVarint(99, 1))), uint8(Traces))
	f.Add(pbBody(msg(fBytes(6, fBytes(1, fString(1, "k"))), fString(1, "s"), fBytes(5, fBytes(1, fVarint(3, 1))))), uint8(Logs))
	f.Add(fBytes(1, fBytes(2, fBytes(2, fBytes(9, fBytes(1, msg(fFixed64(6, 1), fBytes(6, make([]byte, 16)), fBytes(7, nil))))))), uint8(Metrics))
	f.Fuzz(func(t *testing.T, data []byte, s uint8) {
		sig := Signal(s % 3)
		dst := make([]byte, 2, 8)
		js, err := AppendJSON(dst, sig, data)
		if err != nil {
			if len(js) != 2 || &js[0] != &dst[0] {
				t.Fatal("dst not returned unchanged on error")
			}
			return
		}
		js = js[2:]
		want, err := unmarshalPB(sig, data)
		if err != nil {
			t.Fatalf("AppendJSON accepted what proto.Unmarshal rejects: %v\n%s", err, js)
		}
		if !json.Valid(js) {
			t.Fatalf("invalid JSON: %s", js)
		}
		pb, err := AppendProtobuf(nil, sig, js)
		if err != nil {
			t.Fatalf("AppendProtobuf of AppendJSON output: %v\n%s", err, js)
		}
		got, err := unmarshalPB(sig, pb)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("round trip differs\n got: %v\nwant: %v", prototextString(got), prototextString(want))
		}
		if oracle, err := protojsonFromOTLP(sig, js); err != nil || !proto.Equal(oracle, want) {
			t.Fatalf("protojson reads the JSON differently (%v)\n%s", err, js)
		}
	})
}
