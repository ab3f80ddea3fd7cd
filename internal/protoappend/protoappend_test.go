package protoappend

import (
	"bytes"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Whatever width was reserved, a nested message comes out canonical: the
// same bytes protowire writes for a length-delimited field.
func TestCloseMsgIsCanonical(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 21} {
		body := bytes.Repeat([]byte{'x'}, n)
		want := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), body)
		for width := 1; width <= 4; width++ {
			b, pos := OpenMsg([]byte{}, 1<<3|2, width)
			b = append(b, body...)
			if got := CloseMsg(b, pos, width); !bytes.Equal(got, want) {
				t.Fatalf("body %d, width %d: %x… want %x…", n, width, got[:min(8, len(got))], want[:min(8, len(want))])
			}
		}
	}
}

func TestScalars(t *testing.T) {
	if b := String(nil, 10, ""); len(b) != 0 {
		t.Fatal("an empty string is the proto3 default: left out")
	}
	if b := StringAlways(nil, 10, ""); !bytes.Equal(b, []byte{10, 0}) {
		t.Fatalf("StringAlways = %x", b)
	}
	if b := Fixed64(nil, 9, 0); len(b) != 0 {
		t.Fatal("zero fixed64 left out")
	}
	if UnixNano(time.Time{}) != 0 || UnixNano(time.Unix(0, -5)) != 0 || UnixNano(time.Unix(1, 2)) != 1_000_000_002 {
		t.Fatal("UnixNano")
	}
}
