package receiver

import (
	"net/http"
	"net/http/httptest"
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
