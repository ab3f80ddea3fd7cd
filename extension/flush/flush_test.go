package flush

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/queue"
)

type sender struct {
	mu    sync.Mutex
	sent  map[string][]byte
	fail  map[string]error
	block bool
	calls int
}

func (s *sender) Send(ctx context.Context, signal string, b *queue.Batch) error {
	body, berr := b.Bytes()
	if berr != nil {
		return berr
	}
	s.mu.Lock()
	s.calls++
	err, block := s.fail[signal], s.block
	s.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == nil {
		s.sent = map[string][]byte{}
	}
	s.sent[signal] = append(s.sent[signal], body...)
	return nil
}

type fallback struct {
	mu    sync.Mutex
	lines map[string][]byte
}

func (f *fallback) WriteFallback(signal string, body []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lines == nil {
		f.lines = map[string][]byte{}
	}
	f.lines[signal] = append(f.lines[signal], body...)
	return nil
}

func newQueue(t *testing.T) *queue.Queue {
	q := queue.New(queue.Budget{MaxBytes: 1 << 20, MaxEntries: 100})
	for i, sig := range []queue.Signal{queue.Traces, queue.Traces, queue.Metrics, queue.Logs} {
		if err := q.Offer(sig, []byte(fmt.Sprintf("<%s%d>", sig, i)), 1); err != nil {
			t.Fatal(err)
		}
	}
	return q
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestFlushSendsEverythingMergedPerSignal(t *testing.T) {
	q, s := newQueue(t), &sender{}
	f := New(q, s, nil, 1<<20, 100, nil)
	if err := f.Flush(ctxFor(t, time.Second), "invoke"); err != nil {
		t.Fatal(err)
	}
	if string(s.sent["traces"]) != "<traces0><traces1>" || string(s.sent["metrics"]) != "<metrics2>" || string(s.sent["logs"]) != "<logs3>" {
		t.Fatalf("sent %q", s.sent)
	}
	if q.Len() != 0 || s.calls != 3 {
		t.Fatalf("queue %d, %d calls: one merged batch per signal", q.Len(), s.calls)
	}
}

func TestFailedBatchIsRequeuedBetweenInvocations(t *testing.T) {
	q, s := newQueue(t), &sender{fail: map[string]error{"traces": errors.New("503")}}
	f := New(q, s, &fallback{}, 1<<20, 100, nil)
	if err := f.Flush(ctxFor(t, time.Second), "invoke"); err == nil {
		t.Fatal("the failure must be reported")
	}
	if n, _ := q.Pending(queue.Traces); n != 2 {
		t.Fatalf("%d trace requests queued, want both back", n)
	}
	if string(s.sent["metrics"]) != "<metrics2>" {
		t.Fatal("other signals must still be exported")
	}
	s.mu.Lock()
	s.fail = nil
	s.mu.Unlock()
	if err := f.Flush(ctxFor(t, time.Second), "invoke"); err != nil || string(s.sent["traces"]) != "<traces0><traces1>" {
		t.Fatalf("retry: %v %q", err, s.sent["traces"])
	}
}

func TestPermanentFailureDrops(t *testing.T) {
	q, s := newQueue(t), &sender{fail: map[string]error{"logs": fmt.Errorf("HTTP 400: %w", ErrPermanent)}}
	f := New(q, s, nil, 1<<20, 100, nil)
	_ = f.Flush(ctxFor(t, time.Second), "invoke")
	if n, _ := q.Pending(queue.Logs); n != 0 {
		t.Fatal("a permanently refused batch must not be retried")
	}
}

func TestShutdownFallsBackWithinTheDeadline(t *testing.T) {
	q, s, fb := newQueue(t), &sender{block: true}, &fallback{}
	f := New(q, s, fb, 1<<20, 100, nil)
	start := time.Now()
	_ = f.Flush(ctxFor(t, 100*time.Millisecond), "shutdown")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("shutdown flush took %v with a 100 ms budget", d)
	}
	got := string(fb.lines["traces"]) + string(fb.lines["metrics"]) + string(fb.lines["logs"])
	if got != "<traces0><traces1><metrics2><logs3>" || q.Len() != 0 {
		t.Fatalf("fallback %q, queue %d: everything must reach the fallback", got, q.Len())
	}
}

