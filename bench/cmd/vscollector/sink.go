package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// sink is the backend both programs export to: an OTLP/HTTP server on
// loopback that reads every request (gunzipping it), counts the spans at
// the protobuf wire level and answers 200 with an empty
// ExportTraceServiceResponse. It is deliberately cheap, so that it takes as
// little as possible of the CPU the programs under test share with it.
type sink struct {
	srv  *http.Server
	addr string

	mu    sync.Mutex
	spans int64 // of the load's scope
	// otherSpans are spans of other scopes: the extension's own.
	otherSpans int64
	requests   int64
	gzipped    int64
	// wireBytes is what arrived as sent (compressed); multiMember counts
	// gzip bodies of more than one member, which some backends' gunzip
	// would cut short after the first.
	wireBytes, multiMember int64
	errs                   []error
	waiters                []*spanWaiter
}

type spanWaiter struct {
	atLeast int64
	ch      chan time.Time
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{addr: ln.Addr().String()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) url() string { return "http://" + s.addr }

func (s *sink) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	_ = s.srv.Close()
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, err)
		return
	}
	b, members := raw, 0
	gz := r.Header.Get("Content-Encoding") == "gzip"
	if gz {
		if b, members, err = gunzipMembers(raw); err != nil {
			s.fail(w, err)
			return
		}
	}
	n, other := 0, 0
	if r.URL.Path == "/v1/traces" {
		if n, other, err = countSpans(b); err != nil {
			s.fail(w, err)
			return
		}
	}
	now := time.Now()
	s.mu.Lock()
	s.requests++
	s.wireBytes += int64(len(raw))
	if gz {
		s.gzipped++
	}
	if members > 1 {
		s.multiMember++
	}
	s.spans += int64(n)
	s.otherSpans += int64(other)
	kept := s.waiters[:0]
	for _, wt := range s.waiters {
		if s.spans >= wt.atLeast {
			wt.ch <- now
		} else {
			kept = append(kept, wt)
		}
	}
	s.waiters = kept
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (s *sink) fail(w http.ResponseWriter, err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// stats returns the spans and requests received so far, how many requests
// were gzipped, and the first error.
func (s *sink) stats() (spans, requests, gzipped int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		err = s.errs[0]
	}
	return s.spans, s.requests, s.gzipped, err
}

// gunzipMembers inflates every member of a gzip body, one at a time so as
// to count them.
func gunzipMembers(raw []byte) ([]byte, int, error) {
	br := bytes.NewReader(raw)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, 0, err
	}
	var out bytes.Buffer
	members := 0
	for {
		zr.Multistream(false)
		if _, err := out.ReadFrom(zr); err != nil {
			return nil, members, err
		}
		members++
		if br.Len() == 0 {
			return out.Bytes(), members, nil
		}
		if err := zr.Reset(br); err != nil {
			return nil, members, err
		}
	}
}

// wire returns the bytes received as sent and the number of gzip bodies
// of more than one member, so far.
func (s *sink) wire() (bytes, multiMember int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wireBytes, s.multiMember
}

// foreignSpans is how many spans of other scopes than the load's arrived.
func (s *sink) foreignSpans() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.otherSpans
}

// awaitSpans returns the moment the sink's span count reached atLeast.
func (s *sink) awaitSpans(ctx context.Context, atLeast int64) (time.Time, error) {
	s.mu.Lock()
	if s.spans >= atLeast {
		s.mu.Unlock()
		return time.Now(), nil
	}
	wt := &spanWaiter{atLeast: atLeast, ch: make(chan time.Time, 1)}
	s.waiters = append(s.waiters, wt)
	s.mu.Unlock()
	select {
	case t := <-wt.ch:
		return t, nil
	case <-ctx.Done():
		s.mu.Lock()
		select {
		case t := <-wt.ch: // reached as ctx ended
			s.mu.Unlock()
			return t, nil
		default:
		}
		for i, x := range s.waiters {
			if x == wt {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				break
			}
		}
		got := s.spans
		s.mu.Unlock()
		return time.Time{}, fmt.Errorf("the sink has %d spans, want %d: %w", got, atLeast, ctx.Err())
	}
}

// loadScope is the instrumentation scope of the load's spans. The sink
// counts only those: the extension exports spans of its own as well.
const loadScope = "github.com/lambdaotel/lambdaotel/bench"

// countSpans counts the spans of an encoded ExportTraceServiceRequest (or
// several concatenated) without decoding them — resource_spans (1) →
// scope_spans (2) → spans (2) — separately for the load's scope and all
// others.
func countSpans(b []byte) (load, other int, err error) {
	err = eachField(b, 1, func(rs []byte) error {
		return eachField(rs, 2, func(ss []byte) error {
			name := ""
			if err := eachField(ss, 1, func(scope []byte) error {
				return eachField(scope, 1, func(n []byte) error { name = string(n); return nil })
			}); err != nil {
				return err
			}
			return eachField(ss, 2, func([]byte) error {
				if name == loadScope {
					load++
				} else {
					other++
				}
				return nil
			})
		})
	})
	return load, other, err
}

// eachField calls fn with the payload of every length-delimited field num
// of message b, and skips every other field.
func eachField(b []byte, num protowire.Number, fn func([]byte) error) error {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return errors.New("malformed protobuf tag")
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return errors.New("malformed protobuf field")
			}
			if err := fn(v); err != nil {
				return err
			}
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return errors.New("malformed protobuf field")
		}
		b = b[l:]
	}
	return nil
}
