package receiver

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type announcer struct {
	completed []string
	announced int
}

func (a *announcer) Complete(id string) { a.completed = append(a.completed, id) }
func (a *announcer) Announce()          { a.announced++ }

func TestAnnouncementAndCompletion(t *testing.T) {
	a := &announcer{}
	rc := New(nopSink{}, a, Options{})
	for _, h := range []http.Header{{HeaderSignals: {"true"}}, {HeaderRequestID: {"req-1"}}, {}} {
		req := httptest.NewRequest(http.MethodPost, PathComplete, nil)
		req.Header = h
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Header().Get(HeaderCompletion) != PathComplete {
			t.Fatalf("%v: %d %v", h, w.Code, w.Header())
		}
	}
	if a.announced != 1 || len(a.completed) != 2 || a.completed[0] != "req-1" || a.completed[1] != "" {
		t.Fatalf("announced %d, completed %q", a.announced, a.completed)
	}
}

type spanReporter struct {
	announcer
	spans []string
}

func (s *spanReporter) ReportSpan(id string, tid [16]byte, sid [8]byte, sampled bool) {
	s.spans = append(s.spans, fmt.Sprintf("%s %x %x %v", id, tid, sid, sampled))
}

// A completion signal carrying the function's span as traceparent reports
// it before completing; one without, or with a malformed one, only
// completes.
func TestCompletionReportsTheFunctionsSpan(t *testing.T) {
	s := &spanReporter{}
	rc := New(nopSink{}, s, Options{})
	for _, tp := range []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "00-zz-00f067aa0ba902b7-01"} {
		req := httptest.NewRequest(http.MethodPost, PathComplete, nil)
		req.Header.Set(HeaderRequestID, "req")
		if tp != "" {
			req.Header.Set("Traceparent", tp)
		}
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("%q: %d", tp, w.Code)
		}
	}
	if len(s.completed) != 3 || len(s.spans) != 1 || s.spans[0] != "req 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 true" {
		t.Fatalf("completed %q, spans %q", s.completed, s.spans)
	}
}

func TestParseTraceparent(t *testing.T) {
	const tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for v, want := range map[string]bool{
		"00-" + tid + "-" + sid + "-01":                      true,
		"00-" + tid + "-" + sid + "-00":                      true,
		"01-" + tid + "-" + sid + "-01-whatever":             true, // a later version may add fields
		"00-" + tid + "-" + sid + "-01-extra":                false,
		"ff-" + tid + "-" + sid + "-01":                      false,
		"00-" + strings.ToUpper(tid) + "-" + sid + "-01":     false,
		"00-00000000000000000000000000000000-" + sid + "-01": false,
		"00-" + tid + "-0000000000000000-01":                 false,
		"00-" + tid + "-" + sid:                              false,
		"":                                                   false,
	} {
		_, _, _, ok := parseTraceparent(v)
		if ok != want {
			t.Errorf("parseTraceparent(%q) ok = %v, want %v", v, ok, want)
		}
	}
	if _, _, sampled, _ := parseTraceparent("00-" + tid + "-" + sid + "-00"); sampled {
		t.Error("flags 00 is not sampled")
	}
}

// FuzzParseTraceparent: any header value parses without panicking, and
// what is accepted round-trips.
func FuzzParseTraceparent(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	f.Add("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-x")
	f.Fuzz(func(t *testing.T, v string) {
		tid, sid, sampled, ok := parseTraceparent(v)
		if !ok {
			return
		}
		if got := fmt.Sprintf("%x-%x", tid, sid); got != v[3:35]+"-"+v[36:52] {
			t.Fatalf("%q parsed to %s", v, got)
		}
		_ = sampled
	})
}
