package gzjoin

import (
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strconv"
)

// Joiner writes one gzip member (RFC 1952) whose DEFLATE stream is made of
// spliced [Segment]s and freshly compressed runs of raw bytes, in the order
// they are given, in any mix. Reading the member back yields the
// concatenation of the parts' decompressed bytes.
//
// Joiners are meant to be reused with [Joiner.Reset]: joining segments then
// allocates nothing, and the flate.Writer kept for raw runs (which is large)
// is created once, on the first raw byte. A Joiner writes directly to its
// io.Writer, in small pieces: give it a buffer, not a socket. It is not safe
// for concurrent use.
type Joiner struct {
	w     io.Writer
	level int
	fw    *flate.Writer // for raw runs, created when first needed

	started bool // gzip header written
	inRaw   bool // a raw run is open in fw
	closed  bool
	err     error // sticky write error

	crc  uint32 // CRC-32 of everything joined so far
	size uint32 // total size so far, mod 2^32 as ISIZE is

	buf [10]byte // header, trailer and the edited bytes of a segment
}

// NewJoiner returns a Joiner writing to w, compressing raw runs at level,
// one of compress/flate's levels (flate.HuffmanOnly to flate.BestCompression,
// or flate.DefaultCompression).
func NewJoiner(w io.Writer, level int) (*Joiner, error) {
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return nil, errors.New("gzjoin: invalid compression level " + strconv.Itoa(level))
	}
	return &Joiner{w: w, level: level}, nil
}

// Reset discards the Joiner's state and makes it write a new member to w,
// keeping its level and its flate.Writer.
func (j *Joiner) Reset(w io.Writer) {
	*j = Joiner{w: w, level: j.level, fw: j.fw}
}

// errClosed is returned for use of a closed Joiner.
var errClosed = errors.New("gzjoin: Joiner used after Close")

// ready checks that the Joiner can write and writes the gzip header first.
func (j *Joiner) ready() error {
	if j.err != nil {
		return j.err
	}
	if j.closed {
		return errClosed
	}
	if j.started {
		return nil
	}
	j.started = true
	// ID1 ID2 CM FLG MTIME(4) XFL OS, as compress/gzip writes a header with
	// no fields set: OS 255 is "unknown".
	h := j.buf[:10]
	h[0], h[1], h[2], h[3] = gzipID1, gzipID2, gzipCM, 0
	binary.LittleEndian.PutUint32(h[4:8], 0)
	h[8], h[9] = 0, 255
	switch j.level {
	case flate.BestSpeed:
		h[8] = 4
	case flate.BestCompression:
		h[8] = 2
	}
	return j.write(h)
}

func (j *Joiner) write(p []byte) error {
	if _, err := j.w.Write(p); err != nil {
		j.err = err
		return err
	}
	return nil
}

