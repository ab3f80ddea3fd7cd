package grpcwire

import (
	"bytes"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseStatus feeds arbitrary grpc-status-details-bin payloads (outside
// input from a backend) to the decoder: it must not panic, and a delay it
// reports is never negative.
func FuzzParseStatus(f *testing.F) {
	f.Add(AppendStatus(nil, ResourceExhausted, "full", RetryInfoDetail(time.Second)))
	f.Add(AppendStatus(nil, Unavailable, "x", []byte{1, 2, 3}))
	f.Add([]byte{0x1a, 0x02, 0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, ok := ParseStatus(b)
		if ok && st.HasRetryInfo && st.RetryDelay < 0 {
			t.Fatalf("negative delay %s", st.RetryDelay)
		}
	})
}

// FuzzMessage checks that any grpc-message decodes to valid UTF-8 and that
// encoding round-trips.
func FuzzMessage(f *testing.F) {
	for _, s := range []string{"", "ok", "100%", "%E2%9C%93", "%", "a\nb", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d := DecodeMessage(s); !utf8.ValidString(d) {
			t.Fatalf("DecodeMessage(%q) = %q: invalid UTF-8", s, d)
		}
		if v := utf8.ValidString(s); v {
			if got := DecodeMessage(EncodeMessage(s)); got != s {
				t.Fatalf("round trip of %q gave %q", s, got)
			}
		}
	})
}

// FuzzSplitMessage checks that an accepted body is exactly its prefix and
// message.
func FuzzSplitMessage(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 'a'})
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, compressed, err := SplitMessage(b)
		if err != nil || len(b) == 0 {
			return
		}
		if !bytes.Equal(append(AppendPrefix(nil, compressed, len(msg)), msg...), b) {
			t.Fatalf("accepted % x as %v % x", b, compressed, msg)
		}
	})
}

// FuzzParseTimeout checks that an accepted grpc-timeout is never negative.
func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"1S", "99999999H", "0n", "-1m", "12u"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := ParseTimeout(s); ok && d < 0 {
			t.Fatalf("ParseTimeout(%q) = %s", s, d)
		}
	})
}
