package pbwire

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// The benchmarks compare pbwire with protowire on the hot functions, for
// varints of one, two, five and ten bytes. They loop on b.N rather than
// b.Loop, which may keep the calls in its body from being inlined: inlined
// is how pbwire's small functions run in real callers.

var benchValues = []uint64{1, 300, 1 << 30, 1 << 63}

var (
	sinkU uint64
	sinkN int
	sinkB []byte
)

func BenchmarkConsumeVarint(b *testing.B) {
	for _, v := range benchValues {
		enc := AppendVarint(nil, v)
		b.Run(fmt.Sprintf("pbwire/%dB", len(enc)), func(b *testing.B) {
			for range b.N {
				sinkU, sinkN = ConsumeVarint(enc)
			}
		})
		b.Run(fmt.Sprintf("protowire/%dB", len(enc)), func(b *testing.B) {
			for range b.N {
				sinkU, sinkN = protowire.ConsumeVarint(enc)
			}
		})
	}
}

func BenchmarkAppendVarint(b *testing.B) {
	buf := make([]byte, 0, 16)
	for _, v := range benchValues {
		b.Run(fmt.Sprintf("pbwire/%dB", SizeVarint(v)), func(b *testing.B) {
			for range b.N {
				sinkB = AppendVarint(buf, v)
			}
		})
		b.Run(fmt.Sprintf("protowire/%dB", SizeVarint(v)), func(b *testing.B) {
			for range b.N {
				sinkB = protowire.AppendVarint(buf, v)
			}
		})
	}
}

func BenchmarkConsumeTag(b *testing.B) {
	for _, num := range []Number{1, 100, MaxValidNumber} {
		enc := AppendTag(nil, num, BytesType)
		b.Run(fmt.Sprintf("pbwire/%dB", len(enc)), func(b *testing.B) {
			for range b.N {
				_, _, sinkN = ConsumeTag(enc)
			}
		})
		b.Run(fmt.Sprintf("protowire/%dB", len(enc)), func(b *testing.B) {
			for range b.N {
				_, _, sinkN = protowire.ConsumeTag(enc)
			}
		})
	}
}