func TestNoTimeLeftSendsNothing(t *testing.T) {
	q, s := newQueue(t), &sender{}
	f := New(q, s, nil, 1<<20, 100, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	_ = f.Flush(ctx, "invoke")
	if s.calls != 0 || q.Len() != 4 {
		t.Fatalf("%d sends with no budget; queue %d", s.calls, q.Len())
	}
}

// deadlineSender fails every export at once and remembers the deadline it
// was given.
type deadlineSender struct {
	mu        sync.Mutex
	deadlines []time.Time
}

func (s *deadlineSender) Send(ctx context.Context, _ string, _ *queue.Batch) error {
	d, _ := ctx.Deadline()
	s.mu.Lock()
	s.deadlines = append(s.deadlines, d)
	s.mu.Unlock()
	return errors.New("backend down")
}

// fakeClock advances only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// slowFallback takes cost per MiB of the fake clock's time.
type slowFallback struct {
	fallback
	clock *fakeClock
	cost  time.Duration
}

func (f *slowFallback) WriteFallback(signal string, body []byte) error {
	f.clock.advance(time.Duration(float64(f.cost) * float64(len(body)) / (1 << 20)))
	return f.fallback.WriteFallback(signal, body)
}

func mibQueue(t *testing.T, n int) *queue.Queue {
	t.Helper()
	q := queue.New(queue.Budget{MaxBytes: 64 << 20, MaxEntries: 100})
	for range n {
		if err := q.Offer(queue.Traces, make([]byte, 1<<20), 1); err != nil {
			t.Fatal(err)
		}
	}
	return q
}

// At SHUTDOWN the export stops early enough to write what is still queued
// as fallback before the deadline: here 4 MiB at 20 ms/MiB. (A fake clock:
// the fallback writes take no time, so the estimate is never replaced.)
func TestShutdownKeepsTimeToWriteTheFallback(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	q, s, fb := mibQueue(t, 4), &deadlineSender{}, &fallback{}
	f := New(q, s, fb, 1<<20, 100, nil, WithFallbackCost(20*time.Millisecond), WithClock(clock.now))
	ctx, cancel := context.WithDeadline(context.Background(), clock.now().Add(500*time.Millisecond))
	defer cancel()
	deadline, _ := ctx.Deadline()
	_ = f.Flush(ctx, "shutdown")
	if len(s.deadlines) != 1 {
		t.Fatalf("%d exports, want 1 (then the backend counts as failing)", len(s.deadlines))
	}
	if kept := deadline.Sub(s.deadlines[0]); kept < fallbackFloor+80*time.Millisecond {
		t.Fatalf("the export could run until %v before the deadline; 4 MiB of fallback needs ~90 ms", kept)
	}
	if got := len(fb.lines["traces"]); got != 4<<20 || q.Len() != 0 {
		t.Fatalf("fallback %d bytes, queue %d: everything must reach the fallback", got, q.Len())
	}
}

// What cannot be written before the deadline is dropped and counted, not
// written past it: at 4 s per MiB and 10 s left, two of three MiB fit.
func TestShutdownDropsWhatCannotBeWrittenInTime(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	q, s := mibQueue(t, 3), &deadlineSender{}
	fb := &slowFallback{clock: clock, cost: 4 * time.Second}
	f := New(q, s, fb, 1<<20, 100, nil, WithFallbackCost(4*time.Second), WithClock(clock.now))
	ctx, cancel := context.WithDeadline(context.Background(), clock.now().Add(10*time.Second))
	defer cancel()
	err := f.Flush(ctx, "shutdown")
	if !errors.Is(err, errNoTimeForFallback) {
		t.Fatalf("err %v, want errNoTimeForFallback", err)
	}
	if got := len(fb.lines["traces"]); got != 2<<20 {
		t.Fatalf("fallback %d bytes, want 2 MiB", got)
	}
	st := q.Stats().Signal(queue.Traces)
	if st.ExportFailed.Bytes != 1<<20 || st.Exported.Bytes != 2<<20 || q.Len() != 0 {
		t.Fatalf("stats %+v, queue %d: one MiB dropped and counted, two written", st, q.Len())
	}
	if fs := f.Stats(); fs.FallbackItems["traces"] != 2 || fs.LateItems["traces"] != 1 {
		t.Fatalf("flusher stats %+v", fs)
	}
	if d, _ := ctx.Deadline(); clock.now().After(d) {
		t.Fatalf("the fallback ran %v past the deadline", clock.now().Sub(d))
	}
}
