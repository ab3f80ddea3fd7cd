package grpcwire

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestPath(t *testing.T) {
	for sig, want := range map[string]string{"traces": PathTraces, "metrics": PathMetrics, "logs": PathLogs, "profiles": ""} {
		if got := Path(sig); got != want {
			t.Errorf("Path(%q) = %q, want %q", sig, got, want)
		}
	}
}

func TestCodes(t *testing.T) {
	for c, want := range map[Code]string{OK: "OK", Canceled: "CANCELLED", ResourceExhausted: "RESOURCE_EXHAUSTED",
		Unauthenticated: "UNAUTHENTICATED", 17: "CODE(17)"} {
		if c.String() != want {
			t.Errorf("%d: %s, want %s", c, c, want)
		}
	}
	for in, want := range map[string]Code{"0": OK, " 14 ": Unavailable, "8": ResourceExhausted} {
		if c, ok := ParseCode(in); !ok || c != want {
			t.Errorf("ParseCode(%q) = %v %v", in, c, ok)
		}
	}
	for _, in := range []string{"", "x", "-1", "99999999999"} {
		if c, ok := ParseCode(in); ok || c != Unknown {
			t.Errorf("ParseCode(%q) = %v %v, want UNKNOWN false", in, c, ok)
		}
	}
	for status, want := range map[int]Code{400: Internal, 401: Unauthenticated, 403: PermissionDenied, 404: Unimplemented,
		429: Unavailable, 502: Unavailable, 503: Unavailable, 504: Unavailable, 500: Unknown, 200: Unknown, 418: Unknown} {
		if got := FromHTTPStatus(status); got != want {
			t.Errorf("HTTP %d → %s, want %s", status, got, want)
		}
	}
}

func TestFraming(t *testing.T) {
	msg := []byte("hello")
	b := AppendPrefix(nil, true, len(msg))
	if !bytes.Equal(b, []byte{1, 0, 0, 0, 5}) {
		t.Fatalf("prefix % x", b)
	}
	b = append(b, msg...)
	got, compressed, err := SplitMessage(b)
	if err != nil || !compressed || !bytes.Equal(got, msg) {
		t.Fatalf("SplitMessage = %q %v %v", got, compressed, err)
	}
	buf := make([]byte, PrefixLen+2)
	PutPrefix(buf, false, 2)
	if !bytes.Equal(buf[:PrefixLen], []byte{0, 0, 0, 0, 2}) {
		t.Fatalf("PutPrefix % x", buf[:PrefixLen])
	}
	if got, _, err := SplitMessage(nil); got != nil || err != nil {
		t.Fatal("an empty body is no message")
	}
	for _, bad := range [][]byte{{0, 0}, {2, 0, 0, 0, 0}, {0, 0, 0, 0, 3, 'a'}, {0, 0, 0, 0, 0, 'x'}} {
		if _, _, err := SplitMessage(bad); !errors.Is(err, ErrFraming) {
			t.Errorf("% x: err = %v", bad, err)
		}
	}
}

