package gzjoin

import (
	"hash/crc32"
	"testing"
)

func TestCRC32Combine(t *testing.T) {
	data := randomBytes(100000, 40)
	splits := []int{0, 1, 2, 3, 7, 8, 9, 255, 256, 1000, 4096, 65535, 65536, 99999, 100000}
	for _, a := range splits {
		for _, b := range splits {
			if a > b {
				continue
			}
			c1 := crc32.ChecksumIEEE(data[:a])
			c2 := crc32.ChecksumIEEE(data[a:b])
			want := crc32.ChecksumIEEE(data[:b])
			if got := crc32Combine(c1, c2, b-a); got != want {
				t.Fatalf("combine(%d, %d): %08x, want %08x", a, b, got, want)
			}
		}
	}
	// Many parts, some empty, folded left to right.
	var crc uint32
	off := 0
	for i := 0; off < len(data); i++ {
		n := min(len(data)-off, (i*i*37)%5000)
		crc = crc32Combine(crc, crc32.ChecksumIEEE(data[off:off+n]), n)
		off += n
	}
	if crc != crc32.ChecksumIEEE(data) {
		t.Fatal("folded combine")
	}
	// Large lengths: x^(8n) for n near 2^62 must not overflow the table.
	_ = crc32Combine(1, 2, 1<<62)
	_ = crc32Combine(1, 2, int(^uint(0)>>1))
}

// TestCRC32CombineLong checks the powers for lengths too long to hash, via
// the identity combine(combine(a, b, n), c, m) == combine(a, combine(b, c, m), n+m).
func TestCRC32CombineLong(t *testing.T) {
	for _, n := range []int{1 << 20, 1<<31 + 5, 1<<40 + 3} {
		for _, m := range []int{3, 1 << 33} {
			a, b, c := uint32(0x12345678), uint32(0x9abcdef0), uint32(0x0fedcba9)
			l := crc32Combine(crc32Combine(a, b, n), c, m)
			r := crc32Combine(a, crc32Combine(b, c, m), n+m)
			if l != r {
				t.Fatalf("n=%d m=%d: %08x != %08x", n, m, l, r)
			}
		}
	}
}

func TestMulModP(t *testing.T) {
	one := uint32(1) << 31
	for _, a := range []uint32{0, one, 0xdeadbeef, 0xedb88320} {
		if mulModP(a, one) != a || mulModP(one, a) != a {
			t.Fatalf("1 is not the identity for %08x", a)
		}
	}
	if mulModP(0x12345678, 0x9abcdef0) != mulModP(0x9abcdef0, 0x12345678) {
		t.Fatal("not commutative")
	}
}
