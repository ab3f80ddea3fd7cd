package gzjoin

import "math/bits"

// Decoding tables.
//
// A DEFLATE Huffman code is read one bit at a time starting with the code's
// most significant bit, while the bit buffer is filled least significant bit
// first. So the next k input bits, taken as a number, are the bit-reversed
// first k bits of the code. The tables are indexed with those numbers: the
// primary table with the next rootBits bits, and a code of length L <= rootBits
// fills every 2^(rootBits-L)-th entry sharing its reversed low L bits. Longer
// codes are grouped by their first rootBits bits into a sub-table per group,
// sized for the group's longest code and indexed by the bits that follow.
// One lookup (two for long codes) then yields everything the decoder needs:
// how many bits to consume and what the symbol means.
//
// Entry layout (uint32):
//
//	bits  0-3   code length in bits (the total length, also in sub-tables)
//	bits  4-7   extra bits to read after the code (lengths, distances), or the
//	            index width of the sub-table an entry with flagSub points to
//	bits  8-11  flags
//	bits 16-31  the value: a literal byte, a length or distance base, a
//	            code-length symbol, or a sub-table offset
const (
	flagLen = 1 << 8  // a length symbol (257..285): a distance follows
	flagEOB = 1 << 9  // end of block (256)
	flagSub = 1 << 10 // link to a sub-table
	flagBad = 1 << 11 // no such code, or a symbol DEFLATE forbids (286, 287; distances 30, 31)

	litRootBits  = 10
	distRootBits = 8
	clenRootBits = 7 // code-length codes are at most 7 bits long: never a sub-table

	// Table sizes. A sub-table whose longest code is d bits past the root
	// holds 2^d entries and at least d+1 codes (a complete binary tree of
	// depth d has at least d+1 leaves), and all trees reaching sub-tables are
	// complete (see buildTable). So with n symbols and codes of at most 15
	// bits, the sub-tables hold at most n*2^d/(d+1) entries with
	// d = 15-rootBits: 286*32/6 < 1526 for literal/length codes, 30*128/8 =
	// 480 for distance codes. buildTable also checks the bound, so a mistake
	// here yields an error, never a panic.
	litTableSize  = 1<<litRootBits + 1526
	distTableSize = 1<<distRootBits + 480

	maxLitCodes  = 286 // literal/length symbols a dynamic block may define (RFC 1951 3.2.7)
	maxDistCodes = 30  // distance symbols a dynamic block may define
	maxCodeLen   = 15
)

// Per-symbol table payloads: the entry without its code length.
var (
	litPayload  [288]uint32
	distPayload [32]uint32
	clenPayload [19]uint32

	// The fixed codes of RFC 1951 section 3.2.6, built once.
	fixedLit  [litTableSize]uint32
	fixedDist [distTableSize]uint32
)

func init() {
	for s := 0; s < 256; s++ {
		litPayload[s] = uint32(s) << 16
	}
	litPayload[256] = flagEOB
	// Lengths (RFC 1951 3.2.5): 257..264 are 3..10 with no extra bits; from
	// 265 on, each group of four codes doubles the step and adds an extra bit;
	// 285 is 258.
	for s := 257; s < 285; s++ {
		base, extra := s-254, 0
		if s >= 265 {
			extra = (s - 261) / 4
			base = (4+(s-265)&3)<<extra + 3
		}
		litPayload[s] = flagLen | uint32(extra)<<4 | uint32(base)<<16
	}
	litPayload[285] = flagLen | 258<<16
	litPayload[286] = flagBad
	litPayload[287] = flagBad
	// Distances: 0..3 are 1..4; from 4 on, each pair doubles the step and
	// adds an extra bit.
	for s := 0; s < 30; s++ {
		base, extra := s+1, 0
		if s >= 4 {
			extra = (s - 2) / 2
			base = (2+s&1)<<extra + 1
		}
		distPayload[s] = uint32(extra)<<4 | uint32(base)<<16
	}
	distPayload[30] = flagBad
	distPayload[31] = flagBad
	for s := range clenPayload {
		clenPayload[s] = uint32(s) << 16
	}

	var lens [288]uint8
	for s := range lens {
		switch {
		case s < 144:
			lens[s] = 8
		case s < 256:
			lens[s] = 9
		case s < 280:
			lens[s] = 7
		default:
			lens[s] = 8
		}
	}
	if !buildTable(fixedLit[:], litRootBits, lens[:], litPayload[:]) {
		panic("gzjoin: bad fixed literal/length code")
	}
	for s := range 32 {
		lens[s] = 5
	}
	if !buildTable(fixedDist[:], distRootBits, lens[:32], distPayload[:]) {
		panic("gzjoin: bad fixed distance code")
	}
}