func TestMessageEncoding(t *testing.T) {
	for in, want := range map[string]string{"plain text": "plain text", "100%": "100%25", "a\nb": "a%0Ab", "✓": "%E2%9C%93"} {
		if got := EncodeMessage(in); got != want {
			t.Errorf("EncodeMessage(%q) = %q, want %q", in, got, want)
		}
		if got := DecodeMessage(want); got != in {
			t.Errorf("DecodeMessage(%q) = %q, want %q", want, got, in)
		}
	}
	// Malformed sequences are kept; invalid UTF-8 is replaced.
	for in, want := range map[string]string{"%": "%", "%zz1": "%zz1", "50%2": "50%2", "%FF": "\uFFFD", "ok%41": "okA"} {
		if got := DecodeMessage(in); got != want {
			t.Errorf("DecodeMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTimeout(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0n", -time.Second: "0n", time.Nanosecond: "1n", 99999999: "99999999n",
		time.Second: "1000000u", 150 * time.Millisecond: "150000u", 1500 * time.Microsecond: "1500000n", 3 * time.Minute: "180000m",
		100001 * time.Second: "100001S", time.Duration(math.MaxInt64): "2562048H",
	} {
		got := EncodeTimeout(d)
		if got != want {
			t.Errorf("EncodeTimeout(%s) = %q, want %q", d, got, want)
		}
		back, ok := ParseTimeout(got)
		if !ok || (d > 0 && back < d) {
			t.Errorf("ParseTimeout(%q) = %s %v: rounds down below %s", got, back, ok, d)
		}
	}
	// Rounded up, never down: the server must not give up first.
	if got := EncodeTimeout(100000000 * time.Nanosecond); got != "100000u" {
		t.Errorf("0.1 s = %q", got)
	}
	if got := EncodeTimeout(100000001 * time.Nanosecond); got != "100001u" {
		t.Errorf("0.1 s + 1 ns = %q", got)
	}
	for _, bad := range []string{"", "1", "S", "1x", "-1S", "+1S", "123456789S", "1.5S"} {
		if _, ok := ParseTimeout(bad); ok {
			t.Errorf("ParseTimeout(%q) accepted", bad)
		}
	}
	if d, ok := ParseTimeout("99999999H"); !ok || d != math.MaxInt64 {
		t.Errorf("huge timeout = %s %v", d, ok)
	}
}

func TestStatusRoundTrip(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Second, 1500 * time.Millisecond, 250 * time.Millisecond} {
		b := AppendStatus(nil, ResourceExhausted, "queue full", []byte("not an any"), RetryInfoDetail(delay))
		st, ok := ParseStatus(b)
		if !ok || st.Code != ResourceExhausted || st.Message != "queue full" || !st.HasRetryInfo || st.RetryDelay != delay {
			t.Errorf("delay %s: %+v %v", delay, st, ok)
		}
		enc := EncodeBinaryHeader(b)
		for _, v := range []string{enc, enc + "=="[:(4-len(enc)%4)%4]} {
			dec, err := DecodeBinaryHeader(v)
			if err != nil || !bytes.Equal(dec, b) {
				t.Errorf("binary header %q: %v", v, err)
			}
		}
	}
	if st, ok := ParseStatus(AppendStatus(nil, Unavailable, "")); !ok || st.HasRetryInfo || st.Code != Unavailable {
		t.Errorf("no details: %+v", st)
	}
	if _, ok := ParseStatus([]byte{0x0a, 0x05}); ok {
		t.Error("truncated status accepted")
	}
}

// retryInfo builds an Any{RetryInfo} with raw Duration fields.
func retryInfo(typeURL string, secs int64, nanos int32) []byte {
	var dur []byte
	dur = protowire.AppendTag(dur, 1, protowire.VarintType)
	dur = protowire.AppendVarint(dur, uint64(secs))
	dur = protowire.AppendTag(dur, 2, protowire.VarintType)
	dur = protowire.AppendVarint(dur, uint64(int64(nanos)))
	var ri []byte
	ri = protowire.AppendTag(ri, 1, protowire.BytesType)
	ri = protowire.AppendBytes(ri, dur)
	var a []byte
	a = protowire.AppendTag(a, 1, protowire.BytesType)
	a = protowire.AppendString(a, typeURL)
	a = protowire.AppendTag(a, 2, protowire.BytesType)
	return protowire.AppendBytes(a, ri)
}

func TestRetryInfoEdges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		detail []byte
		has    bool
		delay  time.Duration
	}{
		{"negative", retryInfo(retryInfoType, -5, 0), true, 0},
		{"negative nanos", retryInfo(retryInfoType, 0, -5), true, 0},
		{"huge", retryInfo(retryInfoType, math.MaxInt64, 0), true, math.MaxInt64},
		{"other type", retryInfo("type.googleapis.com/google.rpc.DebugInfo", 5, 0), false, 0},
		{"nanos", retryInfo(retryInfoType, 2, 5e8), true, 2500 * time.Millisecond},
	} {
		st, ok := ParseStatus(AppendStatus(nil, Unavailable, "x", tc.detail))
		if !ok || st.HasRetryInfo != tc.has || st.RetryDelay != tc.delay {
			t.Errorf("%s: %+v %v", tc.name, st, ok)
		}
	}
}
