package export

import (
	"bytes"
	"compress/gzip"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/config"
	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
	"github.com/lambdaotel/lambdaotel/internal/otlpjson"
)

// splicedBody is a Body made of requests held as protobuf and requests held
// as the gzip bodies they arrived in, in order, as a queue batch is.
type splicedBody struct {
	parts [][]byte           // protobuf, or nil where segs[i] is set
	segs  [][]gzjoin.Segment // the gzip members of a compressed part
}

func (b *splicedBody) addProto(p []byte) {
	b.parts, b.segs = append(b.parts, p), append(b.segs, nil)
}

func (b *splicedBody) addGzip(t *testing.T, p []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(p)
	zw.Close()
	_, segs, err := gzjoin.Gunzip(nil, buf.Bytes(), len(p), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.parts, b.segs = append(b.parts, nil), append(b.segs, segs)
}

func (b *splicedBody) Bytes() ([]byte, error) {
	var out []byte
	for i, p := range b.parts {
		if b.segs[i] == nil {
			out = append(out, p...)
			continue
		}
		for _, sg := range b.segs[i] {
			var err error
			if out, _, err = gzjoin.Inflate(out, sg.Data, 1<<30); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (b *splicedBody) Join(j *gzjoin.Joiner) error {
	for i, p := range b.parts {
		if b.segs[i] == nil {
			if _, err := j.Write(p); err != nil {
				return err
			}
			continue
		}
		for _, sg := range b.segs[i] {
			if err := j.AppendSegment(sg); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestExportSplicedBody: a body holding compressed requests reaches the
// backend as one gzip member (the backends here refuse more) that inflates
// to the whole request, in every protocol; without compression, and as
// OTLP/JSON, it goes inflated.
func TestExportSplicedBody(t *testing.T) {
	body := &splicedBody{}
	body.addGzip(t, traces(2, 30, 40))
	body.addProto(traces(1, 3, 10))
	body.addGzip(t, traces(3, 20, 25))
	body.addGzip(t, traces(1, 1, 5))
	want, err := body.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := otlpjson.AppendJSON(nil, otlpjson.Traces, want)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ protocol, compression string }{
		{"http/protobuf", "gzip"}, {"http/protobuf", "none"},
		{"http/json", "gzip"}, {"http/json", "none"},
		{"grpc", "gzip"}, {"grpc", "none"},
	} {
		t.Run(tc.protocol+"/"+tc.compression, func(t *testing.T) {
			var got []byte
			if tc.protocol == "grpc" {
				srv := newGRPCBackend(t, false, nil)
				cfg := grpcConfig(srv.URL)
				cfg.Compression = tc.compression
				h := newExporter(t, cfg, Options{}, false)
				if res := h.exp.Export(budget(t, 2*time.Second), "traces", body); !res.OK {
					t.Fatalf("result = %+v", res)
				}
				c := srv.lastCall()
				if c.err != "" || (c.flag == 1) != (tc.compression == "gzip") {
					t.Fatalf("call: flag %d, err %q", c.flag, c.err)
				}
				got = c.body
			} else {
				srv := newBackend(t, nil)
				h := newExporter(t, config.Exporter{Endpoint: srv.URL, Protocol: tc.protocol, Compression: tc.compression}, Options{}, false)
				if res := h.exp.Export(budget(t, 2*time.Second), "traces", body); !res.OK {
					t.Fatalf("result = %+v", res)
				}
				_, got = srv.lastRequest()
			}
			w := want
			if tc.protocol == "http/json" {
				w = wantJSON
			}
			if !bytes.Equal(got, w) {
				t.Fatalf("backend got %d bytes, want %d", len(got), len(w))
			}
		})
	}
}
