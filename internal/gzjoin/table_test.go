package gzjoin

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// randomCompleteLengths returns code lengths of a random complete prefix
// code over n symbols, at most 15 bits; deep makes most codes long, to
// stress the sub-tables.
func randomCompleteLengths(r *rand.Rand, n int, deep bool) []uint8 {
	leaves := []uint8{0} // depths of a growing binary tree's leaves
	for len(leaves) < n {
		// Split a leaf shallower than 15: the deepest such with
		// probability 3/4 when deep, else a random one.
		var cand []int
		deepest := -1
		for i, d := range leaves {
			if d < maxCodeLen {
				cand = append(cand, i)
				if deepest < 0 || d > leaves[deepest] {
					deepest = i
				}
			}
		}
		i := cand[r.IntN(len(cand))]
		if deep && r.IntN(4) != 0 {
			i = deepest
		}
		leaves[i]++
		leaves = append(leaves, leaves[i])
	}
	lens := make([]uint8, n)
	for i, s := range r.Perm(n) {
		lens[s] = leaves[i]
	}
	return lens
}

// TestBuildTable decodes every code of random complete codes through the
// tables, including codes deep enough to fill the sub-tables.
func TestBuildTable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var lit [litTableSize]uint32
	var dist [distTableSize]uint32
	for iter := range 3000 {
		n, t2, root, payload := 286, lit[:], uint(litRootBits), litPayload[:286]
		if iter%2 == 1 {
			n, t2, root, payload = 30, dist[:], uint(distRootBits), distPayload[:30]
		}
		n = 2 + r.IntN(n-1)
		lens := randomCompleteLengths(r, n, iter%3 != 0)
		if !buildTable(t2, root, lens, payload) {
			t.Fatalf("complete code rejected: %v", lens)
		}
		checkTable(t, t2, root, lens, payload)
	}
	// Incomplete and over-subscribed codes are rejected, except the lone
	// 1-bit code and the empty code.
	if buildTable(lit[:], litRootBits, []uint8{1, 2}, litPayload[:]) {
		t.Fatal("incomplete code accepted")
	}
	if buildTable(lit[:], litRootBits, []uint8{1, 1, 1}, litPayload[:]) {
		t.Fatal("over-subscribed code accepted")
	}
	if buildTable(lit[:], litRootBits, []uint8{0, 2}, litPayload[:]) {
		t.Fatal("lone 2-bit code accepted")
	}
	if !buildTable(dist[:], distRootBits, []uint8{0, 1}, distPayload[:]) || dist[0] != distPayload[1]|1 || dist[1] != flagBad {
		t.Fatal("lone 1-bit code")
	}
	if !buildTable(dist[:], distRootBits, []uint8{0, 0}, distPayload[:]) || dist[0] != flagBad {
		t.Fatal("empty code")
	}
}

// TestTableSizeBound builds codes with as many maximal sub-tables as the
// alphabet allows: k root prefixes each holding a complete subtree of depth
// 15-root (codes of lengths root+1 .. 15, and 15 again), the other root
// slots covered by as few short codes as possible (one per set bit of their
// count).
func TestTableSizeBound(t *testing.T) {
	var lit [litTableSize]uint32
	var dist [distTableSize]uint32
	for _, c := range []struct {
		t       []uint32
		root    int
		payload []uint32
	}{{lit[:], litRootBits, litPayload[:286]}, {dist[:], distRootBits, distPayload[:30]}} {
		d := maxCodeLen - c.root
		maxK := 0
		for k := 1; ; k++ {
			free := 1<<c.root - k
			if k*(d+1)+bits.OnesCount(uint(free)) > len(c.payload) {
				break
			}
			var lens []uint8
			for range k {
				for l := c.root + 1; l <= maxCodeLen; l++ {
					lens = append(lens, uint8(l))
				}
				lens = append(lens, maxCodeLen)
			}
			for b := c.root; b >= 0; b-- {
				if free&(1<<b) != 0 {
					lens = append(lens, uint8(c.root-b)) // covers 2^b root slots
				}
			}
			lens = append(lens, make([]uint8, len(c.payload)-len(lens))...)
			if !buildTable(c.t, uint(c.root), lens, c.payload) {
				t.Fatalf("root %d with %d deepest sub-tables: rejected", c.root, k)
			}
			checkTable(t, c.t, uint(c.root), lens, c.payload)
			maxK = k
		}
		used := 1<<c.root + maxK<<d
		if used > len(c.t) || maxK == 0 {
			t.Fatalf("root %d: %d entries for %d sub-tables, table holds %d", c.root, used, maxK, len(c.t))
		}
		t.Logf("root %d: %d sub-tables of %d entries, %d of %d entries used", c.root, maxK, 1<<d, used, len(c.t))
	}
}

// checkTable looks every code up, followed by random bits, and checks the
// entry's length and payload.
func checkTable(t *testing.T, table []uint32, root uint, lens []uint8, payload []uint32) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(len(lens)), 3))
	codes := canonical(lens)
	for s, l := range lens {
		if l == 0 {
			continue
		}
		in := uint64(reverse(codes[s], uint(l))) | r.Uint64()<<l
		e := table[in&(1<<root-1)]
		if e&flagSub != 0 {
			e = table[e>>16+uint32(in>>root)&(1<<(e>>4&15)-1)]
		}
		if e&15 != uint32(l) || e&^15 != payload[s] {
			t.Fatalf("symbol %d (length %d): entry %08x", s, l, e)
		}
	}
}
