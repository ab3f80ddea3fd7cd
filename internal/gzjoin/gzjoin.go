// Package gzjoin decompresses in-memory gzip and DEFLATE data, recording
// where each DEFLATE stream's last block starts and ends, and joins such
// streams into one gzip member without recompressing them.
//
// It exists for lambdaotel-extension's receive-queue-export path. OTLP
// requests usually arrive gzip-compressed; the receiver has to decompress
// each one anyway, to check that it is a valid protobuf, and the exporter
// sends batches, each the concatenation of several requests, gzip-compressed
// again. Recompressing was a third of the extension's CPU. Instead, the
// receiver decodes with [Gunzip], which returns the data and a [Segment] per
// gzip member, and the queue keeps the compressed bytes; the exporter then
// writes a batch with a [Joiner], which splices the segments into a single
// gzip member (and compresses what has no segment, such as data that arrived
// uncompressed).
//
// Splicing works because a DEFLATE stream is a sequence of self-delimiting
// blocks and, as the decoder here enforces, never refers back to data before
// its own start. Clearing the BFINAL bit of a stream's last block and
// padding its end to a byte boundary with an empty stored block turns it
// into a prefix to which any other stream can be appended; the gzip trailer's
// CRC-32 is then combined from the parts' CRCs without reading the data
// again. compress/flate does not expose the bit positions this needs, hence
// the inflater here, which is also faster than compress/gzip's because it
// works on whole in-memory buffers: a 64-bit bit buffer loaded 8 bytes at a
// time, one-lookup Huffman tables, and matches copied within the output.
//
// Gunzip and Inflate accept exactly what compress/gzip.Reader (in its
// default multistream mode) and compress/flate accept, with the same output;
// only the errors differ.
package gzjoin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
)

// Segment is one complete raw DEFLATE stream and what splicing it needs.
// [Gunzip] and [Inflate] produce Segments; [Joiner.AppendSegment] consumes
// them.
type Segment struct {
	// Data is the DEFLATE stream, from its first byte to the byte holding
	// its last bit. Segments returned by this package alias their input,
	// with the capacity cut at the end so that appending cannot overwrite
	// it.
	Data []byte
	// FinalBit is the bit offset within Data (least significant bit first:
	// bit 0 is Data[0]&1) of the BFINAL bit of the stream's last block.
	FinalBit int
	// EndBit is the bit offset within Data just past the end of the last
	// block, so (EndBit+7)/8 == len(Data).
	EndBit int
	// CRC is the CRC-32 (IEEE) of the decompressed bytes.
	CRC uint32
	// Size is the number of decompressed bytes.
	Size int
}

var (
	// ErrFormat is wrapped by the errors for input that is not valid gzip or
	// DEFLATE data, truncation included (then io.ErrUnexpectedEOF is
	// wrapped too).
	ErrFormat = errors.New("gzjoin: invalid compressed data")
	// ErrChecksum is wrapped by the errors for a gzip member whose trailer
	// (CRC-32 or size) or header CRC does not match.
	ErrChecksum = errors.New("gzjoin: checksum mismatch")
	// ErrTooLarge is wrapped by the errors for output exceeding the caller's
	// limit: the defence against decompression bombs.
	ErrTooLarge = errors.New("gzjoin: decompressed size exceeds limit")
	// ErrSegment is wrapped by the errors for a Segment whose fields do not
	// describe a DEFLATE stream's end.
	ErrSegment = errors.New("gzjoin: invalid segment")
)

// decodeError is the error type of Gunzip and Inflate. Errors are built
// only when decoding fails, so valid input never allocates one.
type decodeError struct {
	kind error // ErrFormat, ErrChecksum or ErrTooLarge
	eof  bool  // the input ended early: also io.ErrUnexpectedEOF
	msg  string
	off  int // byte offset in the input where the problem was found
}

func (e *decodeError) Error() string {
	return e.kind.Error() + ": " + e.msg + " at input offset " + strconv.Itoa(e.off)
}

func (e *decodeError) Unwrap() []error {
	if e.eof {
		return []error{e.kind, io.ErrUnexpectedEOF}
	}
	return []error{e.kind}
}

func errCorrupt(msg string, off int) error {
	return &decodeError{kind: ErrFormat, msg: msg, off: off}
}

func errTruncated(off int) error {
	return &decodeError{kind: ErrFormat, eof: true, msg: "unexpected end of input", off: off}
}

func errTooLarge(off int) error {
	return &decodeError{kind: ErrTooLarge, msg: "output limit reached", off: off}
}

func errChecksum(msg string, off int) error {
	return &decodeError{kind: ErrChecksum, msg: msg, off: off}
}

var inflaters = sync.Pool{New: func() any { return new(Inflater) }}

// Gunzip is [Inflater.Gunzip] with an Inflater from a pool.
func Gunzip(dst, src []byte, limit int, segs []Segment) ([]byte, []Segment, error) {
	d := inflaters.Get().(*Inflater)
	out, segs, err := d.Gunzip(dst, src, limit, segs)
	inflaters.Put(d)
	return out, segs, err
}