// Write compresses p as (part of) a raw run with compress/flate. Consecutive
// Writes form one run, one DEFLATE stream that ends when a segment follows.
func (j *Joiner) Write(p []byte) (int, error) {
	if err := j.ready(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !j.inRaw {
		// A fresh stream, not a continuation: after a segment, the
		// previous run's history is no longer the preceding output, so
		// matches into it would decode wrongly.
		if j.fw == nil {
			fw, err := flate.NewWriter(j.w, j.level)
			if err != nil {
				return 0, err // not reached: NewJoiner checked the level
			}
			j.fw = fw
		} else {
			j.fw.Reset(j.w)
		}
		j.inRaw = true
	}
	n, err := j.fw.Write(p)
	j.crc = crc32.Update(j.crc, crc32.IEEETable, p[:n])
	j.size += uint32(n)
	if err != nil {
		j.err = err
	}
	return n, err
}

// endRaw ends an open raw run with a sync flush: compress/flate then emits
// a non-final empty stored block, which leaves the stream byte-aligned and
// open for what follows. (Close would mark a block final.)
func (j *Joiner) endRaw() error {
	if !j.inRaw {
		return nil
	}
	j.inRaw = false
	if err := j.fw.Flush(); err != nil {
		j.err = err
		return err
	}
	return nil
}

// check reports whether s is consistent: Data ends with the byte holding
// the last bit, and the bit at FinalBit is a set BFINAL bit at least a block
// header before the end.
func (s *Segment) check() error {
	if s.EndBit <= 0 || s.FinalBit < 0 || s.FinalBit > s.EndBit-3 || s.Size < 0 ||
		len(s.Data) != (s.EndBit+7)>>3 {
		return errors.New("gzjoin: invalid segment: bit offsets do not fit Data")
	}
	if s.Data[s.FinalBit>>3]>>(s.FinalBit&7)&1 == 0 {
		return errors.New("gzjoin: invalid segment: BFINAL bit not set")
	}
	return nil
}

// AppendSegment splices s in as is: its bytes are written with the BFINAL
// bit of its last block cleared and the bits after its end zeroed, followed
// when the end is not on a byte boundary by an empty non-final stored block,
// whose header fills those bits and whose length fields start at the next
// byte boundary, so that what follows starts on one. s.Data is not modified
// (callers keep segments for retries). An inconsistent s is rejected with an
// error wrapping [ErrSegment] before anything is written.
func (j *Joiner) AppendSegment(s Segment) error {
	if err := s.check(); err != nil {
		return errors.Join(ErrSegment, err)
	}
	if err := j.ready(); err != nil {
		return err
	}
	if err := j.endRaw(); err != nil {
		return err
	}

	data := s.Data
	fb := s.FinalBit >> 3 // byte holding BFINAL
	last := len(data) - 1
	b := data[fb] &^ (1 << (s.FinalBit & 7))
	if fb > 0 {
		if err := j.write(data[:fb]); err != nil {
			return err
		}
	}
	if fb < last {
		j.buf[0] = b
		if err := j.write(j.buf[:1]); err != nil {
			return err
		}
		if fb+1 < last {
			if err := j.write(data[fb+1 : last]); err != nil {
				return err
			}
		}
		b = data[last]
	}
	tail := j.buf[:1]
	if used := s.EndBit & 7; used != 0 {
		tail[0] = b & (1<<used - 1)
		// Empty stored block: header bits 000 (not final, stored), which
		// the masked bits already are, then LEN 0 and NLEN 0xffff at the
		// next byte boundary. Only when fewer than 3 bits are left in the
		// last byte does the header spill into one more byte.
		if used > 5 {
			tail = append(tail, 0)
		}
		tail = append(tail, 0, 0, 0xff, 0xff)
	} else {
		tail[0] = b
	}
	if err := j.write(tail); err != nil {
		return err
	}
	j.crc = crc32Combine(j.crc, s.CRC, s.Size)
	j.size += uint32(s.Size)
	return nil
}

// Close ends the DEFLATE stream with a final block and writes the gzip
// trailer. It does not close the underlying writer. Closing a closed Joiner
// does nothing.
func (j *Joiner) Close() error {
	if j.closed && j.err == nil {
		return nil
	}
	if err := j.ready(); err != nil {
		return err
	}
	if j.inRaw {
		// The run's own final block ends the stream.
		j.inRaw = false
		if err := j.fw.Close(); err != nil {
			j.err = err
			return err
		}
	} else {
		// An empty final block: BFINAL 1, BTYPE 01 (fixed Huffman), then
		// the 7-bit all-zero end-of-block code.
		j.buf[0], j.buf[1] = 0x03, 0x00
		if err := j.write(j.buf[:2]); err != nil {
			return err
		}
	}
	binary.LittleEndian.PutUint32(j.buf[0:4], j.crc)
	binary.LittleEndian.PutUint32(j.buf[4:8], j.size)
	if err := j.write(j.buf[:8]); err != nil {
		return err
	}
	j.closed = true
	return nil
}
