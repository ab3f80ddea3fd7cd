package gzjoin

// A small DEFLATE encoder for tests. compress/flate always ends a stream
// with an empty stored block, so the other final block types, codes of
// unusual shapes (a single distance code, none at all, long codes) and
// hand-made broken streams come from here.

import (
	"container/heap"
	"encoding/binary"
	"hash/crc32"
	"math/bits"
	"sort"
)

// bitWriter writes bits least significant first, as DEFLATE packs them.
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

// code writes a Huffman code of length n, most significant bit first.
func (w *bitWriter) code(c uint32, n uint8) {
	w.bits(uint64(bits.Reverse32(c)>>(32-n)), uint(n))
}

func (w *bitWriter) align() {
	if w.n > 0 {
		w.bits(0, 8-w.n)
	}
}

// bitLen is the number of bits written.
func (w *bitWriter) bitLen() int { return len(w.buf)*8 + int(w.n) }

// bytes returns the output, the last partial byte padded with pad's bits.
func (w *bitWriter) bytes(pad byte) []byte {
	out := w.buf
	if w.n > 0 {
		out = append(out, byte(w.acc)|pad&^(1<<w.n-1))
	}
	return out
}

// token is a literal (dist 0) or a match.
type token struct {
	lit    byte
	length int
	dist   int
}

// lz77 tokenizes data greedily with a hash of 3 bytes, matches up to
// maxDist back.
func lz77(data []byte, maxDist int) []token {
	var toks []token
	head := make(map[uint32]int)
	for i := 0; i < len(data); {
		best, bestDist := 0, 0
		if i+3 <= len(data) {
			k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16
			if j, ok := head[k]; ok && i-j <= maxDist {
				n := 0
				for n < 258 && i+n < len(data) && data[j+n] == data[i+n] {
					n++
				}
				if n >= 3 {
					best, bestDist = n, i-j
				}
			}
			head[k] = i
		}
		if best > 0 {
			toks = append(toks, token{length: best, dist: bestDist})
			for m := i + 1; m < i+best && m+3 <= len(data); m++ {
				head[uint32(data[m])|uint32(data[m+1])<<8|uint32(data[m+2])<<16] = m
			}
			i += best
			continue
		}
		toks = append(toks, token{lit: data[i]})
		i++
	}
	return toks
}

func lengthSym(n int) (sym int, extra uint, val int) {
	if n == 258 {
		return 285, 0, 0
	}
	for s := 284; s >= 257; s-- {
		base := int(litPayload[s] >> 16)
		if n >= base {
			return s, uint(litPayload[s] >> 4 & 15), n - base
		}
	}
	panic("bad length")
}

func distSym(d int) (sym int, extra uint, val int) {
	for s := 29; s >= 0; s-- {
		base := int(distPayload[s] >> 16)
		if d >= base {
			return s, uint(distPayload[s] >> 4 & 15), d - base
		}
	}
	panic("bad distance")
}

// canonical returns the canonical codes for code lengths.
func canonical(lens []uint8) []uint32 {
	var count [16]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint32
	c := uint32(0)
	for l := 1; l < 16; l++ {
		c = (c + uint32(count[l-1])) << 1
		next[l] = c
	}
	codes := make([]uint32, len(lens))
	for s, l := range lens {
		if l != 0 {
			codes[s] = next[l]
			next[l]++
		}
	}
	return codes
}

type hnode struct {
	freq int
	syms []int
}
type hheap []hnode

