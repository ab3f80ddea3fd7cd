package grpcrecv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzDecodeRequest feeds arbitrary bodies to the frame decoder, with and
// without gzip as the stream's encoding. It must never panic or return more
// than the limit; an error must be INVALID_ARGUMENT or RESOURCE_EXHAUSTED;
// and an accepted uncompressed frame must yield exactly the bytes after the
// prefix, whose length the prefix gives.
func FuzzDecodeRequest(f *testing.F) {
	const limit = 4096
	f.Add([]byte{}, false)
	f.Add([]byte{0, 0, 0, 0, 0}, false)
	f.Add([]byte{0, 0, 0}, false)
	f.Add(frame(0, []byte("hello")), false)
	f.Add(append(frame(0, []byte("hello")), 1), false)
	f.Add(frame(0, []byte("hello"))[:7], false)
	f.Add(frame(1, gz(f, []byte("hello"))), true)
	f.Add(frame(1, gz(f, bytes.Repeat([]byte{'a'}, 2*limit))), true)
	f.Add(frame(1, []byte("not gzip")), true)
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff}, false)
	f.Add([]byte{2, 0, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, data []byte, gzEnc bool) {
		out, _, _, err := decodeRequest(bytes.NewReader(data), gzEnc, limit, new(inflater))
		if err != nil {
			var st *statusError
			if !errors.As(err, &st) || (st.code != codeInvalidArgument && st.code != codeResourceExhausted) {
				t.Fatalf("error %v is not INVALID_ARGUMENT or RESOURCE_EXHAUSTED", err)
			}
			return
		}
		if out == nil {
			t.Fatal("nil message on success")
		}
		if len(out) > limit {
			t.Fatalf("%d bytes returned, limit %d", len(out), limit)
		}
		if len(data) < prefixLen {
			t.Fatalf("accepted a %d-byte body", len(data))
		}
		if n := binary.BigEndian.Uint32(data[1:5]); int(n) != len(data)-prefixLen {
			t.Fatalf("accepted a frame declaring %d bytes with %d after the prefix", n, len(data)-prefixLen)
		}
		switch data[0] {
		case 0:
			if !bytes.Equal(out, data[prefixLen:]) {
				t.Fatal("uncompressed message changed")
			}
		case 1:
			if !gzEnc {
				t.Fatal("accepted a compressed message without gzip encoding")
			}
		default:
			t.Fatalf("accepted flag %d", data[0])
		}
		if cap(out) != len(out) && len(out) > 0 && data[0] == 0 {
			t.Fatalf("message slice not exactly sized: len %d cap %d", len(out), cap(out))
		}
	})
}
