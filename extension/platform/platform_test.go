package platform

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

func TestListenerDeliversEventsInOrder(t *testing.T) {
	var mu sync.Mutex
	var got []string
	l, err := Listen(0, func(ev lambdaapi.TelemetryEvent) {
		mu.Lock()
		defer mu.Unlock()
		if id, _, ok := RuntimeDone(ev); ok {
			got = append(got, "done:"+id)
		} else {
			got = append(got, ev.Type)
		}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	url := "http://127.0.0.1:" + strconv.Itoa(l.Port()) + "/"
	batch := `[{"time":"2026-11-23T10:00:00.000Z","type":"platform.start","record":{"requestId":"a"}},
		{"time":"2026-11-23T10:00:00.010Z","type":"platform.runtimeDone","record":{"requestId":"a","status":"success"}},
		{"time":"2026-11-23T10:00:00.011Z","type":"function","record":"hello"}]`
	for _, body := range []string{batch, "not json", `[{"type":"platform.runtimeDone","record":"garbage"}]`} {
		resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: a bad batch is acknowledged (Lambda would only retry it)", resp.StatusCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := "platform.start,done:a,function,platform.runtimeDone"
	if s := join(got); s != want {
		t.Fatalf("events %s, want %s", s, want)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

// The lookup runs once, in the background; every call gets its answer.
func TestLookupSandbox(t *testing.T) {
	addr := LookupSandbox()
	a, b := addr(), addr()
	if a == "" || a != b || net.ParseIP(a) == nil {
		t.Fatalf("addresses %q, %q", a, b)
	}
}
