package gzjoin

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"sync"
	"testing"
)

type benchInput struct {
	name string
	data []byte
	gz   []byte
}

func benchInputs(b *testing.B) []benchInput {
	otlp100 := otlpTraces(100, 100)
	otlp512 := otlpTraces(512, 512)
	random := randomBytes(256<<10, 256)
	return []benchInput{
		{"otlp100/speed", otlp100, gzipLevel(b, otlp100, gzip.BestSpeed)},
		{"otlp100/default", otlp100, gzipLevel(b, otlp100, gzip.DefaultCompression)},
		{"otlp512/speed", otlp512, gzipLevel(b, otlp512, gzip.BestSpeed)},
		{"otlp512/default", otlp512, gzipLevel(b, otlp512, gzip.DefaultCompression)},
		{"random256k/speed", random, gzipLevel(b, random, gzip.BestSpeed)},
	}
}

// stdPool is how a server reuses compress/gzip readers.
var stdPool sync.Pool

// BenchmarkGunzip compares Gunzip with a pooled, Reset compress/gzip.Reader
// reading from a bytes.Reader into a reused buffer. MB/s are of
// decompressed bytes.
func BenchmarkGunzip(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name+"/gzjoin", func(b *testing.B) {
			buf := make([]byte, 0, len(in.data))
			segs := make([]Segment, 0, 1)
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				buf, segs, err = Gunzip(buf[:0], in.gz, 64<<20, segs)
				if err != nil {
					b.Fatal(err)
				}
			}
			if !bytes.Equal(buf, in.data) {
				b.Fatal("wrong output")
			}
		})
		b.Run(in.name+"/stdlib", func(b *testing.B) {
			buf := bytes.NewBuffer(make([]byte, 0, len(in.data)+bytes.MinRead))
			var br bytes.Reader
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				br.Reset(in.gz)
				zr, _ := stdPool.Get().(*gzip.Reader)
				var err error
				if zr == nil {
					zr, err = gzip.NewReader(&br)
				} else {
					err = zr.Reset(&br)
				}
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if _, err := buf.ReadFrom(io.LimitReader(zr, 64<<20)); err != nil {
					b.Fatal(err)
				}
				stdPool.Put(zr)
			}
			if !bytes.Equal(buf.Bytes(), in.data) {
				b.Fatal("wrong output")
			}
		})
	}
}

// BenchmarkJoin compares splicing 20 compressed requests of about 25 KB
// with gzip-compressing their concatenation at BestSpeed, both into a
// reused buffer with a reused writer. MB/s are of decompressed bytes.
func BenchmarkJoin(b *testing.B) {
	var segs []Segment
	var all []byte
	for i := range 20 {
		data := otlpTraces(52, uint64(1000+i)) // ~25 KB
		all = append(all, data...)
		_, s, err := Inflate(nil, deflateLevel(b, data, flate.BestSpeed, 0), -1)
		if err != nil {
			b.Fatal(err)
		}
		segs = append(segs, s)
	}
	b.Logf("20 segments, %d bytes decompressed, %d compressed", len(all), func() int {
		n := 0
		for _, s := range segs {
			n += len(s.Data)
		}
		return n
	}())
	var buf bytes.Buffer
	buf.Grow(len(all))
	b.Run("splice", func(b *testing.B) {
		j, _ := NewJoiner(&buf, flate.BestSpeed)
		b.SetBytes(int64(len(all)))
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			j.Reset(&buf)
			for _, s := range segs {
				if err := j.AppendSegment(s); err != nil {
					b.Fatal(err)
				}
			}
			if err := j.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "out-bytes")
	})
	b.Run("gzip-bestspeed", func(b *testing.B) {
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		b.SetBytes(int64(len(all)))
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			zw.Reset(&buf)
			if _, err := zw.Write(all); err != nil {
				b.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "out-bytes")
	})
}
