package export

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/lambdaotel/lambdaotel/extension/wire"
	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

// FallbackKey is the top-level key of a fallback line.
const FallbackKey = "otlp_fallback"

// FallbackMarker is the value of the nested record's "__otel_otlp_stdout"
// field: the producer and the line format's version.
const FallbackMarker = "lambdaotel-extension@1"

// FallbackChunkBytes is the most protobuf written on one fallback line.
// Incompressible data grows by a third in base64, so 160 KiB stays under
// CloudWatch Logs' 256 KiB event limit with room for the envelope; real
// telemetry compresses several times over and makes far shorter lines.
const FallbackChunkBytes = 160 << 10

// fallbackPrefix is the constant start of a signal's fallback lines, built
// once so that writing one needs no reflection.
func fallbackPrefix(source, signal string) []byte {
	src, _ := json.Marshal(source) // a string always marshals
	return fmt.Appendf(nil, `{"%s":{"__otel_otlp_stdout":"%s","source":%s,"signal":"%s",`+
		`"endpoint":"http://localhost:4318/v1/%s","method":"POST","content-type":"application/x-protobuf",`+
		`"content-encoding":"gzip","bytes":`, FallbackKey, FallbackMarker, src, signal, signal)
}

// WriteFallback writes body, an encoded Export<Signal>ServiceRequest (or
// several concatenated), to Stdout as otlp_fallback lines (format in the
// package documentation): one line per FallbackChunkBytes piece, each in a
// single Write, so that lines from concurrent writers never interleave. An
// empty body writes nothing.
func (e *Exporter) WriteFallback(signal string, body []byte) error {
	i := signalIndex(signal)
	if i < 0 {
		return fmt.Errorf("export: unknown signal %q", signal)
	}
	if len(body) == 0 {
		return nil
	}
	sig := wire.Signal(i) // signals is in wire's order
	prefix := e.targets[i].fallback
	var line []byte
	var lines int64
	var err error
	for _, chunk := range splitTopLevel(body, FallbackChunkBytes) {
		zb := compress(chunk)
		line = append(line[:0], prefix...)
		line = strconv.AppendInt(line, int64(len(chunk)), 10)
		if c, verr := wire.Validate(sig, chunk); verr == nil {
			line = append(line, `,"items":`...)
			line = strconv.AppendInt(line, int64(c.Items), 10)
		}
		line = append(line, `,"payload":"`...)
		line = base64.StdEncoding.AppendEncode(line, zb.Bytes())
		line = append(line, `","base64":true}}`+"\n"...)
		putBuffer(zb)

		e.stdoutMu.Lock()
		_, werr := e.opts.Stdout.Write(line)
		e.stdoutMu.Unlock()
		if werr != nil {
			// Keep going: a later line may still get through, and the
			// caller learns that something was lost.
			err = fmt.Errorf("export: writing the fallback line: %w", werr)
			continue
		}
		lines++
	}
	if lines > 0 {
		e.stats.fallbacks.Add(1)
		e.stats.fallbackLines.Add(lines)
	}
	if err == nil {
		e.stats.fallbackBytes.Add(int64(len(body)))
	}
	return err
}

// splitTopLevel cuts body at top-level field boundaries into pieces of at
// most limit bytes (a single larger field stays whole). Every OTLP export
// request has one repeated top-level field, so each piece is a valid
// request on its own. A body that does not parse is returned whole: it is
// written as it came.
func splitTopLevel(body []byte, limit int) [][]byte {
	if len(body) <= limit {
		return [][]byte{body}
	}
	var out [][]byte
	start, off := 0, 0
	for off < len(body) {
		num, typ, n := pbwire.ConsumeTag(body[off:])
		if n < 0 {
			return [][]byte{body}
		}
		m := pbwire.ConsumeFieldValue(num, typ, body[off+n:])
		if m < 0 {
			return [][]byte{body}
		}
		end := off + n + m
		if end-start > limit && off > start {
			out = append(out, body[start:off])
			start = off
		}
		off = end
	}
	return append(out, body[start:])
}
