package queue

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/gzjoin"
)

// gzipped returns b gzipped, the segments gzjoin finds in it, and b's length.
func gzipped(t *testing.T, b []byte) ([]byte, []gzjoin.Segment, int) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	raw, segs, err := gzjoin.Gunzip(nil, buf.Bytes(), len(b), nil)
	if err != nil || !bytes.Equal(raw, b) {
		t.Fatalf("Gunzip: %v", err)
	}
	return buf.Bytes(), segs, len(b)
}

func mustOfferGzip(t *testing.T, q *Queue, sig Signal, body []byte, items int) []byte {
	t.Helper()
	gz, segs, n := gzipped(t, body)
	if err := q.OfferGzip(sig, gz, segs, n, items); err != nil {
		t.Fatalf("OfferGzip: %v", err)
	}
	return gz
}

// TestGzipEntries: a request held compressed is charged its compressed
// size against the budget, counts its protobuf length for batch limits and
// Pending, and comes out of a batch inflated (Bytes) or spliced (Join),
// in arrival order among uncompressed ones, also after a Requeue.
func TestGzipEntries(t *testing.T) {
	q := New(Budget{MaxBytes: 1 << 20, MaxEntries: 100})
	a, b, c := req('a', 3000), req('b', 40), req('c', 5000)
	mustOffer(t, q, Traces, b, 1)
	gzA := mustOfferGzip(t, q, Traces, a, 2)
	gzC := mustOfferGzip(t, q, Traces, c, 3)
	want := cat(b, a, c)

	st := q.Stats().Signal(Traces).Queued
	if st.Bytes != int64(len(b)+len(gzA)+len(gzC)) || st.Encoded != int64(len(want)) || st.Items != 6 {
		t.Fatalf("queued %+v, want %d bytes held, %d encoded, 6 items", st, len(b)+len(gzA)+len(gzC), len(want))
	}
	if n, enc := q.Pending(Traces); n != 3 || enc != len(want) {
		t.Fatalf("Pending = %d, %d; want 3, %d", n, enc, len(want))
	}

	// The limit is on the protobuf: b and a fit in 3040 bytes, c does not.
	bt := q.Take(Traces, len(b)+len(a), 0)
	if got, err := bt.Bytes(); err != nil || !bytes.Equal(got, cat(b, a)) || bt.Encoded() != len(b)+len(a) {
		t.Fatalf("first batch: %d bytes, err %v; want b then a", len(got), err)
	}
	bt.Requeue()
	checkInvariants(t, q)

	bt = q.Take(Traces, 0, 0)
	for range 2 { // Bytes is built once and kept
		if got, err := bt.Bytes(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("batch: %d bytes, err %v; want %d", len(got), err, len(want))
		}
	}
	var out bytes.Buffer
	j, err := gzjoin.NewJoiner(&out, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if err := bt.Join(j); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("joined batch inflates to %d bytes (err %v), want %d", len(got), err, len(want))
	}
	bt.Done()
	checkInvariants(t, q)
	if ex := q.Stats().Signal(Traces).Exported; ex.Encoded != int64(len(want)) || ex.Requests != 3 {
		t.Fatalf("exported %+v", ex)
	}
}

// TestGzipEntryBudgetIsMemory: the budget counts what is held, so a
// request whose protobuf is larger than the whole budget fits compressed.
func TestGzipEntryBudgetIsMemory(t *testing.T) {
	q := New(Budget{MaxBytes: 4096, MaxEntries: 10})
	mustOfferGzip(t, q, Logs, req('z', 64<<10), 1)
	if err := q.Offer(Logs, req('y', 8192), 1); err != ErrTooLarge {
		t.Fatalf("uncompressed over the budget: %v, want ErrTooLarge", err)
	}
	checkInvariants(t, q)
}
