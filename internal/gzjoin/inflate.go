package gzjoin

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

const (
	maxMatch = 258
	// fastSlack is how far past the end of a copy the fast path may write:
	// it copies 8 bytes at a time.
	fastSlack = 8
	// maxRatio bounds the expansion of DEFLATE: a length/distance pair
	// producing 258 bytes takes at least 2 bits (a 1-bit length code and a
	// 1-bit distance code). Used to clamp untrusted size hints.
	maxRatio = 258 * 4
)

// Inflater decodes DEFLATE data held in memory. It owns the Huffman decoding
// tables (about 14 KiB), so reusing one avoids allocating and re-faulting
// them for every request; the package-level [Gunzip] and [Inflate] keep
// Inflaters in a sync.Pool. The zero value is ready to use. An Inflater is
// not safe for concurrent use.
type Inflater struct {
	lit  [litTableSize]uint32
	dist [distTableSize]uint32
	clen [1 << clenRootBits]uint32
	lens [maxLitCodes + maxDistCodes]uint8

	// State of the call in progress. It lives here rather than in arguments
	// so that the helpers share it; the hot loop copies it into locals.
	src   []byte
	pos   int    // next byte of src to load into bits
	bits  uint64 // input bits not yet consumed, next bit lowest
	nbits int    // how many bits of bits are valid

	out         []byte // output; all of len(out) is usable buffer, out[:op] is written
	op          int
	base        int // len(dst): returned on error
	opLimit     int // op may not pass this: len(dst) + limit
	streamStart int // op when the current DEFLATE stream began
}

// Inflate decodes the raw DEFLATE stream (RFC 1951) at the start of src,
// appending the decompressed bytes to dst, and returns the extended slice
// and the [Segment] describing the stream. Bytes after the end of the stream
// are ignored, as compress/flate ignores them; Segment.Data is the consumed
// part of src, and aliases it.
//
// It fails with an error wrapping [ErrTooLarge] as soon as more than limit
// bytes would be produced (a negative limit means no limit), and with one
// wrapping [ErrFormat] (and io.ErrUnexpectedEOF if src ends early) for input
// compress/flate rejects. On error, the returned slice has dst's length but
// may be a grown copy of it (so that a caller reusing its buffer keeps the
// capacity); its bytes past that length are unspecified.
func (d *Inflater) Inflate(dst, src []byte, limit int) ([]byte, Segment, error) {
	d.begin(dst, src, limit, 0)
	d.pos = 0
	finalBit, endBit, err := d.stream()
	if err != nil {
		return d.fail(), Segment{}, err
	}
	out := d.out[:d.op]
	d.release()
	n := (endBit + 7) >> 3
	data := src[:n:n]
	body := out[len(dst):]
	return out, Segment{
		Data:     data,
		FinalBit: finalBit,
		EndBit:   endBit,
		CRC:      crc32.ChecksumIEEE(body),
		Size:     len(body),
	}, nil
}

// begin prepares the output buffer and limit for a call. hint, if positive,
// is the expected output size (from a gzip trailer): untrusted, so it is
// clamped by the limit and by what src could possibly expand to.
func (d *Inflater) begin(dst, src []byte, limit, hint int) {
	d.src = src
	d.bits, d.nbits = 0, 0
	d.out = dst[:cap(dst)]
	d.op = len(dst)
	d.base = len(dst)
	if limit < 0 || limit > math.MaxInt-len(dst) {
		d.opLimit = math.MaxInt
	} else {
		d.opLimit = len(dst) + limit
	}
	if hint <= 0 {
		// Compressed OTLP typically expands 4-10 times; growing from there
		// costs few copies.
		hint = 4 * len(src)
	}
	if len(src) < math.MaxInt/maxRatio {
		hint = min(hint, len(src)*maxRatio+maxMatch)
	}
	hint = min(hint, d.opLimit-d.op)
	if hint > len(d.out)-d.op {
		d.grow(hint)
	}
}

