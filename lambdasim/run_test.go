package lambdasim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadEvents(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{"empty", "", []string{"{}"}, ""},
		{"blank", " \n\t\n", []string{"{}"}, ""},
		{"one object", `{"a":1}`, []string{`{"a":1}`}, ""},
		{"one object over lines", "{\n  \"a\": [1,\n 2]\n}\n", []string{"{\n  \"a\": [1,\n 2]\n}"}, ""},
		{"json lines", "{\"a\":1}\n\n{\"b\":2}\r\n\"s\"\n", []string{`{"a":1}`, `{"b":2}`, `"s"`}, ""},
		{"bad line", "{\"a\":1}\n{oops\n", nil, "line 2 is not JSON"},
		{"scalar", "42", []string{"42"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadEvents(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %q, want %q", len(got), got, tc.want)
			}
			for i := range got {
				if string(got[i]) != tc.want[i] {
					t.Errorf("event %d: %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// FuzzReadEvents checks that any input either fails cleanly or yields only
// valid JSON events.
func FuzzReadEvents(f *testing.F) {
	for _, s := range []string{"", "{}", "{\"a\":1}\n{\"b\":2}\n", "[1,2]\n", "{\n}", "x\n{}", "\"\\u00e9\"\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		evs, err := ReadEvents(bytes.NewReader(in))
		if err != nil {
			return
		}
		if len(evs) == 0 && len(bytes.TrimSpace(in)) == 0 {
			t.Fatal("empty input must give one empty event")
		}
		for _, ev := range evs {
			if !json.Valid(ev) {
				t.Fatalf("invalid event %q from %q", ev, in)
			}
		}
	})
}

// TestRunManagedInstancesConcurrent checks that Run with MaxConcurrency keeps
// that many invocations in flight: each pair meets inside the runtime.
func TestRunManagedInstancesConcurrent(t *testing.T) {
	ctx := testCtx(t)
	s := newSim(t, Config{Runtime: &Process{Path: bins.rt}, MaxConcurrency: 2, Timeout: 10 * time.Second})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(ctx, RunOptions{Events: [][]byte{[]byte(`{"action":"rendezvous","code":2}`)}, Invocations: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results, want 4", len(res))
	}
	for i, r := range res {
		if r == nil || r.Status != "success" || string(r.Payload) != `"together"` {
			t.Fatalf("result %d: %+v %s", i, r, r.Payload)
		}
	}
}

func TestNewRejectsWhatCannotRun(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Runtime: &Process{Path: filepath.Join(dir, "missing")}}, "no such file"},
		{Config{Runtime: &Process{Path: dir}}, "is a directory"},
		{Config{Runtime: &Process{Path: plain}}, "is not executable"},
		{Config{Runtime: &Process{}}, "no path given"},
		{Config{Extensions: []Process{{Path: plain}}}, "extension plain"},
		{Config{Extensions: []Process{{Name: "a"}, {Name: "a"}}}, "two extensions named"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