// buildTable fills t with the decoding table of the canonical Huffman code
// with the given code lengths (0 = symbol unused), rooted at rootBits bits;
// payload[s] is the entry for symbol s without its length. It reports false
// for code lengths compress/flate rejects: an over-subscribed code, or an
// incomplete one other than a single code of length 1. An empty code (all
// lengths 0) is accepted, as it is valid for distances when no match is used;
// every lookup in it then hits flagBad, as does every unused code of the
// single-code case.
func buildTable(t []uint32, rootBits uint, lens []uint8, payload []uint32) bool {
	var count [maxCodeLen + 1]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	// Kraft sum, counted in unused codes at each depth.
	left, total, maxLen := 1, 0, 0
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return false // over-subscribed
		}
		total += count[l]
		if count[l] != 0 {
			maxLen = l
		}
	}
	size := 1 << rootBits
	if left != 0 {
		// Incomplete. compress/flate (like zlib) accepts a lone code of
		// length 1, which an encoder emits when only one distance (or only
		// the end-of-block symbol) is used, and the empty code.
		if total != 0 && !(total == 1 && count[1] == 1) {
			return false
		}
		for i := range t[:size] {
			t[i] = flagBad
		}
		if total == 0 {
			return true
		}
	}

	// Canonical codes (RFC 1951 3.2.2): codes of one length are consecutive
	// in symbol order, and follow all shorter codes, left-justified.
	var next [maxCodeLen + 1]uint32
	code := uint32(0)
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + uint32(count[l-1])) << 1
		next[l] = code
	}

	// Short codes fill the primary table directly.
	for s, l := range lens {
		if l == 0 || uint(l) > rootBits {
			continue
		}
		c := next[l]
		next[l]++
		e := payload[s] | uint32(l)
		for i := int(reverse(c, uint(l))); i < size; i += 1 << l {
			t[i] = e
		}
	}
	if maxLen <= int(rootBits) {
		return true
	}

	// Long codes, in canonical order (by length, then symbol), so that codes
	// sharing their first rootBits bits come one after another. remaining[l]
	// counts the codes of length l not yet placed.
	remaining := count
	end := size
	prefix := -1
	var subBase, subSize int
	for l := int(rootBits) + 1; l <= maxLen; l++ {
		for s, sl := range lens {
			if int(sl) != l {
				continue
			}
			c := next[l]
			next[l]++
			rev := reverse(c, uint(l))
			if g := int(rev) & (size - 1); g != prefix {
				// First code of a new group: its sub-table must reach the
				// group's longest code. The remaining codes, shortest first,
				// fill the group from its start; find the depth at which
				// those no longer than it cover all of it.
				prefix = g
				d := l - int(rootBits)
				free := 1 << d
				for d+int(rootBits) < maxLen {
					free -= remaining[d+int(rootBits)]
					if free <= 0 {
						break
					}
					d++
					free <<= 1
				}
				subBase, subSize = end, 1<<d
				end += subSize
				if end > len(t) {
					return false // cannot happen, see litTableSize
				}
				t[g] = flagSub | uint32(d)<<4 | uint32(subBase)<<16 | uint32(rootBits)
			}
			remaining[l]--
			e := payload[s] | uint32(l)
			for i := int(rev >> rootBits); i < subSize; i += 1 << (l - int(rootBits)) {
				t[subBase+i] = e
			}
		}
	}
	return true
}

// reverse returns the low n bits of c in reverse order.
func reverse(c uint32, n uint) uint32 {
	return uint32(bits.Reverse16(uint16(c))) >> (16 - n)
}