// release drops the references to the caller's memory, so that a pooled
// Inflater does not keep it alive.
func (d *Inflater) release() {
	d.src, d.out = nil, nil
}

// fail releases the buffers and returns what a failed call returns.
func (d *Inflater) fail() []byte {
	out := d.out[:d.base]
	d.release()
	return out
}

// grow makes room for at least n bytes past d.op. The caller has checked n
// against the limit. It at least doubles the buffer, to keep the copying
// linear, but does not allocate past the limit.
func (d *Inflater) grow(n int) {
	need := d.op + n
	size := max(2*len(d.out), need, 4096)
	if size > d.opLimit {
		size = max(d.opLimit, need)
	}
	out := make([]byte, size)
	copy(out, d.out[:d.op])
	d.out = out
}

// reserve makes room for n more bytes at op, failing if they would pass the
// limit.
func (d *Inflater) reserve(op, n int) error {
	if n > d.opLimit-op {
		return errTooLarge(d.consumed())
	}
	if n > len(d.out)-op {
		d.op = op
		d.grow(n)
	}
	return nil
}

// safeEnd is the output position up to which the hot loop may write a whole
// match, slack included, without checking room or limit.
func (d *Inflater) safeEnd() int {
	return min(len(d.out)-fastSlack, d.opLimit) - maxMatch
}

// consumed is the byte offset in src of the first bit not consumed, for
// error messages.
func (d *Inflater) consumed() int {
	return d.pos - d.nbits/8
}

// refill tops the bit buffer up to at least 56 bits, or to all that remains
// of src.
func (d *Inflater) refill() {
	if d.pos+8 <= len(d.src) {
		// Load 8 bytes; keep only whole ones. The bits above nbits that the
		// load brings in belong to the byte at the new pos, which the next
		// refill ORs in again at the same place, so they can stay.
		d.bits |= binary.LittleEndian.Uint64(d.src[d.pos:]) << (uint(d.nbits) & 63)
		d.pos += (63 - d.nbits) >> 3
		d.nbits |= 56
		return
	}
	for d.nbits <= 56 && d.pos < len(d.src) {
		d.bits |= uint64(d.src[d.pos]) << (uint(d.nbits) & 63)
		d.pos++
		d.nbits += 8
	}
}

// need refills and reports whether at least n bits are available.
func (d *Inflater) need(n int) bool {
	if d.nbits < n {
		d.refill()
	}
	return d.nbits >= n
}

func (d *Inflater) consume(n int) {
	d.bits >>= uint(n) & 63
	d.nbits -= n
}

// stream decodes one DEFLATE stream from d.pos on (the bit buffer must be
// empty), appending to the output, and returns the bit offsets, in src, of
// its last block's BFINAL bit and of its end.
func (d *Inflater) stream() (finalBit, endBit int, err error) {
	d.streamStart = d.op
	for {
		if !d.need(3) {
			return 0, 0, errTruncated(len(d.src))
		}
		hdr := d.pos*8 - d.nbits
		final := d.bits&1 != 0
		typ := d.bits >> 1 & 3
		d.consume(3)
		switch typ {
		case 0:
			err = d.stored()
		case 1:
			err = d.huffman(&fixedLit, &fixedDist)
		case 2:
			if err = d.dynamic(); err == nil {
				err = d.huffman(&d.lit, &d.dist)
			}
		default:
			err = errCorrupt("reserved block type", hdr/8)
		}
		if err != nil {
			return 0, 0, err
		}
		if final {
			return hdr, d.pos*8 - d.nbits, nil
		}
	}
}