func (h hheap) Len() int { return len(h) }
func (h hheap) Less(i, j int) bool {
	if h[i].freq != h[j].freq {
		return h[i].freq < h[j].freq
	}
	return h[i].syms[0] < h[j].syms[0]
}
func (h hheap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *hheap) Push(x any)   { *h = append(*h, x.(hnode)) }
func (h *hheap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// huffLengths computes Huffman code lengths of at most maxLen bits for
// freqs; a lone used symbol gets length 1 (the incomplete code DEFLATE
// allows), no used symbol gives all zeros.
func huffLengths(freqs []int, maxLen uint8) []uint8 {
	f := append([]int(nil), freqs...)
	for {
		lens := make([]uint8, len(f))
		h := &hheap{}
		for s, n := range f {
			if n > 0 {
				*h = append(*h, hnode{n, []int{s}})
			}
		}
		switch h.Len() {
		case 0:
			return lens
		case 1:
			lens[(*h)[0].syms[0]] = 1
			return lens
		}
		heap.Init(h)
		for h.Len() > 1 {
			a := heap.Pop(h).(hnode)
			b := heap.Pop(h).(hnode)
			for _, s := range a.syms {
				lens[s]++
			}
			for _, s := range b.syms {
				lens[s]++
			}
			syms := append(append([]int(nil), a.syms...), b.syms...)
			sort.Ints(syms)
			heap.Push(h, hnode{a.freq + b.freq, syms})
		}
		ok := true
		for _, l := range lens {
			if l > maxLen {
				ok = false
			}
		}
		if ok {
			return lens
		}
		for s := range f {
			if f[s] > 0 {
				f[s] = f[s]/2 + 1
			}
		}
	}
}

// writeStored writes data as stored blocks, the last one final if final.
func (w *bitWriter) writeStored(data []byte, final bool) {
	for {
		n := min(len(data), 65535)
		last := n == len(data)
		if last && final {
			w.bits(1, 1)
		} else {
			w.bits(0, 1)
		}
		w.bits(0, 2)
		w.align()
		w.bits(uint64(n), 16)
		w.bits(uint64(^uint16(n)), 16)
		for _, c := range data[:n] {
			w.bits(uint64(c), 8)
		}
		data = data[n:]
		if last {
			return
		}
	}
}

// writeFixed writes data as one fixed-Huffman block.
func (w *bitWriter) writeFixed(data []byte, final bool) {
	lens := fixedLitLens()
	lcodes := canonical(lens[:])
	dlens := make([]uint8, 30)
	for i := range dlens {
		dlens[i] = 5
	}
	dcodes := canonical(dlens)
	w.bits(b2u(final), 1)
	w.bits(1, 2)
	w.tokens(lz77(data, 32768), lens[:], lcodes, dlens, dcodes)
	w.code(lcodes[256], lens[256])
}

// fixedLitLens are the code lengths of the fixed literal/length code
// (RFC 1951 3.2.6), written out here apart from the decoder's own table.
func fixedLitLens() [288]uint8 {
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
	return lens
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func (w *bitWriter) tokens(toks []token, llens []uint8, lcodes []uint32, dlens []uint8, dcodes []uint32) {
	for _, t := range toks {
		if t.length == 0 {
			w.code(lcodes[t.lit], llens[t.lit])
			continue
		}
		s, eb, ev := lengthSym(t.length)
		w.code(lcodes[s], llens[s])
		w.bits(uint64(ev), eb)
		ds, deb, dev := distSym(t.dist)
		w.code(dcodes[ds], dlens[ds])
		w.bits(uint64(dev), deb)
	}
}

// dynOpts shape a dynamic block.
type dynOpts struct {
	maxDist  int  // match distance limit (0: 32768)
	noRLE    bool // send code lengths without repeat codes
	allLit   bool // give every literal a code, so long codes appear
	extraLen bool // send the maximal HLIT/HDIST (286/30) counts
}

// writeDynamic writes data as one dynamic-Huffman block.
func (w *bitWriter) writeDynamic(data []byte, final bool, o dynOpts) {
	if o.maxDist == 0 {
		o.maxDist = 32768
	}
	toks := lz77(data, o.maxDist)
	lf := make([]int, 286)
	df := make([]int, 30)
	for _, t := range toks {
		if t.length == 0 {
			lf[t.lit]++
			continue
		}
		s, _, _ := lengthSym(t.length)
		lf[s]++
		ds, _, _ := distSym(t.dist)
		df[ds]++
	}
	lf[256]++
	if o.allLit {
		for s := range 256 {
			lf[s] += 1 + s/16*(s/16)*(s/16)
		}
	}
	llens := huffLengths(lf, 15)
	dlens := huffLengths(df, 15)
	nlit, ndist := 286, 30
	if !o.extraLen {
		for nlit > 257 && llens[nlit-1] == 0 {
			nlit--
		}
		for ndist > 1 && dlens[ndist-1] == 0 {
			ndist--
		}
	}
	all := append(append([]uint8(nil), llens[:nlit]...), dlens[:ndist]...)
	// Run-length code the lengths (RFC 1951 3.2.7).
	type clsym struct {
		sym  int
		bits uint
		val  int
	}
	var cls []clsym
	for i := 0; i < len(all); {
		l := all[i]
		run := 1
		for i+run < len(all) && all[i+run] == l {
			run++
		}
		switch {
		case o.noRLE:
			run = 1
			cls = append(cls, clsym{int(l), 0, 0})
		case l == 0 && run >= 11:
			run = min(run, 138)
			cls = append(cls, clsym{18, 7, run - 11})
		case l == 0 && run >= 3:
			cls = append(cls, clsym{17, 3, min(run, 10) - 3})
			run = min(run, 10)
		case l != 0 && run >= 4:
			cls = append(cls, clsym{int(l), 0, 0})
			run = min(run-1, 6)
			cls = append(cls, clsym{16, 2, run - 3})
			run++
		default:
			run = 1
			cls = append(cls, clsym{int(l), 0, 0})
		}
		i += run
	}
	cf := make([]int, 19)
	for _, c := range cls {
		cf[c.sym]++
	}
	clens := huffLengths(cf, 7)
	ccodes := canonical(clens)
	nclen := 19
	for nclen > 4 && clens[clenOrder[nclen-1]] == 0 {
		nclen--
	}
	w.bits(b2u(final), 1)
	w.bits(2, 2)
	w.bits(uint64(nlit-257), 5)
	w.bits(uint64(ndist-1), 5)
	w.bits(uint64(nclen-4), 4)
	for _, s := range clenOrder[:nclen] {
		w.bits(uint64(clens[s]), 3)
	}
	for _, c := range cls {
		w.code(ccodes[c.sym], clens[c.sym])
		w.bits(uint64(c.val), c.bits)
	}
	lcodes := canonical(llens)
	dcodes := canonical(dlens)
	w.tokens(toks, llens, lcodes, dlens, dcodes)
	w.code(lcodes[256], llens[256])
}

// encKind selects how encodeStream codes each chunk.
type encKind int

const (
	encStored encKind = iota
	encFixed
	encDynamic
	encDynamicLong // dynamic with every literal coded: long codes, sub-tables
)

// encodeStream encodes data as a DEFLATE stream of blocks of the given
// kinds, cycling through kinds over chunks of chunk bytes (the whole data
// if chunk <= 0); the last block is final. pad fills the unused bits of the
// last byte (decoders must ignore them). It returns the stream and the
// bit offsets of the final block's header and of the end.
func encodeStream(data []byte, kinds []encKind, chunk int, pad byte) (out []byte, finalBit, endBit int) {
	var w bitWriter
	if chunk <= 0 {
		chunk = max(len(data), 1)
	}
	for i := 0; ; i++ {
		n := min(chunk, len(data))
		if kinds[i%len(kinds)] == encStored {
			n = min(n, 65535)
		}
		final := n == len(data)
		if final {
			finalBit = w.bitLen()
		}
		switch kinds[i%len(kinds)] {
		case encStored:
			w.writeStored(data[:n], final)
		case encFixed:
			w.writeFixed(data[:n], final)
		case encDynamic:
			w.writeDynamic(data[:n], final, dynOpts{})
		case encDynamicLong:
			w.writeDynamic(data[:n], final, dynOpts{allLit: true, noRLE: i%2 == 1, extraLen: i%3 == 2})
		}
		data = data[n:]
		if final {
			break
		}
	}
	endBit = w.bitLen()
	return w.bytes(pad), finalBit, endBit
}

// gzipWrap wraps a raw DEFLATE stream of data into a minimal gzip member.
func gzipWrap(stream, data []byte) []byte {
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}
	out = append(out, stream...)
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(data))
	return binary.LittleEndian.AppendUint32(out, uint32(len(data)))
}
