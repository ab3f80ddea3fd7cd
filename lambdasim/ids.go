package lambdasim

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"
)

// randomBytes fills b from the runtime's per-thread generator: ids here need
// to be unique, not secret, and this costs no system call.
func randomBytes(b []byte) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, rand.Uint64())
		b = b[8:]
	}
	if len(b) > 0 {
		var t [8]byte
		binary.LittleEndian.PutUint64(t[:], rand.Uint64())
		copy(b, t[:])
	}
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	randomBytes(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// newTraceHeader returns an X-Ray trace header for a new sampled trace, as
// Lambda creates for an invocation that arrives without one.
func newTraceHeader(now time.Time) string {
	var b [20]byte
	randomBytes(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=1", now.Unix(), hex.EncodeToString(b[:12]), hex.EncodeToString(b[12:]))
}

// newLogStream returns a log stream name shaped like Lambda's.
func newLogStream(now time.Time) string {
	var b [16]byte
	randomBytes(b[:])
	return now.UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(b[:])
}