// stored copies a stored block (RFC 1951 3.2.4), its header bits consumed.
func (d *Inflater) stored() error {
	// The block's LEN starts at the next byte boundary; the bits skipped
	// are ignored, as compress/flate ignores them. Going back to byte
	// addressing is simplest: nbits is then a multiple of 8.
	p := d.pos - d.nbits>>3
	d.bits, d.nbits = 0, 0
	src := d.src
	if len(src)-p < 4 {
		return errTruncated(len(src))
	}
	n := int(binary.LittleEndian.Uint16(src[p:]))
	if uint16(n) != ^binary.LittleEndian.Uint16(src[p+2:]) {
		return errCorrupt("stored block length check", p)
	}
	p += 4
	if len(src)-p < n {
		return errTruncated(len(src))
	}
	if err := d.reserve(d.op, n); err != nil {
		return err
	}
	d.op += copy(d.out[d.op:], src[p:p+n])
	d.pos = p + n
	return nil
}

// clenOrder is the order code-length code lengths are sent in (RFC 1951 3.2.7).
var clenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamic reads a dynamic block's code definitions (RFC 1951 3.2.7) into
// d.lit and d.dist, with compress/flate's validation.
func (d *Inflater) dynamic() error {
	if !d.need(14) {
		return errTruncated(len(d.src))
	}
	nlit := int(d.bits&31) + 257
	ndist := int(d.bits>>5&31) + 1
	nclen := int(d.bits>>10&15) + 4
	d.consume(14)
	if nlit > maxLitCodes || ndist > maxDistCodes {
		return errCorrupt("too many length or distance codes", d.consumed())
	}

	var cl [19]uint8
	for _, s := range clenOrder[:nclen] {
		if !d.need(3) {
			return errTruncated(len(d.src))
		}
		cl[s] = uint8(d.bits & 7)
		d.consume(3)
	}
	if !buildTable(d.clen[:], clenRootBits, cl[:], clenPayload[:]) {
		return errCorrupt("invalid code-length code", d.consumed())
	}

	n := nlit + ndist
	lens := d.lens[:n]
	for i := 0; i < n; {
		// A code-length code (7 bits at most) and its repeat count (7 bits
		// at most).
		if d.nbits < 14 {
			d.refill()
		}
		e := d.clen[d.bits&(1<<clenRootBits-1)]
		l := int(e & 15)
		if e&flagBad != 0 || l > d.nbits {
			if d.nbits < clenRootBits && d.pos == len(d.src) {
				return errTruncated(len(d.src))
			}
			return errCorrupt("invalid code-length symbol", d.consumed())
		}
		d.consume(l)
		sym := uint8(e >> 16)
		if sym < 16 {
			lens[i] = sym
			i++
			continue
		}
		var rep, nb int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return errCorrupt("repeat with no previous length", d.consumed())
			}
			rep, nb, val = 3, 2, lens[i-1]
		case 17:
			rep, nb = 3, 3
		default:
			rep, nb = 11, 7
		}
		if d.nbits < nb {
			return errTruncated(len(d.src))
		}
		rep += int(d.bits & (1<<nb - 1))
		d.consume(nb)
		if rep > n-i {
			return errCorrupt("code lengths overflow", d.consumed())
		}
		for ; rep > 0; rep-- {
			lens[i] = val
			i++
		}
	}
	if lens[256] == 0 {
		// The block could never end; compress/flate would fail at the end
		// of the input (or on a bad code), so fail now.
		return errCorrupt("no end-of-block code", d.consumed())
	}
	if !buildTable(d.lit[:], litRootBits, lens[:nlit], litPayload[:]) {
		return errCorrupt("invalid literal/length code", d.consumed())
	}
	if !buildTable(d.dist[:], distRootBits, lens[nlit:], distPayload[:]) {
		return errCorrupt("invalid distance code", d.consumed())
	}
	return nil
}

