package receiver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

// contentType is a recognised request media type. header is what the
// response's Content-Type is set to: the request's own media type, without
// parameters, so the response matches the request.
type contentType struct {
	json   bool
	header []string
}

// Shared header value slices: assigning them to a response header costs no
// allocation, and net/http only reads them.
var (
	xprotobufContentType = []string{"application/x-protobuf"}
	protobufContentType  = []string{"application/protobuf"}
	jsonContentType      = []string{"application/json"}
)

// parseContentType recognises the OTLP media types, ignoring parameters
// (charset=utf-8 and the like) and case. A missing Content-Type is treated
// as protobuf, as OTLP clients that predate the header do, and as the Rust
// receiver did. It avoids mime.ParseMediaType, which allocates a map per
// call, because it runs on every request.
func parseContentType(vals []string) (contentType, bool) {
	if len(vals) == 0 {
		return contentType{header: xprotobufContentType}, true
	}
	if len(vals) > 1 {
		return contentType{}, false
	}
	mt := vals[0]
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.TrimSpace(mt)
	switch {
	case mt == "":
		return contentType{header: xprotobufContentType}, true
	case strings.EqualFold(mt, "application/x-protobuf"):
		return contentType{header: xprotobufContentType}, true
	case strings.EqualFold(mt, "application/protobuf"):
		return contentType{header: protobufContentType}, true
	case strings.EqualFold(mt, "application/json"):
		return contentType{json: true, header: jsonContentType}, true
	}
	return contentType{}, false
}

// parseContentEncoding reports whether the body is gzip-compressed; ok is
// false for any encoding other than gzip or none (OTLP defines no other),
// including stacked encodings.
func parseContentEncoding(vals []string) (gz, ok bool) {
	switch len(vals) {
	case 0:
		return false, true
	case 1:
	default:
		return false, false
	}
	switch e := strings.TrimSpace(vals[0]); {
	case e == "", strings.EqualFold(e, "identity"):
		return false, true
	case strings.EqualFold(e, "gzip"), strings.EqualFold(e, "x-gzip"):
		return true, true
	}
	return false, false
}

// errDecompressedTooLarge is returned when a body is larger than the cap.
var errDecompressedTooLarge = errors.New("body too large")

// readExact reads a body of known length into a fresh slice of exactly that
// length. net/http guarantees the body is no longer than Content-Length, and
// the caller has checked Content-Length against the cap, so no
// MaxBytesReader is needed here.
func readExact(body io.Reader, n int64) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(body, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("body shorter than its Content-Length (%d bytes)", n)
		}
		return nil, err
	}
	return buf, nil
}

// readLimited reads src to EOF, appending to buf[:0]; it fails with
// errDecompressedTooLarge (or src's own *http.MaxBytesError) once more than
// limit bytes arrive, having read at most limit+1.
func readLimited(src io.Reader, buf []byte, limit int64) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			// Grow geometrically, but never past limit+1: one byte over
			// is enough to know the body is too large.
			newCap := max(2*cap(buf), 16<<10)
			if int64(newCap) > limit+1 {
				newCap = int(limit + 1)
			}
			if newCap <= len(buf) {
				return buf, errDecompressedTooLarge
			}
			nb := make([]byte, len(buf), newCap)
			copy(nb, buf)
			buf = nb
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, errDecompressedTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// readErrorStatus maps a body read error to a status and message.
func readErrorStatus(err error, limit int64) (int, string) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || errors.Is(err, errDecompressedTooLarge) {
		return http.StatusRequestEntityTooLarge, tooLargeMessage(limit)
	}
	return http.StatusBadRequest, err.Error()
}

func tooLargeMessage(limit int64) string {
	return fmt.Sprintf("request body larger than %d bytes (compressed or decompressed)", limit)
}

// scratch is a pooled read buffer. Only data the receiver consumes itself
// lives in it (raw JSON, or gunzipped or chunked protobuf before its
// exactly-sized copy), so it can be reused safely.
type scratch struct{ b []byte }

// maxPooledScratch keeps rare huge requests from pinning their buffers in
// the pool: idle memory matters more in Lambda than one allocation.
const maxPooledScratch = 1 << 20

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	if cap(sc.b) > maxPooledScratch {
		sc.b = nil
	}
	sc.b = sc.b[:0]
	scratchPool.Put(sc)
}

// writeStatus writes an OTLP error response: a google.rpc.Status with only
// its message set, in the request's encoding. The OTLP/HTTP specification
// asks for exactly this, and OTel SDK exporters log the message.
func writeStatus(w http.ResponseWriter, ct contentType, status int, msg string) {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	var body []byte
	if ct.json {
		body, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{msg})
	} else {
		body = pbwire.AppendTag(nil, 2, pbwire.BytesType) // google.rpc.Status.message
		body = pbwire.AppendString(body, msg)
	}
	h := w.Header()
	h["Content-Type"] = ct.header
	h["X-Content-Type-Options"] = nosniff
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

var nosniff = []string{"nosniff"}
