package xray

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// Identifiers from the AWS X-Ray developer guide's tracing-header example.
const (
	docRoot   = "1-5759e988-bd862e3fe1be46a994272793"
	docParent = "53995c3f42cd8ad8"
	docHeader = "Root=" + docRoot + ";Parent=" + docParent + ";Sampled=1"
)

func mustTraceID(t testing.TB, s string) trace.TraceID {
	t.Helper()
	id, err := trace.TraceIDFromHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustSpanID(t testing.TB, s string) trace.SpanID {
	t.Helper()
	id, err := trace.SpanIDFromHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestParseValid(t *testing.T) {
	tid := mustTraceID(t, "5759e988bd862e3fe1be46a994272793")
	pid := mustSpanID(t, docParent)
	tests := []struct {
		name string
		in   string
		want Header
		// canon is what String returns; empty means the input itself.
		canon string
	}{
		{
			name: "docs example",
			in:   docHeader,
			want: Header{TraceID: tid, ParentID: pid, Sampled: SampledYes},
		},
		{
			name: "not sampled",
			in:   "Root=" + docRoot + ";Parent=" + docParent + ";Sampled=0",
			want: Header{TraceID: tid, ParentID: pid, Sampled: SampledNo},
		},
		{
			name: "lambda runtime header with lineage",
			in:   "Root=1-67891233-abcdef012345678912345678;Parent=a87bd80c6f1d5e42;Sampled=1;Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2",
			want: Header{
				TraceID:  mustTraceID(t, "67891233abcdef012345678912345678"),
				ParentID: mustSpanID(t, "a87bd80c6f1d5e42"),
				Sampled:  SampledYes,
				Lineage:  "a87bd80c:1|68fd508a:5|c512fbe3:2",
			},
		},
		{
			name:  "sampled question mark",
			in:    "Root=" + docRoot + ";Parent=" + docParent + ";Sampled=?",
			want:  Header{TraceID: tid, ParentID: pid, Sampled: SampledUnknown},
			canon: "Root=" + docRoot + ";Parent=" + docParent,
		},
		{
			name:  "sampled undefined value counts as unknown",
			in:    "Root=" + docRoot + ";Sampled=yes",
			want:  Header{TraceID: tid},
			canon: "Root=" + docRoot,
		},
		{
			name: "missing parent (load balancer)",
			in:   "Root=1-67891233-abcdef012345678912345678",
			want: Header{TraceID: mustTraceID(t, "67891233abcdef012345678912345678")},
		},
		{
			name: "root only with sampled",
			in:   "Root=" + docRoot + ";Sampled=1",
			want: Header{TraceID: tid, Sampled: SampledYes},
		},
		{
			name:  "lower-case keys",
			in:    "root=" + docRoot + ";parent=" + docParent + ";sampled=1;lineage=x:1",
			want:  Header{TraceID: tid, ParentID: pid, Sampled: SampledYes, Lineage: "x:1"},
			canon: docHeader + ";Lineage=x:1",
		},
		{
			name:  "upper-case keys",
			in:    "ROOT=" + docRoot + ";PARENT=" + docParent + ";SAMPLED=1",
			want:  Header{TraceID: tid, ParentID: pid, Sampled: SampledYes},
			canon: docHeader,
		},
		{
			name:  "extra spaces and tabs",
			in:    "  Root = " + docRoot + " ;\tParent=\t" + docParent + " ; Sampled = 1 ; ",
			want:  Header{TraceID: tid, ParentID: pid, Sampled: SampledYes},
			canon: docHeader,
		},
		{
			name:  "any field order",
			in:    "Sampled=1;Parent=" + docParent + ";Root=" + docRoot,
			want:  Header{TraceID: tid, ParentID: pid, Sampled: SampledYes},
			canon: docHeader,
		},
		{
			name: "load balancer Self and custom field kept in order",
			in:   "Self=1-67891234-12456789abcdef012345678;Root=" + docRoot + ";CalledFrom=app",
			want: Header{TraceID: tid, Fields: []Field{
				{Key: "Self", Value: "1-67891234-12456789abcdef012345678"},
				{Key: "CalledFrom", Value: "app"},
			}},
			canon: "Root=" + docRoot + ";Self=1-67891234-12456789abcdef012345678;CalledFrom=app",
		},
		{
			name:  "empty fields and stray tokens skipped",
			in:    ";;Root=" + docRoot + ";;garbage;=x;Sampled=1;",
			want:  Header{TraceID: tid, Sampled: SampledYes},
			canon: "Root=" + docRoot + ";Sampled=1",
		},
		{
			name: "extra field with empty value and '=' in value",
			in:   "Root=" + docRoot + ";a=;b=c=d",
			want: Header{TraceID: tid, Fields: []Field{{Key: "a"}, {Key: "b", Value: "c=d"}}},
		},
		{
			name: "unicode look-alike of Sampled is just another field",
			in:   "Root=" + docRoot + ";ſampled=1",
			want: Header{TraceID: tid, Fields: []Field{{Key: "ſampled", Value: "1"}}},
		},
		{
			name: "zero epoch with non-zero id is a valid trace id",
			in:   "Root=1-00000000-000000000000000000000001",
			want: Header{TraceID: mustTraceID(t, "00000000000000000000000000000001")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
			canon := tt.canon
			if canon == "" {
				canon = tt.in
			}
			if s := got.String(); s != canon {
				t.Fatalf("String() = %q, want %q", s, canon)
			}
			again, err := Parse(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("re-Parse(String()) = %+v, %v; want %+v", again, err, got)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		field     string // ParseError.Field
		reasonHas string
	}{
		{"empty", "", "", "no Root"},
		{"only separators", " ; ; ", "", "no Root"},
		{"missing root", "Parent=" + docParent + ";Sampled=1", "", "no Root"},
		{"empty root", "Root=;Parent=" + docParent, "Root", "empty"},
		{"wrong version", "Root=2-5759e988-bd862e3fe1be46a994272793", "Root", "version must be 1"},
		{"version 01", "Root=01-5759e988-bd862e3fe1be46a994272793", "Root", "version must be 1"},
		{"no dashes", "Root=15759e988bd862e3fe1be46a994272793", "Root", "want 1-"},
		{"one dash", "Root=1-5759e988bd862e3fe1be46a994272793", "Root", "want 1-"},
		{"short epoch", "Root=1-5759e98-bd862e3fe1be46a994272793", "Root", "epoch"},
		{"long id", "Root=1-5759e988-bd862e3fe1be46a9942727930", "Root", "id must be 24"},
		{"short id", "Root=1-5759e988-bd862e3fe1be46a99427279", "Root", "id must be 24"},
		{"bad hex in epoch", "Root=1-5759g988-bd862e3fe1be46a994272793", "Root", "epoch"},
		{"bad hex in id", "Root=1-5759e988-bd862e3fe1be46a99427279z", "Root", "id must be 24"},
		{"upper-case hex", "Root=1-5759E988-bd862e3fe1be46a994272793", "Root", "lower-case"},
		{"extra dash in id", "Root=1-5759e988-bd862e3f-e1be46a99427279", "Root", "id must be 24"},
		{"space inside root", "Root=1- 5759e988-bd862e3fe1be46a994272793", "Root", "epoch"},
		{"zero trace id", "Root=1-00000000-000000000000000000000000;Parent=" + docParent, "Root", "all zeros"},
		{"short parent", "Root=" + docRoot + ";Parent=53995c3f42cd8ad", "Parent", "16 lower-case hex"},
		{"bad hex parent", "Root=" + docRoot + ";Parent=53995c3f42cd8adx", "Parent", "16 lower-case hex"},
		{"empty parent", "Root=" + docRoot + ";Parent=", "Parent", "16 lower-case hex"},
		{"zero parent", "Root=" + docRoot + ";Parent=0000000000000000", "Parent", "all zeros"},
		{"duplicate root", "Root=" + docRoot + ";root=1-5759e988-bd862e3fe1be46a994272794", "Root", "more than once"},
		{"duplicate parent", "Root=" + docRoot + ";Parent=" + docParent + ";Parent=" + docParent, "Parent", "more than once"},
		{"duplicate sampled", "Root=" + docRoot + ";Sampled=1;Sampled=0", "Sampled", "more than once"},
		{"duplicate lineage", "Root=" + docRoot + ";Lineage=a:1;Lineage=b:1", "Lineage", "more than once"},
		{"newline", "Root=" + docRoot + "\r\nX-Evil: 1", "", "control character"},
		{"nul", "Root=" + docRoot + ";a=\x00", "", "control character"},
		{"too long", "Root=" + docRoot + ";a=" + strings.Repeat("x", MaxHeaderLen), "", "limit"},
		{"too many fields", "Root=" + docRoot + strings.Repeat(";a=b", maxExtraFields+1), "", "more than 32 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error", tt.in, h)
			}
			if !errors.Is(err, ErrInvalidHeader) {
				t.Errorf("error %v does not wrap ErrInvalidHeader", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *ParseError", err)
			}
			if pe.Field != tt.field || !strings.Contains(pe.Reason, tt.reasonHas) {
				t.Errorf("got field %q reason %q, want field %q reason containing %q (error: %v)",
					pe.Field, pe.Reason, tt.field, tt.reasonHas, err)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error message is %d bytes, want it short: %v", len(err.Error()), err)
			}
			if !reflect.DeepEqual(h, Header{}) {
				t.Errorf("Parse returned %+v with an error, want zero Header", h)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	// Exactly at the limit is accepted; one byte more is not.
	base := "Root=" + docRoot + ";a="
	at := base + strings.Repeat("x", MaxHeaderLen-len(base))
	if _, err := Parse(at); err != nil {
		t.Fatalf("header of exactly %d bytes: %v", len(at), err)
	}
	if _, err := Parse(at + "x"); err == nil {
		t.Fatalf("header of %d bytes accepted", len(at)+1)
	}
	// Exactly maxExtraFields other fields are kept.
	h, err := Parse("Root=" + docRoot + strings.Repeat(";a=b", maxExtraFields))
	if err != nil || len(h.Fields) != maxExtraFields {
		t.Fatalf("%d extra fields: %d kept, %v", maxExtraFields, len(h.Fields), err)
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse("Root=1-5759e988-bd862e3fe1be46a99427279z;Parent=" + docParent)
	want := `xray: invalid trace header: Root "1-5759e988-bd862e3fe1be46a99427279z": id must be 24 lower-case hex digits`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\n want %s", err, want)
	}
	_, err = Parse("Parent=" + docParent)
	if want := "xray: invalid trace header: no Root field"; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
	// A huge value is quoted only in part.
	_, err = Parse("Root=" + strings.Repeat("1", 4000))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error for a 4000-byte Root = %v", err)
	}
}

func TestSamplingString(t *testing.T) {
	for s, want := range map[Sampling]string{SampledYes: "1", SampledNo: "0", SampledUnknown: "?"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", s, got, want)
		}
	}
}

func TestHeaderSpanContext(t *testing.T) {
	tid := mustTraceID(t, "5759e988bd862e3fe1be46a994272793")
	pid := mustSpanID(t, docParent)
	for _, tt := range []struct {
		in          string
		ok, sampled bool
	}{
		{docHeader, true, true},
		{"Root=" + docRoot + ";Parent=" + docParent + ";Sampled=0", true, false},
		{"Root=" + docRoot + ";Parent=" + docParent + ";Sampled=?", true, false},
		{"Root=" + docRoot + ";Parent=" + docParent, true, false},
		{"Root=" + docRoot + ";Sampled=1", false, false},
	} {
		h, err := Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		sc, ok := h.SpanContext()
		if ok != tt.ok {
			t.Fatalf("%q: ok = %v, want %v", tt.in, ok, tt.ok)
		}
		if !ok {
			if sc.IsValid() {
				t.Fatalf("%q: invalid header gave valid %v", tt.in, sc)
			}
			continue
		}
		if sc.TraceID() != tid || sc.SpanID() != pid || !sc.IsRemote() || sc.IsSampled() != tt.sampled {
			t.Fatalf("%q: span context %+v", tt.in, sc)
		}
	}
	if _, ok := (Header{}).SpanContext(); ok {
		t.Fatal("zero Header has a span context")
	}
}

func TestFromSpanContext(t *testing.T) {
	tid := mustTraceID(t, "5759e988bd862e3fe1be46a994272793")
	pid := mustSpanID(t, docParent)
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: pid, TraceFlags: trace.FlagsSampled})
	if got := FromSpanContext(sc).String(); got != docHeader {
		t.Fatalf("sampled: %q, want %q", got, docHeader)
	}
	sc = sc.WithTraceFlags(0)
	if got, want := FromSpanContext(sc).String(), "Root="+docRoot+";Parent="+docParent+";Sampled=0"; got != want {
		t.Fatalf("not sampled: %q, want %q", got, want)
	}
	// Round trip through the header keeps ids and the flag.
	h, _ := Parse(docHeader)
	back, ok := h.SpanContext()
	if !ok || FromSpanContext(back).String() != docHeader {
		t.Fatalf("round trip via span context: %v %v", back, ok)
	}
	if got := FromSpanContext(trace.SpanContext{}); !reflect.DeepEqual(got, Header{}) || got.String() != "" {
		t.Fatalf("invalid span context gave %+v %q", got, got.String())
	}
}

func TestStringZeroHeader(t *testing.T) {
	if s := (Header{ParentID: mustSpanID(t, docParent), Sampled: SampledYes}).String(); s != "" {
		t.Fatalf("header without trace id formats as %q, want empty", s)
	}
}

// TestIndexCTL checks the word-at-a-time scan against the plain byte loop for every
// byte value at every position of a realistic header, including the word tails.
func TestIndexCTL(t *testing.T) {
	naive := func(s string) int {
		for i := 0; i < len(s); i++ {
			if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
				return i
			}
		}
		return -1
	}
	base := []byte(docHeader + ";Lineage=a87bd80c:1")
	for pos := range base {
		for c := 0; c < 256; c++ {
			b := append([]byte(nil), base...)
			b[pos] = byte(c)
			s := string(b)
			if got, want := indexCTL(s), naive(s); got != want {
				t.Fatalf("byte %#02x at %d: indexCTL = %d, want %d", c, pos, got, want)
			}
		}
	}
	for _, s := range []string{"", "\t", "\x00", "abcdefg\x7f", "abcdefgh\x1f", "\t\t\t\t\t\t\t\t\x01", "\xff\xfe\x80\x81\x7e\x20\x21\x22"} {
		if got, want := indexCTL(s), naive(s); got != want {
			t.Fatalf("%q: indexCTL = %d, want %d", s, got, want)
		}
	}
}