// huffman decodes the symbols of a Huffman-coded block up to and including
// its end-of-block code.
//
// This is the hot loop; it has two kinds of iterations. While 15 bytes of
// input remain and the output is below safeEnd (where a match and its slack
// fit in the buffer and under the limit), a fast iteration decodes up to
// three literals, or literals and a match, with no check per field: see the
// comment there. Otherwise a general iteration decodes one symbol with
// every check. Near the end of the input its refill gets what there is and
// bits beyond it read as zeros; nbits then goes negative if a symbol used
// bits that are not there, which is checked before the symbol takes effect.
// (A lookup on zero-padded bits finds either the right entry or one longer
// than the bits present: canonical codes are prefix-free, so the padding
// cannot complete a shorter code by accident.) So the decoder never needs a
// byte past the end of the stream, which is what makes the end exact, as
// with compress/flate.
func (d *Inflater) huffman(lt *[litTableSize]uint32, dt *[distTableSize]uint32) (err error) {
	src, pos, bits, nbits := d.src, d.pos, d.bits, d.nbits
	out, op := d.out, d.op
	safeEnd := d.safeEnd()
	streamStart := d.streamStart
	for {
		if pos <= len(src)-15 && op < safeEnd-2 {
			// Fast iteration: input for two 8-byte loads (the second at
			// most 7 bytes further), output for three literals and a
			// match. A refill gives at least 56 bits: three literal
			// codes (15 bits at most each) leave 11, enough for a
			// length's extra bits (5) after a third code; the distance
			// gets a refill of its own.
			bits |= binary.LittleEndian.Uint64(src[pos:]) << (uint(nbits) & 63)
			pos += (63 - nbits) >> 3
			nbits |= 56
			e := lt[bits&(1<<litRootBits-1)]
			if e&flagSub != 0 {
				e = lt[e>>16+uint32(bits>>litRootBits)&(1<<(e>>4&15)-1)]
			}
			bits >>= e & 15
			nbits -= int(e & 15)
			if e&(flagLen|flagEOB|flagBad) == 0 {
				out[op] = byte(e >> 16)
				op++
				e = lt[bits&(1<<litRootBits-1)]
				if e&flagSub != 0 {
					e = lt[e>>16+uint32(bits>>litRootBits)&(1<<(e>>4&15)-1)]
				}
				bits >>= e & 15
				nbits -= int(e & 15)
				if e&(flagLen|flagEOB|flagBad) == 0 {
					out[op] = byte(e >> 16)
					op++
					e = lt[bits&(1<<litRootBits-1)]
					if e&flagSub != 0 {
						e = lt[e>>16+uint32(bits>>litRootBits)&(1<<(e>>4&15)-1)]
					}
					bits >>= e & 15
					nbits -= int(e & 15)
					if e&(flagLen|flagEOB|flagBad) == 0 {
						out[op] = byte(e >> 16)
						op++
						continue
					}
				}
			}
			if e&flagLen == 0 {
				if e&flagEOB == 0 {
					err = errCorrupt("invalid literal/length code", pos-nbits/8)
				}
				break
			}
			extra := e >> 4 & 15
			length := int(e>>16) + int(bits&(1<<extra-1))
			bits >>= extra
			nbits -= int(extra)

			bits |= binary.LittleEndian.Uint64(src[pos:]) << (uint(nbits) & 63)
			pos += (63 - nbits) >> 3
			nbits |= 56
			e = dt[bits&(1<<distRootBits-1)]
			if e&flagSub != 0 {
				e = dt[e>>16+uint32(bits>>distRootBits)&(1<<(e>>4&15)-1)]
			}
			bits >>= e & 15
			nbits -= int(e & 15)
			extra = e >> 4 & 15
			dist := int(e>>16) + int(bits&(1<<extra-1))
			bits >>= extra
			nbits -= int(extra)
			if e&flagBad != 0 {
				err = errCorrupt("invalid distance code", pos-nbits/8)
				break
			}
			if dist > op-streamStart {
				err = errCorrupt("distance too far back", pos-nbits/8)
				break
			}
			if dist >= 8 {
				// See copyMatch.
				s := op - dist
				for i := 0; i < length; i += 8 {
					binary.LittleEndian.PutUint64(out[op+i:], binary.LittleEndian.Uint64(out[s+i:]))
				}
			} else {
				copyOverlap(out, op, dist, length)
			}
			op += length
			continue
		}

		// General iteration, one symbol, with all checks.
		if pos+8 <= len(src) {
			bits |= binary.LittleEndian.Uint64(src[pos:]) << (uint(nbits) & 63)
			pos += (63 - nbits) >> 3
			nbits |= 56
		} else {
			for nbits <= 56 && pos < len(src) {
				bits |= uint64(src[pos]) << (uint(nbits) & 63)
				pos++
				nbits += 8
			}
		}

		e := lt[bits&(1<<litRootBits-1)]
		if e&flagSub != 0 {
			e = lt[e>>16+uint32(bits>>litRootBits)&(1<<(e>>4&15)-1)]
		}
		bits >>= e & 15
		nbits -= int(e & 15)

		if e&(flagLen|flagEOB|flagBad) == 0 {
			// Literal.
			if op >= safeEnd || nbits < 0 {
				if nbits < 0 {
					err = errTruncated(len(src))
					break
				}
				d.pos, d.nbits = pos, nbits
				if err = d.reserve(op, 1); err != nil {
					break
				}
				out, safeEnd = d.out, d.safeEnd()
			}
			out[op] = byte(e >> 16)
			op++
			continue
		}

		if e&flagLen == 0 {
			if nbits < 0 {
				err = errTruncated(len(src))
			} else if e&flagEOB == 0 {
				err = errCorrupt("invalid literal/length code", pos-nbits/8)
			}
			break
		}

		// Length, then distance.
		extra := e >> 4 & 15
		length := int(e>>16) + int(bits&(1<<extra-1))
		bits >>= extra
		nbits -= int(extra)

		e = dt[bits&(1<<distRootBits-1)]
		if e&flagSub != 0 {
			e = dt[e>>16+uint32(bits>>distRootBits)&(1<<(e>>4&15)-1)]
		}
		bits >>= e & 15
		nbits -= int(e & 15)
		extra = e >> 4 & 15
		dist := int(e>>16) + int(bits&(1<<extra-1))
		bits >>= extra
		nbits -= int(extra)
		if nbits < 0 {
			err = errTruncated(len(src))
			break
		}
		if e&flagBad != 0 {
			err = errCorrupt("invalid distance code", pos-nbits/8)
			break
		}
		if dist > op-streamStart {
			// Also what makes each stream decodable on its own, and so
			// safe to splice.
			err = errCorrupt("distance too far back", pos-nbits/8)
			break
		}

		if op >= safeEnd {
			d.pos, d.nbits = pos, nbits
			if err = d.reserve(op, length); err != nil {
				break
			}
			out, safeEnd = d.out, d.safeEnd()
			copyOverlap(out, op, dist, length)
			op += length
			continue
		}
		copyMatch(out, op, dist, length)
		op += length
	}
	d.pos, d.bits, d.nbits = pos, bits, nbits
	d.out, d.op = out, op
	return err
}

// copyMatch copies a match in the fast path, where out has fastSlack bytes
// of room past the match's end.
func copyMatch(out []byte, op, dist, length int) {
	if dist < 8 {
		copyOverlap(out, op, dist, length)
		return
	}
	// 8 bytes at a time, overshooting by up to 7 bytes into the slack.
	// Each load ends at or before the position it is stored to, so it
	// reads bytes already written, as an overlapping match requires.
	s := op - dist
	for i := 0; i < length; i += 8 {
		binary.LittleEndian.PutUint64(out[op+i:], binary.LittleEndian.Uint64(out[s+i:]))
	}
}

// copyOverlap copies length bytes from dist bytes back to out[op:], with
// the overlap semantics of LZ77: the copy repeats the last dist bytes. Each
// step copies everything from the source start to the current end, which is
// a whole number of periods, so the copied span doubles each time.
func copyOverlap(out []byte, op, dist, length int) {
	s := op - dist
	end := op + length
	for op < end {
		op += copy(out[op:end], out[s:op])
	}
}