// Inflate is [Inflater.Inflate] with an Inflater from a pool.
func Inflate(dst, src []byte, limit int) ([]byte, Segment, error) {
	d := inflaters.Get().(*Inflater)
	out, seg, err := d.Inflate(dst, src, limit)
	inflaters.Put(d)
	return out, seg, err
}

// gzip header (RFC 1952 2.3.1).
const (
	gzipID1  = 0x1f
	gzipID2  = 0x8b
	gzipCM   = 8 // deflate
	fHCRC    = 1 << 1
	fEXTRA   = 1 << 2
	fNAME    = 1 << 3
	fCOMMENT = 1 << 4
	// maxString is the most bytes, NUL included, compress/gzip reads for the
	// FNAME and FCOMMENT fields before giving up.
	maxString = 512
)

// Gunzip decompresses src, a whole gzip body of one or more members (RFC
// 1952) as compress/gzip.Reader reads it by default, appending the
// decompressed bytes to dst; it returns the extended slice and, appended to
// segs[:0] (so the caller can reuse the slice), one [Segment] per member,
// whose Data alias src.
//
// It fails with an error wrapping [ErrTooLarge] as soon as more than limit
// bytes would be produced (a negative limit means no limit), with one
// wrapping [ErrChecksum] for a CRC or size mismatch, and with one wrapping
// [ErrFormat] for anything else compress/gzip rejects, including empty
// input and bytes after a member that do not form another complete member.
// Like compress/gzip, it ignores the reserved FLG bits, MTIME, XFL and OS.
// On error, the returned slice has dst's length but may be a grown copy of
// it; its bytes past that length are unspecified.
func (d *Inflater) Gunzip(dst, src []byte, limit int, segs []Segment) ([]byte, []Segment, error) {
	segs = segs[:0]
	// The last member's ISIZE is the whole output's size when there is one
	// member, the common case: a hint for sizing the output once.
	hint := 0
	if len(src) >= 18 {
		hint = int(binary.LittleEndian.Uint32(src[len(src)-4:]))
	}
	d.begin(dst, src, limit, hint)
	if len(src) == 0 {
		// compress/gzip.NewReader fails with io.EOF.
		return d.fail(), segs, errTruncated(0)
	}
	for pos := 0; pos < len(src); {
		start, err := gzipHeader(src, pos)
		if err != nil {
			return d.fail(), segs, err
		}
		d.pos = start
		d.bits, d.nbits = 0, 0
		memberStart := d.op
		finalBit, endBit, err := d.stream()
		if err != nil {
			return d.fail(), segs, err
		}
		end := (endBit + 7) >> 3
		if len(src)-end < 8 {
			return d.fail(), segs, errTruncated(len(src))
		}
		body := d.out[memberStart:d.op]
		crc := binary.LittleEndian.Uint32(src[end:])
		if crc32.ChecksumIEEE(body) != crc {
			return d.fail(), segs, errChecksum("CRC-32 of decompressed data", end)
		}
		if binary.LittleEndian.Uint32(src[end+4:]) != uint32(len(body)) {
			return d.fail(), segs, errChecksum("size of decompressed data", end+4)
		}
		segs = append(segs, Segment{
			Data:     src[start:end:end],
			FinalBit: finalBit - start*8,
			EndBit:   endBit - start*8,
			CRC:      crc,
			Size:     len(body),
		})
		pos = end + 8
	}
	out := d.out[:d.op]
	d.release()
	return out, segs, nil
}

// gzipHeader checks the gzip member header at src[pos:] as compress/gzip
// does and returns the offset of the DEFLATE data after it.
func gzipHeader(src []byte, pos int) (int, error) {
	if len(src)-pos < 10 {
		return 0, errTruncated(len(src))
	}
	if src[pos] != gzipID1 || src[pos+1] != gzipID2 {
		return 0, errCorrupt("not gzip data", pos)
	}
	if src[pos+2] != gzipCM {
		return 0, errCorrupt("unsupported compression method", pos+2)
	}
	flg := src[pos+3]
	p := pos + 10
	if flg&fEXTRA != 0 {
		if len(src)-p < 2 {
			return 0, errTruncated(len(src))
		}
		n := int(binary.LittleEndian.Uint16(src[p:]))
		p += 2
		if len(src)-p < n {
			return 0, errTruncated(len(src))
		}
		p += n
	}
	for _, f := range [2]byte{fNAME, fCOMMENT} {
		if flg&f == 0 {
			continue
		}
		s := src[p:min(len(src), p+maxString)]
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			if len(s) < maxString {
				return 0, errTruncated(len(src))
			}
			return 0, errCorrupt("header string too long", p)
		}
		p += i + 1
	}
	if flg&fHCRC != 0 {
		if len(src)-p < 2 {
			return 0, errTruncated(len(src))
		}
		if uint16(crc32.ChecksumIEEE(src[pos:p])) != binary.LittleEndian.Uint16(src[p:]) {
			return 0, errChecksum("header CRC", p)
		}
		p += 2
	}
	return p, nil
}
